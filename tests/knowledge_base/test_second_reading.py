"""The second reading (Verifier): one evidence sentence at a time, the confirmed sentence first, and borderline
lookups answered only when a sentence is confirmed."""

from __future__ import annotations

from assistant.llm import FakeBackend
from knowledge_base.answer import Answerer, Lookup
from knowledge_base.grounding import Evidence
from knowledge_base.retrieval import SearchHit
from knowledge_base.second_reading import Verifier


def sentence(text: str, score: float, chunk: str = "c-1") -> Evidence:
    hit = SearchHit(chunk, score, text, "grinder.html", "Grinder", chunk_id=chunk, vector_score=score)
    return Evidence(text, hit, score, "Grinder")


def lookup(*, answerable: bool = True, borderline: bool = False) -> Lookup:
    evidence = [sentence("Size: 18 cm tall", 0.93), sentence("Bean capacity: 35 g", 0.91, "c-2"),
                sentence("Colours: grey", 0.90, "c-3")]
    return Lookup("How many grams of beans fit?", "en", evidence=evidence, best_score=0.84, evidence_score=0.93,
                  answerable=answerable, borderline=borderline)


def answerable(question: str, *texts: str, score: float = 0.95, lang: str = "en") -> Lookup:
    """An answerable lookup of `texts`, the first scoring `score` and each next one 0.02 less."""
    evidence = [sentence(text, round(score - 0.02 * i, 2), f"c-{i + 1}") for i, text in enumerate(texts)]
    return Lookup(question, lang, evidence=evidence, best_score=0.84, evidence_score=score, answerable=True)


def reader(*replies: str) -> FakeBackend:
    return FakeBackend(list(replies))


def test_each_sentence_is_read_on_its_own_and_the_confirmed_one_is_answered_from():
    fb = reader("NO", "YES")
    found = lookup()
    checks = Verifier(fb, "YES or NO.", skip_above=1.01).check(found)
    assert checks == [] and found.answerable
    assert len(fb.calls) == 2  # stops at the first sentence that states the answer
    first, second = (c["messages"][1].content for c in fb.calls)
    assert "Size: 18 cm" in first and "Bean capacity" not in first
    assert "Bean capacity" in second and "Size: 18 cm" not in second
    # The sentence read as not answering is dropped; the confirmed one is what the customer gets.
    assert found.evidence[0].text == "Bean capacity: 35 g" and "Size" not in " ".join(e.text for e in found.evidence)
    answerer = Answerer(lambda lang: "", lambda lang: "I don't know.")
    assert answerer.extractive(found).startswith("Grinder – Bean capacity: 35 g")


def test_no_sentence_stating_the_answer_declines():
    fb = reader("NO", "NO", "NO")
    found = lookup()
    checks = Verifier(fb, "YES or NO.", skip_above=1.01).check(found)
    assert not found.answerable and len(fb.calls) == 3 and "second reading" in checks[0]
    assert found.turned_down  # the router then declines it, never answers it as small talk
    confirmed = lookup()
    Verifier(reader("YES"), "YES or NO.", skip_above=1.01).check(confirmed)
    assert confirmed.answerable and not confirmed.turned_down


def test_a_borderline_lookup_is_answered_only_when_the_reader_confirms_a_sentence():
    confirmed = lookup(answerable=False, borderline=True)
    checks = Verifier(reader("NO", "YES"), "YES or NO.", skip_above=1.01).check(confirmed)
    assert confirmed.answerable and confirmed.evidence[0].text == "Bean capacity: 35 g" and checks
    # skip_above does not spare a borderline lookup the reading: similarity alone said "no answer".
    unconfirmed = lookup(answerable=False, borderline=True)
    Verifier(reader("NO", "NO", "NO"), "YES or NO.", skip_above=0.5).check(unconfirmed)
    assert not unconfirmed.answerable
    # A failing reader leaves the first decision standing: declined.
    failing = lookup(answerable=False, borderline=True)
    Verifier(reader(RuntimeError("down")), "YES or NO.").check(failing)  # type: ignore[arg-type]
    assert not failing.answerable


