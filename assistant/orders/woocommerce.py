"""WooCommerce through its REST API (`/wp-json/wc/v3/orders`), with the consumer key and secret as HTTP Basic
credentials (over HTTPS): an order by its number, tracking from the Shipment Tracking extension's order meta
(`_wc_shipment_tracking_items`), and the approved actions (status `cancelled`, a new shipping address, an
order note recording an approved return; refunds stay a staff decision in WooCommerce itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assistant.orders.backend import HttpClient, check_kind
from assistant.orders.model import Order, OrderItem, ReturnRecord, Shipment, clean_number, normalise_status

TRACKING_META = "_wc_shipment_tracking_items"


def _address(addr: dict | None) -> str:
    addr = addr or {}
    parts = [addr.get(k) for k in ("address_1", "address_2", "city", "postcode", "state", "country")]
    return ", ".join(str(p) for p in parts if p)


def _date(value) -> str:
    """Shipment Tracking stores `date_shipped` as a Unix timestamp string; the record's date, as ISO."""
    text = str(value or "").strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC).date().isoformat()
    return text


class WooCommerceOrders:
    name = "woocommerce"

    def __init__(self, url: str, key: str, secret: str, timeout: float, transport=None):
        self.http = HttpClient(url, timeout, auth=(key, secret), headers={"Accept": "application/json"},
                               transport=transport, what="WooCommerce")
        self.prefix = "/wp-json/wc/v3"

    def _raw(self, number: str) -> dict | None:
        number = clean_number(number)
        if number.isdigit():  # by default the order number is the order's id
            o = self.http.json("GET", f"{self.prefix}/orders/{number}")
            if isinstance(o, dict) and clean_number(str(o.get("number", ""))) == number:
                return o
        # Sequential-number plugins make numbers differ from ids: search, then keep the exact match only.
        found = self.http.json("GET", f"{self.prefix}/orders", params={"search": number, "per_page": 10})
        return next((o for o in found or [] if clean_number(str(o.get("number", ""))) == number), None)

    def find(self, number: str) -> Order | None:
        o = self._raw(number)
        return None if o is None else self.to_order(o)

    @staticmethod
    def to_order(o: dict) -> Order:
        billing, shipping = o.get("billing") or {}, o.get("shipping") or {}
        phones = [p for p in (billing.get("phone"), shipping.get("phone")) if p]
        raw_status = str(o.get("status") or "")
        order = Order(number=clean_number(str(o.get("number") or o.get("id", ""))), status=normalise_status(raw_status),
                      status_text=raw_status, email=str(billing.get("email") or ""), phone=phones[0] if phones else "",
                      placed_at=str(o.get("date_created") or ""), total=str(o.get("total") or ""),
                      currency=str(o.get("currency") or ""), shipping_address=_address(shipping),
                      backend_id=str(o.get("id", "")), extra_phones=phones[1:])
        order.items = [OrderItem(str(li.get("name") or ""), int(li.get("quantity") or 1), str(li.get("sku") or ""),
                                 str(li.get("price") if li.get("price") is not None else li.get("total") or ""))
                       for li in o.get("line_items") or []]
        for meta in o.get("meta_data") or []:
            if meta.get("key") != TRACKING_META:
                continue
            for t in meta.get("value") or []:
                order.shipments.append(Shipment(
                    carrier=str(t.get("tracking_provider") or t.get("custom_tracking_provider") or ""),
                    tracking_number=str(t.get("tracking_number") or ""), status="shipped",
                    shipped_at=_date(t.get("date_shipped")), tracking_url=str(t.get("custom_tracking_link") or "")))
        if order.status == "processing" and order.shipments:
            order.status = "shipped"  # tracking added before the shop marked the order completed
        for refund in o.get("refunds") or []:
            order.returns.append(ReturnRecord(str(refund.get("reason") or "(refund)"), 1, "refunded", ""))
        return order

    def apply(self, kind: str, order: Order, details: dict[str, Any]) -> str:
        check_kind(kind)
        oid = order.backend_id or (self._raw(order.number) or {}).get("id")
        if not oid:
            from assistant.errors import NotFoundError

            raise NotFoundError(f"order {order.number} is not in WooCommerce any more")
        if kind == "cancel":
            data = self.http.json("PUT", f"{self.prefix}/orders/{oid}", json={"status": "cancelled"}) or {}
            return f"WooCommerce: order {order.number} status is now {data.get('status', 'cancelled')}"
        if kind == "change_address":
            address = str(details.get("address", "")).strip()
            self.http.json("PUT", f"{self.prefix}/orders/{oid}", json={"shipping": {"address_1": address,
                                                                                      "address_2": ""}})
            return f"WooCommerce: shipping address of order {order.number} set to the approved address"
        item = str(details.get("item", "")).strip() or "the whole order"
        note = self.http.json("POST", f"{self.prefix}/orders/{oid}/notes",
                              json={"note": f"Return approved: {item}", "customer_note": False}) or {}
        return f"WooCommerce: order note {note.get('id', '')} records the approved return ({item})".replace("  ", " ")
