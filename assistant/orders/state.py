"""Where an order conversation stands, kept per chat session in the shared store (table `order_dialogues`),
so any replica continues it and a restart loses nothing. It holds no e-mail or phone: only the order
numbers verified in this conversation, what the desk is waiting for, and the count of wrong verifications.
A new address waits here only until its request is made; then only the kind of request just made stays, so a
correction that follows ("Actually make it …") amends that request. Without a store, memory (bounded) keeps it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, Text, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.errors import StorageError
from assistant.orders.limits import WINDOW_SECONDS
from assistant.storage import Base, ensure_tables, insert_or_replace, session_factory, utc_now

log = logging.getLogger(__name__)

KEEP_DAYS = 2  # a dialogue row idle this long is deleted (verifications expire much sooner anyway)


class OrderDialogueRow(Base):
    __tablename__ = "order_dialogues"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass
class OrderState:
    intent: str = ""  # the task in hand: status | cancel | change_address | return
    number: str = ""  # the order it is about
    awaiting: str = ""  # what the last reply asked for: number | factor | address | item
    verified: list[str] = field(default_factory=list)  # order numbers verified in this conversation
    verified_at: float = 0.0  # wall-clock seconds of the last use of a verification
    wrong_at: float = 0.0  # a /v1 id's record: when its wrong tries last grew (they count for RECORD_WRONG_SECONDS)
    wrong: int = 0  # wrong verifications in this conversation
    locked: bool = False  # too many wrong verifications: a human takes over
    address: str = ""
    item: str = ""  # the words the customer used for the item to return (matched once the order is verified)
    lang: str = ""  # the conversation's language: "#100234" or "5678" alone says none
    factor: str = ""  # an e-mail / phone digits given before the order number: tried once the number comes
    more: list[str] = field(default_factory=list)  # other order numbers the question named (answered one at a time)
    filed: str = ""  # the kind of request just made for `number`: a correction that follows amends it

    def start(self, intent: str) -> None:
        self.intent, self.awaiting, self.address, self.item, self.factor = intent, "", "", "", ""
        self.more, self.filed = [], ""

    def done(self) -> None:
        """The task is finished; the order and its verification stay for follow-up questions."""
        self.intent, self.awaiting, self.address, self.item, self.factor = "", "", "", "", ""
        self.more, self.filed = [], ""

    @property
    def active(self) -> bool:
        return bool(self.intent or self.awaiting)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> OrderState:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}) if isinstance(data, dict) else cls()


# A stateless (/v1) client's state is rebuilt from the history it sends, so it cannot be trusted to keep the clock
# or the count: a client resending a factor would stay verified for ever, one trimming its history would reset its
# wrong tries. A small record per client id (stored beside the conversations, key RECORD_PREFIX + id) keeps when a
# verification was last used, the wrong tries and the lock. It only restricts: it never verifies anything, or a
# new conversation under the same id would inherit an earlier one's orders.
RECORD_PREFIX = "v1:"


def stateless_record_key(session) -> str:
    """Where a stateless client's record is kept; "" for a client that sent no id of its own: each of its
    requests has a new one, which no later request would find."""
    from assistant.chat import ANONYMOUS

    return "" if not session.id or session.id.startswith(ANONYMOUS) else RECORD_PREFIX + session.id


# A /v1 id's wrong tries and lock hold as long after the last wrong try as the per-order and per-client limits
# remember one: the id may be a customer's e-mail, used for every conversation they ever have, and one typo a week
# must not add up to a lock.
RECORD_WRONG_SECONDS = WINDOW_SECONDS


def _recent(record: OrderState | None, now: float) -> OrderState | None:
    """`record` while its wrong tries and lock still count, else None."""
    return record if record is not None and now - record.wrong_at <= RECORD_WRONG_SECONDS else None


def hold_to_record(state: OrderState, record: OrderState | None, now: float) -> None:
    """`state`, rebuilt from a stateless client's history, no more permissive than the id's `record`: at least
    the wrong tries and the lock recorded within the last RECORD_WRONG_SECONDS (the desk dates the replayed
    verifications by the record's last use)."""
    record = _recent(record, now)
    if record is None:
        return
    state.wrong = max(state.wrong, record.wrong)
    state.locked = state.locked or record.locked


def next_record(state: OrderState, record: OrderState | None, now: float) -> OrderState:
    """The id's record after a turn: no order numbers (it grants nothing), the time of the latest use of a
    verification (the turn's, else the one recorded), the wrong tries and the lock, and when they last grew."""
    used = state.verified_at if state.verified else (record.verified_at if record else 0.0)
    recent = _recent(record, now)
    before = recent.wrong if recent else 0
    wrong_at = now if state.wrong > before else (recent.wrong_at if recent else 0.0)
    return OrderState(verified_at=used, wrong=max(state.wrong, before), wrong_at=wrong_at,
                      locked=state.locked or bool(recent and recent.locked))


class DialogueStore:
    """OrderState per session id: in the SQL store when `engine` is given, else in memory (LRU)."""

    def __init__(self, engine=None, max_memory: int = 10000):
        self._db = None
        if engine is not None:
            ensure_tables(engine)
            self._db = session_factory(engine)
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_memory = max_memory
        self._last_prune = 0.0

    def load(self, session_id: str) -> OrderState | None:
        """The session's state, or None when this conversation has none stored."""
        if self._db is not None:
            try:
                with self._db() as s:
                    row = s.get(OrderDialogueRow, session_id)
                    return OrderState.from_json(row.state_json) if row is not None else None
            except SQLAlchemyError as exc:
                log.error("cannot read order dialogue %s: %s", session_id[:8], type(exc).__name__)
        with self._lock:
            text = self._memory.get(session_id)
        return OrderState.from_json(text) if text is not None else None

    def save(self, session_id: str, state: OrderState) -> None:
        text = state.to_json()
        if self._db is not None:
            try:
                with self._db.begin() as s:
                    insert_or_replace(s, OrderDialogueRow, {"session_id": session_id, "state_json": text,
                                                            "updated_at": utc_now()})
                self._maybe_prune()
                return
            except (SQLAlchemyError, StorageError) as exc:
                log.error("cannot store order dialogue %s: %s", session_id[:8], exc)
        with self._lock:
            self._memory[session_id] = text
            self._memory.move_to_end(session_id)
            while len(self._memory) > self.max_memory:
                self._memory.popitem(last=False)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < 3600:
            return
        self._last_prune = now
        cutoff = utc_now() - timedelta(days=KEEP_DAYS)
        try:
            with self._db.begin() as s:
                s.execute(delete(OrderDialogueRow).where(OrderDialogueRow.updated_at < cutoff))
        except SQLAlchemyError as exc:
            log.warning("cannot prune old order dialogues: %s", type(exc).__name__)