def test_a_lookup_that_is_neither_answerable_nor_borderline_is_not_read():
    fb = reader("YES")
    nothing = lookup(answerable=False)
    assert Verifier(fb, "YES or NO.").check(nothing) == [] and not nothing.answerable and fb.calls == []


def test_a_borderline_kb_lookup_is_declined_without_a_reader(demo_kb):
    """Without a second reader the borderline question stays declined: never answered on a weak passage."""
    from knowledge_base import kb as kb_module

    from .conftest import with_thresholds

    kb = with_thresholds(demo_kb, abstain=0.99, faq=1.01)
    found = kb.lookup("How heavy is the oak dining table?")
    assert not found.answerable
    top = found.evidence_score
    near = with_thresholds(demo_kb, abstain=found.best_score + kb_module.BORDERLINE_MARGIN / 2, faq=1.01)
    again = near.lookup("How heavy is the oak dining table?")
    assert not again.answerable
    assert again.borderline == (top >= kb_module.BORDERLINE_EVIDENCE)
    far = with_thresholds(demo_kb, abstain=found.best_score + 2 * kb_module.BORDERLINE_MARGIN, faq=1.01)
    assert not far.lookup("How heavy is the oak dining table?").borderline


def test_a_sentence_of_the_kind_the_question_asks_for_is_read_first():
    """"How high is the Guji grown?" asks for a number: the altitude line scoring a hair below the bean's description
    is read (and answered from) first; without the question saying what kind of fact it wants, score order stays."""
    from knowledge_base.grounding import pick_evidence
    from knowledge_base.questions import answer_kind

    ranked = [sentence("Bright berry sweetness from the Guji highlands.", 0.95),
              sentence("Altitude: 2,100-2,300 m", 0.93, "c-2"),
              sentence("Process: natural", 0.90, "c-3")]
    picked = pick_evidence(ranked, wanted=answer_kind("How high is the Guji grown?"))
    assert [e.text for e in picked][:2] == ["Altitude: 2,100-2,300 m", "Bright berry sweetness from the Guji highlands."]
    assert pick_evidence(ranked, wanted=answer_kind("Is the Guji a natural coffee?")) == ranked[:2]
    # The question's own numbers and model names are not what it asks for: "the H2" does not make a sentence typed.
    heavy = answer_kind("How heavy is the H2?")
    assert not heavy("The Ember H2 is our hand grinder.") and heavy("Weight: 640 g")
    days = answer_kind("Which days do you roast?")
    assert days("We roast on Mondays and Thursdays.") and days("咖啡豆：我们每周一、周四烘焙。")
    assert not days("Your box is roasted on the first roast day of the following month.")
    # A typed sentence far behind the best one is not promoted over it.
    far = [ranked[0], sentence("Altitude: 2,100-2,300 m", 0.80, "c-2")]
    assert pick_evidence(far, wanted=answer_kind("How high is the Guji grown?"))[0] is far[0]


def test_an_faq_answer_a_hair_behind_a_documents_sentence_comes_first():
    """"How long do I have to return an item?" (the demo shop): the exchange sentence, scored with its heading
    "Returns, exchanges and refunds", came a hair before the curated return-policy answer and was sent."""
    from knowledge_base.grounding import pick_evidence

    doc = sentence("Exchanging an item for another size is free within 30 days of delivery.", 1.029)
    faq_hit = SearchHit("faq-returns", 1.004, "You can return most items within 30 days.", "faq.csv",
                        "What is your return policy?", chunk_id="faq-returns", vector_score=1.0,
                        metadata={"kind": "faq", "question": "What is your return policy?"})
    faq = Evidence("You can return most items within 30 days.", faq_hit, 1.004, "")
    assert pick_evidence([doc, faq], faq_margin=0.03) == [faq, doc]
    assert pick_evidence([doc, faq]) == [doc, faq]  # off: score order
    far = Evidence(faq.text, faq_hit, 0.99, "")
    assert pick_evidence([doc, far], faq_margin=0.03) == [doc, far]  # further behind: score order


