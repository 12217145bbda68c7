"""The customer pipeline: one message in, one streamed, checked reply out, read top to bottom.

    Turn(text, language decided once)
      -> guardrails.check_input            (refuse an attack)
      -> orders.handle                     (an order conversation: verified, quoted from the shop's backend)
      -> knowledge_base.lookup             (FAQ row / evidence sentences / "the documents do not say")
         + verifier                        (a second reading: does the evidence state what was asked?)
      -> router.route(text, state, lookup) (one decision, with the lookup in hand)
      -> action: kb_answer | small_talk | clarify | fallback | decline | handoff (handoff.open_ticket)
      -> answer checks                     (every fact the LLM states must be in the evidence)
      -> guardrails.check_output -> Reply

`ChatService.respond()` returns a `ReplyStream`: iterate it for text pieces (checked sentence by sentence
before they are released); when exhausted, `.reply` holds the whole answer with citations and route. Every
collaborator is optional, so each step can be tested with fakes on either side. Texts come from the shop.

The answer steps (kb_answer: extractive, translated or LLM-phrased and checked; small_talk) are in
`assistant.chat_answers`, a mixin of `ChatService`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.chat_answers import (
    MIN_TRANSLATED_SHARE,  # noqa: F401 - importable from here, as before it moved
    ChatAnswersMixin,
)
from assistant.chat_session import ChatSession, Reply, ReplyStream, SessionStore, released_while_clean
from assistant.citations import Citation
from assistant.errors import AssistantError, ConfigError, InputError
from assistant.llm.base import LLMBackend, Message
from assistant.question_lookup import CrossLanguageRetry, answer_naming_the_follow_up, rewrite_follow_up
from assistant.rate_limit import check_window
from assistant.shop import Shop

log = logging.getLogger(__name__)
ANONYMOUS = "api-anon-"  # ids of stateless clients' sessions sent with no `user` of their own

# The generic shop's system prompt: what the output check compares leaks against when no shop is given.
DEFAULT_SYSTEM_PROMPT = Shop().system_prompt("en")


@dataclass
class ChatConfig:
    system_prompt: str = field(default="", metadata={"help": "replaces the shop's system prompt ('' = from the "
                                                             "shop section and the message catalog)"})
    max_history_turns: int = field(default=6, metadata={"help": "earlier user+assistant turns sent to the LLM"})
    max_sessions: int = field(default=10000, metadata={"help": "sessions kept in memory (oldest evicted)"})
    persist_sessions: bool = field(
        default=True, metadata={"help": "keep conversations in the store (survive restarts, shared by replicas)"}
    )
    adapter: str = field(default="support", metadata={"help": "task adapter used for chat when one is loaded"})
    use_guardrails: bool = field(default=True, metadata={"help": "check input and output (injection, PII, policy)"})
    use_router: bool = field(default=True, metadata={"help": "classify intent/sentiment and route each message"})
    use_knowledge_base: bool = field(default=True, metadata={"help": "ground answers in the knowledge base"})
    use_handoff: bool = field(default=True, metadata={"help": "create handoff tickets for human agents"})
    rate_limit_per_minute: int = field(default=20, metadata={"help": "messages per session per minute; 0 = no limit"})
    small_talk_max_tokens: int = field(default=48, metadata={"help": "new tokens for a small-talk reply"})
    small_talk_speaks_for_shop: bool = field(
        default=False, metadata={"help": "send a small-talk reply that answers a question on the shop's behalf "
                                         "(\"Yes, we are open on Sunday\") although nothing backs it; false: the "
                                         "customer gets the honest 'I don't know' instead (assistant.small_talk)"})
    cross_language_retry: bool = field(
        default=True, metadata={"help": "when the documents do not answer, ask once more with the question "
                                        "translated (the answer may be on a page in the other language)"})
    rewrite_follow_ups: bool = field(
        default=True, metadata={"help": "a follow-up ('and the decaf one?') is rewritten by the LLM as a question of "
                                        "its own before it is searched"})
    cross_language_min_score: float = field(
        default=0.95, metadata={"help": "the translated question's evidence must score this much (and pass the "
                                        "second reading) to be answered from"})
    cross_language_sure_min_score: float | None = field(
        default=None, metadata={"help": "translated-question evidence scoring at least this, but under "
                                        "cross_language_min_score, is answered from only when the second reading is "
                                        "sure (log odds of YES >= cross_language_sure_log_odds); null = never"})
    cross_language_sure_log_odds: float = field(
        default=0.5, metadata={"help": "how sure the second reading must be for cross_language_sure_min_score"})
    cross_language_page_names: bool = field(
        default=False, metadata={"help": "the retry's translation is told the titles of the other language's pages "
                                        "(\"冷萃液\" -> the shop's \"Cold Brew Concentrate\")"})
    cross_language_compare_below: float | None = field(
        default=None, metadata={"help": "an answer the second reading says a YES under these log odds to (e.g. 1.5) "
                                        "is compared with the answer to the question translated, when the shop "
                                        "writes pages in both languages: the firmer YES is sent; null = never"})
    translation_attempts: int = field(
        default=2, metadata={"help": "samples of a translation of the shop's sentences before they are sent in their "
                                     "own language (each is checked: numbers, codes, the customer's language)"})
    cross_language_gain: float = field(
        default=0.0, metadata={"help": "how much more the translated question's evidence must score than the "
                                       "untranslated question's best sentence (which the second reading may "
                                       "already have turned down)"})

    def __post_init__(self):
        if self.cross_language_sure_min_score is not None and not (
                0.0 < self.cross_language_sure_min_score <= self.cross_language_min_score):
            raise ConfigError("cross_language_sure_min_score must be in (0, cross_language_min_score], got "
                              f"{self.cross_language_sure_min_score:g}")
        if self.translation_attempts < 1:
            raise ConfigError(f"translation_attempts must be >= 1, got {self.translation_attempts}")
        if self.max_history_turns < 0:
            raise ConfigError(f"max_history_turns must be >= 0, got {self.max_history_turns}")
        if self.rate_limit_per_minute < 0:
            raise ConfigError(f"rate_limit_per_minute must be >= 0, got {self.rate_limit_per_minute}")
        if self.max_sessions < 1:
            raise ConfigError(f"max_sessions must be >= 1, got {self.max_sessions}")


@dataclass
class Turn:
    """One customer message on its way through the pipeline: each step reads and fills its fields."""

    text: str
    session: ChatSession
    language: str
    route: Any = None  # router.Route
    lookup: Any = None  # knowledge_base.Lookup: FAQ row, evidence sentences, answerable or not
    citations: list[Citation] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    handoff: bool = False
    ticket_id: int | None = None
    error: str | None = None
    replaced: bool = False
    grounding: str = ""  # the shop's own text the answer rests on (contact details in it are not PII leaks)
    asked: str = ""  # the question searched for: a follow-up rewritten as a question of its own, else the text
    note: str = ""  # said after the answer (the order itself cannot be seen here)

    @property
    def action(self) -> str:
        return self.route.action if self.route is not None else "kb_answer"

    def route_dict(self) -> dict | None:
        return self.route.as_dict() if self.route is not None else None


_ASKS_WHEN = re.compile(r"\b(?:when|how long|how many days)\b|什么时候|啥时候|何时|多久|几天", re.IGNORECASE)


class ChatService(ChatAnswersMixin):
    def __init__(self, backend: LLMBackend, cfg: ChatConfig | None = None, adapters: tuple[str, ...] = (), *,
                 guardrails=None, router=None, kb=None, handoff=None, redactor=None, shop: Shop | None = None,
                 max_message_chars: int = 0, curated_faq=None, sessions: SessionStore | None = None,
                 orders=None, verifier=None):
        self.backend = backend
        self.cfg = cfg or ChatConfig()
        self.shop = shop or Shop()
        self.sessions = sessions or SessionStore(self.cfg.max_sessions)
        # Use the support adapter only when the backend has it; otherwise the base model answers.
        self.adapter = self.cfg.adapter if self.cfg.adapter in adapters else None
        self.guardrails, self.router, self.kb, self.handoff, self.redactor = guardrails, router, kb, handoff, redactor
        self.max_message_chars = max_message_chars
        # knowledge_base.curated_faq.CuratedFaq: curated answers that do not need the vector store
        self.curated_faq = curated_faq
        # assistant.orders desk: `.handle(text, session, language)` -> a reply for order conversations, else None
        self.orders = orders
        # knowledge_base.second_reading.Verifier: a second reading that declines near misses before anything is sent
        self.verifier = verifier
        self.answerer = kb.answerer(self.shop) if kb is not None and hasattr(kb, "answerer") else None

    def session_from_messages(self, messages, user: str | None = None) -> ChatSession:
        """A throw-away session for a stateless client (the OpenAI-compatible API): the history it sent, and
        the router's counters replayed from the assistant turns in it.

        Its id makes one conversation one session, so that after a hand-off what the customer says next joins the
        waiting ticket instead of opening another: from `user` (the client's id of the conversation, hashed: it
        may be an e-mail address), else, once handed off, the session whose waiting ticket holds exactly these
        customer turns so far (HandoffQueue.continued_session)."""
        from assistant.router import ConversationState

        history = [m for m in messages if m.role in ("user", "assistant")]
        state = ConversationState()
        declined = {self.shop.text("abstain", lang) for lang in ("en", "zh")}
        handed = {self.shop.text("handoff_notice", lang) for lang in ("en", "zh")}
        for m in history:
            if m.role != "assistant":
                continue
            text = m.content.strip()
            if text in handed:
                state.handed_off = True
            elif text in declined:
                state.record_kb_abstained()
            else:
                state.record_kb_answered()
        last = next((m.content for m in reversed(history) if m.role == "assistant"), "")
        state.offered_human = self._offers_human(last)
        session = ChatSession(history=history, state=state, stateless=True)
        if user:
            session.id = "api-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:24]
        else:
            continued = None
            if state.handed_off and self.handoff is not None:  # redacting costs ~1 ms a text: only when needed
                asked = [self._redact(m.content, "tickets") for m in history if m.role == "user"]
                continued = self.handoff.continued_session(asked, ANONYMOUS) if asked else None
            session.id = continued or ANONYMOUS + session.id
        return session

    def _offers_human(self, answer: str) -> bool:
        """Whether `answer` ends offering a colleague (the decline, the note after a partial answer, the note that
        an order cannot be seen here), in either language: a "yes" to it next is taken as accepting."""
        ends = []
        for lang in ("en", "zh"):
            ends += [self.shop.text("abstain", lang), self.shop.text("order_not_visible", lang),
                     self.shop.text("partly_unanswered", lang, question="\0").split("\0")[-1]]
        answer = answer.strip()
        return bool(answer) and answer.endswith(tuple(e for e in ends if e))

    def system_prompt(self, lang: str) -> str:
        return self.cfg.system_prompt or self.shop.system_prompt(lang)

    def _history(self, session: ChatSession) -> list[Message]:
        keep = self.cfg.max_history_turns * 2
        return session.history[-keep:] if keep else []

    def _redact(self, text: str, place: str = "logs") -> str:
        if self.redactor is None:
            return text
        if hasattr(self.redactor, "redact_for"):
            return self.redactor.redact_for(place, text)
        return self.redactor.redact(text)

    # -- the flow -------------------------------------------------------------------------------------------
    def respond(self, text: str, session: ChatSession | None = None) -> ReplyStream:
        if not isinstance(text, str) or not text.strip():
            raise InputError(self.shop.text("empty", self.shop.cfg.default_language))
        if self.max_message_chars and len(text) > self.max_message_chars:
            raise InputError(self.shop.text("too_long", self.shop.language_of(text[:500]), n=len(text),
                                            limit=self.max_message_chars))
        session = session or self.sessions.get()
        check_window(session.recent, self.cfg.rate_limit_per_minute)
        text = text.strip()
        # "1111" or an e-mail alone says no language: the reply stays in the one the customer has been writing.
        said = [*(m.content for m in session.history if m.role == "user"), text]
        turn = Turn(text, session, self.shop.language_of_conversation(said))

        verdict = self.guardrails.check_input(text) if self.guardrails is not None else None
        if verdict is not None and verdict.blocked:
            from assistant.router import Route

            turn.route = Route("", "", turn.language, 0.0, "refuse", [verdict.reason], category=verdict.category)
            return self._finish(turn, iter([verdict.reply]), check_output=False)

        if self.orders is not None:
            handled = self.orders.handle(text, session, turn.language)
            if handled is not None:  # an order conversation: the desk's own verified, quoted texts
                return self._order_reply(turn, handled)
        self._ask_how_to_track(turn)
        self._look_up(turn)
        if self.router is not None:
            if session.state is None:
                from assistant.router import ConversationState

                session.state = ConversationState()
            # A follow-up ("and to Hong Kong?") is classified as the question it stands for, not as a fragment.
            turn.route = self.router.route(turn.asked or text, session.state, turn.lookup, language=turn.language)
        action = turn.action
        if action == "handoff":
            return self._handoff(turn)
        if action in ("clarify", "fallback"):
            return self._finish(turn, iter([self.shop.text(action, turn.language)]), check_output=False)
        if action == "small_talk":
            about = self._what_shop_sells(turn)
            if about is not None:
                return self._finish(turn, iter([about]), check_output=False)
            return self._finish(turn, self._small_talk(turn))
        return self._answer(turn)

    def _order_reply(self, turn: Turn, handled) -> ReplyStream:
        """`handled` (assistant.orders): .text, .action, .reasons, .citations; facts come from the order
        backend's record and are quoted, so the output check has nothing to catch."""
        from assistant.router import Route

        turn.route = Route("order", "", turn.language, 1.0, handled.action, list(handled.reasons))
        turn.citations = list(getattr(handled, "citations", []))
        turn.handoff = bool(getattr(handled, "handoff", False))
        turn.ticket_id = getattr(handled, "ticket_id", None)
        return self._finish(turn, iter([handled.text]), check_output=False)

    def _ask_how_to_track(self, turn: Turn) -> None:
        """"Where is my order?" with no order system to look in: the shop's documents describe policies, never
        this customer's parcel, and the nearest policy sentence ("you can cancel while it is Processing") reads
        as an answer to the reader. What the documents can give is how to track an order: that question is
        searched instead ("when will it arrive?": how long delivery takes), and the answer says the order itself
        cannot be seen here (offering a person)."""
        from assistant.orders.parse import parse

        if self.orders is not None and self.orders.active():
            return
        if parse(turn.text).intent != "status":
            return
        asks_when = _ASKS_WHEN.search(turn.text) is not None  # "when will it arrive": the delivery times answer
        turn.asked = self.shop.text("delivery_time_question" if asks_when else "track_order_question", turn.language)
        turn.note = self.shop.text("order_not_visible", turn.language)
        turn.checks.append(f"an order's status asked with no order system connected: searched as: {turn.asked}")

    def _places_file(self) -> str:
        """The knowledge base's places list ('' = the shipped one; a store-less stand-in has none of its own)."""
        return getattr(getattr(self.kb, "cfg", None), "places_file", "")

    def _look_up(self, turn: Turn) -> None:
        """What the shop's documents say, before routing; a failing store degrades to the curated FAQ."""
        if self.kb is not None:
            earlier = [m.content for m in turn.session.history if m.role == "user"]
            try:
                asked, by_rule = turn.asked or turn.text, True
                if self.cfg.rewrite_follow_ups and not turn.asked:
                    asked, by_rule = rewrite_follow_up(self._second_model(),
                                                       self.shop.text("standalone_question", turn.language),
                                                       turn.text, earlier, turn.checks, self._places_file())
                if asked != turn.text:
                    earlier = []  # the rewrite carries what it needs of the earlier question
                    turn.asked = asked
                turn.lookup = self.kb.lookup(asked, turn.language, earlier, reader=self.verifier,
                                             checks=turn.checks)
                if self.cfg.rewrite_follow_ups and not by_rule and (earlier or asked != turn.text):
                    found = turn.lookup
                    turn.lookup = answer_naming_the_follow_up(self.kb, found, turn.text, turn.language,
                                                              self.verifier, turn.checks)
                    if turn.lookup is not found:
                        turn.asked = ""  # searched as written
                if self.cfg.cross_language_retry:
                    retry = CrossLanguageRetry(self.kb, self._second_model(), self.shop, self.verifier,
                                               self.cfg.cross_language_min_score, self.cfg.cross_language_gain,
                                               self.cfg.cross_language_sure_min_score,
                                               self.cfg.cross_language_sure_log_odds,
                                               self.cfg.cross_language_page_names,
                                               self.cfg.cross_language_compare_below)
                    turn.lookup = retry.complete(turn.lookup, turn.language, turn.checks)
                return
            except AssistantError as exc:  # e.g. the vector store is unreachable: degrade, never invent
                log.error("knowledge base failed: %s", exc.one_line())
                turn.error = exc.one_line()
        hit = self.curated_faq.match(turn.text) if self.curated_faq is not None else None
        if hit is not None:
            from knowledge_base.answer import Lookup

            turn.lookup = Lookup(turn.text, turn.language, faq=hit, best_score=hit.score, answerable=True)
            turn.error = None

    def _second_model(self):
        """The second reader's model when there is one (the larger model: it rewrites and translates far better)."""
        return self.verifier.backend if self.verifier is not None else self.backend

    def _llm(self, turn: Turn, messages: list[Message], max_tokens: int | None = None,
             translating: bool = False, seed: int | None = None) -> Iterator[str]:
        backend, opts = self.backend, ({"adapter": self.adapter} if self.adapter else {})
        if translating and self.verifier is not None:
            # The shop's sentences into the customer's language: the second reader is the larger model and
            # translates far better than the small one (which renamed products and added "facts").
            backend, opts = self.verifier.backend, {}
        if max_tokens:
            opts["max_tokens"] = max_tokens
        if seed is not None:  # another sample of the same prompt
            opts["seed"] = seed
        try:
            yield from backend.stream(messages, **opts)
        except AssistantError as exc:
            # Never a traceback to a customer: a polite message and a way to a human.
            log.error("LLM failed: %s", exc.one_line())
            turn.error = exc.one_line()
            yield self.shop.text("failed", turn.language)

    def _handoff(self, turn: Turn) -> ReplyStream:
        """Open the ticket, then tell the customer so. Told first, a customer whose ticket could not be made (no
        queue: the store down at start, or hand-offs switched off; the store failing now) heard that a colleague
        would follow up, and nobody ever did: they get the shop's contact line instead."""
        turn.handoff = True
        try:
            if self.handoff is None:
                raise AssistantError("no hand-off queue (storage unavailable, or chat.use_handoff off)")
            self._open_ticket(turn)
        except AssistantError as exc:
            log.error("could not open the hand-off ticket: %s", exc.one_line())
            # no colleague has the conversation: the next message is the assistant's again, not "added to a ticket"
            turn.handoff = False
            if getattr(turn.session, "state", None) is not None:
                turn.session.state.handed_off = False
            return self._finish(turn, iter([self.shop.text("handoff_unavailable", turn.language)]), check_output=False)
        return self._finish(turn, iter([self.shop.text("handoff_notice", turn.language)]), check_output=False)

    def _open_ticket(self, turn: Turn) -> None:
        from assistant.handoff import open_ticket

        transcript = [m.as_dict() for m in turn.session.history] + [{"role": "user", "content": turn.text}]
        transcript = [{**t, "content": self._redact(t["content"], "tickets")} for t in transcript]
        if turn.session.stateless:  # an API client wrote this history itself: its "assistant" turns are its word
            transcript = [{**t, "as_sent": True} if t["role"] == "assistant" else t for t in transcript]
        route = turn.route
        ticket = open_ticket(self.handoff, turn.session.id, transcript, kb=self.kb, lookup=turn.lookup,
                             shop=self.shop, intent=getattr(route, "intent", ""),
                             sentiment=getattr(route, "sentiment", ""),
                             sentiment_score=getattr(route, "sentiment_score", 1.0),
                             reasons=getattr(route, "reasons", []), language=turn.language,
                             router_cfg=getattr(self.router, "cfg", None))
        turn.ticket_id = ticket.id

    def _add_to_ticket(self, turn: Turn, answer: str) -> None:
        """A conversation waiting for a colleague: this turn (the question and what the assistant answered
        meanwhile) goes onto its ticket, so the colleague reads the whole conversation."""
        if self.handoff is None:
            return
        try:
            ticket = self.handoff.waiting_ticket(turn.session.id)
            if ticket is not None:
                self.handoff.add_turns(ticket.id, [{"role": role, "content": self._redact(text, "tickets")}
                                                   for role, text in (("user", turn.text), ("assistant", answer))])
        except AssistantError as exc:  # the customer still gets the answer
            log.error("could not add the turn to the waiting ticket: %s", exc.one_line())

    def _finish(self, turn: Turn, pieces: Iterator[str], *, check_output: bool = True,
                after: Callable[[str], None] | None = None, sentences: bool = False) -> ReplyStream:
        replacement = self._output_check(turn)
        if check_output and self.guardrails is not None:  # nothing is released before the check passed it
            pieces = released_while_clean(pieces, replacement, sentences)

        def finish(answer: str) -> Reply:
            answer = answer.strip()
            if check_output and self.guardrails is not None:
                answer = replacement(answer) or answer
            if after is not None:
                try:
                    after(answer)
                except AssistantError as exc:
                    log.error("handoff failed: %s", exc.one_line())
                    turn.error = exc.one_line()
            session = turn.session
            if not turn.handoff and session.state is not None and session.state.handed_off:
                self._add_to_ticket(turn, answer)
            if session.state is not None:
                session.state.offered_human = self._offers_human(answer)
            session.history += [Message("user", turn.text), Message("assistant", answer)]
            self.sessions.save(session)
            if log.isEnabledFor(logging.INFO):  # redaction costs ~1 ms a text: only for lines that are written
                log.info("session %s | %s | %s -> %s", session.id[:8], turn.action, self._redact(turn.text)[:200],
                         self._redact(answer)[:200])
            return Reply(text=answer, citations=turn.citations, route=turn.route_dict(),
                         handoff=turn.handoff or turn.error is not None, error=turn.error, replaced=turn.replaced,
                         ticket_id=turn.ticket_id, checks=list(turn.checks), searched=turn.asked,
                         retrieved=self._retrieved(turn))

        return ReplyStream(pieces, finish)

    def _output_check(self, turn: Turn) -> Callable[[str], str | None]:
        """The output check of this turn's answer: `check(text)` is what to send instead of `text` when the check
        blocks it (`turn.replaced` then), else None. What it compares with (the PII values the customer and the
        knowledge base gave, the system prompt) is worked out once per answer, not at every sentence it releases."""
        known: dict = {}

        def check(text: str) -> str | None:
            if turn.error is not None:  # the shop's "failed" text: nothing of the model's to check
                return None
            if not known:
                finder = getattr(self.guardrails, "redactor", None)
                sources = [turn.text, turn.grounding]
                # The check compares whole PII values: pass the values found in what the customer and the KB said.
                known["allowed"] = [turn.text] + ([e.text for src in sources for e in finder.find(src)]
                                                  if finder else [])
                known["prompt"] = self.system_prompt(turn.language)
            verdict = self.guardrails.check_output(text, system_prompt=known["prompt"], allowed_pii=known["allowed"])
            if not verdict.blocked:
                return None
            log.warning("output blocked (%s): %s", verdict.category, verdict.reason)
            turn.replaced = True
            return verdict.safe_text or verdict.reply

        return check

    def _retrieved(self, turn: Turn) -> list[str] | None:
        """The chunk ids this turn's lookup worked from (the matched FAQ row, else the passages), for the usage
        report; None when no lookup ran. Searching the question again at report time gave other passages for a
        several-question message, whose parts are looked up one by one."""
        lookup = turn.lookup
        if lookup is None or self.kb is None:
            return None
        from assistant.insights.usage import lookup_chunks

        try:  # the row's chunk id, as the report names chunks (the curated FAQ may answer with the store down)
            return lookup_chunks(self.kb, lookup)
        except (AssistantError, AttributeError):
            return [lookup.faq.row_id]
