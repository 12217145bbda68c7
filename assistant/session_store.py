"""Chat sessions in the shared store, so a conversation survives a restart and any app replica can continue it.

`PersistentSessionStore` is a drop-in for the chat's in-memory `SessionStore`: `get(id)` reads the session's
history and routing counters from the `chat_sessions` table (one primary-key read, so replicas behind a load
balancer always see the latest turn, whichever replica wrote it), and the chat calls `save(session)` after
each answered turn (one write, conditional on the version it read: see `save`). Transcripts are stored redacted
when `privacy.apply_to.transcripts` is on: the stored history then holds `<PHONE>` rather than the number, and so
does the model's context on later turns.
Rate-limit windows stay per replica (in memory).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.chat import ChatSession, SessionStore
from assistant.errors import StorageError
from assistant.llm.base import Message
from assistant.storage import (
    Base,
    add_missing_columns,
    ensure_tables,
    session_factory,
    utc_now,
)

log = logging.getLogger(__name__)


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    history_json: Mapped[str] = mapped_column(Text)  # [{"role", "content"}, ...]
    state_json: Mapped[str] = mapped_column(Text, default="null")  # the router's ConversationState
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # answers in turns older than the history kept: answer numbers (votes, the insights) go on counting from it
    earlier_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # +1 on every save: a replica whose copy is older than the row merges instead of writing over it
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def _state_to_json(state) -> str:
    return json.dumps(asdict(state) if state is not None else None, ensure_ascii=False)


def _state_from_json(text: str | None):
    data = json.loads(text or "null")
    if not isinstance(data, dict):
        return None
    from assistant.router import ConversationState, Route

    known = {f.name for f in fields(ConversationState)}
    route = data.get("last_route")
    data["last_route"] = Route(**route) if isinstance(route, dict) else None
    return ConversationState(**{k: v for k, v in data.items() if k in known})


def _handed_off(state) -> bool:
    return bool(getattr(state, "handed_off", False))


def _session_from_row(row: ChatSessionRow) -> ChatSession:
    history = [Message(m["role"], m["content"]) for m in json.loads(row.history_json)]
    state = _state_from_json(row.state_json)
    return ChatSession(id=row.id, history=history, state=state, earlier_answers=row.earlier_answers or 0,
                       read_from=(row.version or 0, len(history), _handed_off(state)))


def _merge_newer(session: ChatSession, stored: ChatSession, read_length: int, read_handed_off: bool) -> None:
    """`session` (read at version v, since given new messages) onto `stored`, which another replica saved after v:
    a colleague's reply delivered while this replica answered the customer's turn was written over and lost. The
    stored messages stay, this copy's new ones follow; a hand-off the other side opened or closed stays so."""
    new = session.history[read_length:]
    session.history = [*stored.history, *new]
    session.earlier_answers = max(session.earlier_answers, stored.earlier_answers)
    if stored.state is not None and _handed_off(stored.state) != read_handed_off:
        if session.state is None:
            session.state = stored.state
        else:
            session.state.handed_off = stored.state.handed_off