def test_a_sentence_of_an_occasion_the_question_does_not_name_comes_after_the_general_one():
    """"What are your opening hours?" was answered "On public holidays we open from 9:00 to 18:00.", which scored a
    hair above the shop's usual hours."""
    from knowledge_base.grounding import pick_evidence

    ranked = [sentence("On public holidays we open from 9:00 to 18:00.", 0.946),
              sentence("The shop is open Tuesday to Sunday from 8:00 to 21:00 and closed on Mondays.", 0.936, "c-2")]
    assert pick_evidence(ranked, question="What are your opening hours?") == ranked[::-1]
    assert pick_evidence(ranked, question="Are you open on public holidays?") == ranked  # it names them
    assert pick_evidence(ranked) == ranked  # no question: score order
    zh = [sentence("春节期间暂停配送，节后第一天恢复。", 0.95), sentence("每天 9:00–21:00 配送。", 0.93, "c-2")]
    assert pick_evidence(zh, question="你们几点配送？")[0] is zh[1]
    # a condition is an answer, not an occasion: "Is shipping free?" keeps the order threshold first
    free = [sentence("For orders over 200 CNY, shipping is free.", 0.94), sentence("We ship by SF Express.", 0.93, "c-2")]
    assert pick_evidence(free, question="Is shipping free?") == free
    far = [ranked[0], sentence(ranked[1].text, 0.85, "c-2")]  # further behind: not close, not swapped
    assert pick_evidence(far, question="What are your opening hours?") == far[:1]


def test_a_log_odds_bar_makes_the_reader_stricter():
    # the reader's log odds of YES per sentence: 0.3 (a weak yes), then 2.1 (a sure one)
    strict, plain = lookup(), lookup()
    Verifier(reader("0.3", "2.1"), "YES or NO.", skip_above=1.01, min_log_odds=0.5).check(strict)
    assert strict.answerable and strict.evidence[0].text == "Bean capacity: 35 g"  # the weak yes is passed over
    Verifier(reader("0.3", "2.1"), "YES or NO.", skip_above=1.01, min_log_odds=0.0).check(plain)
    assert plain.answerable and plain.evidence[0].text == "Size: 18 cm tall"
    weak = lookup()
    assert Verifier(reader("0.3", "0.2", "-1"), "YES or NO.", skip_above=1.01, min_log_odds=0.5).check(weak)
    assert not weak.answerable  # no sentence reaches the bar: declined


def test_the_bar_is_the_configured_one():
    from assistant.config import load_config

    settings = load_config(env={"ASSISTANT_KNOWLEDGE_BASE__VERIFY_MIN_LOG_ODDS": "0.5"})
    assert settings.knowledge_base.verify_min_log_odds == 0.5
    assert load_config(env={}).knowledge_base.verify_min_log_odds is None


def faq_sentence(question: str, answer: str, score: float) -> Evidence:
    hit = SearchHit("faq-1", score, f"{question}\n{answer}", "faq.csv", question, chunk_id="faq-1",
                    vector_score=score, metadata={"kind": "faq", "question": question, "answer": answer})
    return Evidence(answer, hit, score, question)


