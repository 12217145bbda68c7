"""The answer steps of the customer pipeline (`assistant.chat.ChatService`): what is said once the router has
decided a turn is answered from the knowledge base or is small talk.

    kb_answer  -> the decline when the documents do not answer; else the shop's own sentences as written
                  (extractive), or translated into the customer's language and checked whole, or phrased by the
                  LLM and checked sentence by sentence before release; then a closing note for what a
                  several-question message asked that the documents do not answer
    small_talk -> a persona reply that may state no facts (else the decline, the identity text or the greeting)

They are a mixin of `ChatService` so the pipeline file reads as the flow, and these as what one step does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.chat_session import ReplyStream, checked_sentences
from assistant.llm.base import Message

if TYPE_CHECKING:  # only for annotations: assistant.chat imports this module
    from assistant.chat import Turn

# The pipeline's logger, not this module's: these lines are the pipeline's, selected by that name as before.
log = logging.getLogger("assistant.chat")

# A translation with less of the customer's language than this was not made (a name left in the original is fine).
MIN_TRANSLATED_SHARE = 0.34


class ChatAnswersMixin:
    """`ChatService`'s answer steps. They use the service's `shop`, `cfg`, `kb`, `answerer`, `system_prompt`,
    `_history`, `_llm` (the model's text, a failure turned into the shop's message) and `_finish` (the output
    check, the session, the `Reply`)."""

    def _answer(self, turn: Turn) -> ReplyStream:
        lookup = turn.lookup
        if lookup is None and self.kb is None:  # no knowledge base at all: the model with the shop's persona
            return self._finish(turn, self._llm(turn, [Message("system", self.system_prompt(turn.language)),
                                                       *self._history(turn.session), Message("user", turn.text)]))
        if lookup is None:  # the store failed and no curated row matched
            return self._finish(turn, iter([self.shop.text("failed", turn.language)]), check_output=False)
        if turn.action == "decline" or not lookup.answerable:
            turn.citations = []
            return self._finish(turn, iter([self.shop.text("abstain", turn.language)]), check_output=False)
        turn.citations = lookup.citations
        turn.grounding = "\n".join(lookup.sources)
        answerer = self.answerer
        if answerer is None:
            return self._finish(turn, iter([lookup.faq.answer]), check_output=False)
        from knowledge_base.text import end_sentence, stop_after

        closing = self._closing_note(turn, lookup)
        zh = turn.language == "zh"
        if not answerer.needs_llm(lookup):
            # The shop's own text in the customer's language: sent as written, nothing for the checks to catch.
            said = answerer.extractive(lookup)
            return self._finish(turn, iter([end_sentence(said, zh) + closing if closing else said]),
                                check_output=False)
        messages = answerer.messages(lookup, turn.text, self._history(turn.session))
        max_tokens = getattr(getattr(self.kb, "cfg", None), "answer_max_tokens", None)
        if answerer.translates_only(lookup):
            said = self._translated(turn, lookup, messages, max_tokens)
            return self._finish(turn, iter([end_sentence(said, zh) + closing if closing else said]),
                                check_output=False)

        def check(sentence: str, first: bool) -> list[str]:
            from knowledge_base.answer import draft_problems

            problems = draft_problems(sentence, lookup, turn.text, first)
            turn.checks += problems
            return problems

        def pieces() -> Iterator[str]:
            from knowledge_base.answer import clean_answer

            released, last = 0, ""
            for sentence in checked_sentences(self._llm(turn, messages, max_tokens), check):
                cleaned = clean_answer(sentence)
                if cleaned:
                    released += 1
                    last = cleaned
                    yield (" " if released > 1 and not zh else "") + cleaned
            if not released:  # the draft invented, echoed or said nothing: the shop's own sentences instead
                log.info("answer checks replaced the draft: %s", "; ".join(turn.checks))
                last = answerer.extractive(lookup)
                yield last
            if closing:
                yield stop_after(last, zh) + closing

        return self._finish(turn, pieces(), sentences=True)  # each piece a checked sentence: released as it comes

    def _translated(self, turn: Turn, lookup, messages: list[Message], max_tokens: int | None) -> str:
        """The shop's sentences in the customer's language, checked whole before anything is sent (a half-sent
        translation would drop the rest of the answer): every number and code as the source states it, and the
        customer's language. A second sample when the first fails; when that fails too, the shop's own sentences
        under a line saying they are quoted in the original language."""
        from assistant.language import language_share
        from knowledge_base.answer import clean_answer, draft_problems
        from knowledge_base.grounding import translation_changes_conditions
        from knowledge_base.text import without_unasked_yes

        source = self.answerer.extractive(lookup)
        # the shop's name goes into the translation as the shop writes it in the customer's language
        messages = [*messages[:-1], Message(messages[-1].role, self.shop.named_for(messages[-1].content, turn.language))]
        # ... so its digits or pinyin in the translation are no invention
        own = set(re.findall(r"[a-z0-9]+", self.shop.name(turn.language).lower()))
        # a translation is about as long as its source: a policy's main terms outgrow a one-fact answer's budget
        max_tokens = max(max_tokens or 0, min(len(source), 400)) or None
        for attempt in range(self.cfg.translation_attempts):
            draft = "".join(self._llm(turn, messages, max_tokens, translating=True,
                                      seed=attempt * 7919 if attempt else None))
            text = clean_answer(draft)
            problems = [p for p in draft_problems(draft, lookup, turn.text)
                        if not (p.startswith("unsupported ") and p.split()[-1].lower() in own)] \
                or translation_changes_conditions(source, text)
            if not problems and language_share(text, turn.language) < MIN_TRANSLATED_SHARE:
                problems = ["the translation is not in the customer's language"]
            if turn.error:  # the model failed: the shop's own sentences still answer
                break
            turn.checks += problems
            if not problems:
                # "是的。" from a row written for a yes/no question ("Yes. Companies can ask for…") reads oddly after
                # "订单金额要满多少？": dropped as the shop's own sentences drop it (without_unasked_yes)
                return without_unasked_yes(text, turn.text)
        log.info("translation checks replaced the draft: %s", "; ".join(turn.checks))
        lead = self.shop.text("quoted_original", turn.language)
        return lead + ("" if turn.language == "zh" else " ") + source

    def _closing_note(self, turn: Turn, lookup) -> str:
        """What a several-question message asked that the documents do not answer, said so with the offer of a
        person, after the answered part: half an answer given in silence reads as the whole answer; else the turn's
        note (the order itself cannot be seen here). '' when there is nothing to add."""
        zh = turn.language == "zh"
        missed = [p.question.strip().rstrip("?？。.!！") for p in lookup.parts if not p.answerable]
        missed = [q for q in missed if q]
        note = turn.note
        if missed:
            turn.checks.append("no answer in the documents for: " + "; ".join(missed))
            note = self.shop.text("partly_unanswered", turn.language, question=("、" if zh else "; ").join(missed))
        return "" if not note else note if zh else " " + note

    def _what_shop_sells(self, turn: Turn) -> str | None:
        """"What do you sell?" answered with the shop's name and description (its config), or None when the message
        asks something else or the shop has no description. The shop's own words: no output check (the description
        is also in the system prompt, and would read as the prompt repeated)."""
        from assistant.small_talk import asks_what_shop_sells

        if not (asks_what_shop_sells(turn.text) and self.shop.fields(turn.language)["description"]):
            return None
        turn.checks.append("what the shop sells: the shop's description")
        return self.shop.text("about_shop", turn.language)

    def _small_talk(self, turn: Turn) -> Iterator[str]:
        """A friendly reply from the persona; it may not state facts (there are none to back them)."""
        from assistant.small_talk import about_assistant, answers_from_nothing, misstates_identity
        from knowledge_base.grounding import unsupported

        if about_assistant(turn.text):
            # "Who are you?", "Are you a robot?": the shop's own words, which name the shop and say it is an AI. The
            # small model answered "Yes, I am a robot designed to assist customers" or a text the output check
            # replaced with the shop's refusal, and named no shop.
            turn.checks.append("a question about the assistant: the shop's own words")
            yield self.shop.text("identity", turn.language)
            return
        messages = [Message("system", self.system_prompt(turn.language)), *self._history(turn.session),
                    Message("user", turn.text)]
        text = "".join(self._llm(turn, messages, self.cfg.small_talk_max_tokens)).strip()
        problems = unsupported(text, [], turn.text)
        if not self.cfg.small_talk_speaks_for_shop and answers_from_nothing(turn.text, text):
            # A shop question read as small talk: the persona alone cannot answer it; say so, as for any question
            # the documents do not answer (the turn is recorded as a decline, so the gap report lists it).
            turn.checks.append("small talk answered a question on the shop's behalf with nothing behind it: "
                               "declined instead")
            if turn.route is not None:
                turn.route.action = "decline"
                turn.route.reasons.append("a question that sounds like small talk: the documents do not answer it")
            text = self.shop.text("abstain", turn.language)
        elif misstates_identity(text):
            turn.checks.append("small talk misstated what the assistant is: the shop's own words instead")
            text = self.shop.text("identity", turn.language)
        elif problems or not text:
            turn.checks += [f"small talk stated an unsupported {p}" for p in problems]
            text = self.shop.text("greeting", turn.language)
        yield text
