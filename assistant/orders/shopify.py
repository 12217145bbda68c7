"""Shopify through its Admin REST API: an order by its name ("#1001"), its fulfillments' tracking and their
latest delivery estimate, and the approved actions (cancel, new delivery address, a return noted on the order).

Endpoints used (Admin REST, `X-Shopify-Access-Token` header): GET orders.json?name=&status=any,
GET orders/{id}/fulfillments/{fid}/events.json, POST orders/{id}/cancel.json, PUT orders/{id}.json.
Shopify's REST API has no call that opens a return (returns are GraphQL-only), so an approved return is
written on the order as a note and a `return-approved` tag for staff to process in the Shopify admin.
"""

from __future__ import annotations

from typing import Any

from assistant.orders.backend import HttpClient, check_kind
from assistant.orders.model import Order, OrderItem, ReturnRecord, Shipment, clean_number


def _address(addr: dict | None) -> str:
    addr = addr or {}
    parts = [addr.get(k) for k in ("address1", "address2", "city", "zip", "province", "country")]
    return ", ".join(str(p) for p in parts if p)


def _status(o: dict) -> tuple[str, str]:
    """(normalised status, Shopify's own words) from the order's cancel, payment and fulfilment fields."""
    if o.get("cancelled_at"):
        return "cancelled", "cancelled"
    if o.get("financial_status") in ("refunded", "voided"):
        return "refunded", str(o["financial_status"])
    fulfillment = o.get("fulfillment_status")
    shipped = [f for f in o.get("fulfillments") or [] if f.get("status") == "success"]
    if fulfillment == "fulfilled" and shipped and all(f.get("shipment_status") == "delivered" for f in shipped):
        return "delivered", "fulfilled (delivered)"
    if fulfillment == "fulfilled":
        return "shipped", "fulfilled"
    if fulfillment == "partial":
        return "partially_shipped", "partial"
    if o.get("financial_status") == "pending":
        return "pending", "pending payment"
    return "processing", "unfulfilled"


class ShopifyOrders:
    name = "shopify"

    def __init__(self, store: str, token: str, api_version: str, timeout: float, transport=None):
        self.http = HttpClient(store, timeout, headers={"X-Shopify-Access-Token": token,
                                                        "Accept": "application/json"},
                               transport=transport, what="Shopify")
        self.prefix = f"/admin/api/{api_version}"

    def _raw(self, number: str) -> dict | None:
        number = clean_number(number)
        data = self.http.json("GET", f"{self.prefix}/orders.json", params={"name": number, "status": "any"})
        for o in (data or {}).get("orders") or []:  # `name` filters loosely: keep the exact one only
            if clean_number(o.get("name", "")) == number or str(o.get("order_number", "")) == number:
                return o
        return None

    def find(self, number: str) -> Order | None:
        o = self._raw(number)
        return None if o is None else self.to_order(o)

    def _events(self, order_id, fulfillment_id) -> list[dict]:
        data = self.http.json("GET", f"{self.prefix}/orders/{order_id}/fulfillments/{fulfillment_id}/events.json")
        return (data or {}).get("fulfillment_events") or []

    def to_order(self, o: dict) -> Order:
        status, status_text = _status(o)
        customer = o.get("customer") or {}
        shipping, billing = o.get("shipping_address") or {}, o.get("billing_address") or {}
        phones = [p for p in (o.get("phone"), shipping.get("phone"), billing.get("phone"), customer.get("phone")) if p]
        emails = [e for e in (o.get("email"), o.get("contact_email"), customer.get("email")) if e]
        order = Order(number=clean_number(o.get("name") or str(o.get("order_number", ""))), status=status,
                      status_text=status_text, email=emails[0] if emails else "", phone=phones[0] if phones else "",
                      placed_at=str(o.get("created_at") or ""), total=str(o.get("total_price") or ""),
                      currency=str(o.get("currency") or ""), shipping_address=_address(shipping),
                      backend_id=str(o.get("id", "")), extra_emails=emails[1:], extra_phones=phones[1:])
        order.items = [OrderItem(str(li.get("name") or li.get("title") or ""), int(li.get("quantity") or 1),
                                 str(li.get("sku") or ""), str(li.get("price") or ""))
                       for li in o.get("line_items") or []]
        for f in o.get("fulfillments") or []:
            if f.get("status") not in ("success", "open", "pending"):
                continue  # cancelled or failed fulfillments shipped nothing
            events = self._events(o.get("id"), f.get("id")) if f.get("tracking_number") else []
            eta = next((e.get("estimated_delivery_at") for e in reversed(events) if e.get("estimated_delivery_at")), "")
            delivered = next((e.get("happened_at") for e in events if e.get("status") == "delivered"), "")
            order.shipments.append(Shipment(
                carrier=str(f.get("tracking_company") or ""), tracking_number=str(f.get("tracking_number") or ""),
                status=str(f.get("shipment_status") or f.get("status") or ""), shipped_at=str(f.get("created_at") or ""),
                expected_delivery=str(eta or ""), delivered_at=str(delivered or ""),
                tracking_url=str(f.get("tracking_url") or "")))
        for refund in o.get("refunds") or []:
            for rli in refund.get("refund_line_items") or []:
                if rli.get("restock_type") == "return":
                    item = (rli.get("line_item") or {}).get("name") or ""
                    order.returns.append(ReturnRecord(str(item), int(rli.get("quantity") or 1), "refunded",
                                                      str(refund.get("created_at") or "")))
        return order

    def apply(self, kind: str, order: Order, details: dict[str, Any]) -> str:
        check_kind(kind)
        oid = order.backend_id or (self._raw(order.number) or {}).get("id")
        if not oid:
            from assistant.errors import NotFoundError

            raise NotFoundError(f"order {order.number} is not in Shopify any more")
        if kind == "cancel":
            body = {"reason": "customer", "email": True}
            data = self.http.json("POST", f"{self.prefix}/orders/{oid}/cancel.json", json=body)
            when = ((data or {}).get("order") or {}).get("cancelled_at", "")
            return f"Shopify cancelled order #{order.number}" + (f" at {when}" if when else "")
        if kind == "change_address":
            address = str(details.get("address", "")).strip()
            self.http.json("PUT", f"{self.prefix}/orders/{oid}.json",
                           json={"order": {"id": int(oid), "shipping_address": {"address1": address, "address2": ""}}})
            return f"Shopify: delivery address of order #{order.number} set to the approved address"
        raw = self.http.json("GET", f"{self.prefix}/orders/{oid}.json") or {}
        current = raw.get("order") or {}
        item = str(details.get("item", "")).strip() or "the whole order"
        note = "\n".join(filter(None, [current.get("note"), f"Return approved: {item}"]))
        tags = ", ".join(filter(None, [current.get("tags"), "return-approved"]))
        self.http.json("PUT", f"{self.prefix}/orders/{oid}.json", json={"order": {"id": int(oid), "note": note,
                                                                              "tags": tags}})
        return f"Shopify: order #{order.number} noted and tagged return-approved ({item})"