def test_an_faq_row_read_as_no_is_accepted_when_its_question_asks_the_same():
    row = faq_sentence("Do you sell gift cards?", "Yes, from 100 to 1000 yuan.", 0.9)
    found = Lookup("Do you have gift certificates?", "en", evidence=[row], best_score=0.86, evidence_score=0.9,
                   answerable=True)
    prose = sentence("Gift wrapping costs 10 yuan.", 0.88, "c-9")
    found.evidence.append(prose)
    fb = reader("NO", "NO", "YES")  # both sentences read first; then the FAQ row question to question
    assert Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same question?").check(found) == []
    assert found.answerable and len(fb.calls) == 3
    assert [e.text for e in found.evidence] == ["Yes, from 100 to 1000 yuan."]  # the curated answer alone
    second = fb.calls[2]["messages"]
    assert second[0].content == "Same question?"
    assert "CUSTOMER: Do you have gift certificates?" in second[1].content
    assert "FAQ: Do you sell gift cards?" in second[1].content
    # The question-to-question reading says NO too: declined.
    declined = Lookup("Can I pay with a gift card?", "en", evidence=[row], best_score=0.86, evidence_score=0.9,
                      answerable=True)
    Verifier(reader("NO", "NO"), "YES or NO.", skip_above=1.01, faq_prompt="Same question?").check(declined)
    assert not declined.answerable


def test_a_prose_sentence_or_a_verifier_without_the_faq_prompt_gets_one_reading():
    prose = lookup()
    fb = reader("NO", "NO", "NO")
    Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same question?").check(prose)
    assert len(fb.calls) == 3 and not prose.answerable  # no FAQ rows: one reading per sentence
    rows = [faq_sentence("Do you sell gift cards?", "Yes.", 0.9), faq_sentence("Can I pay by card?", "Yes.", 0.89)]
    two = Lookup("Do you have gift certificates?", "en", evidence=rows, best_score=0.86, evidence_score=0.9,
                 answerable=True)
    fb = reader("NO", "NO", "NO", "YES")
    Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same question?").check(two)
    assert len(fb.calls) == 3 and not two.answerable  # only the first FAQ row is asked about again
    row = faq_sentence("Do you sell gift cards?", "Yes.", 0.9)
    off = Lookup("Do you have gift certificates?", "en", evidence=[row], best_score=0.86, evidence_score=0.9,
                 answerable=True)
    fb = reader("NO", "YES")
    Verifier(fb, "YES or NO.", skip_above=1.01).check(off)
    assert len(fb.calls) == 1 and not off.answerable


def test_a_hesitant_yes_to_an_faq_row_on_another_subject_is_turned_down():
    def found():
        row = faq_sentence("能开发票吗？", "可以，30天内在订单页申请电子发票。", 0.9)
        return Lookup("订阅怎么跳过一期", "zh", evidence=[row], best_score=0.86, evidence_score=0.9, answerable=True)

    def verifier(*log_odds: str) -> tuple[Verifier, FakeBackend]:
        fb = reader(*log_odds)  # the fake reads a queued number as the reader's log odds
        return Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same question?", faq_recheck_below=1.0,
                        faq_same_min=-0.5), fb

    # A hesitant YES (0.08) and "not the same question" (-2.0): declined, after two readings.
    hesitant = found()
    v, fb = verifier("0.08", "-2.0")
    assert v.check(hesitant) and not hesitant.answerable and len(fb.calls) == 2
    assert "FAQ: 能开发票吗？" in fb.calls[1]["messages"][1].content
    # The same hesitant YES with a question reading above the bar (-0.3): answered.
    same = found()
    v, _ = verifier("0.08", "-0.3")
    assert v.check(same) == [] and same.answerable
    # A confident YES needs no second question: one reading.
    sure = found()
    v, fb = verifier("2.5")
    assert v.check(sure) == [] and sure.answerable and len(fb.calls) == 1
    # A document's sentence is never read question to question, however hesitant the YES.
    prose = Lookup("How many grams fit?", "en", evidence=[sentence("Bean capacity: 35 g", 0.9)], best_score=0.86,
                   evidence_score=0.9, answerable=True)
    v, fb = verifier("0.08")
    assert v.check(prose) == [] and prose.answerable and len(fb.calls) == 1


def test_the_recheck_is_configured_and_reaches_the_reader():
    from assistant.config import load_config

    kb = load_config(env={}).knowledge_base
    assert kb.verify_faq_recheck_below is None and kb.verify_faq_same_min == -0.5  # off: see config/default.yaml
    on = load_config(env={"ASSISTANT_KNOWLEDGE_BASE__VERIFY_FAQ_RECHECK_BELOW": "1.0"}).knowledge_base
    assert on.verify_faq_recheck_below == 1.0


