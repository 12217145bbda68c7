"""The steps around the knowledge base's lookup: the other-language retry for whole messages and for the
unanswered question of a two-question message."""

from __future__ import annotations

from assistant.llm import FakeBackend
from assistant.question_lookup import CrossLanguageRetry
from assistant.shop import Shop
from knowledge_base.answer import Lookup, merge_parts
from tests.assistant.test_chat_pipeline import evidence


class Pages:
    def names(self, language):
        return ["保修政策"] if language == "zh" else []


class TranslatedKB:
    """Answers the Chinese sentence only when asked in Chinese (the page is Chinese), at `score`."""

    page_index = Pages()

    def __init__(self, score: float):
        self.score, self.asked = score, []

    def lookup(self, question, language=None, earlier_questions=(), own_translations=True):
        self.asked.append(question)
        if "运费" in question:
            ev = evidence("保修期内的往返运费由我们承担。", "warranty.zh.md", "w-2")
            ev.score = self.score
            return Lookup(question, language, evidence=[ev], best_score=0.9, evidence_score=self.score,
                          answerable=True)
        return Lookup(question, language, best_score=0.2)

    def in_customer_language(self, lookup):
        return lookup  # no FAQ rows in two languages


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
    out = CrossLanguageRetry(kb, translator, Shop(), page_names=True).complete(merged, "en", checks)
    assert out is merged and len(out.answered_parts) == 2
    assert any("往返运费" in e.text for e in out.evidence) and any("1 year" in e.text for e in out.evidence)
    assert kb.asked == ["保修维修的运费由你们承担吗？"]  # only the unanswered part was asked again
    assert "do you cover shipping" in translator.last_prompt[-1].content
    # the translator is told what the Chinese pages call things
    assert "保修政策" in translator.last_prompt[0].content
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


def test_weaker_translated_evidence_answers_only_when_the_reader_is_sure():
    from knowledge_base.second_reading import Verifier

    def retry(*reader_replies: str, score: float = 0.9, sure_min: float | None = 0.85):
        merged, kb = _two_part(score)  # 0.9: under the 0.95 minimum, over the 0.85 "if sure" one
        translator = FakeBackend()
        translator.queue("保修维修的运费由你们承担吗？")
        reader = FakeBackend(list(reader_replies))
        out = CrossLanguageRetry(kb, translator, Shop(), Verifier(reader, "YES or NO."), sure_min_score=sure_min,
                                 sure_log_odds=1.0).complete(merged, "en", [])
        return out, reader

    sure, reader = retry("YES", "2.4")  # a sampled YES, then its log odds read: sure
    assert len(sure.answered_parts) == 2 and len(reader.calls) == 2
    hesitant, _ = retry("YES", "0.3")  # a YES, but not sure: the weaker evidence is not answered from
    assert len(hesitant.answered_parts) == 1
    off, reader = retry("YES", "2.4", sure_min=None)  # the option off: 0.9 stays too weak, nothing is read
    assert len(off.answered_parts) == 1 and reader.calls == []
    too_weak, reader = retry("YES", "2.4", score=0.8)  # under the "if sure" minimum too
    assert len(too_weak.answered_parts) == 1 and reader.calls == []
    strong, reader = retry("YES", score=0.97)  # strong evidence needs only the plain YES, as before
    assert len(strong.answered_parts) == 2 and len(reader.calls) == 1


def test_the_sure_minimum_must_sit_under_the_plain_one():
    import pytest

    from assistant.chat import ChatConfig
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="cross_language_sure_min_score"):
        ChatConfig(cross_language_sure_min_score=0.97)
    assert ChatConfig(cross_language_sure_min_score=0.85).cross_language_sure_min_score == 0.85


def test_a_translation_into_english_that_kept_chinese_words_is_sampled_again():
    from assistant.question_lookup import LEFTOVER_RESAMPLES, translate_question

    fb = FakeBackend(["What beans is cold萃液 made from?", "What beans is the cold brew concentrate made from?"])
    assert translate_question(fb, "Translate.", "冷萃液是用什么豆子做的？") == \
        "What beans is the cold brew concentrate made from?"
    assert fb.calls[0]["options"].temperature == 0.0 and fb.calls[1]["options"].temperature > 0
    # No clean sample: the greedy one, still better than nothing.
    fb = FakeBackend(["What beans is cold萃液 made from?"] * (1 + LEFTOVER_RESAMPLES))
    assert translate_question(fb, "Translate.", "冷萃液是用什么豆子做的？") == "What beans is cold萃液 made from?"
    # Chinese kept on purpose (a translation into Chinese) or a clean first answer: one call.
    fb = FakeBackend(["冷萃液是用什么豆子做的？"])
    assert translate_question(fb, "Translate.", "What beans is the cold brew made from?") == "冷萃液是用什么豆子做的？"
    assert len(fb.calls) == 1


def test_a_measure_asked_at_the_end_is_spelled_out_before_it_is_translated():
    # "餐桌多重？" became "How many tables are there?": 多重 is also "multiple"; "有多重" reads as a weight
    from assistant.question_lookup import translate_question

    fb = FakeBackend(default="How much does the table weigh?")
    for question, sent in [("橡木餐桌多重？", "橡木餐桌有多重？"), ("容量多大", "容量有多大"), ("帐篷有多重？", "帐篷有多重？"),
                           ("多重优惠可以叠加吗？", "多重优惠可以叠加吗？")]:  # "multiple discounts": as written
        translate_question(fb, "Translate.", question)
        assert fb.last_prompt[-1].content == sent


