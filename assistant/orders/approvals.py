"""Order requests waiting for staff approval, and the audit of every decision on them.

A customer's cancel / change-address / return request becomes one `order_requests` row (with the order as
the customer saw it and what they asked for) and a handoff ticket in the agent queue (intent `order_cancel`,
`order_change_address` or `order_return`). Nothing is done to the order until an agent approves: then the
backend carries it out and `order_audit` records who decided, when, and what the system did. A request is
claimed before the backend call, so two agents approving at once cannot run it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.errors import AssistantError, InputError, NotFoundError, StorageError
from assistant.orders.backend import check_kind
from assistant.orders.model import Order
from assistant.storage import Base, ensure_tables, session_factory, utc_now

log = logging.getLogger(__name__)

WAITING = ("pending",)
#: an approval claimed longer ago than this never finished (the backend call is bounded by orders.timeout_s)
STALE_CLAIM_S = 300
DECIDED = ("approved", "rejected")


class OrderRequestRow(Base):
    __tablename__ = "order_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str] = mapped_column(String(64), default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    details_json: Mapped[str] = mapped_column(Text, default="{}")  # {"address": ...} | {"item": ..., "quantity": n}
    order_json: Mapped[str] = mapped_column(Text, default="{}")  # the order when the customer asked
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")  # pending|approving|approved|rejected
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class OrderAuditRow(Base):
    __tablename__ = "order_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))  # requested | updated | approved | rejected | approve_failed
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass
class OrderRequest:
    id: int
    kind: str
    order_number: str
    session_id: str
    ticket_id: int | None
    language: str
    details: dict[str, Any]
    order: Order
    status: str
    decided_by: str
    note: str
    result: str
    created_at: datetime
    updated_at: datetime


@dataclass
class AuditEntry:
    at: datetime
    actor: str
    action: str
    detail: str



def _to_request(row: OrderRequestRow) -> OrderRequest:
    return OrderRequest(row.id, row.kind, row.order_number, row.session_id, row.ticket_id, row.language,
                        json.loads(row.details_json or "{}"), Order.from_dict(json.loads(row.order_json or "{}")),
                        row.status, row.decided_by, row.note, row.result, row.created_at, row.updated_at)


def no_longer_possible(kind: str, order: Order) -> str:
    """Why the order as it is now no longer allows what was requested ("" when it does): an order may have shipped
    between the customer's request and the agent's approval."""
    status = order.status.replace("_", " ")
    if kind == "cancel" and order.status in ("shipped", "partially_shipped", "delivered", "cancelled", "refunded"):
        return f"order {order.number} is {status} now, so it can no longer be cancelled"
    if kind == "change_address" and order.status in ("delivered", "cancelled", "refunded"):
        return f"order {order.number} is {status} now, so its delivery address can no longer be changed"
    if kind == "return" and order.status in ("cancelled", "refunded"):
        return f"order {order.number} is {status} now: there is nothing to return"
    return ""


def _naive(when: datetime) -> datetime:
    """SQLite gives the stored UTC time back without its zone; compared as such."""
    return when.replace(tzinfo=None) if when.tzinfo else when


class OrderRequests:
    def __init__(self, engine):
        ensure_tables(engine)
        self._db = session_factory(engine)

    def _audit(self, s, request_id: int, actor: str, action: str, detail: str = "") -> None:
        s.add(OrderAuditRow(request_id=request_id, at=utc_now(), actor=actor, action=action, detail=detail))

    def create(self, kind: str, order: Order, details: dict[str, Any], session_id: str = "",
               language: str = "") -> tuple[OrderRequest, bool]:
        """(the request, True) — or (the one already waiting for this order and kind, False); a return of another
        item of the order is a request of its own."""
        check_kind(kind)
        try:
            with self._db.begin() as s:
                rows = s.scalars(select(OrderRequestRow).where(
                    OrderRequestRow.order_number == order.number, OrderRequestRow.kind == kind,
                    OrderRequestRow.status.in_(["pending", "approving"])).order_by(OrderRequestRow.id)).all()
                waiting = next((r for r in rows if kind != "return" or
                                json.loads(r.details_json or "{}").get("item") == details.get("item")), None)
                if waiting is not None:
                    return _to_request(waiting), False
                now = utc_now()
                row = OrderRequestRow(kind=kind, order_number=order.number, session_id=session_id or "",
                                      language=language, details_json=json.dumps(details, ensure_ascii=False),
                                      order_json=json.dumps(order.as_dict(), ensure_ascii=False), status="pending",
                                      created_at=now, updated_at=now)
                s.add(row)
                s.flush()
                self._audit(s, row.id, "customer", "requested", f"{kind} of order {order.number}")
                return _to_request(row), True
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot save the order request: {type(exc).__name__}") from None

    def update_details(self, request_id: int, details: dict[str, Any]) -> bool:
        """What the customer asks for, changed while the request still waits (a corrected address): True when
        updated and audited; False when an agent has already claimed or decided it (their decision stands)."""
        try:
            with self._db.begin() as s:
                done = s.execute(update(OrderRequestRow).where(OrderRequestRow.id == int(request_id),
                                                                OrderRequestRow.status == "pending")
                                 .values(details_json=json.dumps(details, ensure_ascii=False),
                                         updated_at=utc_now())).rowcount
                if done:
                    self._audit(s, int(request_id), "customer", "updated",
                                json.dumps(details, ensure_ascii=False))
                return bool(done)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot update the order request: {type(exc).__name__}") from None

    def attach_ticket(self, request_id: int, ticket_id: int) -> None:
        with self._db.begin() as s:
            s.execute(update(OrderRequestRow).where(OrderRequestRow.id == request_id).values(ticket_id=ticket_id))

    def get(self, request_id: int) -> OrderRequest:
        with self._db() as s:
            row = s.get(OrderRequestRow, int(request_id))
            if row is None:
                raise NotFoundError(f"no order request {request_id}")
            return _to_request(row)

    def listing(self, statuses=("pending", "approving"), limit: int = 200) -> list[OrderRequest]:
        with self._db() as s:
            rows = s.scalars(select(OrderRequestRow).where(OrderRequestRow.status.in_(list(statuses)))
                             .order_by(OrderRequestRow.id).limit(limit)).all()
            return [_to_request(r) for r in rows]

    def for_order(self, number: str) -> list[OrderRequest]:
        with self._db() as s:
            rows = s.scalars(select(OrderRequestRow).where(OrderRequestRow.order_number == number)
                             .order_by(OrderRequestRow.id)).all()
            return [_to_request(r) for r in rows]

    def audit(self, request_id: int) -> list[AuditEntry]:
        with self._db() as s:
            rows = s.scalars(select(OrderAuditRow).where(OrderAuditRow.request_id == int(request_id))
                             .order_by(OrderAuditRow.id)).all()
            return [AuditEntry(r.at, r.actor, r.action, r.detail) for r in rows]

    def _claim(self, request_id: int, actor: str) -> OrderRequest:
        """Mark the request as being carried out by `actor`. A claim older than STALE_CLAIM_S (the app stopped in
        the middle of an approval) is taken over, with a line in the audit: the request would wait for ever."""
        now = utc_now()
        stale = now - timedelta(seconds=STALE_CLAIM_S)
        with self._db.begin() as s:
            was = s.get(OrderRequestRow, int(request_id))
            taken_over = was is not None and was.status == "approving" and _naive(was.updated_at) < stale
            claimed = s.execute(update(OrderRequestRow).where(
                OrderRequestRow.id == int(request_id),
                (OrderRequestRow.status == "pending") | ((OrderRequestRow.status == "approving")
                                                         & (OrderRequestRow.updated_at < stale)))
                                .values(status="approving", decided_by=actor, updated_at=now)).rowcount
            if claimed and taken_over:
                self._audit(s, int(request_id), actor, "claim_taken_over",
                            f"an approval by {was.decided_by or '?'} did not finish")
        request = self.get(request_id)
        if not claimed:
            raise InputError(f"order request {request_id} is {request.status}, not waiting for a decision")
        return request

    def approve(self, request_id: int, actor: str, backend, note: str = "") -> OrderRequest:
        """Carry the request out through `backend` and record it; on a backend failure the request waits again
        (the failure is in the audit) and the error is raised for the agent to see."""
        if not actor:
            raise InputError("who approves must be known (the staff user name)")
        request = self._claim(request_id, actor)
        try:
            fresh = backend.find(request.order_number) or request.order
            late = no_longer_possible(request.kind, fresh)
            if late:
                raise InputError(f"{late}: reject the request with a note for the customer")
            result = backend.apply(request.kind, fresh, request.details)
        except Exception as exc:  # any failure: the request waits again, never stuck half-claimed
            why = exc.one_line() if isinstance(exc, AssistantError) else f"{type(exc).__name__}: {exc}"
            with self._db.begin() as s:
                s.execute(update(OrderRequestRow).where(OrderRequestRow.id == request.id)
                          .values(status="pending", updated_at=utc_now()))
                self._audit(s, request.id, actor, "approve_failed", why)
            if isinstance(exc, AssistantError):
                raise
            log.exception("order request %s: the order system failed", request.id)
            raise StorageError(f"the order system failed to carry out request {request.id} ({why}); it waits "
                               f"again") from None
        with self._db.begin() as s:
            s.execute(update(OrderRequestRow).where(OrderRequestRow.id == request.id)
                      .values(status="approved", result=result, note=note or "", updated_at=utc_now()))
            self._audit(s, request.id, actor, "approved", result + (f" — note: {note}" if note else ""))
        log.info("order request %s (%s of %s) approved by %s", request.id, request.kind, request.order_number, actor)
        return self.get(request.id)

    def reject(self, request_id: int, actor: str, note: str) -> OrderRequest:
        if not (note or "").strip():
            raise InputError("say why the request is rejected (the note is kept with the request)")
        if not actor:
            raise InputError("who rejects must be known (the staff user name)")
        with self._db.begin() as s:
            done = s.execute(update(OrderRequestRow).where(OrderRequestRow.id == int(request_id),
                                                            OrderRequestRow.status == "pending")
                             .values(status="rejected", decided_by=actor, note=note.strip(),
                                     updated_at=utc_now())).rowcount
            if done:
                self._audit(s, int(request_id), actor, "rejected", note.strip())
        request = self.get(request_id)
        if not done:
            raise InputError(f"order request {request_id} is {request.status}, not waiting for a decision")
        return request
