"""The embedded order store: orders, items, shipments and returns in the app's own SQL store (SQLite or
PostgreSQL), filled from a shop system's CSV/XLSX export (`python -m assistant.orders import`).

Approving a request changes the stored record (cancelled, new address, a return row): for a shop on the
embedded store the export is the source of truth, so the agent carries the change into the shop system too,
and the next import brings both back in line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.errors import NotFoundError, StorageError
from assistant.orders.backend import check_kind
from assistant.orders.model import Order, OrderItem, ReturnRecord, Shipment, clean_number
from assistant.storage import Base, ensure_tables, session_factory, utc_now

log = logging.getLogger(__name__)


class OrderRecordRow(Base):
    __tablename__ = "order_records"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default="unknown")
    status_text: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    placed_at: Mapped[str] = mapped_column(String(40), default="")
    total: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(8), default="")
    shipping_address: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime)


class OrderItemRow(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    sku: Mapped[str] = mapped_column(String(100), default="")
    price: Mapped[str] = mapped_column(String(40), default="")


class OrderShipmentRow(Base):
    __tablename__ = "order_shipments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(40), default="")
    shipped_at: Mapped[str] = mapped_column(String(40), default="")
    expected_delivery: Mapped[str] = mapped_column(String(40), default="")
    delivered_at: Mapped[str] = mapped_column(String(40), default="")
    tracking_url: Mapped[str] = mapped_column(Text, default="")


class OrderReturnRow(Base):
    __tablename__ = "order_returns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    item: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(40), default="")
    requested_at: Mapped[str] = mapped_column(String(40), default="")


_CHILDREN = ((OrderItemRow, OrderItem, ("name", "quantity", "sku", "price")),
             (OrderShipmentRow, Shipment, ("carrier", "tracking_number", "status", "shipped_at", "expected_delivery",
                                           "delivered_at", "tracking_url")),
             (OrderReturnRow, ReturnRecord, ("item", "quantity", "status", "requested_at")))
_FIELDS = ("status", "status_text", "email", "phone", "placed_at", "total", "currency", "shipping_address")



class EmbeddedOrders:
    name = "embedded"

    def __init__(self, engine):
        ensure_tables(engine)
        self._db = session_factory(engine)

    def find(self, number: str) -> Order | None:
        number = clean_number(number)
        if not number:
            return None
        try:
            with self._db() as s:
                row = s.get(OrderRecordRow, number)
                if row is None:
                    return None
                order = Order(number=row.number, **{f: getattr(row, f) for f in _FIELDS})
                lists = (order.items, order.shipments, order.returns)
                for (table, kind, names), target in zip(_CHILDREN, lists, strict=True):
                    rows = s.scalars(select(table).where(table.order_number == number).order_by(table.id))
                    target.extend(kind(**{n: getattr(r, n) for n in names}) for r in rows)
                return order
        except SQLAlchemyError as exc:
            raise StorageError(f"the embedded order store failed: {type(exc).__name__}") from None

    def count(self) -> int:
        try:
            with self._db() as s:
                return int(s.scalar(select(func.count()).select_from(OrderRecordRow)) or 0)
        except SQLAlchemyError as exc:
            raise StorageError(f"the embedded order store failed: {type(exc).__name__}") from None

    def save(self, orders: Iterable[Order]) -> int:
        """Store `orders`, each replacing the stored order with its number (items and all), in one commit."""
        orders = list(orders)
        now = utc_now()
        try:
            with self._db.begin() as s:
                for order in orders:
                    self._delete(s, order.number)
                    s.add(OrderRecordRow(number=order.number, imported_at=now,
                                         **{f: str(getattr(order, f) or "") for f in _FIELDS}))
                    for (table, _kind, names), values in zip(_CHILDREN, (order.items, order.shipments,
                                                                         order.returns), strict=True):
                        s.add_all(table(order_number=order.number, **{n: getattr(v, n) for n in names})
                                  for v in values)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store the imported orders: {type(exc).__name__}: {exc}") from None
        return len(orders)

    @staticmethod
    def _delete(s, number: str) -> None:
        for table, _kind, _names in _CHILDREN:
            s.execute(delete(table).where(table.order_number == number))
        s.execute(delete(OrderRecordRow).where(OrderRecordRow.number == number))

    def apply(self, kind: str, order: Order, details: dict[str, Any]) -> str:
        """Carry out an approved request on the stored record; returns what changed, for the audit."""
        check_kind(kind)
        try:
            with self._db.begin() as s:
                row = s.get(OrderRecordRow, clean_number(order.number))
                if row is None:
                    raise NotFoundError(f"order {order.number} is no longer in the embedded store")
                if kind == "cancel":
                    row.status, row.status_text = "cancelled", "cancelled"
                    done = f"order {row.number} marked cancelled in the embedded store"
                elif kind == "change_address":
                    row.shipping_address = str(details.get("address", "")).strip()
                    done = f"order {row.number}: delivery address replaced in the embedded store"
                else:
                    item = str(details.get("item", "")).strip() or "(whole order)"
                    quantity = int(details.get("quantity") or 1)
                    s.add(OrderReturnRow(order_number=row.number, item=item, quantity=quantity, status="approved",
                                         requested_at=utc_now().date().isoformat()))
                    done = f"order {row.number}: return of {quantity} x {item} recorded as approved"
        except SQLAlchemyError as exc:
            raise StorageError(f"the embedded order store failed: {type(exc).__name__}") from None
        log.info("embedded orders: %s", done)
        return done
