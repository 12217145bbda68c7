"""The second reading before an answer is sent (`Verifier`): does the evidence state what the question asks, not
merely something near it? A larger model answers that one yes/no question per evidence sentence; FAQ rows are also
read question to question."""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.llm.base import Message
from knowledge_base.answer import Lookup
from knowledge_base.grounding import LETTER, SPEC_LABEL, Evidence
from knowledge_base.negation import affirmed
from knowledge_base.reading_weights import ReadingWeights, features
from knowledge_base.text import asks_yes_or_no

log = logging.getLogger(__name__)

UNSURE = "answered, but the second reading was unsure (a knowledge gap to check)"
NEGATED_READINGS = 2  # sentences that say no read once more with the "no" taken out, per question


class Verifier:
    """A second reading before an answer is sent: does the evidence state what the question asks (not merely
    something near it)? Near misses ("do you sell matcha?" over the green-tea page) score as high as right
    answers on similarity alone; a model asked this one yes/no question tells them apart far better.

    Each evidence sentence is read on its own, best first, until one states the answer: shown three sentences
    at once, the small reader said NO whenever one of them was unrelated, and the sentence that does answer
    is often not the best-scoring one ("Bean capacity: 35 g" behind "Size: 18 cm tall"), so the confirmed
    sentence becomes the first and the ones read as not answering are dropped. Evidence scoring `skip_above`
    or more is not asked about (it is the question's own sentence). With `weights` (knowledge_base/reading_weights.py)
    a YES also needs the weighed probability to reach their veto bar ("veto", the default), or the weighing alone
    picks among the best-scoring sentences, every answerable lookup read ("choose")."""

    def __init__(self, backend, prompt: str, skip_above: float = 1.0, max_sentences: int = 3,
                 min_log_odds: float | None = None, faq_prompt: str = "", faq_recheck_below: float | None = None,
                 faq_same_min: float = -0.5, unsure_below: float | None = None,
                 translate: Callable[[str, str], str] | None = None, translated_below: float | None = None,
                 spec_min_log_odds: float | None = None, weights: ReadingWeights | None = None,
                 weights_mode: str = "veto", negated: bool = False, spec_label_min: float | None = None,
                 tie_margin: float | None = None):
        self.backend, self.prompt = backend, prompt
        self.skip_above, self.max_sentences = skip_above, max_sentences
        # None: the reader's sampled YES/NO; a number: its log odds of YES must reach it (a stricter reader)
        self.min_log_odds = min_log_odds
        # An FAQ row read as NO is asked about once more, question to question ('' = not): the reader turns down
        # answers to questions asked in other words ("Do you have gift certificates?" over "Do you sell gift
        # cards?: Yes, ..."), which a help desk would match as the same question.
        self.faq_prompt = faq_prompt
        # A weak YES (log odds under `faq_recheck_below`) to an FAQ row is checked question to question as well, and
        # turned down when that reading's log odds fall under `faq_same_min`: the reader says a hesitant YES to rows
        # on another subject ("订阅怎么跳过一期" over the invoice row), which decides most wrong answers to questions
        # the shop has no answer for. None = no check.
        self.faq_recheck_below, self.faq_same_min = faq_recheck_below, faq_same_min
        # A YES with log odds under `unsure_below` still answers, and marks the lookup `unsure`: most wrong answers
        # are such hesitant YESes (to a row on another subject), and a customer rarely says the answer was wrong,
        # so the gap report lists them for the shop to check. None = not measured (no extra reading).
        self.unsure_below = unsure_below
        # A YES with log odds under `translated_below` is read once more with the question in the other language
        # (`translate(question, into)`), and stands only when that reading says YES too: a hesitant YES to a near
        # miss ("哪个处理站" over "处理法: 日晒") rests on the words the question shares with the sentence, which a
        # translation does not keep. None = no such reading.
        self.translate, self.translated_below = translate, translated_below
        # A spec line ("处理法: 日晒", a table row "| 电动磨豆机 | 2 年 |") counts only with a YES whose log odds reach
        # `spec_min_log_odds`: it names the product and the attribute in a few words, so the reader says a weak YES to
        # it for a neighbouring question ("哪个处理站" over "处理法", "型号和价格" over the warranty row), while a spec
        # line that answers gets a firm one. None = no such bar.
        self.spec_min_log_odds = spec_min_log_odds
        # The reader's log odds weighed with what plain code sees in each sentence (knowledge_base/reading_weights.py):
        # "veto", a YES counts only when the weighed probability reaches weights.veto; "choose", the weighing picks
        # among the best-scoring sentences, not only those close to the best. None = the reader's YES/NO decides.
        self.weights = weights if weights is not None and hasattr(backend, "yes_log_odds") else None
        self.weights_mode = weights_mode
        # A sentence that says no (do not, 不要, 没有…) read as NO for a yes/no question is read once more with its
        # "no" taken out (knowledge_base/negation.py), after every plain reading failed: the reader takes "Do not use
        # the stove in a tent vestibule" for not stating whether the stove may run there. A YES sends it as written.
        self.negated = negated
        # A YES to a spec line stands only when its log odds and those of its label read as the question ("Filter
        # life of the ClearFlow filter?" for "How long is the warranty on the ClearFlow filter?") reach
        # `spec_label_min` together: the reader says a hesitant YES to a line on the product asked about that gives
        # another attribute of it ("Product number: TH-B40" for its colours, "炉头: 1 年" for 登山杖保修几年), and the
        # label read as a question is what tells them apart. None = not read.
        self.spec_label_min = spec_label_min if faq_prompt and hasattr(backend, "yes_log_odds") else None
        # The first evidence sentences scoring within `tie_margin` of the best are a tie the scores cannot break: the
        # rows of one product's spec table all carry its name ("云眠睡袋整个有多重" scored 1.010 for its packed size and
        # 1.006 for "总重量: 980 克"). The reader's log odds break it, whatever the score. None = first come, first read.
        self.tie_margin = tie_margin if hasattr(backend, "yes_log_odds") else None

    def needed(self, lookup: Lookup, always: bool = False, weighed: bool = True) -> bool:
        if lookup.faq is not None or lookup.broad or not (lookup.answerable or lookup.borderline):
            return False
        if always or lookup.borderline or lookup.evidence_score < self.skip_above or (weighed and self._choosing):
            return True
        # A spec line is read however well it scores: "颜色：岩石灰、松针绿、落日橙" scored 1.03 for "有专门的女款吗？", the
        # product's name and the question's words being on the line
        return self.spec_min_log_odds is not None and bool(lookup.evidence) and is_spec_line(lookup.evidence[0].text)

    def _reading(self, lookup: Lookup, sentence: Evidence, measure: bool = False, labelled: bool = True
                 ) -> tuple[bool, bool, float | None]:
        """(whether `sentence` states the answer, whether it was read question to question on the way, the log odds
        of the YES when it states it and they were read (always with `measure`), else None). `labelled`: a spec line's
        YES is held to its label reading (with spec_label_min)."""
        messages = self.messages(lookup.question, sentence.quoted)
        if self._label_read(labelled) and is_spec_line(sentence.text) and not sentence.faq_question and (
                label := spec_label(sentence)):
            return self._spec_label_reading(lookup, label, messages)
        if self.spec_min_log_odds is not None and hasattr(self.backend, "yes_log_odds") and is_spec_line(sentence.text):
            odds = self.backend.yes_log_odds(messages)
            return odds >= self._spec_bar, False, odds
        if not (self.faq_prompt and self.faq_recheck_below is not None and sentence.faq_question
                and hasattr(self.backend, "yes_log_odds")):
            stated, odds = self._yes_odds(messages, measure)
            return stated, False, odds
        odds = self.backend.yes_log_odds(messages)
        if odds < (self.min_log_odds or 0.0):
            return False, False, None
        if odds >= self.faq_recheck_below:
            return True, False, odds
        same = self._same_question(lookup.question, sentence.faq_question)
        return self.backend.yes_log_odds(same) >= self.faq_same_min, True, odds

    def _spec_label_reading(self, lookup: Lookup, label: str, messages: list[Message]
                            ) -> tuple[bool, bool, float | None]:
        """A spec line read plainly (held to spec_min_log_odds too, when set) and, after a YES, its `label` read as the
        question; as `_reading`, a YES the label reading turns down counting as read question to question (so the
        negated reading does not take it up again)."""
        stated, odds = self._yes_odds(messages, measure=True)
        if stated and odds is not None and self.spec_min_log_odds is not None:
            stated = odds >= self._spec_bar
        if not stated or odds is None:
            return stated, False, odds
        same = self.backend.yes_log_odds(self._same_question(lookup.question, f"{label}?"))
        log.info("spec line read: %.2f + label %.2f for %r over %r", odds, same, lookup.question, label)
        assert self.spec_label_min is not None
        if odds + same >= self.spec_label_min:
            return True, False, odds
        return False, True, odds

    def messages(self, question: str, text: str) -> list[Message]:
        """The one question the reader answers: does `text` state what `question` asks?"""
        return [Message("system", self.prompt),
                Message("user", f"TEXT:\n- {text}\n\nQUESTION: {question}\n\n"
                                "Does the TEXT state what the QUESTION asks? YES or NO")]

    def _same_question(self, question: str, faq: str) -> list[Message]:
        """The question-to-question reading: does the customer's `question` ask what the FAQ question `faq` asks?"""
        return [Message("system", self.faq_prompt),
                Message("user", f"CUSTOMER: {question}\nFAQ: {faq}\n\n"
                                "Same information asked? YES or NO")]

    def _yes_odds(self, messages: list[Message], measure: bool = False) -> tuple[bool, float | None]:
        """(the reader's YES, its log odds when they were read: always with min_log_odds, and after a sampled YES
        when unsure_below is set or with `measure`; else None)."""
        with_odds = hasattr(self.backend, "yes_log_odds")
        if self.min_log_odds is not None and with_odds:
            odds = self.backend.yes_log_odds(messages)
            return odds >= self.min_log_odds, odds
        reply = self.backend.generate(messages, max_tokens=2, temperature=0.0)
        if reply.strip().upper().startswith("NO"):
            return False, None
        # The same prompt again: llama.cpp reuses its evaluated prefix, so this costs about one token.
        wanted = measure or self.unsure_below is not None
        return True, (self.backend.yes_log_odds(messages) if wanted and with_odds else None)

    def confirmed(self, lookup: Lookup, sure: float | None = None, weighed: bool = True) -> tuple[int, bool] | None:
        """(index, whether it was confirmed question to question) of the first evidence sentence the reader says
        states the answer; None when none does. Only the first FAQ row read as NO is asked about again (unless its
        hesitant YES already was): one more reading at most, since every unanswerable question would pay for each
        (with `negated`, a yes/no question pays up to NEGATED_READINGS more).
        `sure`: a YES counts only when its log odds reach it. `weighed` (a whole question or a message's first): with
        weights, they decide, and a spec line's YES is held to its label reading (spec_label_min)."""
        if self._choosing and weighed:
            return self._weighed(lookup, sure)
        read = lookup.evidence[: self.max_sentences]
        asked_already, read_no = set(), []
        for i, sentence in enumerate(read):
            stated, compared, odds = self._reading(lookup, sentence, measure=sure is not None or self._translating,
                                                   labelled=weighed)
            # a plain NO only: not a row the question-to-question reading turned down, nor a spec line under its bar
            if not stated and not compared and not (self.spec_min_log_odds is not None and is_spec_line(sentence.text)):
                read_no.append(i)
            if stated and _reaches(odds, sure) and self._holds_translated(lookup, sentence, odds, compared):
                # a YES that rests on the question-to-question reading is not weighed on the first reading's odds;
                # a vetoed row is not asked about again below (the weighing turned it down)
                if not (weighed and not compared and self._vetoed(lookup, sentence, i, odds)):
                    lookup.unsure = self._unsure(odds)
                    return i, False
                asked_already.add(i)
            if compared:
                asked_already.add(i)
        faq = next((i for i, e in enumerate(read) if e.faq_question), None) if self.faq_prompt else None
        if faq is not None and faq not in asked_already:
            same, odds = self._yes_odds(self._same_question(lookup.question, read[faq].faq_question),
                                        measure=sure is not None)
            if same and _reaches(odds, sure):
                lookup.unsure = self._unsure(odds)
                return faq, True
        return self._confirmed_negated(lookup, [(i, read[i]) for i in read_no], sure)

    def _confirmed_negated(self, lookup: Lookup, read_no: list[tuple[int, Evidence]], sure: float | None
                           ) -> tuple[int, bool] | None:
        """Last, when nothing else answered a yes/no question: the first sentence read as NO that says no and is
        read YES with its "no" taken out. Only after every plain reading, so a sentence read YES as it stands is
        never passed over for one turned ("Gas canister not included." before "…cannot be sent by courier"); at
        most NEGATED_READINGS of them, since most questions that reach this are the ones the documents do not
        answer. Not weighed: the weights were fitted on plain readings."""
        if not (self.negated and asks_yes_or_no(lookup.question)):
            return None
        measure = sure is not None or self._translating
        turned = [(i, sentence, text) for i, sentence in read_no if (text := affirmed(sentence.quoted)) is not None]
        for i, sentence, text in turned[:NEGATED_READINGS]:
            stated, odds = self._yes_odds(self.messages(lookup.question, text), measure)
            if stated and _reaches(odds, sure) and self._holds_translated(lookup, sentence, odds, False, text):
                log.info("a sentence that says no answers the yes/no question: %r", sentence.text[:80])
                lookup.unsure = self._unsure(odds)
                return i, False
        return None

    def _label_read(self, whole: bool) -> bool:
        """Whether a spec line's YES is held to its label reading: only for a whole question (or a message's first),
        as with the weights: a later part is a short question given its subject ("一罐有多少克"), to which the reader
        says weaker YESes."""
        return self.spec_label_min is not None and whole

    @property
    def _spec_bar(self) -> float:
        """The log odds a YES to a spec line needs with spec_min_log_odds set (min_log_odds when that is higher)."""
        return max(b for b in (self.spec_min_log_odds, self.min_log_odds) if b is not None)

    @property
    def _choosing(self) -> bool:
        return self.weights is not None and self.weights_mode == "choose"

    def _vetoed(self, lookup: Lookup, sentence: Evidence, index: int, odds: float | None) -> bool:
        """Whether the weighing turns down a YES (mode "veto"): a YES to a near miss ("Filter life: Up to 1,500 L" for
        the filter's warranty) is often hesitant, on a spec line, far down the ranking."""
        if self.weights is None or self.weights_mode != "veto":
            return False
        if odds is None:  # the same prompt again: llama.cpp reuses its evaluated prefix, so this costs one token
            odds = self.backend.yes_log_odds(self.messages(lookup.question, sentence.quoted))
        # its place in the ranking by score, as the weights were fitted (pick_evidence may move a sentence forward);
        # one found further down counts as last
        rank = next((r for r, e in enumerate(lookup.candidates) if e is sentence), len(lookup.candidates) or index)
        p = self.weights.probability(features(lookup.question, sentence, rank, odds))
        if p < self.weights.veto:
            log.info("a YES (log odds %.2f) turned down by the weighing (%.2f < %.2f): %r", odds, p,
                     self.weights.veto, sentence.text[:80])
            return True
        return False

    def _weighed(self, lookup: Lookup, sure: float | None) -> tuple[int, bool] | None:
        """The first of the best-scoring sentences (`lookup.candidates`) whose weighed probability reaches the
        threshold becomes the first evidence sentence (the ones before it are dropped, the rest of the evidence
        follows); None when none does."""
        assert self.weights is not None
        read = (lookup.candidates or lookup.evidence)[: self.weights.candidates]
        for rank, sentence in enumerate(read):
            odds = self.backend.yes_log_odds(self.messages(lookup.question, sentence.quoted))
            if self.weights.probability(features(lookup.question, sentence, rank, odds)) < self.weights.threshold:
                continue
            if not _reaches(odds, sure):
                continue
            passed = read[:rank]
            lookup.evidence = [sentence] + [e for e in lookup.evidence
                                            if e is not sentence and not any(e is p for p in passed)]
            lookup.unsure = self._unsure(odds)
            return 0, False
        return None

    @property
    def _translating(self) -> bool:
        return self.translate is not None and self.translated_below is not None

    def _holds_translated(self, lookup: Lookup, sentence: Evidence, odds: float | None, compared: bool,
                          text: str | None = None) -> bool:
        """Whether a YES stands the reading of the translated question (always, when it is not hesitant or was
        already confirmed question to question). `text`: what was read YES, when not the sentence as written."""
        if not self._translating or compared or odds is None or odds >= self.translated_below:
            return True
        from assistant.language import answer_language, other_language

        into = other_language(answer_language(lookup.question))
        translated = self.translate(lookup.question, into)  # type: ignore[misc]
        if not translated:  # no translation: the first reading decides
            return True
        again, _ = self._yes_odds(self.messages(translated, text or sentence.quoted))
        if not again:
            log.info("a hesitant YES (%.2f) turned down by the reading of the translated question %r", odds,
                     translated)
        return again

    def _break_tie(self, lookup: Lookup) -> None:
        """Moves the tied sentence (`tie_margin`) the reader reads the firmest YES to first. It only reorders the
        sentences the reading would read anyway (the first max_sentences): a tie all read as NO stays as it was, and
        whether the question is answered or declined is decided afterwards as before."""
        if self.tie_margin is None or lookup.faq is not None or lookup.broad or not (
                lookup.answerable or lookup.borderline) or len(lookup.evidence) < 2:
            return
        best = lookup.evidence[0].score
        tied = [e for e in lookup.evidence[: self.max_sentences] if e.score >= best - self.tie_margin]
        if len(tied) < 2:
            return
        odds = [self.backend.yes_log_odds(self.messages(lookup.question, e.quoted)) for e in tied]
        top = max(range(len(tied)), key=odds.__getitem__)
        if top and odds[top] > 0:
            log.info("a tie broken by the reader (%.2f over %.2f): %r", odds[top], odds[0], tied[top].text[:80])
            chosen = tied[top]
            lookup.evidence = [chosen] + [e for e in lookup.evidence if e is not chosen]

    def _unsure(self, odds: float | None) -> bool:
        return self.unsure_below is not None and odds is not None and odds < self.unsure_below

    def check(self, lookup: Lookup, always: bool = False, sure: float | None = None, weighed: bool = True) -> list[str]:
        """Marks `lookup` not answerable when no evidence sentence states the answer; a borderline lookup
        becomes answerable when one does. `sure`: only a YES whose log odds reach it counts (for evidence found
        a weaker way). `weighed` (with weights): they decide, else the reader's YES.

        The later questions of a several-question message are read the plain way: the weights were fitted on whole
        questions, and a later part is a short question given its subject ("羽绒睡袋保修拉链也是吗"), which the reader
        says a weaker YES to; weighed, right second halves were declined."""
        if lookup.parts:  # each question of the message is read against its own sentences
            checks = [c for i, part in enumerate(lookup.parts)
                      for c in self.check(part, always, sure, weighed=weighed and i == 0)]
            lookup.refresh()  # answerable and turned down from its parts
            return checks
        from assistant.errors import AssistantError

        try:
            self._break_tie(lookup)
            if not self.needed(lookup, always, weighed):
                return []
            found = self.confirmed(lookup, sure, weighed)
        except AssistantError as exc:  # the reader failing must not cost the customer the answer
            log.warning("second reading failed, answering on the first: %s", exc.one_line())
            return []
        if found is None:
            lookup.answerable, lookup.turned_down = False, True
            return ["the evidence does not state what was asked (second reading)"]
        index, same_question = found
        # An FAQ row taken for asking the same question answers alone: its curated answer is the whole answer.
        lookup.evidence = [lookup.evidence[index]] if same_question else lookup.evidence[index:]
        unsure = [UNSURE] if lookup.unsure else []
        if lookup.borderline and not lookup.answerable:
            lookup.answerable = True
            return ["answered although the passages scored low: the second reading found the answer", *unsure]
        return unsure


