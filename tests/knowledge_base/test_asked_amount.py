"""A question naming a size ("How much is a 30 ml bottle?") is not answered by a sentence about another size
(knowledge_base.amounts, knowledge_base.asked_amount_check)."""

from __future__ import annotations

import pytest

from knowledge_base.amounts import amounts, asked_amount
from tests.knowledge_base.conftest import with_config, with_thresholds, write


@pytest.mark.parametrize("text, sizes", [
    ("How much is a 30 ml bottle of ink?", {"volume": {30.0}}),
    ("寒山黑 50 毫升一瓶多少钱？", {"volume": {50.0}}),
    ("Refill: 1.2 L", {"volume": {1200.0}}),
    ("1.5kg bag ¥128; 250 g bag ¥38", {"weight": {1500.0, 250.0}}),
    ("Filter life: up to 1,500 L", {}),  # a limit
    ("Parcels over 20 kg cost ¥10 more; 20 公斤以上另收费", {}),
    ("Fits bottles of 500-750 ml", {}),  # a range
    ("Max load: 120 kg", {}),
])
def test_the_sizes_a_text_names(text, sizes):
    assert amounts(text) == sizes


def test_a_sentence_naming_only_other_sizes_is_about_another():
    asked = asked_amount("How much is a 30 ml bottle?")
    assert asked.about_another("3 ml sample vials of every ink, ¥10 each.")
    assert not asked.about_another("30 毫升瓶装: 58 元")  # the same size in the other language's unit
    assert not asked.about_another("Sizes: 30 ml, 50 ml and 100 ml")
    assert not asked.about_another("Price: ¥58")  # names no size
    # the customer's own measure names no size of a product
    assert asked_amount("I'm 182 cm tall, is the bag long enough?") is None
    assert asked_amount("我体重 80 公斤，椅子够结实吗？") is None
    assert asked_amount("Do you sell ink?") is None


@pytest.mark.parametrize(("doc", "question", "closest", "answer"), [
    # the closest sentence is another size's
    ("A 3 ml bottle of Harbour Ink costs ¥10.\n\nLarge size, 30 ml: ¥58.\n\nThe 100 ml size: ¥148.",
     "How much does a 30 ml bottle of Harbour Ink cost?", "A 3 ml bottle", "Large size, 30 ml: ¥58."),
    # it names no size: "那 50 毫升的呢？" had got a cartridge's price before the 50 ml bottle's
    ("How much Harbour Black ink costs: cartridges ¥22 a box.\n\nA 50 ml bottle: ¥88.",
     "How much does Harbour Black ink cost in 50 ml?", "How much", "A 50 ml bottle: ¥88."),
])
def test_only_sentences_naming_the_size_asked_answer(make_kb, tmp_path, doc, question, closest, answer):
    kb = make_kb()
    write(tmp_path / "docs" / "ink.md", f"# Harbour Ink\n\n{doc}\n")
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    kb = with_thresholds(kb, abstain=0.0, faq=1.01)
    assert with_config(kb, asked_amount_check=False).lookup(question).evidence[0].text.startswith(closest)
    found = kb.lookup(question)
    assert found.evidence[0].text == answer and all(e.text == answer for e in found.evidence)
