"""Customer chat: per-session memory, a system prompt in the shop's voice, streamed replies.

`ChatService.respond()` returns a `ReplyStream`: iterate it for text pieces as they are generated; when it
is exhausted, `.reply` holds the whole answer with its citations and route. Later stages (guardrails,
router, knowledge base, handoff) plug in as optional collaborators, so this file stays one straight line.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.citations import Citation
from assistant.errors import AssistantError, ConfigError, InputError
from assistant.llm.base import LLMBackend, Message

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
    adapter: str = field(default="support", metadata={"help": "task adapter used for chat when one is loaded"})
    failure_message: str = field(
        default="Sorry, I can't answer right now. A human colleague can help you: press \"Talk to a human\".",
        metadata={"help": "what the customer sees when the model fails"},
    )

    def __post_init__(self):
        if self.max_history_turns < 0:
            raise ConfigError(f"max_history_turns must be >= 0, got {self.max_history_turns}")
        if self.max_sessions < 1:
            raise ConfigError(f"max_sessions must be >= 1, got {self.max_sessions}")


@dataclass
class Reply:
    text: str
    citations: list[Citation] = field(default_factory=list)
    route: dict[str, Any] | None = None
    handoff: bool = False
    error: str | None = None


@dataclass
class ChatSession:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    history: list[Message] = field(default_factory=list)


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


class ChatService:
    def __init__(self, backend: LLMBackend, cfg: ChatConfig | None = None, adapters: tuple[str, ...] = ()):
        self.backend = backend
        self.cfg = cfg or ChatConfig()
        self.sessions = SessionStore(self.cfg.max_sessions)
        # Use the support adapter only when the backend has it; otherwise the base model answers.
        self.adapter = self.cfg.adapter if self.cfg.adapter in adapters else None

    def build_messages(self, session: ChatSession, text: str, context: str = "") -> list[Message]:
        system = self.cfg.system_prompt + (f"\n\nShop information:\n{context}" if context else "")
        keep = self.cfg.max_history_turns * 2
        history = session.history[-keep:] if keep else []
        return [Message("system", system), *history, Message("user", text)]

    def respond(self, text: str, session: ChatSession | None = None) -> ReplyStream:
        if not isinstance(text, str) or not text.strip():
            raise InputError("the message is empty: please type a question")
        session = session or self.sessions.get()
        messages = self.build_messages(session, text.strip())
        opts = {"adapter": self.adapter} if self.adapter else {}

        def pieces() -> Iterator[str]:
            try:
                yield from self.backend.stream(messages, **opts)
            except AssistantError as exc:
                # Never a traceback to a customer: a polite message and a way to a human.
                log.error("LLM failed for session %s: %s", session.id, exc.one_line())
                state["error"] = exc.one_line()
                yield self.cfg.failure_message

        state: dict[str, Any] = {}

        def finish(answer: str) -> Reply:
            answer = answer.strip()
            session.history += [Message("user", text.strip()), Message("assistant", answer)]
            return Reply(text=answer, error=state.get("error"), handoff="error" in state)

        return ReplyStream(pieces(), finish)
