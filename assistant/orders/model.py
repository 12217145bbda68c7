"""What an order is, whichever system holds it: one record shape for the embedded store, Shopify, WooCommerce
and the webhook, plus the two checks the desk needs (does a factor match, which status is this).

Facts shown to a customer are these fields, quoted as the backend gave them; nothing here is generated.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

# Normalised statuses, in the order an order usually goes through them.
STATUSES = ("pending", "processing", "on_hold", "shipped", "partially_shipped", "delivered", "cancelled",
            "refunded", "failed", "unknown")

# Backend words -> normalised status. WooCommerce's "completed" means fulfilled, not delivered.
_STATUS_WORDS = {
    "pending": "pending", "unpaid": "pending", "authorized": "pending", "pending payment": "pending",
    "processing": "processing", "unfulfilled": "processing", "paid": "processing", "open": "processing",
    "confirmed": "processing", "待发货": "processing", "处理中": "processing", "已付款": "processing",
    "on-hold": "on_hold", "on_hold": "on_hold", "on hold": "on_hold", "scheduled": "on_hold",
    "shipped": "shipped", "fulfilled": "shipped", "completed": "shipped", "in_transit": "shipped",
    "in transit": "shipped", "out_for_delivery": "shipped", "已发货": "shipped", "运输中": "shipped",
    "partial": "partially_shipped", "partially_fulfilled": "partially_shipped",
    "partially_shipped": "partially_shipped", "部分发货": "partially_shipped",
    "delivered": "delivered", "已签收": "delivered", "已送达": "delivered",
    "cancelled": "cancelled", "canceled": "cancelled", "voided": "cancelled", "已取消": "cancelled",
    "refunded": "refunded", "已退款": "refunded", "failed": "failed",
    "restocked": "cancelled",  # Shopify's fulfilment status of an order whose items went back to stock
}


def normalise_status(raw: str | None) -> str:
    """A backend's status word as one of STATUSES ("unknown" when the word is new to us)."""
    word = " ".join(str(raw or "").strip().lower().replace("wc-", "", 1).split())
    if word in STATUSES:
        return word
    return _STATUS_WORDS.get(word, _STATUS_WORDS.get(word.replace(" ", "_"), "unknown"))


@dataclass
class OrderItem:
    name: str
    quantity: int = 1
    sku: str = ""
    price: str = ""


@dataclass
class Shipment:
    carrier: str = ""
    tracking_number: str = ""
    status: str = ""
    shipped_at: str = ""  # dates as the backend wrote them (ISO), quoted, never reformatted into new facts
    expected_delivery: str = ""
    delivered_at: str = ""
    tracking_url: str = ""


@dataclass
class ReturnRecord:
    item: str
    quantity: int = 1
    status: str = ""
    requested_at: str = ""


@dataclass
class Order:
    number: str  # what the customer types (without "#")
    status: str = "unknown"  # one of STATUSES
    status_text: str = ""  # the backend's own word for it
    email: str = ""
    phone: str = ""
    placed_at: str = ""
    total: str = ""
    currency: str = ""
    shipping_address: str = ""  # for agents only; never shown to a customer
    items: list[OrderItem] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    returns: list[ReturnRecord] = field(default_factory=list)
    backend_id: str = ""  # the backend's own id (Shopify/WooCommerce), used for actions
    extra_emails: list[str] = field(default_factory=list)  # billing / customer e-mails that also verify
    extra_phones: list[str] = field(default_factory=list)  # shipping / billing phones that also verify

    @property
    def delivered_at(self) -> str:
        return next((s.delivered_at for s in self.shipments if s.delivered_at), "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        """The inverse of as_dict (the webhook's reply, a stored snapshot); unknown keys are ignored."""
        def build(kind, rows):
            names = set(kind.__dataclass_fields__)
            return [kind(**{k: v for k, v in (r or {}).items() if k in names}) for r in rows or []]

        known = set(cls.__dataclass_fields__)
        base = {k: v for k, v in data.items() if k in known and k not in ("items", "shipments", "returns")}
        base["number"] = clean_number(str(base.get("number", "")))
        order = cls(**base, items=build(OrderItem, data.get("items")),
                    shipments=build(Shipment, data.get("shipments")), returns=build(ReturnRecord, data.get("returns")))
        for item in order.items:
            item.quantity = _int(item.quantity)
        for ret in order.returns:
            ret.quantity = _int(ret.quantity)
        if order.status not in STATUSES:
            order.status_text = order.status_text or order.status
            order.status = normalise_status(order.status)
        return order


def _int(value, default: int = 1) -> int:
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return default


def clean_number(text: str) -> str:
    """An order number as stored and compared: no "#", no spaces, upper case (Shopify's "#1001" -> "1001"), in
    ASCII: a Chinese input method in full-width mode types "１００２３４" for 100234."""
    return re.sub(r"[\s#]", "", unicodedata.normalize("NFKC", str(text or ""))).upper()


def digits(text: str) -> str:
    """The digits of `text` as ASCII ("尾号５６７８" -> "5678": full-width digits are the same digits)."""
    return "".join(str(unicodedata.decimal(c)) for c in str(text or "") if c.isdecimal())


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def factor_matches(order: Order, factor: str) -> bool:
    """Does `factor` (an e-mail address, or the last 4 digits of a phone number) belong to `order`?

    Constant-time comparisons; an order without the factor's kind on record never matches.
    """
    factor = (factor or "").strip()
    if "@" in factor:
        given = factor.lower()
        return any(_same(given, e.strip().lower()) for e in [order.email, *order.extra_emails] if e)
    last4 = digits(factor)[-4:]
    phones = [digits(p) for p in [order.phone, *order.extra_phones]]
    return len(last4) == 4 and any(len(p) >= 4 and _same(last4, p[-4:]) for p in phones)