def test_a_hesitant_yes_answers_and_marks_the_lookup_unsure():
    from knowledge_base.second_reading import UNSURE

    def read(*replies: str, unsure_below: float | None = 1.0) -> tuple[Lookup, list[str], FakeBackend]:
        fb = reader(*replies)
        found = lookup()
        return found, Verifier(fb, "YES or NO.", skip_above=1.01, unsure_below=unsure_below).check(found), fb

    # A sampled YES, then the same prompt's log odds (0.3, under 1.0): answered, and marked unsure.
    hesitant, checks, fb = read("YES", "0.3")
    assert hesitant.answerable and hesitant.unsure and checks == [UNSURE]
    assert len(fb.calls) == 2 and fb.calls[0]["messages"] == fb.calls[1]["messages"]
    # A sure YES (log odds 2.5): answered, nothing flagged.
    sure, checks, _ = read("NO", "YES", "2.5")
    assert sure.answerable and not sure.unsure and checks == []
    assert sure.evidence[0].text == "Bean capacity: 35 g"
    # Not measured (unsure_below None): no extra reading, never unsure.
    plain, checks, fb = read("YES", unsure_below=None)
    assert plain.answerable and not plain.unsure and checks == [] and len(fb.calls) == 1
    # A NO costs no extra reading either, and a declined lookup is not "unsure": it is a decline.
    declined, _, fb = read("NO", "NO", "NO")
    assert not declined.answerable and not declined.unsure and len(fb.calls) == 3


def test_an_faq_row_taken_question_to_question_hesitantly_is_unsure_and_parts_carry_it():
    row = faq_sentence("Do you sell gift cards?", "Yes, from 100 to 1000 yuan.", 0.9)
    found = Lookup("Do you have gift certificates?", "en", evidence=[row], best_score=0.86, evidence_score=0.9,
                   answerable=True)
    fb = reader("NO", "YES", "0.2")  # the answer reading says NO; question to question a hesitant YES
    Verifier(fb, "YES or NO.", skip_above=1.01, faq_prompt="Same question?", unsure_below=1.0).check(found)
    assert found.answerable and found.unsure
    # A message of two questions is unsure when an answered part is.
    sure_part, unsure_part = lookup(), lookup()
    whole = Lookup("two questions", "en", parts=[sure_part, unsure_part], answerable=True)
    fb = reader("YES", "3.0", "YES", "-0.2")
    Verifier(fb, "YES or NO.", skip_above=1.01, unsure_below=1.0).check(whole)
    assert whole.answerable and not sure_part.unsure and unsure_part.unsure and whole.unsure


def test_a_hesitant_yes_stands_only_when_the_translated_question_is_read_yes_too():
    # per sentence: the sampled YES, its log odds, then the reading of the translated question
    translations: list[tuple[str, str]] = []

    def translate(question: str, into: str) -> str:
        translations.append((question, into))
        return "豆仓能装多少克？"

    turned_down = lookup()
    fb = reader("YES", "0.4", "NO", "YES", "0.3", "YES")
    Verifier(fb, "YES or NO.", skip_above=1.01, translate=translate, translated_below=1.0).check(turned_down)
    # the first sentence's hesitant YES fell on the translated reading; the second's held
    assert turned_down.answerable and turned_down.evidence[0].text == "Bean capacity: 35 g"
    assert translations == [("How many grams of beans fit?", "zh")] * 2
    assert "豆仓能装多少克" in fb.calls[2]["messages"][1].content
    # a sure YES is not read again, and without a bar nothing is translated
    sure = lookup()
    Verifier(reader("YES", "2.5"), "YES or NO.", skip_above=1.01, translate=translate, translated_below=1.0).check(sure)
    assert sure.evidence[0].text == "Size: 18 cm tall" and len(translations) == 2
    plain = lookup()
    Verifier(reader("YES"), "YES or NO.", skip_above=1.01, translate=translate).check(plain)
    assert plain.answerable and len(translations) == 2
    # every hesitant YES turned down: declined, as a near miss
    near = lookup()
    Verifier(reader("YES", "0.1", "NO", "NO", "NO"), "YES or NO.", skip_above=1.01, translate=lambda q, i: "问题",
             translated_below=1.0).check(near)
    assert not near.answerable and near.turned_down
    # a failed translation leaves the first reading to decide
    kept = lookup()
    Verifier(reader("YES", "0.1"), "YES or NO.", skip_above=1.01, translate=lambda q, i: "",
             translated_below=1.0).check(kept)
    assert kept.answerable and kept.evidence[0].text == "Size: 18 cm tall"