def _reaches(odds: float | None, bar: float | None) -> bool:
    """Whether a YES counts: always without a bar; with one, only when its log odds were read and reach it."""
    return bar is None or (odds is not None and odds >= bar)


def is_spec_line(text: str, max_value: int = 40) -> bool:
    """A product's or policy's spec line: a table row ("| 电动磨豆机 | 2 年 |") or a short label and a short value
    ("处理法: 日晒", "Bean capacity: 35 g"), not a sentence that happens to start with a label."""
    text = text.strip()
    if text.count("|") >= 2:
        return True
    m = SPEC_LABEL.match(text)
    # "16:00 以后付款的订单次日发出。" is a sentence with a time in it, not the label "16"
    return m is not None and LETTER.search(m.group(1)) is not None and len(m.group(2).strip()) <= max_value


def spec_label(sentence: Evidence) -> str:
    """What a spec line is the value of, with what it is about: "ClearFlow Squeeze Water Filter > Specifications –
    Filter life" for "Filter life: Up to 1,500 L", the heading and the first cell of a table row; '' when it names
    nothing (the label reading is then skipped)."""
    text = sentence.text.strip()
    if text.count("|") >= 2:  # a row whose first cell is empty names nothing: ''
        label = text.strip().strip("|").split("|")[0].strip()
    else:
        m = SPEC_LABEL.match(text)
        label = m.group(1).strip() if m else ""
    if not label:
        return ""
    return f"{sentence.context} – {label}" if sentence.context else label
