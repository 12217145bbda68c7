"""Loopback stand-ins for the shop systems, speaking their real JSON: a fake Shopify Admin REST API, a fake
WooCommerce REST API and a fake signed webhook, all serving one set of Orders (tests and bench/orders.py).

Responses are the recorded shapes (tests/assistant/orders/fixtures: Shopify's and WooCommerce's documented
example orders) with each order's own values written into them, so the clients parse every field they would
see from the real services. `FakeShop.delay_s` makes them slow (a timeout), `.down` makes them fail (HTTP 500),
`.calls` records what was asked. Nothing here is used by the running app.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, datetime

from fastapi import FastAPI, Request  # module level: FastAPI reads the handlers' annotations by name
from fastapi.responses import JSONResponse, Response

from assistant.orders.model import Order, ReturnRecord, clean_number


def _ts(day: str, hour: str = "10:00:00", zone: str = "+08:00") -> str | None:
    return f"{day}T{hour}{zone}" if day else None


class FakeShop:
    """The orders behind every fake, with the knobs the tests turn."""

    def __init__(self, orders: list[Order]):
        self.orders = {o.number: copy.deepcopy(o) for o in orders}
        self.ids = {n: 450789000 + i for i, n in enumerate(sorted(self.orders), 1)}
        self.delay_s = 0.0
        self.down = False
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def by_id(self, oid) -> Order | None:
        number = next((n for n, i in self.ids.items() if str(i) == str(oid)), None)
        return self.orders.get(number) if number else None

    def enter(self, method: str, path: str, wait: bool = True):
        """Record the call, wait `delay_s` (async handlers wait themselves: a sleep here would block the event
        loop for every other request), and say whether to fail (the fake is "down")."""
        with self._lock:
            self.calls.append((method, path))
        if self.delay_s and wait:
            time.sleep(self.delay_s)
        return self.down

    async def aenter(self, method: str, path: str):
        import asyncio

        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.enter(method, path, wait=False)

    def cancel(self, order: Order) -> None:
        order.status, order.status_text = "cancelled", "cancelled"

    def set_address(self, order: Order, address: str) -> None:
        order.shipping_address = address

    def note_return(self, order: Order, note: str) -> None:
        order.returns.append(ReturnRecord(note, 1, "approved", ""))


# --- Shopify ------------------------------------------------------------------------------------------------
def shopify_json(shop: FakeShop, order: Order, recorded: dict) -> dict:
    """`order` written into Shopify's recorded order shape."""
    o = copy.deepcopy(recorded)
    oid = shop.ids[order.number]
    delivered = bool(order.shipments) and all(s.delivered_at for s in order.shipments)
    fulfillment = {"shipped": "fulfilled", "delivered": "fulfilled", "partially_shipped": "partial"}.get(order.status)
    o.update(id=oid, admin_graphql_api_id=f"gid://shopify/Order/{oid}", name=f"#{order.number}",
             order_number=int(order.number) if order.number.isdigit() else 0, email=order.email,
             contact_email=order.email, phone=order.phone or None, created_at=_ts(order.placed_at),
             processed_at=_ts(order.placed_at), total_price=order.total, currency=order.currency or "USD",
             cancelled_at=_ts(order.placed_at, "18:00:00") if order.status == "cancelled" else None,
             financial_status={"refunded": "refunded", "pending": "pending"}.get(order.status, "paid"),
             fulfillment_status=fulfillment if order.status != "delivered" or delivered else "fulfilled",
             note=o.get("note"), tags=o.get("tags", ""))
    o["customer"] = {**o.get("customer", {}), "id": oid + 7, "email": order.email, "phone": None}
    address = {"first_name": "", "last_name": "", "name": "", "address1": order.shipping_address, "address2": "",
               "city": "", "zip": "", "province": "", "country": "", "phone": None, "company": None}
    o["shipping_address"], o["billing_address"] = dict(address), dict(address)
    template_item = recorded["line_items"][0]
    o["line_items"] = [{**copy.deepcopy(template_item), "id": oid * 10 + i, "name": it.name, "title": it.name,
                        "variant_title": None, "quantity": it.quantity, "sku": it.sku, "price": it.price}
                       for i, it in enumerate(order.items)]
    template_f = recorded["fulfillments"][0] if recorded.get("fulfillments") else {}
    o["fulfillments"] = [{**copy.deepcopy(template_f), "id": oid * 100 + i, "order_id": oid,
                          "name": f"#{order.number}.{i}", "status": "success", "tracking_company": s.carrier or None,
                          "tracking_number": s.tracking_number or None,
                          "tracking_numbers": [s.tracking_number] if s.tracking_number else [],
                          "tracking_url": s.tracking_url or None, "created_at": _ts(s.shipped_at),
                          "shipment_status": "delivered" if s.delivered_at else "in_transit"}
                         for i, s in enumerate(order.shipments)]
    o["refunds"] = [{"id": oid * 1000 + i, "order_id": oid, "created_at": _ts(r.requested_at), "note": None,
                     "refund_line_items": [{"id": 1, "quantity": r.quantity, "restock_type": "return",
                                            "line_item": {"name": r.item}}]}
                    for i, r in enumerate(order.returns) if r.status == "refunded"]
    return o