def test_spec_lines_are_told_from_sentences():
    from knowledge_base.second_reading import is_spec_line

    for text in ("处理法: 日晒", "Bean capacity: 35 g", "| 电动磨豆机 | 2 年 |", "保质期：18 个月"):
        assert is_spec_line(text), text
    for text in ("We roast on Mondays and Thursdays.", "Note: we ship every parcel with SF Express, and the courier "
                 "calls before delivering to your door.", "请在签收后 48 小时内拍照联系客服。", "16:00 以后付款的订单次日发出。", "9:30 to 18:30 every day"):
        assert not is_spec_line(text), text


def test_a_spec_line_needs_a_firm_yes_when_the_bar_is_set():
    # "哪个处理站" over "处理法: 日晒": the reader's hesitant YES (0.2) to a spec line is not enough with a bar of 0.8,
    # and the next sentence (a firm YES) is answered from instead.
    def spec_lookup() -> Lookup:
        return answerable("Which washing station processed it?", "Process: natural", "Washed at the Hambela station.",
                          score=0.92)

    strict = spec_lookup()
    Verifier(reader("0.2", "2.5"), "YES or NO.", skip_above=1.01, spec_min_log_odds=0.8).check(strict)
    assert strict.answerable and strict.evidence[0].text.startswith("Washed")
    declined = spec_lookup()
    Verifier(reader("0.2", "NO"), "YES or NO.", skip_above=1.01, spec_min_log_odds=0.8).check(declined)
    assert not declined.answerable
    # Without the bar the same hesitant YES answers from the spec line, as any sentence.
    plain = spec_lookup()
    Verifier(reader("YES"), "YES or NO.", skip_above=1.01).check(plain)
    assert plain.answerable and plain.evidence[0].text == "Process: natural"


def test_a_spec_line_is_read_however_well_it_scores():
    # "颜色：岩石灰、松针绿、落日橙" scored 1.03 for "有专门的女款吗？": above skip_above, yet not an answer to it
    def high(text: str) -> Lookup:
        return Lookup("有专门的女款吗？", "zh", evidence=[sentence(text, 1.03)], best_score=0.9, evidence_score=1.03,
                      answerable=True)

    strict = Verifier(reader("-0.7"), "YES or NO.", skip_above=1.0, spec_min_log_odds=0.8)
    colours = high("颜色：岩石灰、松针绿、落日橙。")
    assert strict.needed(colours)
    strict.check(colours)
    assert not colours.answerable
    # a sentence that scores as high is still the question's own sentence, sent unread; and without the bar, so is
    # a spec line
    assert not strict.needed(high("岚风冲锋衣有女款，尺码从 S 到 XL，袖长和肩宽都按女性身形重新设计过。"))
    assert not Verifier(reader(), "YES or NO.", skip_above=1.0).needed(high("颜色：岩石灰、松针绿、落日橙。"))


