"""Which Chinese words need support: words that name a thing, effects, degrees and capabilities do; other verbs,
adjectives and idioms are how a copywriter says things. Every flagged word says why."""

from __future__ import annotations

import pytest

from assistant.adcopy.facts import FactChecker
from assistant.adcopy.support import load_lexicon

CUP = "不锈钢保温杯\n316不锈钢内胆，容量500毫升，保温12小时。\n保温；保冷；防漏"
TOWEL = "婴儿纱布浴巾\n6层纱布，纯棉，110x110cm。\n吸水；透气；柔软"


def why(checker, text, row):
    return {c.text: c.why for c in checker.unsupported(text, checker.sources(row)) if c.kind == "word"}


@pytest.mark.parametrize("text", [
    "6层纯棉纱布浴巾，厚实柔软，洗后软乎乎的。",       # adjectives and a reduplicated idiom
    "500毫升保温杯，拿着稳，喝着舒服，一整天都顺手。",   # verbs of use, feel words
])
def test_style_words_need_no_support(checker, text):
    row = TOWEL if "浴巾" in text else CUP
    assert checker.unsupported(text, checker.sources(row)) == []


@pytest.mark.parametrize("text,word,reason", [
    ("500毫升保温杯，杯身内置温度计。", "温度计", "names a thing"),    # a part the row does not have
    ("500毫升保温杯，意大利设计。", "意大利", "names a thing"),        # an origin (a place name)
    ("500毫升保温杯，还能除臭。", "除臭", "an effect"),               # begins with an effect verb
    ("500毫升保温杯，一只手就能开盖。", "开盖", "a capability"),       # a verb after 能
    ("500毫升保温杯，能直接开盖。", "开盖", "a capability"),           # adverbs between do not break the frame
])
def test_claim_bearing_words_need_support_and_say_why(checker, text, word, reason):
    assert why(checker, text, CUP).get(word) == reason


def test_the_same_verb_outside_a_capability_frame_is_style(checker):
    assert "开盖" not in why(checker, "500毫升保温杯，开盖就喝。", CUP)


def test_superlatives_are_left_to_the_lint_which_rewrites_them(checker):
    """jieba cuts 最 from its adjective, so the word check sees neither; the Advertising Law lint owns 最 and has
    a passing rewrite, which removing the clause here would pre-empt."""
    from assistant.adcopy.lint import Linter

    text = "同类保温杯中最轻，500毫升。"
    assert checker.unsupported(text, checker.sources(CUP)) == []
    assert [v.rule for v in Linter().check(text, "zh")] == ["zh.adlaw.superlative"]


def test_a_comparison_over_time_is_a_claim_shape(checker):
    bad = checker.unsupported("500毫升保温杯，越用越轻。", checker.sources(CUP))
    assert [(c.kind, c.text) for c in bad] == [("claim", "越用越轻")]


def test_a_stated_thing_is_supported(checker):
    assert why(checker, "316不锈钢内胆的保温杯，保温12小时。", CUP) == {}


def test_the_reason_is_in_the_claims_text(checker):
    bad = checker.unsupported("500毫升保温杯，杯身内置温度计。", checker.sources(CUP))
    assert "word '温度计': names a thing" in [str(c) for c in bad]


def test_which_parts_of_speech_name_things_is_data(tmp_path, checker):
    words = tmp_path / "words.yaml"
    words.write_text("en: {function: [a]}\nzh: {function: [的]}\nzh_claim_pos: [ns]\n", encoding="utf-8")
    assert load_lexicon(str(words)).claim_pos == ("ns",)
    assert load_lexicon().claim_pos == ("n", "vn", "j")
    from assistant.adcopy.support import WordSupportConfig

    places_only = FactChecker(words=WordSupportConfig(words_file=str(words)))
    found = why(places_only, "500毫升保温杯，意大利设计，杯身内置温度计。", CUP)
    assert "意大利" in found and "温度计" not in found


def test_a_dimension_of_a_stated_word_is_supported_but_not_of_an_unstated_one(checker):
    """酸度 (acidity) for a row that says 低酸: 度 names the dimension of what the row states."""
    assert why(checker, "冷萃咖啡液，酸度低，口感顺滑。", "冷萃咖啡液\n顺滑；低酸\n每瓶30毫升") == {}
    assert why(checker, "冷萃咖啡液，酸度低，口感顺滑。", "冷萃咖啡液\n顺滑\n每瓶30毫升") == {"酸度": "names a thing"}
