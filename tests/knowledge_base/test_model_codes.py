"""A question naming a model code ("Canal A6", "沧浪 14K") is not answered by a sentence or an FAQ row about another
model (knowledge_base.model_codes, knowledge_base.asked_model_check)."""

from __future__ import annotations

import pytest

from knowledge_base.model_codes import asked_models, model_codes
from tests.knowledge_base.conftest import with_config, with_thresholds, write


@pytest.mark.parametrize("text, codes", [
    ("更换平江 P70 笔杆（同色）: 120 元", {"p70"}),
    ("沧浪 14K 的笔杆摔裂了", {"14k"}),  # a gold's fineness names the gold-nib pen
    ("Harbor HD-41 and CT-2; T1 Round and T2 Square", {"hd-41", "ct-2", "t1", "t2"}),
    ("A 30ml bottle, 3L shell, 12mm barrel, 2700K light, the 2nd box, 15:00, 1.5mm stub", set()),  # amounts
    ("No. 6 nib, size S / L, USB-C cable", set()),
])
def test_the_model_codes_a_text_names(text, codes):
    assert model_codes(text) == codes


def test_a_sentence_naming_only_other_models_is_about_another():
    asked = asked_models("Canal A6 笔记本有多少页？")
    assert asked.about("Canal A5: Size 148 × 210 mm, Pages 192") is False
    assert asked.about("Canal A6: Size 105 × 148 mm, Pages 128") is True
    assert asked.about("Canal A5 and A6: dot grid or lined") is True  # names the one asked beside another
    assert asked.about("All notebooks are sewn flat-opening.") is None  # names no model: may answer
    assert asked_models("How many pages does a notebook have?") is None


DOC = ("# Canal Notebooks\n\n"
       "How many pages does a Canal A5 notebook have? A Canal A5 notebook has 192 pages.\n\n"
       "Pocket size A6: 128 pages.\n")


def test_another_models_row_is_not_read_even_when_it_scores_best(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "docs" / "notebooks.md", DOC)
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    kb = with_thresholds(kb, abstain=0.0, faq=1.01)
    question = "How many pages does a Canal A6 notebook have?"
    found = kb.lookup(question)
    assert found.evidence and "A6" in found.evidence[0].text and not any("A5" in e.text for e in found.evidence)
    off = with_config(kb, asked_model_check=False).lookup(question)
    assert "A5" in off.evidence[0].text  # the closest sentence, read with the check off


def test_an_faq_row_about_another_model_does_not_answer(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "faq.csv", "question,answer\nHow long is the warranty on the H2 grinder?,The H2 has a 2-year "
                                "warranty.\n")
    assert kb.ingest([tmp_path / "faq.csv"], progress=False).ok
    kb = with_thresholds(kb, abstain=0.0, faq=0.5)
    assert kb.lookup("How long is the warranty on the H2 grinder?").faq is not None
    assert kb.lookup("How long is the warranty on the K1 kettle?").faq is None
    assert with_config(kb, asked_model_check=False).lookup("How long is the warranty on the K1 kettle?").faq
