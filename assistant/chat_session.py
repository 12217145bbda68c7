"""The chat's conversation objects: a session (history, router state, recent message times), the in-memory
session store, the finished Reply, and the stream that releases an answer piece by piece, each sentence only
after its checks passed."""

from __future__ import annotations

import re
import threading
import uuid
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.citations import Citation
from assistant.llm.base import Message


@dataclass
class Reply:
    text: str
    citations: list[Citation] = field(default_factory=list)
    route: dict[str, Any] | None = None
    handoff: bool = False
    error: str | None = None
    replaced: bool = False  # the streamed text was replaced by the output check: show `text` instead
    ticket_id: int | None = None
    checks: list[str] = field(default_factory=list)  # what the answer checks found (for agents and logs)
    searched: str = ""  # what the knowledge base searched when not the message itself (a rewritten follow-up)
    retrieved: list[str] | None = None  # chunk ids the lookup worked from (None: no lookup ran)


@dataclass
class ChatSession:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    history: list[Message] = field(default_factory=list)
    state: Any = None  # the router's ConversationState, created on the first routed message
    recent: deque = field(default_factory=deque)  # times of this session's latest messages (rate limit)
    # A stateless client's (the /v1 API's) session: what it was told and verified comes from the messages it sent,
    # never from state another request under the same id left behind.
    stateless: bool = False
    # answers in turns no longer in `history` (a stored conversation keeps its latest turns only)
    earlier_answers: int = 0
    # The stored row this copy was read from (session_store.PersistentSessionStore): its version, how many of
    # `history`'s messages it held, and its hand-off flag. A save that finds a newer row adds this copy's new
    # messages to it rather than writing over what another replica saved meanwhile.
    read_from: tuple[int, int, bool] | None = field(default=None, repr=False, compare=False)

    @property
    def answers(self) -> int:
        """How many answers the conversation has had: the number the next answer's successor gets."""
        return self.earlier_answers + sum(m.role == "assistant" for m in self.history)


class SessionStore:
    """In-memory sessions, bounded (LRU), safe across threads. Sessions never share history."""

    def __init__(self, max_sessions: int = 10000):
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        # one lock per conversation being answered, gone with the last request that holds it
        self._turn_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()

    def turn_lock(self, session_id: str) -> threading.Lock:
        """The lock a conversation's turns take one after another in this process. Messages sent at once to one
        session each read its history and saved their own copy: the last save won, and the others' turns were lost
        (a stored session is read afresh per request)."""
        with self._lock:
            lock = self._turn_locks.get(session_id)
            if lock is None:
                lock = self._turn_locks[session_id] = _TurnLock()
            return lock

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

    def all_sessions(self) -> list[ChatSession]:
        """The sessions held in memory, oldest first (a snapshot)."""
        with self._lock:
            return list(self._sessions.values())

    def adopt(self, other: SessionStore) -> None:
        """Take `other`'s sessions and per-conversation locks (the store this one replaces): a turn in flight on it
        still keeps the next turn of its conversation waiting, and a conversation it held is found here."""
        held = other.all_sessions()
        with self._lock:
            self._turn_locks = other._turn_locks
            for session in held:
                self._sessions.setdefault(session.id, session)


class _TurnLock:
    """A lock a WeakValueDictionary can hold (threading.Lock cannot be weakly referenced)."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


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


_SENTENCE_DONE = re.compile(r"[。！？!?]|[.;](?=\s)|\n")


def checked_sentences(pieces: Iterator[str], check: Callable[[str, bool], list[str]]) -> Iterator[str]:
    """Release the LLM's text a sentence at a time, each only after `check(sentence, first)` found nothing
    wrong; stop at the first sentence that fails (what was released stays true)."""
    buffer, first = "", True
    for piece in pieces:
        buffer += piece
        while (m := _SENTENCE_DONE.search(buffer)) is not None:
            sentence, buffer = buffer[:m.end()], buffer[m.end():]
            if check(sentence, first):
                return
            first = False
            yield sentence
    if buffer.strip() and not check(buffer, first):
        yield buffer


def released_while_clean(pieces: Iterator[str], replacement: Callable[[str], str | None],
                         sentences: bool = False) -> Iterator[str]:
    """Release `pieces` up to each sentence's end once `replacement(text so far)` is None (the output check passed
    it). The check used to run on the whole answer after it had streamed: a /v1 client had read what it replaced,
    another person's e-mail address included, and the widget showed it until the answer ended. When the check
    blocks, the rest of the pieces is read and `replacement(whole answer)` sent in their place: what it adds to the
    text released, or all of it after that text. `sentences`: each piece is whole sentences (`checked_sentences`),
    so it is checked and released as it comes, not when the next one shows where it ended."""
    said = released = ""
    for piece in pieces:
        said += piece
        ends = [m.end() for m in _SENTENCE_DONE.finditer(said, len(released))] + ([len(said)] if sentences else [])
        if not ends:
            continue
        upto = said[:ends[-1]]  # a half-written e-mail address or number after the last sentence end waits
        # The whole text so far: a window of the latest sentences cut values in two (the customer's own e-mail read
        # as someone else's) and lost what a rule needs from earlier (a return window over the policy is one only
        # when the text speaks of returns). An answer is at most llm.max_tokens long, so this stays cheap.
        if replacement(upto) is not None:
            break
        yield upto[len(released):]
        released = upto
    else:
        if said == released or replacement(said) is None:
            if said != released:
                yield said[len(released):]
            return
    said += "".join(pieces)
    safe = replacement(said)
    safe = said if safe is None else safe
    yield safe[len(released):] if safe.startswith(released) else ("\n" if released else "") + safe
