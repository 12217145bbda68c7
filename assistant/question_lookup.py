"""Steps the chat takes around the knowledge base's lookup, each only when needed:

- a **follow-up** ("那低因的呢？" after "古吉多少钱？") is rewritten as a question of its own before it is searched:
  searched together with the question before it, the old subject wins and the customer gets the old answer;
- **no answer, or an answer to only some of a message's questions**: the unanswered question is asked once more,
  translated, because the answer may be on a page in the other language ("H2 有多重？" over an English spec sheet),
  which neither words nor this embedder match well;
- **an answer the reader hesitated over**, in a shop that writes pages in both languages: the question is asked
  translated too, and the answer the reader is firmer about is sent. A plausible sentence in the customer's language
  ("满 199 元包邮" for the minimum order of a VAT invoice) had kept the retry from running, the answer being on the
  English page. Answers the reader is sure of never pay for it.

The rewriter and translator is the second reader's model (the larger one) when there is one.
"""

from __future__ import annotations

import logging
import re

from assistant.errors import AssistantError
from assistant.language import other_language
from assistant.llm.base import Message

log = logging.getLogger(__name__)


def rewrite_follow_up(rewriter, prompt: str, text: str, earlier: list[str], checks: list[str],
                      places_file: str = "") -> tuple[str, bool]:
    """(`text` as a question of its own when it is a follow-up of `earlier` questions, `text` itself otherwise or
    when the rewrite fails (the lookup then searches both questions together); whether plain code rewrote it).
    `places_file`: the shop's knowledge_base.places_file ('' = the shipped places)."""
    from knowledge_base.places import places_for
    from knowledge_base.questions import is_follow_up, standalone_question, substituted_follow_up

    if not earlier or not is_follow_up(text):
        return text, False
    # "and the stove?", "and to Hong Kong?": plain code where it applies, else the model
    rewritten = substituted_follow_up(earlier[-1], text) or places_for(places_file).swapped(earlier[-1], text)
    by_rule = bool(rewritten)
    if not rewritten:
        try:
            rewritten = standalone_question(rewriter, prompt, earlier[-1], text)
        except AssistantError as exc:
            log.warning("could not rewrite the follow-up: %s", exc.one_line())
            return text, False
    if rewritten:
        checks.append(f"follow-up searched as: {rewritten}")
    return rewritten or text, by_rule


def answer_naming_the_follow_up(kb, lookup, follow_up: str, language: str, reader, checks: list[str]):
    """`lookup` (a follow-up searched with the question before it, rewritten or joined), or the follow-up searched
    alone when only that answer names the follow-up's own subject. "那退货呢？" after "可以开发票吗？" was rewritten
    "退货可以开发票吗？", the invoice row matched it, and the invoice answer was sent again: a follow-up that names a
    new subject ("returns") is answered from text that names it, when the shop has such text."""
    from knowledge_base.questions import names_a_subject, own_words_in

    if not lookup.answerable or not names_a_subject(follow_up) or own_words_in(follow_up, lookup.sources):
        return lookup
    alone_checks: list[str] = []
    alone = kb.lookup(follow_up, language, [], reader=reader, checks=alone_checks)
    if not (alone.answerable and own_words_in(follow_up, alone.sources)):
        return lookup
    checks.append("the answer found with the question before never named the follow-up's subject: "
                  "the follow-up searched alone")
    checks.extend(alone_checks)
    return alone


# Samples after a greedy translation into English that kept Chinese words ("What beans is cold萃液 made from?"):
# the 1.5B lacks some words greedily but finds them often enough when sampled, and a half-translated question
# misses the English page it was translated for.
LEFTOVER_RESAMPLES = 2


def _kept_chinese(question: str, translated: str) -> bool:
    from assistant.language import answer_language
    from knowledge_base.text import has_cjk

    return has_cjk(question) and answer_language(translated) == "en" and has_cjk(translated)


# "餐桌多重？" asks how heavy the table is, but 多重 is also "multiple": the 1.5B translated it "How many tables are
# there?" ("橡木餐桌多重？": "How many legs does the oak table have?"). Written "有多重", it reads "How much does the
# table weigh?". The same for the other measures asked at a clause's end.
_BARE_MEASURE = re.compile(r"(?<![有])多([重大高长宽厚])(?=\s*(?:[？?。.!！，,、呢啊呀吗]|$))")


def translate_question(backend, prompt: str, question: str) -> str:
    """`question` translated by `backend` under `prompt` (the shop's translate_question text): the reply's first
    line (greedy; sampled again when a translation into English kept Chinese words, and the first clean sample
    wins); '' when the model fails (logged), so the caller goes on without the translation."""
    question = _BARE_MEASURE.sub(r"有多\1", question)
    first = ""
    for attempt in range(1 + LEFTOVER_RESAMPLES):
        sampling = {"temperature": 0.0} if attempt == 0 else {"temperature": 0.7, "seed": attempt}
        try:
            lines = "".join(backend.stream([Message("system", prompt), Message("user", question)],
                                           max_tokens=96, **sampling)).strip().splitlines()
        except AssistantError as exc:
            log.warning("could not translate the question: %s", exc.one_line())
            return first
        text = lines[0].strip() if lines else ""
        first = first or text
        if text and not _kept_chinese(question, text):
            return text
    return first


