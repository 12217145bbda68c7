"""The weighed second reading: the reader's log odds with plain-code features over the best-scoring sentences; the
first sentence whose probability reaches the threshold is answered from, none and the question is declined."""

from __future__ import annotations

import json

import pytest

from assistant.errors import ConfigError
from assistant.llm import FakeBackend
from knowledge_base.answer import Lookup
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.grounding import Evidence
from knowledge_base.reading_weights import FEATURES, ReadingWeights, features, load_weights, reading_weights
from knowledge_base.retrieval import SearchHit
from knowledge_base.second_reading import Verifier

WEIGHTS = ReadingWeights({"log_odds": 1.5, "faq": 1.3, "rank": -0.6}, bias=-1.0, threshold=0.4, candidates=4, veto=0.3)


def choosing(fb: FakeBackend, **kw) -> Verifier:
    return Verifier(fb, "YES or NO.", weights=WEIGHTS, weights_mode="choose", **kw)


def sentence(text: str, score: float, chunk: str, kind: str = "doc") -> Evidence:
    hit = SearchHit(chunk, score, text, "bag.html", "Sleeping bag", chunk_id=chunk, vector_score=score,
                    metadata={"kind": kind})
    return Evidence(text, hit, score, "Sleeping bag")


def ranked_lookup() -> Lookup:
    ranked = [sentence("Packed size: 20 x 36 cm", 0.97, "c-1"), sentence("Fill: 90% white goose down", 0.96, "c-2"),
              sentence("Weight: 980 g", 0.93, "c-3"), sentence("Colours: grey, green", 0.92, "c-4"),
              sentence("Comfort: -5 °C", 0.91, "c-5")]
    # the evidence picked as close to the best: the first two; the answer stands third
    return Lookup("How heavy is the sleeping bag?", "en", evidence=ranked[:2], best_score=0.9, evidence_score=0.97,
                  answerable=True, candidates=ranked)


def test_a_sentence_further_down_the_ranking_is_read_and_answered_from():
    fb = FakeBackend(["-3", "-2", "3.0"])
    found = ranked_lookup()
    assert choosing(fb).check(found) == []
    assert found.answerable and found.evidence[0].text == "Weight: 980 g"
    # the sentences read before it and not counted are gone from the evidence
    assert [e.text for e in found.evidence] == ["Weight: 980 g"]
    assert len(fb.calls) == 3 and "Weight: 980 g" in fb.calls[-1]["messages"][1].content


def test_the_weighing_declines_what_the_plain_yes_would_answer():
    # A hesitant YES (log odds 0.3) to the best sentence: the plain reading answers from it, the weighing does not.
    weighed = ranked_lookup()
    choosing(FakeBackend(["0.3", "-2", "-2", "-2"])).check(weighed)
    assert not weighed.answerable and weighed.turned_down
    plain = ranked_lookup()
    Verifier(FakeBackend(["YES"]), "YES or NO.", skip_above=1.01).check(plain)
    assert plain.answerable and plain.evidence[0].text.startswith("Packed size")


def test_an_faq_answer_counts_with_a_weaker_reading():
    found = ranked_lookup()
    found.candidates[1] = sentence("Our bags weigh 980 g.", 0.96, "faq-1", kind="faq")
    choosing(FakeBackend(["-3", "0.3"])).check(found)
    assert found.answerable and found.evidence[0].text == "Our bags weigh 980 g."


def test_weighed_reading_reads_every_answerable_lookup_and_keeps_sure():
    high = ranked_lookup()
    high.evidence_score = 1.2  # above skip_above: the plain reading would send it unread
    assert choosing(FakeBackend([]), skip_above=1.0).needed(high)
    # a translated retry's bar on the reader's log odds still holds
    found = ranked_lookup()
    choosing(FakeBackend(["-3", "-3", "1.5", "-3"])).check(found, always=True, sure=2.0)
    assert not found.answerable


def test_features_see_the_kind_of_fact_a_no_to_a_yes_no_question_and_the_rank():
    f = features("How heavy is the sleeping bag?", sentence("Weight: 980 g", 0.9, "c"), 2, 1.25)
    assert set(f) == set(FEATURES)
    assert f["log_odds"] == 1.25 and f["rank"] == 2.0 and f["wanted_kind"] == 1.0 and f["spec_line"] == 1.0
    assert features("How heavy is it?", sentence("Made in Chengdu", 0.9, "c"), 0, 0)["wanted_kind"] == -1.0
    stove = sentence("Do not use the stove inside a tent or in a tent vestibule.", 0.96, "c")
    assert features("Is it OK to run the stove in my vestibule?", stove, 0, -1.0)["no_to_yes_no"] == 1.0
    assert features("洗冲锋衣的时候能加柔顺剂吗", sentence("不要使用柔顺剂。", 0.99, "c"), 0, 0)["no_to_yes_no"] == 1.0
    assert features("What does the stove weigh?", stove, 0, -1.0)["no_to_yes_no"] == 0.0
    # a 不 that says no, not any 不; and a heading that says no counts for its items
    assert features("壶身是不锈钢的吗？", sentence("壶身材质: 304 不锈钢", 0.99, "c"), 0, 0)["no_to_yes_no"] == 0.0
    item = Evidence("水垢导致的故障。", sentence("水垢导致的故障。", 0.9, "c").hit, 0.9, "不在保修范围内的情况")
    assert features("水垢坏了能保修吗？", item, 0, 0)["no_to_yes_no"] == 1.0