class BilingualFaqKB(TranslatedKB):
    """The translated question's evidence is a Chinese FAQ row; the shop wrote the same row in English too."""

    def __init__(self):
        super().__init__(0.97)
        self.swapped_after = None

    def in_customer_language(self, lookup):
        from knowledge_base.answer import FaqHit

        self.swapped_after = list(self.read)  # what the reader had read when the row was swapped
        lookup.faq = FaqHit("en-ship", "Who pays warranty shipping?", "We pay both ways for warranty repairs.",
                            "faq.csv", lookup.evidence_score, "en")
        return lookup


def test_a_translated_answer_from_a_bilingual_faq_row_is_the_shops_own_row_swapped_after_the_reading():
    from knowledge_base.second_reading import Verifier

    kb = BilingualFaqKB()
    kb.read = []

    class Reading(Verifier):
        def check(self, lookup, always=False, sure=None, weighed=True):
            kb.read.append(lookup.faq)  # the evidence itself is read, not the swapped row
            return super().check(lookup, always, sure)

    first = Lookup("do you cover shipping?", "en", best_score=0.3, evidence_score=0.5)
    translator = FakeBackend()
    translator.queue("运费由你们承担吗？")
    checks = []
    out = CrossLanguageRetry(kb, translator, Shop(), Reading(FakeBackend(["YES"]), "YES or NO.")).complete(
        first, "en", checks)
    assert kb.read == [None] and kb.swapped_after == [None]
    assert out.answerable and out.faq.row_id == "en-ship"
    assert any("own en version of FAQ row en-ship" in c for c in checks)


def test_the_later_part_asked_again_translated_is_read_the_plain_way():
    from knowledge_base.second_reading import Verifier

    weighed_flags = []

    class Recording(Verifier):
        def check(self, lookup, always=False, sure=None, weighed=True):
            weighed_flags.append(weighed)
            return super().check(lookup, always, sure, weighed)

    merged, kb = _two_part(0.97)
    translator = FakeBackend()
    translator.queue("保修维修的运费由你们承担吗？")
    CrossLanguageRetry(kb, translator, Shop(), Recording(FakeBackend(["YES"]), "YES or NO.")).complete(merged, "en", [])
    assert weighed_flags == [False]  # the second question of the message, as the weights were not fitted on it


def test_the_page_names_are_left_out_of_the_translation_by_default():
    merged, kb = _two_part(0.97)
    translator = FakeBackend()
    translator.queue("保修维修的运费由你们承担吗？")
    CrossLanguageRetry(kb, translator, Shop()).complete(merged, "en", [])
    assert "保修政策" not in translator.last_prompt[0].content


class BothLanguagesKB:
    """A shop with pages in `languages`; the Chinese question finds the converter's warranty on the Chinese page."""

    def __init__(self, languages=("en", "zh")):
        from types import SimpleNamespace

        pages = [SimpleNamespace(language=lang) for lang in languages]
        self.page_index = SimpleNamespace(pages=lambda: pages, names=lambda language: [])
        self.asked = []

    def lookup(self, question, language=None, earlier_questions=(), own_translations=True):
        self.asked.append(question)
        ev = evidence("吸墨器保修 3 个月。", "warranty.zh.md", "w-3")
        ev.score = 0.97
        return Lookup(question, language, evidence=[ev], best_score=0.9, evidence_score=0.97, answerable=True)

    def in_customer_language(self, lookup):
        return lookup


def _hesitant_answer():
    return Lookup("How long is the warranty on a converter?", "en",
                  evidence=[evidence("You can return an item within 15 days of delivery.", "returns.md", "r-1")],
                  best_score=0.9, evidence_score=0.93, answerable=True)


def _firmer(*reader_replies: str, languages=("en", "zh"), below: float | None = 1.5):
    from knowledge_base.second_reading import Verifier

    kb, translator, reader, checks = BothLanguagesKB(languages), FakeBackend(), FakeBackend(list(reader_replies)), []
    translator.queue("吸墨器保修多久？")
    first = _hesitant_answer()
    out = CrossLanguageRetry(kb, translator, Shop(), Verifier(reader, "YES or NO."), sure_min_score=0.85,
                             compare_below=below).complete(first, "en", checks)
    return out, first, kb, reader, checks


def test_a_hesitant_answer_gives_way_to_the_translated_questions_firmer_one():
    # the returns sentence read at 0.3; the Chinese page's sentence read YES for the translated question, then at
    # 2.1 against the customer's own
    out, first, kb, reader, checks = _firmer("0.3", "YES", "2.1")
    assert out is not first and out.answerable and "吸墨器保修 3 个月" in out.evidence[0].text
    assert kb.asked == ["吸墨器保修多久？"]
    assert "吸墨器保修多久？" in reader.calls[1]["messages"][-1].content
    assert all("How long is the warranty on a converter?" in reader.calls[i]["messages"][-1].content for i in (0, 2))
    assert any("hesitant YES (0.30)" in c for c in checks) and any("question translated" in c for c in checks)


def test_the_translated_answer_read_no_firmer_leaves_the_first():
    for replies in (("YES", "0.2"), ("NO",)):  # read no firmer; turned down by its own reading
        out, first, _, _, checks = _firmer("0.3", *replies)
        assert out is first and out.answerable and "15 days" in out.evidence[0].text and checks == []


def test_an_answer_read_firmly_or_in_a_one_language_shop_costs_no_translation():
    sure, first, kb, reader, _ = _firmer("1.8")  # over the 1.5 bar: no translation
    assert sure is first and kb.asked == [] and len(reader.calls) == 1
    for languages, below in ((("en",), 1.5), (("en", "zh"), None)):  # no Chinese page; the option off
        out, first, kb, reader, _ = _firmer("0.3", languages=languages, below=below)
        assert out is first and kb.asked == [] and reader.calls == []