def test_a_yes_to_a_spec_line_stands_only_when_its_label_reads_as_the_question():
    # "Product number: TH-B40" for "What colours…?": the reader's hesitant YES (0.3) with the label read as another
    # question (-1.2) falls under the bar; the colour line (YES 2.5, label 1.0) is answered from instead.
    def colours() -> Lookup:
        return answerable("What colours does it come in?", "Product number: TH-B40", "Colours: grey, green")

    fb = reader("YES", "0.3", "-1.2", "YES", "2.5", "1.0")
    checked = colours()
    Verifier(fb, "YES or NO.", faq_prompt="Same?", spec_label_min=1.5).check(checked)
    assert checked.answerable and checked.evidence[0].text.startswith("Colours")
    # what the label reading was asked: the line's label with the page it is on, as an FAQ question
    label_prompts = [c["messages"][-1].content for c in fb.calls
                     if "FAQ: Grinder – Product number?" in c["messages"][-1].content]
    assert len(label_prompts) == 1 and "What colours" in label_prompts[0]
    declined = colours()
    Verifier(reader("YES", "0.3", "-1.2", "NO"), "YES or NO.", faq_prompt="Same?", spec_label_min=1.5).check(declined)
    assert not declined.answerable
    # without the FAQ prompt (nothing to read the label with) or the bar, the reader's YES decides as before
    for verifier in (Verifier(reader("YES"), "YES or NO.", spec_label_min=1.5),
                     Verifier(reader("YES"), "YES or NO.", faq_prompt="Same?")):
        plain = colours()
        verifier.check(plain)
        assert plain.answerable and plain.evidence[0].text.startswith("Product number")
        assert len(verifier.backend.calls) == 1  # the sampled YES alone: no log odds, no label reading
    # with the spec-line bar as well, both hold: a firm label reading does not lift a YES under the bar
    barred = colours()
    Verifier(reader("YES", "0.3", "YES", "0.2"), "YES or NO.", faq_prompt="Same?", spec_label_min=1.0,
             spec_min_log_odds=0.8).check(barred)
    assert not barred.answerable


def test_a_spec_line_turned_down_by_its_label_is_not_read_again_without_its_no():
    # "Pets: not allowed" read YES, then turned down by its label reading, is not taken up by the negated reading;
    # the same line read NO plainly is (a yes/no question)
    def pets() -> Lookup:
        return answerable("Can I bring my dog?", "Pets: not allowed")

    vetoed = pets()
    fb = reader("YES", "0.2", "-1.0")
    Verifier(fb, "YES or NO.", faq_prompt="Same?", spec_label_min=1.0, negated=True).check(vetoed)
    assert not vetoed.answerable and len(fb.calls) == 3
    read_no = pets()
    fb = reader("NO", "YES")
    Verifier(fb, "YES or NO.", faq_prompt="Same?", spec_label_min=1.0, negated=True).check(read_no)
    assert read_no.answerable and "Pets: allowed" in fb.calls[-1]["messages"][-1].content


def test_a_spec_lines_label_is_its_label_or_its_rows_first_cell_with_the_heading():
    from knowledge_base.second_reading import spec_label

    assert spec_label(sentence("Filter life: Up to 1,500 L", 0.9)) == "Grinder – Filter life"
    assert spec_label(sentence("| 炉头（如 Blaze Mini） | 1 年 |", 0.9)) == "Grinder – 炉头（如 Blaze Mini）"
    bare = Evidence("保质期：18 个月", sentence("x", 0.9).hit, 0.9)
    assert spec_label(bare) == "保质期"
    assert spec_label(sentence("| | 2 年 |", 0.9)) == ""  # names nothing: no label reading


def test_the_label_reading_holds_a_whole_question_not_a_later_part():
    # "一罐有多少克" after "龙井多少钱？": a later part is a short question given its subject, read plainly (as with the
    # weights); the first part's spec-line YES still needs its label reading.
    def part(question: str, text: str) -> Lookup:
        return answerable(question, text, lang="zh")

    whole = Lookup("龙井多少钱？一罐有多少克", "zh", answerable=True,
                   parts=[part("龙井多少钱？", "价格：128 元"), part("龙井一罐有多少克", "净含量：100 克")])
    # first part: YES 0.4 + label -1.0 under the bar, turned down; second part: the plain YES answers
    fb = reader("YES", "0.4", "-1.0", "YES")
    Verifier(fb, "YES or NO.", faq_prompt="Same?", spec_label_min=1.0).check(whole)
    assert [p.answerable for p in whole.parts] == [False, True] and whole.answerable
    assert len(fb.calls) == 4 and not fb.replies  # the second part: one plain reading, no label reading