class PersistentSessionStore(SessionStore):
    def __init__(self, engine, max_sessions: int = 10000, max_turns_kept: int = 50, redact=None):
        super().__init__(max_sessions)
        ensure_tables(engine)
        add_missing_columns(engine, ChatSessionRow.__tablename__, {"earlier_answers": "INTEGER DEFAULT 0",
                                                                   "version": "INTEGER DEFAULT 0"})
        self._db = session_factory(engine)
        self.max_messages = 2 * max_turns_kept  # older turns are never sent to the model anyway
        self._redact = redact or (lambda text: text)
        # ids this replica read from or wrote to the store: such a session missing from it now was deleted there
        # (`python -m assistant forget`, retention pruning, another replica), not merely never saved yet
        self._stored: set[str] = set()

    def get(self, session_id: str | None = None) -> ChatSession:
        if session_id:
            try:
                with self._db() as s:
                    row = s.get(ChatSessionRow, session_id)
                    if row is not None:
                        return self._remember(_session_from_row(row))
                if session_id in self._stored:
                    return self._forgotten(session_id)
            except (SQLAlchemyError, ValueError, TypeError, KeyError) as exc:
                # A broken row or store must not cost the customer the chat: carry on from memory.
                log.error("cannot read chat session %s: %s", session_id[:8], exc)
        return super().get(session_id)

    def _remember(self, stored: ChatSession) -> ChatSession:
        """The stored session, keeping this replica's rate-limit window for it."""
        with self._lock:
            cached = self._sessions.get(stored.id)
            if cached is not None:
                stored.recent = cached.recent
            self._sessions[stored.id] = stored
            self._sessions.move_to_end(stored.id)
            self._note_stored(stored.id, locked=True)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return stored

    def _forgotten(self, session_id: str) -> ChatSession:
        """A fresh session under the id of one deleted from the store. The copy in memory must not answer for it:
        it held the deleted conversation, and the next turn's save wrote it all back (a forgotten customer's
        messages and a new ticket with them). The rate-limit window stays, so deleting does not reset the limit."""
        with self._lock:
            cached = self._sessions.pop(session_id, None)
            self._stored.discard(session_id)
        fresh = super().get(session_id)
        if cached is not None:
            fresh.recent = cached.recent
        return fresh

    def save(self, session: ChatSession) -> None:
        """Write the session as one conditional write on the version it was read at: when another replica (or an
        agent's reply) saved the row since, this copy's new messages are added to what is stored, and the write is
        tried again if the row changes once more in between. The read and the write are separate statements on
        SQLite, and a first save on PostgreSQL has no row to lock: only the version check makes them safe."""
        read_version, read_length, read_handed_off = session.read_from or (None, 0, False)
        mine, mine_earlier = list(session.history), session.earlier_answers  # as they were before any merge
        try:
            for _ in range(5):
                with self._db.begin() as s:
                    current = s.get(ChatSessionRow, session.id, with_for_update=True)
                    stored = self._stored_copy(current, session) if current is not None else None
                    if stored is not None and current.version != read_version:
                        # a row this copy was not read from (written meanwhile, or before an outage): keep it
                        _merge_newer(session, stored, read_length, read_handed_off)
                    self._cut(session)
                    if self._write(s, session, current):
                        break
                session.history, session.earlier_answers = mine, mine_earlier  # tried again from this copy
            else:
                raise StorageError("the row kept changing while it was written")
            self._note_stored(session.id)
        except (SQLAlchemyError, StorageError) as exc:  # the answer was given; losing the copy is logged
            log.error("cannot store chat session %s: %s", session.id[:8], exc)

    @staticmethod
    def _stored_copy(row: ChatSessionRow, session: ChatSession) -> ChatSession | None:
        """The stored conversation, or None when its row cannot be read (this copy then replaces it whole)."""
        try:
            return _session_from_row(row)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.error("chat session %s: the stored copy is unreadable (%s), writing this one", session.id[:8], exc)
            return None

    def _write(self, s, session: ChatSession, current: ChatSessionRow | None) -> bool:
        """Insert the row, or update it where its version is still `current`'s: False when another writer got
        there first (nothing written)."""
        from sqlalchemy import or_, update

        from assistant.storage import _dialect_insert

        history = [{"role": m.role, "content": self._redact(m.content)} for m in session.history]
        version = (current.version or 0) + 1 if current is not None else 0
        values = {"history_json": json.dumps(history, ensure_ascii=False), "state_json": _state_to_json(session.state),
                  "updated_at": utc_now(), "earlier_answers": session.earlier_answers, "version": version}
        if current is None:
            target, insert = _dialect_insert(s, ChatSessionRow)
            # RETURNING, not rowcount: psycopg reports no count for an INSERT … ON CONFLICT DO NOTHING that wrote
            stmt = insert(target).values(id=session.id, **values).on_conflict_do_nothing().returning(target.c.id)
            done = len(s.execute(stmt).fetchall())
        else:
            same = ChatSessionRow.version == current.version
            if not current.version:  # a row from before the column: NULL where the database did not fill 0 in
                same = or_(same, ChatSessionRow.version.is_(None))
            done = s.execute(update(ChatSessionRow).where(ChatSessionRow.id == session.id, same)
                             .values(**values).execution_options(synchronize_session=False)).rowcount
        if done != 1:
            return False
        session.read_from = (version, len(session.history), _handed_off(session.state))
        return True

    def _cut(self, session: ChatSession) -> None:
        if len(session.history) > self.max_messages:
            # the turns cut are counted: after 50 turns the answer numbers had stopped at 49 (every later thumb
            # landed on one answer); the copy in memory is cut the same way, so a turn is never counted twice
            cut = session.history[:-self.max_messages]
            session.earlier_answers += sum(m.role == "assistant" for m in cut)
            session.history = session.history[-self.max_messages:]

    def _note_stored(self, session_id: str, locked: bool = False) -> None:
        if not locked:
            with self._lock:
                return self._note_stored(session_id, locked=True)
        self._stored.add(session_id)
        if len(self._stored) > 2 * self.max_sessions:  # bounded like the sessions: ids gone from memory go too
            self._stored.intersection_update(self._sessions)

    def stored_ids(self) -> list[str]:
        with self._db() as s:
            return list(s.scalars(select(ChatSessionRow.id)))
