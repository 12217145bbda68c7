"""Customer chat: per-session memory, a system prompt in the shop's voice, streamed replies.

`ChatService.respond()` returns a `ReplyStream`: iterate it for text pieces as they are generated; when it
is exhausted, `.reply` holds the whole answer with its citations and route. Later stages (guardrails,
router, knowledge base, handoff) plug in as optional collaborators, so this file stays one straight line.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.citations import Citation
from assistant.errors import AssistantError, ConfigError, InputError
from assistant.llm.base import LLMBackend, Message
from assistant.rate_limit import check_window

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are the customer-service assistant of Aurora Home, an online shop for home goods. "
    "Answer briefly and politely in the customer's language. Use only facts from the provided shop "
    "information; if you do not know, say so and offer to connect the customer with a human agent. "
    "Never invent prices, discounts or policies."
)


@dataclass
class ChatConfig:
    system_prompt: str = field(default=DEFAULT_SYSTEM_PROMPT, metadata={"help": "the assistant's role and rules"})
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
    failure_message: str = field(
        default="Sorry, I can't answer right now. A human colleague can help you: press \"Talk to a human\".",
        metadata={"help": "what the customer sees when the model fails"},
    )

    def __post_init__(self):
        if self.max_history_turns < 0:
            raise ConfigError(f"max_history_turns must be >= 0, got {self.max_history_turns}")
        if self.rate_limit_per_minute < 0:
            raise ConfigError(f"rate_limit_per_minute must be >= 0, got {self.rate_limit_per_minute}")
        if self.max_sessions < 1:
            raise ConfigError(f"max_sessions must be >= 1, got {self.max_sessions}")


@dataclass
class Reply:
    text: str
    citations: list[Citation] = field(default_factory=list)
    route: dict[str, Any] | None = None
    handoff: bool = False
    error: str | None = None
    replaced: bool = False  # the streamed text was replaced by the output check: show `text` instead
    ticket_id: int | None = None


@dataclass
class ChatSession:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    history: list[Message] = field(default_factory=list)
    state: Any = None  # the router's ConversationState, created on the first routed message
    recent: deque = field(default_factory=deque)  # times of this session's latest messages (rate limit)


class SessionStore:
    """In-memory sessions, bounded (LRU), safe across threads. Sessions never share history."""

    def __init__(self, max_sessions: int = 10000):
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()
        self._lock = threading.Lock()
        self.max_sessions = max_sessions

    def get(self, session_id: str | None = None) -> ChatSession:
        with self._lock:
            if session_id and session_id in self._sessions:
                self._sessions.move_to_end(session_id)
                return self._sessions[session_id]
            session = ChatSession(id=session_id or uuid.uuid4().hex)
            self._sessions[session.id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return session

    def save(self, session: ChatSession) -> None:
        """Called after each answered turn; memory needs nothing (see session_store.PersistentSessionStore)."""


class ReplyStream:
    """Iterate for text pieces; afterwards `.reply` is the complete Reply."""

    def __init__(self, pieces: Iterator[str], finish: Callable[[str], Reply]):
        self._pieces = pieces
        self._finish = finish
        self.reply: Reply | None = None

    def __iter__(self) -> Iterator[str]:
        text = []
        for piece in self._pieces:
            text.append(piece)
            yield piece
        self.reply = self._finish("".join(text))

    def collect(self) -> Reply:
        for _ in self:
            pass
        assert self.reply is not None
        return self.reply


CANNED = {
    "clarify": {
        "en": "Sorry, I'm not sure I understood. Is your question about an order, shipping, returns, a product, "
              "payment or your account?",
        "zh": "抱歉，我没太明白您的意思。请问您的问题是关于订单、配送、退换货、商品、支付还是账户的呢？",
    },
    "fallback": {
        "en": "I'm the Aurora Home shop assistant, so I can only help with our products, orders, shipping, "
              "returns and payments. Is there anything about those I can do for you?",
        "zh": "我是极光家居的客服助手，只能帮您处理商品、订单、配送、退换货和支付相关的问题。请问有什么可以帮您？",
    },
}


def _lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


class ChatService:
    """One customer message in, one streamed reply out, along the straight line of CONVENTIONS.md:

    guardrails.check_input -> router.route -> (FAQ verbatim | KB-grounded LLM | small talk | clarify |
    fallback | handoff ticket with a grounded draft) -> guardrails.check_output -> Reply.
    Every collaborator is optional, so each layer can be tested with fakes on either side.
    """

    def __init__(self, backend: LLMBackend, cfg: ChatConfig | None = None, adapters: tuple[str, ...] = (), *,
                 guardrails=None, router=None, kb=None, handoff=None, redactor=None,
                 max_message_chars: int = 0, curated_faq=None, sessions: SessionStore | None = None):
        self.backend = backend
        self.cfg = cfg or ChatConfig()
        self.sessions = sessions or SessionStore(self.cfg.max_sessions)
        # Use the support adapter only when the backend has it; otherwise the base model answers.
        self.adapter = self.cfg.adapter if self.cfg.adapter in adapters else None
        self.guardrails, self.router, self.kb, self.handoff, self.redactor = guardrails, router, kb, handoff, redactor
        self.max_message_chars = max_message_chars
        # knowledge_base.curated_faq.CuratedFaq: curated answers that do not need the vector store
        self.curated_faq = curated_faq

    # -- helpers ------------------------------------------------------------------------------------------
    def build_messages(self, session: ChatSession, text: str, context: str = "") -> list[Message]:
        system = self.cfg.system_prompt + (f"\n\nShop information:\n{context}" if context else "")
        return [Message("system", system), *self._history(session), Message("user", text)]

    def _history(self, session: ChatSession) -> list[Message]:
        keep = self.cfg.max_history_turns * 2
        return session.history[-keep:] if keep else []

    def _redact(self, text: str, place: str = "logs") -> str:
        if self.redactor is None:
            return text
        if hasattr(self.redactor, "redact_for"):
            return self.redactor.redact_for(place, text)
        return self.redactor.redact(text)

    def _llm_pieces(self, messages: list[Message], state: dict) -> Iterator[str]:
        opts = {"adapter": self.adapter} if self.adapter else {}
        try:
            yield from self.backend.stream(messages, **opts)
        except AssistantError as exc:
            # Never a traceback to a customer: a polite message and a way to a human.
            log.error("LLM failed: %s", exc.one_line())
            state["error"] = exc.one_line()
            yield self.cfg.failure_message

    def _check_rate(self, session: ChatSession) -> None:
        check_window(session.recent, self.cfg.rate_limit_per_minute)

    # -- the flow -------------------------------------------------------------------------------------------
    def respond(self, text: str, session: ChatSession | None = None) -> ReplyStream:
        if not isinstance(text, str) or not text.strip():
            raise InputError("the message is empty: please type a question")
        if self.max_message_chars and len(text) > self.max_message_chars:
            raise InputError(f"the message is too long ({len(text)} characters; the limit is "
                             f"{self.max_message_chars}): please shorten it")
        session = session or self.sessions.get()
        self._check_rate(session)
        text = text.strip()
        state: dict[str, Any] = {"citations": [], "route": None, "handoff": False}
        lang = _lang(text)

        verdict = self.guardrails.check_input(text) if self.guardrails is not None else None
        if verdict is not None and verdict.blocked:
            state["route"] = {"action": "refuse", "category": verdict.category, "reasons": [verdict.reason],
                              "language": lang}
            return self._finish(session, text, iter([verdict.reply]), state, check_output=False)

        route = None
        if self.router is not None:
            if session.state is None:
                from assistant.router import ConversationState

                session.state = ConversationState()
            route = self.router.route(text, session.state)
            lang = route.language if route.language in ("zh", "en") else lang
            state["route"] = route.as_dict()
        action = route.action if route is not None else "kb_answer"

        if action == "handoff":
            return self._handoff(session, text, route, state, lang)
        if action in CANNED:
            return self._finish(session, text, iter([CANNED[action][lang]]), state, check_output=False)
        if self.kb is None:
            curated = self._curated_answer(session, text, state)
            if curated is not None:
                return curated
            return self._finish(session, text, self._llm_pieces(self.build_messages(session, text), state), state)
        return self._kb_answer(session, text, route, state, lang, small_talk=action == "small_talk")

    def _curated_answer(self, session, text, state) -> ReplyStream | None:
        """The curated FAQ answer for this question without the vector store, or None."""
        hit = self.curated_faq.match(text) if self.curated_faq is not None else None
        if hit is None:
            return None
        state.update(from_faq=True, citations=[hit.citation()])
        return self._finish(session, text, iter([hit.answer]), state, check_output=False)

    def _kb_answer(self, session, text, route, state, lang, small_talk: bool = False) -> ReplyStream:
        try:
            prepared = self.kb.prepare(text, self._history(session))
        except AssistantError as exc:  # e.g. the vector store is unreachable: degrade, never invent
            log.error("knowledge base failed: %s", exc.one_line())
            state["error"] = exc.one_line()
            curated = self._curated_answer(session, text, state)
            if curated is not None:
                return curated
            return self._finish(session, text, iter([self.cfg.failure_message]), state, check_output=False)
        if small_talk and prepared.abstained:
            # Chit-chat the KB knows nothing about: a friendly LLM reply, not counted as a KB failure.
            return self._finish(session, text, self._llm_pieces(self.build_messages(session, text), state), state)
        # A "greeting" that the KB can answer ("what are your opening hours?") gets the grounded answer.
        state["citations"] = list(prepared.citations)
        if prepared.abstained and route is not None and session.state is not None:
            route = self.router.kb_abstained(session.state, route)
            state["route"] = route.as_dict()
            if route.action == "handoff":
                return self._handoff(session, text, route, state, lang)
        elif session.state is not None and hasattr(session.state, "record_kb_answered"):
            session.state.record_kb_answered()
        if prepared.text is not None:  # verbatim FAQ answer or an honest "I don't know"
            state["from_faq"] = prepared.from_faq
            # Our own curated text (FAQ answer or abstention): nothing for the output check to catch.
            return self._finish(session, text, iter([prepared.text]), state, check_output=False)
        # Contact details the shop's own documents gave the LLM are not another customer's PII.
        state["grounding"] = "\n".join(m.content for m in prepared.messages if m.role == "system")
        return self._finish(session, text, self._llm_pieces(prepared.messages, state), state)

    def _handoff(self, session, text, route, state, lang) -> ReplyStream:
        state["handoff"] = True
        notice = self.handoff.customer_notice(lang) if self.handoff is not None else {
            "en": "I'm passing you to a human colleague, who will follow up here shortly.",
            "zh": "正在为您转接人工客服，同事稍后会在这里回复您。"}[lang]

        def create_ticket(answer: str) -> None:
            if self.handoff is None:
                return
            transcript = [m.as_dict() for m in session.history] + [{"role": "user", "content": text}]
            transcript = [{**t, "content": self._redact(t["content"], "tickets")} for t in transcript]

            def draft(turns):
                if self.kb is None:
                    return "", []
                question = " ".join(t["content"] for t in turns if t["role"] == "user")[-1000:]
                try:
                    grounded = self.kb.answer(question, self.backend, adapter=self.adapter)
                except AssistantError as exc:
                    log.error("could not draft a reply for the agent: %s", exc.one_line())
                    return "", []
                return grounded.text, grounded.citations

            ticket = self.handoff.create_ticket(
                session.id, transcript, intent=getattr(route, "intent", ""),
                sentiment=getattr(route, "sentiment", ""), reasons=getattr(route, "reasons", []),
                sentiment_score=getattr(route, "sentiment_score", 1.0), language=lang, draft_fn=draft)
            state["ticket_id"] = ticket.id

        return self._finish(session, text, iter([notice]), state, check_output=False, after=create_ticket)

    def _finish(self, session: ChatSession, text: str, pieces: Iterator[str], state: dict, *,
                check_output: bool = True, after: Callable[[str], None] | None = None) -> ReplyStream:
        def finish(answer: str) -> Reply:
            answer = answer.strip()
            if check_output and self.guardrails is not None and "error" not in state:
                finder = getattr(self.guardrails, "redactor", None)
                sources = [text, state.get("grounding", "")]
                # The check compares whole PII values: pass the values found in what the customer and the KB said.
                allowed = [text] + ([e.text for src in sources for e in finder.find(src)] if finder else [])
                verdict = self.guardrails.check_output(answer, system_prompt=self.cfg.system_prompt,
                                                       allowed_pii=allowed)
                if verdict.blocked:
                    log.warning("output blocked (%s): %s", verdict.category, verdict.reason)
                    answer = verdict.safe_text or verdict.reply
                    state["replaced"] = True
            if after is not None:
                try:
                    after(answer)
                except AssistantError as exc:
                    log.error("handoff failed: %s", exc.one_line())
                    state["error"] = exc.one_line()
            session.history += [Message("user", text), Message("assistant", answer)]
            self.sessions.save(session)
            route = state.get("route") or {}
            if log.isEnabledFor(logging.INFO):  # redaction costs ~1 ms a text: only for lines that are written
                log.info("session %s | %s | %s -> %s", session.id[:8], route.get("action", "-"),
                         self._redact(text)[:200], self._redact(answer)[:200])
            return Reply(text=answer, citations=state["citations"], route=state.get("route"),
                         handoff=state["handoff"] or "error" in state, error=state.get("error"),
                         replaced=state.get("replaced", False), ticket_id=state.get("ticket_id"))

        return ReplyStream(pieces, finish)