def test_weights_file_and_config(tmp_path):
    shipped = load_weights()
    assert set(shipped.weights) <= set(FEATURES) and 0 < shipped.threshold < 1 and shipped.fitted_on
    own = tmp_path / "w.json"
    own.write_text(WEIGHTS.to_json(), encoding="utf-8")
    assert load_weights(own).weights == WEIGHTS.weights
    assert reading_weights("") is None and reading_weights("shipped").weights == shipped.weights
    assert KnowledgeBaseConfig(verify_weights=str(own)).verify_weights == str(own)
    with pytest.raises(ConfigError, match="no file"):
        KnowledgeBaseConfig(verify_weights=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"weights": {"colour": 1.0}, "bias": 0}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown features"):
        load_weights(bad)
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="reading weights"):
        load_weights(bad)
    with pytest.raises(ConfigError, match="verify_weights_mode"):
        KnowledgeBaseConfig(verify_weights_mode="vote")
    with pytest.raises(ConfigError, match="threshold"):
        ReadingWeights({"log_odds": 1.0}, 0.0, threshold=1.5)


def test_the_later_question_of_a_two_question_message_is_read_the_plain_way():
    first, second = ranked_lookup(), ranked_lookup()
    second.question = "拉链也是吗"
    message = Lookup("How heavy is the sleeping bag? 拉链也是吗", "en", parts=[first, second], answerable=True)
    # first part weighed: two NOs, then a sure YES; second part plain: a sampled YES to its first sentence
    fb = FakeBackend(["-3", "-2", "3.0", "YES"])
    choosing(fb, skip_above=1.01).check(message)
    assert first.answerable and first.evidence[0].text == "Weight: 980 g"
    assert second.answerable and second.evidence[0].text.startswith("Packed size") and len(fb.calls) == 4
    assert message.answerable


def test_veto_turns_down_a_hesitant_yes_and_keeps_a_sure_one():
    # the plain reading (sampled YES, then its log odds from the same prompt) over the sentences close to the best
    hesitant = ranked_lookup()
    Verifier(FakeBackend(["YES", "-0.2", "NO"]), "YES or NO.", skip_above=1.01, weights=WEIGHTS).check(hesitant)
    assert not hesitant.answerable and hesitant.turned_down  # p(-0.2 at rank 0) < 0.3
    sure = ranked_lookup()
    Verifier(FakeBackend(["YES", "2.5"]), "YES or NO.", skip_above=1.01, weights=WEIGHTS).check(sure)
    assert sure.answerable and sure.evidence[0].text.startswith("Packed size")
    # a YES the veto turns down lets the next sentence be read
    second = ranked_lookup()
    Verifier(FakeBackend(["YES", "-0.2", "YES", "3.0"]), "YES or NO.", skip_above=1.01, weights=WEIGHTS).check(second)
    assert second.answerable and second.evidence[0].text.startswith("Fill")
    # veto mode reads what the plain reading reads: a sentence scoring above skip_above is sent unread
    high = ranked_lookup()
    high.evidence_score = 1.2
    assert not Verifier(FakeBackend([]), "YES or NO.", skip_above=1.0, weights=WEIGHTS).needed(high)


def test_a_row_the_weighing_vetoed_is_not_asked_about_again_question_to_question():
    found = ranked_lookup()
    faq = sentence("Our bags weigh 980 g.", 0.97, "faq-1", kind="faq")
    faq.hit.metadata["question"] = "How heavy are your bags?"
    found.evidence, found.candidates = [faq], [faq] + found.candidates[1:]
    fb = FakeBackend(["YES", "-3.0", "YES"])  # a YES the weighing vetoes; then the same-question reading would say YES
    Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same? YES or NO", weights=WEIGHTS).check(found)
    assert not found.answerable and len(fb.calls) == 2
    # without weights the fallback is asked as before (a NO, then question to question)
    plain = ranked_lookup()
    plain.evidence = [faq]
    fb = FakeBackend(["NO", "YES"])
    Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same? YES or NO").check(plain)
    assert plain.answerable and len(fb.calls) == 2
