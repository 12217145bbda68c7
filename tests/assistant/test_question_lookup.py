"""The steps around the knowledge base's lookup: the other-language retry for whole messages and for the
unanswered question of a two-question message."""

from __future__ import annotations

from assistant.llm import FakeBackend
from assistant.question_lookup import CrossLanguageRetry
from assistant.shop import Shop
from knowledge_base.answer import Lookup, merge_parts
from tests.assistant.test_chat_pipeline import evidence


class TranslatedKB:
    """Answers the Chinese sentence only when asked in Chinese (the page is Chinese), at `score`."""

    def __init__(self, score: float):
        self.score, self.asked = score, []

    def lookup(self, question, language=None, earlier_questions=()):
        self.asked.append(question)
        if "运费" in question:
            ev = evidence("保修期内的往返运费由我们承担。", "warranty.zh.md", "w-2")
            ev.score = self.score
            return Lookup(question, language, evidence=[ev], best_score=0.9, evidence_score=self.score,
                          answerable=True)
        return Lookup(question, language, best_score=0.2)


def _two_part(kb_score: float):
    first = Lookup("What's the warranty on the K1?", "en",
                   evidence=[evidence("K1: 1 year warranty.", "k1.md", "k-1")], best_score=0.9,
                   evidence_score=0.9, answerable=True)
    second = Lookup("do you cover shipping for a warranty repair?", "en", best_score=0.3, evidence_score=0.5)
    return merge_parts("What's the warranty on the K1, and do you cover shipping for a warranty repair?", "en",
                       [first, second]), TranslatedKB(kb_score)


def test_the_unanswered_part_of_a_two_question_message_is_asked_again_translated():
    merged, kb = _two_part(0.97)
    assert len(merged.answered_parts) == 1
    translator = FakeBackend()
    translator.queue("保修维修的运费由你们承担吗？")
    checks = []
    out = CrossLanguageRetry(kb, translator, Shop()).complete(merged, "en", checks)
    assert out is merged and len(out.answered_parts) == 2
    assert any("往返运费" in e.text for e in out.evidence) and any("1 year" in e.text for e in out.evidence)
    assert kb.asked == ["保修维修的运费由你们承担吗？"]  # only the unanswered part was asked again
    assert "do you cover shipping" in translator.last_prompt[-1].content
    assert any("question translated" in c for c in checks)


def test_a_weak_translated_part_stays_unanswered():
    merged, kb = _two_part(0.9)  # below the 0.95 minimum
    translator = FakeBackend()
    translator.queue("保修维修的运费由你们承担吗？")
    out = CrossLanguageRetry(kb, translator, Shop()).complete(merged, "en", [])
    assert len(out.answered_parts) == 1 and out.answerable


def test_an_answered_message_costs_no_translation():
    merged, kb = _two_part(0.97)
    merged.parts[1].answerable = True
    merged.refresh()
    translator = FakeBackend()
    CrossLanguageRetry(kb, translator, Shop()).complete(merged, "en", [])
    assert translator.calls == [] and kb.asked == []


def test_a_translation_the_reader_turns_down_marks_the_question_as_the_shops():
    from knowledge_base.second_reading import Verifier

    kb = TranslatedKB(0.97)
    first = Lookup("do you cover shipping?", "en", best_score=0.3, evidence_score=0.5)
    translator = FakeBackend()
    translator.queue("运费由你们承担吗？")
    reader = FakeBackend(["NO"])
    out = CrossLanguageRetry(kb, translator, Shop(), Verifier(reader, "YES or NO.")).complete(first, "en", [])
    assert out is first and not out.answerable and out.turned_down


def test_a_translation_the_reader_accepts_hesitantly_answers_unsure_and_says_so_in_the_checks():
    from knowledge_base.second_reading import UNSURE, Verifier

    merged, kb = _two_part(0.97)
    translator = FakeBackend()
    translator.queue("保修维修的运费由你们承担吗？")
    reader = FakeBackend(["YES", "0.4"])  # a sampled YES, then its log odds: under 1.0
    checks = []
    out = CrossLanguageRetry(kb, translator, Shop(), Verifier(reader, "YES or NO.", unsure_below=1.0)).complete(
        merged, "en", checks)
    assert len(out.answered_parts) == 2 and out.unsure
    assert UNSURE in checks and any("question translated" in c for c in checks)