def shopify_events(shop: FakeShop, order: Order, index: int, recorded: dict) -> dict:
    template = recorded["fulfillment_events"][-1]
    s = order.shipments[index]
    fid = shop.ids[order.number] * 100 + index
    events = [{**template, "id": fid * 10, "fulfillment_id": fid, "status": "in_transit",
               "happened_at": _ts(s.shipped_at, "20:00:00"), "estimated_delivery_at": _ts(s.expected_delivery, "18:00:00")}]
    if s.delivered_at:
        events.append({**template, "id": fid * 10 + 1, "fulfillment_id": fid, "status": "delivered",
                       "happened_at": _ts(s.delivered_at, "15:00:00"), "estimated_delivery_at": None})
    return {"fulfillment_events": events}


def shopify_app(shop: FakeShop, token: str, recorded_order: dict, recorded_events: dict, version: str = "2024-10"):
    app = FastAPI()
    prefix = f"/admin/api/{version}"

    def gate(request: Request, down: bool | None = None):
        if shop.enter(request.method, request.url.path) if down is None else down:
            return JSONResponse({"errors": "Internal Server Error"}, status_code=500)
        if request.headers.get("x-shopify-access-token") != token:
            return JSONResponse({"errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                                           "password)"}, status_code=401)
        return None

    def found(oid):
        order = shop.by_id(oid)
        return order, (None if order else JSONResponse({"errors": "Not Found"}, status_code=404))

    @app.get(prefix + "/orders.json")
    def orders(request: Request, name: str = "", status: str = "open"):
        if (bad := gate(request)) is not None:
            return bad
        wanted = clean_number(name)
        return {"orders": [shopify_json(shop, o, recorded_order) for n, o in sorted(shop.orders.items())
                           if not wanted or n == wanted]}

    @app.get(prefix + "/orders/{oid}.json")
    def order(request: Request, oid: int):
        if (bad := gate(request)) is not None:
            return bad
        o, missing = found(oid)
        return missing or {"order": shopify_json(shop, o, recorded_order)}

    @app.get(prefix + "/orders/{oid}/fulfillments/{fid}/events.json")
    def events(request: Request, oid: int, fid: int):
        if (bad := gate(request)) is not None:
            return bad
        o, missing = found(oid)
        if missing:
            return missing
        return shopify_events(shop, o, fid - oid * 100, recorded_events)

    @app.post(prefix + "/orders/{oid}/cancel.json")
    def cancel(request: Request, oid: int):
        if (bad := gate(request)) is not None:
            return bad
        o, missing = found(oid)
        if missing:
            return missing
        shop.cancel(o)
        return {"order": shopify_json(shop, o, recorded_order)}

    @app.put(prefix + "/orders/{oid}.json")
    async def update(request: Request, oid: int):
        if (bad := gate(request, await shop.aenter(request.method, request.url.path))) is not None:
            return bad
        o, missing = found(oid)
        if missing:
            return missing
        body = (await request.json()).get("order", {})
        if "shipping_address" in body:
            shop.set_address(o, body["shipping_address"].get("address1", ""))
        if body.get("note"):
            shop.note_return(o, body["note"].splitlines()[-1])
        return {"order": shopify_json(shop, o, recorded_order)}

    return app


# --- WooCommerce --------------------------------------------------------------------------------------------
def woocommerce_json(shop: FakeShop, order: Order, recorded: dict) -> dict:
    o = copy.deepcopy(recorded)
    oid = shop.ids[order.number]
    status = {"shipped": "completed", "partially_shipped": "completed", "delivered": "completed",
              "on_hold": "on-hold"}.get(order.status, order.status)
    o.update(id=oid, number=order.number, status=status, currency=order.currency or "USD", total=order.total,
             date_created=f"{order.placed_at}T10:00:00" if order.placed_at else None)
    o["billing"] = {**o["billing"], "email": order.email, "phone": order.phone, "address_1": "", "city": "",
                    "postcode": "", "state": "", "country": ""}
    o["shipping"] = {**o["shipping"], "address_1": order.shipping_address, "address_2": "", "city": "",
                     "postcode": "", "state": "", "country": "", "phone": ""}
    template_item = recorded["line_items"][0]
    o["line_items"] = [{**copy.deepcopy(template_item), "id": oid * 10 + i, "name": it.name, "quantity": it.quantity,
                        "sku": it.sku, "price": it.price} for i, it in enumerate(order.items)]
    tracking = [{"tracking_provider": s.carrier, "custom_tracking_provider": "", "custom_tracking_link": s.tracking_url,
                 "tracking_number": s.tracking_number, "tracking_id": f"t{oid}{i}",
                 "date_shipped": str(int(datetime.fromisoformat(f"{s.shipped_at}T12:00:00+00:00").timestamp()))
                 if s.shipped_at else ""} for i, s in enumerate(order.shipments)]
    o["meta_data"] = [m for m in o.get("meta_data", []) if m.get("key") != "_wc_shipment_tracking_items"]
    if tracking:
        o["meta_data"].append({"id": oid, "key": "_wc_shipment_tracking_items", "value": tracking})
    o["refunds"] = [{"id": oid * 1000 + i, "reason": r.item, "total": "-1.00"}
                    for i, r in enumerate(order.returns) if r.status == "refunded"]
    o["_links"] = {"self": [{"href": f"https://example.com/wp-json/wc/v3/orders/{oid}"}]}
    return o


def woocommerce_app(shop: FakeShop, key: str, secret: str, recorded: dict):
    import base64

    app = FastAPI()
    prefix = "/wp-json/wc/v3"
    expected = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()

    def gate(request: Request, down: bool | None = None):
        if shop.enter(request.method, request.url.path) if down is None else down:
            return JSONResponse({"code": "internal_server_error", "message": "Error", "data": {"status": 500}},
                                status_code=500)
        if request.headers.get("authorization") != expected:
            return JSONResponse({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list "
                                 "resources.", "data": {"status": 401}}, status_code=401)
        return None

    def missing():
        return JSONResponse({"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
                             "data": {"status": 404}}, status_code=404)

    @app.get(prefix + "/orders")
    def search(request: Request, search: str = "", per_page: int = 10):
        if (bad := gate(request)) is not None:
            return bad
        hits = [o for n, o in sorted(shop.orders.items()) if search and search in n]
        return [woocommerce_json(shop, o, recorded) for o in hits[:per_page]]

    @app.get(prefix + "/orders/{oid}")
    def get(request: Request, oid: int):
        if (bad := gate(request)) is not None:
            return bad
        o = shop.by_id(oid)
        return woocommerce_json(shop, o, recorded) if o else missing()

    @app.put(prefix + "/orders/{oid}")
    async def put(request: Request, oid: int):
        if (bad := gate(request, await shop.aenter(request.method, request.url.path))) is not None:
            return bad
        o = shop.by_id(oid)
        if o is None:
            return missing()
        body = await request.json()
        if body.get("status") == "cancelled":
            shop.cancel(o)
        if "shipping" in body:
            shop.set_address(o, body["shipping"].get("address_1", ""))
        return woocommerce_json(shop, o, recorded)

    @app.post(prefix + "/orders/{oid}/notes")
    async def note(request: Request, oid: int):
        if (bad := gate(request, await shop.aenter(request.method, request.url.path))) is not None:
            return bad
        o = shop.by_id(oid)
        if o is None:
            return missing()
        body = await request.json()
        shop.note_return(o, body.get("note", ""))
        return JSONResponse({"id": 281 + len(o.returns), "author": "system", "date_created": "2026-11-20T10:00:00",
                             "note": body.get("note", ""), "customer_note": bool(body.get("customer_note"))},
                            status_code=201)

    return app


# --- the signed webhook -------------------------------------------------------------------------------------
def webhook_app(shop: FakeShop, secret: str):
    from assistant.orders.webhook import sign, signature_ok

    app = FastAPI()

    def signed(payload, status: int = 200) -> Response:
        body = json.dumps(payload).encode()
        ts = str(int(time.time()))
        return Response(body, status_code=status, media_type="application/json",
                        headers={"X-Signature-Timestamp": ts, "X-Signature": sign(secret, ts, body)})

    @app.post("/orders-hook")
    async def hook(request: Request):
        body = await request.body()
        if await shop.aenter("POST", "/orders-hook"):
            return Response(b"down", status_code=500)
        if not signature_ok(secret, request.headers.get("x-signature-timestamp", ""), body,
                            request.headers.get("x-signature", "")):
            return signed({"error": "bad signature"}, 401)
        call = json.loads(body)
        order = shop.orders.get(clean_number(call.get("order_number", "")))
        if call.get("action") == "find":
            return signed({"order": order.as_dict() if order else None}, 200 if order else 404)
        if order is None:
            return signed({"error": "no such order"}, 404)
        kind, details = call.get("kind"), call.get("details") or {}
        if kind == "cancel":
            shop.cancel(order)
        elif kind == "change_address":
            shop.set_address(order, details.get("address", ""))
        else:
            shop.note_return(order, f"Return approved: {details.get('item', '')}")
        return signed({"result": f"hook: {kind} of {order.number} done at {datetime.now(UTC).date()}"})

    return app
