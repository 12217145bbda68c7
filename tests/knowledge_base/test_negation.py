"""A sentence that answers a yes/no question with no: taken for not answering by the second reader, read once more
with its "no" taken out (knowledge_base/negation.py, Verifier(negated=True)), and sent as written."""

from __future__ import annotations

import pytest

from assistant.llm import FakeBackend
from knowledge_base.answer import Lookup
from knowledge_base.grounding import Evidence
from knowledge_base.negation import affirmed, says_no
from knowledge_base.retrieval import SearchHit
from knowledge_base.second_reading import Verifier


@pytest.mark.parametrize(("text", "expected"), [
    ("Do not use the stove inside a tent.", "use the stove inside a tent."),
    ("We don't offer cash on delivery.", "We offer cash on delivery."),
    ("No, we can't ship abroad.", "we can ship abroad."),
    ("The H2 isn't dishwasher safe", "The H2 is dishwasher safe"),
    ("There is no cash on delivery.", "There is cash on delivery."),
    ("使用液体洗涤剂，不要使用柔顺剂。", "使用液体洗涤剂，使用柔顺剂。"),
    ("暂不支持寄送台湾地区。", "支持寄送台湾地区。"),
    ("头灯不能浸入水中。", "头灯能浸入水中。"),
    ("拆封的咖啡豆不可以退。", "拆封的咖啡豆可以退。"),
    ("You shouldn't wash it in a dishwasher.", "You should wash it in a dishwasher."),
    ("目前不支持货到付款。", "支持货到付款。"),
    ("特价商品概不退换。", "特价商品退换。"),
    ("勿用漂白剂。", "用漂白剂。"),
])
def test_the_no_is_taken_out(text, expected):
    assert affirmed(text) == expected


def test_says_no_is_the_feature_the_reading_weights_were_fitted_on():
    assert says_no("We do not offer cash on delivery.") and says_no("暂不支持寄送台湾")
    assert not says_no("304 不锈钢机身") and not says_no("Product No. 5")
    assert not says_no("You shouldn't wash it")  # turned by affirmed(), but not part of the fitted feature


@pytest.mark.parametrize("text", ["304 不锈钢机身", "有不同颜色", "Product No. 5", "No: 12", "Free returns within 30 days",
                                  "第三方配件除外",
                                  # turned, these would say something else than the sentence
                                  "Not all products ship to Hong Kong.", "We no longer ship abroad.",
                                  "We won't ship until payment clears.", "No problem, we can help.",
                                  "Please do not hesitate to contact us.", "We don't always ship the same day.",
                                  "不超过 30 天可以退货", "不用担心，我们包退", "不仅有咖啡，还有茶"])
def test_a_sentence_that_says_no_no_is_left_alone(text):
    assert affirmed(text) is None


def lookup(question: str, *texts: str) -> Lookup:
    evidence = []
    for i, text in enumerate(texts):
        hit = SearchHit(f"c-{i}", 0.9 - i / 100, text, "stove.html", "Stove", chunk_id=f"c-{i}", vector_score=0.9)
        evidence.append(Evidence(text, hit, 0.9 - i / 100, "Stove"))
    return Lookup(question, "en", evidence=evidence, best_score=0.84, evidence_score=0.9, answerable=True)


def test_a_no_read_as_not_answering_is_read_again_without_it_and_sent_as_written():
    fb = FakeBackend(["NO", "NO", "YES"])
    found = lookup("Can I use the stove in my tent?", "Do not use the stove inside a tent.", "Weight: 90 g")
    assert Verifier(fb, "YES or NO.", skip_above=1.01, negated=True).check(found) == []
    assert found.answerable and found.evidence[0].text == "Do not use the stove inside a tent."
    first, second, third = (c["messages"][1].content for c in fb.calls)
    assert "Do not use the stove" in first and "Weight" in second
    assert "use the stove inside a tent" in third and "not" not in third.split("QUESTION")[0]


def test_a_sentence_read_yes_as_it_stands_is_never_passed_over_for_a_turned_one():
    fb = FakeBackend(["NO", "YES"])
    found = lookup("Can you post gas canisters with my stove?", "Gas canister not included.",
                   "Gas canisters cannot be sent by courier.")
    Verifier(fb, "YES or NO.", skip_above=1.01, negated=True).check(found)
    assert found.answerable and found.evidence[0].text == "Gas canisters cannot be sent by courier."
    assert len(fb.calls) == 2


def test_the_second_reading_of_a_no_needs_its_own_yes_and_a_yes_no_question():
    # the reader turns the sentence down again: the question is declined
    fb = FakeBackend(["NO", "NO", "NO"])
    found = lookup("Can I use the stove in my tent?", "Do not use the stove inside a tent.", "Weight: 90 g")
    Verifier(fb, "YES or NO.", skip_above=1.01, negated=True).check(found)
    assert not found.answerable and len(fb.calls) == 3
    # a question that asks what, not whether: one reading per sentence, as without the setting
    fb = FakeBackend(["NO", "NO"])
    found = lookup("How heavy is the stove?", "Do not use the stove inside a tent.", "Weight: 90 g")
    Verifier(fb, "YES or NO.", skip_above=1.01, negated=True).check(found)
    assert len(fb.calls) == 2 and not found.answerable
    # off: a no is read once
    fb = FakeBackend(["NO", "NO"])
    found = lookup("Can I use the stove in my tent?", "Do not use the stove inside a tent.", "Weight: 90 g")
    Verifier(fb, "YES or NO.", skip_above=1.01).check(found)
    assert len(fb.calls) == 2 and not found.answerable


def test_on_by_default_and_configurable():
    from assistant.config import load_config

    assert load_config(env={}).knowledge_base.verify_negated is True
    assert load_config(env={"ASSISTANT_KNOWLEDGE_BASE__VERIFY_NEGATED": "false"}).knowledge_base.verify_negated is False