def spec_table(*rows: tuple[str, float]) -> Lookup:
    evidence = [sentence(text, score, f"c-{i + 1}") for i, (text, score) in enumerate(rows)]
    return Lookup("How heavy is the sleeping bag?", "en", evidence=evidence, best_score=0.9,
                  evidence_score=rows[0][1], answerable=True)


def test_a_tie_of_spec_rows_is_broken_by_the_readers_firmest_yes():
    # every row of the bag's spec table carries its name: the packed size scores a hair above the weight
    rows = [("Packed size: 20 x 36 cm", 1.010), ("Total weight: 980 g", 1.006), ("Fill: 550 g", 1.004),
            ("Shell: 20D nylon", 0.95)]
    tied = spec_table(*rows)
    fb = reader("0.3", "2.0", "0.8")
    Verifier(fb, "YES or NO.", skip_above=1.0, tie_margin=0.01).check(tied)
    assert tied.answerable and tied.evidence[0].text == "Total weight: 980 g" and len(fb.calls) == 3
    assert [e.text for e in tied.evidence[1:]] == ["Packed size: 20 x 36 cm", "Fill: 550 g", "Shell: 20D nylon"]
    # a tie the reader reads as NO throughout stays as it was, and is answered as before (it scores skip_above)
    doubted = spec_table(*rows)
    Verifier(reader("-1", "-2", "-0.5"), "YES or NO.", skip_above=1.0, tie_margin=0.01).check(doubted)
    assert doubted.answerable and doubted.evidence[0].text == "Packed size: 20 x 36 cm"
    # without the margin, or with a clear best, nothing more is read
    plain, clear = spec_table(*rows), spec_table(("Total weight: 980 g", 1.05), ("Fill: 550 g", 1.0))
    assert Verifier(fb := reader(), "YES or NO.", skip_above=1.0).check(plain) == [] and fb.calls == []
    Verifier(fb := reader(), "YES or NO.", skip_above=1.0, tie_margin=0.01).check(clear)
    assert fb.calls == [] and clear.evidence[0].text == "Total weight: 980 g"


def test_a_tie_under_the_skip_bar_is_read_in_the_order_the_tie_was_broken():
    # the reading after the tie starts from the firmest YES; a tie all read NO is declined as before
    rows = [("Packed size: 20 x 36 cm", 0.90), ("Total weight: 980 g", 0.895)]
    tied = spec_table(*rows)
    fb = reader("0.4", "1.9", "YES")
    Verifier(fb, "YES or NO.", skip_above=1.0, tie_margin=0.01).check(tied)
    assert tied.answerable and tied.evidence[0].text == "Total weight: 980 g"
    assert "Total weight" in fb.calls[2]["messages"][1].content
    declined = spec_table(*rows)
    Verifier(reader("-1", "-2", "NO", "NO"), "YES or NO.", skip_above=1.0, tie_margin=0.01).check(declined)
    assert not declined.answerable


def test_the_tie_margin_is_configured_and_checked():
    import pytest

    from assistant.config import load_config
    from assistant.errors import ConfigError
    from knowledge_base.config import KnowledgeBaseConfig

    assert load_config(env={"ASSISTANT_KNOWLEDGE_BASE__VERIFY_TIE_MARGIN": "0.01"}).knowledge_base.verify_tie_margin \
        == 0.01
    with pytest.raises(ConfigError, match="verify_tie_margin"):
        KnowledgeBaseConfig(verify_tie_margin=-0.1)