class CrossLanguageRetry:
    """Asks the knowledge base once more with a question translated into the other language."""

    def __init__(self, kb, translator, shop, verifier=None, min_score: float = 0.95, gain: float = 0.0,
                 sure_min_score: float | None = None, sure_log_odds: float = 0.5, page_names: bool = False,
                 compare_below: float | None = None):
        self.kb, self.translator, self.shop, self.verifier = kb, translator, shop, verifier
        # an answer whose reading is a YES under these log odds is compared with the translated question's (None: not)
        self.compare_below = compare_below
        # the titles of the other language's pages go with the question: a small model translates "古吉" as grapes
        # and keeps "冷萃液" half-translated, but picks "Cold Brew Concentrate" or "古吉" when it sees the names
        self.page_names = page_names
        self.min_score, self.gain = min_score, gain
        # Evidence under min_score but at least sure_min_score is answered from only when the second reading's YES
        # is sure (log odds >= sure_log_odds): weaker similarity, a stronger reading. None = not at all.
        self.sure_min_score, self.sure_log_odds = sure_min_score, sure_log_odds

    def _translate(self, question: str, into: str) -> str:
        prompt = self.shop.text("translate_question", into)
        names = self.kb.page_index.names(into) if self.page_names else []
        if names:
            prompt += " " + self.shop.text("translate_question_names", into, names="; ".join(names))
        return translate_question(self.translator, prompt, question)

    def _translated_lookup(self, question: str, language: str):
        """The lookup of `question` translated into the other language, answered in `language`; None without a
        translation. The translation is searched alone: the earlier turns are in the customer's language, not the
        documents'."""
        translated = self._translate(question, other_language(language))
        return self.kb.lookup(translated, language, own_translations=False) if translated else None  # swapped later

    def retry(self, first, language: str, checks: list[str], weighed: bool = True):
        """A better lookup than `first` (not answerable) from the translated question, or None. `weighed`: read
        with the second reading's weights (not for the later question of a several-question message)."""
        second = self._translated_lookup(first.question, language)
        if second is None:
            return None
        if not self._answers(second, first.evidence_score + self.gain, checks, weighed):
            first.turned_down = first.turned_down or second.turned_down  # near the other language's documents
            return None
        return self._answered_from(second, language, checks)

    def _answers(self, second, floor: float, checks: list[str], weighed: bool = True) -> bool:
        """Whether `second` (the translated question's lookup) answers: a translation finds near misses as readily
        as the original did, so only strong evidence (min_score and `floor`) the reader confirms counts, or evidence
        a little weaker (sure_min_score) it is sure of (never without a reader)."""
        strong = second.evidence_score >= max(self.min_score, floor)
        weaker = (not strong and self.sure_min_score is not None and self.verifier is not None
                  and second.evidence_score >= max(self.sure_min_score, floor))
        second.answerable = second.answerable and (strong or weaker)
        second.borderline = second.borderline and (strong or weaker)  # nor may the reading rescue weak evidence
        sure = self.sure_log_odds if weaker else None
        checks += (self.verifier.check(second, always=True, sure=sure, weighed=weighed)
                   if self.verifier is not None else [])
        return second.answerable

    def _answered_from(self, second, language: str, checks: list[str]):
        """`second` (the translated question's answer) in the customer's language, the checks saying so."""
        checks.append(f"answered from the {other_language(language)} documents (the question translated)")
        answered_as = second.faq
        second = self.kb.in_customer_language(second)
        if second.faq is not None and second.faq is not answered_as:
            checks.append(f"answered with the shop's own {language} version of FAQ row {second.faq.row_id}")
        return second

    def complete(self, lookup, language: str, checks: list[str]):
        """`lookup` with its unanswered questions asked again translated: the whole lookup when it has no answer
        (returned anew when the translation answers it), each unanswered part of a several-question message
        (updated in place, so "the warranty is 1 year" is not sent without "and we pay the shipping")."""
        if not lookup.parts:
            return self.firmer(lookup, language, checks) if lookup.answerable else (
                self.retry(lookup, language, checks) or lookup)
        for i, part in enumerate(lookup.parts):
            if not part.answerable and part.faq is None:
                better = self.retry(part, language, checks, weighed=i == 0)
                if better is not None:
                    lookup.parts[i] = better
        lookup.refresh()
        return lookup

    def firmer(self, lookup, language: str, checks: list[str]):
        """`lookup` (answered), or the translated question's lookup when the reader's YES to `lookup`'s sentence is
        hesitant (log odds under compare_below), the shop writes pages in the other language, the translation is
        answered as the retry's would be (its own second reading included), and the reader says a firmer YES to the
        sentence that answers it. Both sentences are compared on the customer's own question, so their log odds
        compare. A curated row matched as the question, a policy's main terms, a sentence scoring high enough to be
        sent unread and a message of several questions stay as they are."""
        backend = getattr(self.verifier, "backend", None)
        # needed() is False for a curated row, a policy's main terms and a sentence sent unread
        if (self.compare_below is None or not hasattr(backend, "yes_log_odds") or lookup.parts or not lookup.evidence
                or not self.verifier.needed(lookup) or not self._writes(other_language(language))):
            return lookup
        odds = backend.yes_log_odds(self.verifier.messages(lookup.question, lookup.evidence[0].quoted))
        if odds >= self.compare_below:
            return lookup
        second, noted = self._translated_lookup(lookup.question, language), []
        if second is None or not self._answers(second, 0.0, noted):  # the readings decide, not the first's score
            return lookup
        text = second.faq.answer if second.faq is not None else second.evidence[0].quoted
        other = backend.yes_log_odds(self.verifier.messages(lookup.question, text))
        if other <= odds:
            log.info("the translated question's answer read no firmer (%.2f <= %.2f): %r", other, odds, text[:80])
            return lookup
        checks += [*noted, f"a hesitant YES ({odds:.2f}) passed over for the translated question's ({other:.2f})"]
        return self._answered_from(second, language, checks)

    def _writes(self, language: str) -> bool:
        """Whether the shop has a page (not only FAQ rows) in `language`."""
        return any(p.language == language for p in self.kb.page_index.pages())

