"""The word check's reading of everyday Chinese usage: an everyday verb (from jieba's own dictionary) with what the
row states is usage, not a claim; effect verbs, result complements and degree words stay claims."""

from __future__ import annotations

import pytest

from assistant.adcopy.facts import FactChecker
from assistant.adcopy.support import WordSupportConfig, everyday_verbs
from assistant.errors import ConfigError

LEASH = "狗狗牵引绳\n尼龙编织，长1.5米，反光条。\n结实；夜间可见"
HAT = "防晒渔夫帽\nUPF50+防晒面料，可折叠，帽檐7厘米。\n防晒；可折叠"
TOWEL = "婴儿纱布浴巾\n6层纱布，纯棉，110x110cm。\n吸水；透气；柔软"
TROUSERS = "灯芯绒阔腿裤\n纯棉灯芯绒，高腰设计，9分长度。\n复古；显瘦"


def flagged(checker, text, row):
    return [c.text for c in checker.unsupported(text, checker.sources(row)) if c.kind == "word"]


def test_everyday_verbs_come_from_jiebas_dictionary_not_a_list():
    verbs = everyday_verbs(100)
    assert {"睡", "跑", "塞", "遛"} <= verbs
    assert "狗" not in verbs and "风" not in verbs          # nouns are not verbs
    assert everyday_verbs(10**9) == frozenset() and everyday_verbs(0) == frozenset()


def test_an_everyday_verb_on_what_the_row_states_is_usage(checker):
    assert flagged(checker, "尼龙牵引绳，1.5米，带反光条，夜里遛狗也看得见。", LEASH) == []   # 狗 from 狗狗
    assert flagged(checker, "防晒渔夫帽，7厘米帽檐，可折叠塞进包里。", HAT) == []             # 进: a direction


def test_the_object_must_be_stated_and_effect_verbs_are_never_everyday(checker):
    # An everyday verb on a thing the row does not name is a claim: the hat's row says nothing of rain.
    assert "挡雨" in flagged(checker, "防晒渔夫帽，可折叠，还能挡雨。", HAT)
    # 吸 states an effect: jieba counts it as a common verb, but it is in zh_claim_verbs, so 吸汗 stays a claim
    # even for a row that mentions sweat.
    shirt = "速干运动T恤\n速干面料，出汗后干得快。\n速干；轻薄"
    assert "吸" in everyday_verbs(100)
    assert "吸汗" in flagged(checker, "速干运动T恤，吸汗。", shirt)


def test_degree_words_and_audiences_stay_claims(checker):
    # "越穿越显高" is a comparison: a claim shape of claims.yaml, whatever parts of speech jieba gives its verbs
    bad = checker.unsupported("纯棉灯芯绒阔腿裤，高腰9分，越穿越显高。", checker.sources(TROUSERS))
    assert [c.kind for c in bad] == ["claim"] and bad[0].text.startswith("越穿越")
    # 宝宝 is what a row saying 婴儿 says; for a hat it is an audience the row never named.
    assert flagged(checker, "6层纯棉纱布浴巾，给宝宝裹着软软的。", TOWEL) == []
    assert "宝宝" in flagged(checker, "防晒渔夫帽，可折叠，宝宝也能戴。", HAT)


def test_a_function_word_inside_a_longer_word_states_nothing(checker):
    nuts = "每日坚果\n6种坚果果干，每包25克，30包。\n独立包装；营养"
    assert flagged(checker, "每日坚果30包，独立包装随身带。", nuts) == []


def test_a_duvet_row_does_not_support_a_fitted_sheet(checker):
    duvet = "Stonewashed linen duvet cover\nEuropean flax linen, 200 x 200 cm, with two pillowcases."
    assert "sheet" in flagged(checker, "Linen duvet cover, 200 x 200 cm, with a matching fitted sheet.", duvet)


def test_the_usage_reading_can_be_turned_off_and_is_validated():
    # jieba tags 塞进 as a noun here, so only the usage reading lets it through
    strict = FactChecker(words=WordSupportConfig(zh_everyday_verb_freq=0))
    assert "塞进" in flagged(strict, "防晒渔夫帽，7厘米帽檐，可折叠塞进包里。", HAT)
    assert flagged(FactChecker(), "防晒渔夫帽，7厘米帽檐，可折叠塞进包里。", HAT) == []
    with pytest.raises(ConfigError):
        WordSupportConfig(zh_everyday_verb_freq=-1)
