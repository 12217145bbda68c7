"""Any other shop system, through one signed HTTP endpoint it exposes.

Every call is `POST webhook_url` with a JSON body, `{"action": "find", "order_number": "100234"}` or
`{"action": "apply", "kind": "cancel", "order_number": ..., "backend_id": ..., "details": {...}}`, and two
headers: `X-Signature-Timestamp` (Unix seconds) and `X-Signature: sha256=HEX`, the HMAC-SHA256 of
`"{timestamp}." + body` with the shared secret. The answer is signed the same way (we refuse an unsigned,
wrongly signed or stale one): `{"order": {...}}` (the fields of assistant.orders.model.Order; null or 404
when there is no such order) or `{"result": "what was done"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from assistant.errors import StorageError
from assistant.orders.backend import HttpClient, check_kind
from assistant.orders.model import Order, clean_number

log = logging.getLogger(__name__)

MAX_SKEW_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """A signature made with `secret` over this body, within MAX_SKEW_S of now (a replay is stale)."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= MAX_SKEW_S and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookOrders:
    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float, transport=None):
        from urllib.parse import urlparse

        parsed = urlparse(url)
        self.http = HttpClient(f"{parsed.scheme}://{parsed.netloc}", timeout, transport=transport,
                               what="the order webhook")
        self.path = parsed.path or "/"
        self._secret = secret

    def _call(self, payload: dict) -> dict | None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ts = str(int(time.time()))
        response = self.http.request("POST", self.path, content=body, headers={
            "Content-Type": "application/json", "X-Signature-Timestamp": ts, "X-Signature": sign(self._secret, ts, body)})
        if not signature_ok(self._secret, response.headers.get("x-signature-timestamp", ""), response.content,
                            response.headers.get("x-signature", "")):
            raise StorageError(f"the order webhook at {self.http.host} answered without a valid signature")
        if response.status_code == 404:
            return None
        try:
            data = response.json()
        except ValueError:
            raise StorageError(f"the order webhook at {self.http.host} answered with something that is not JSON") from None
        if not isinstance(data, dict):
            raise StorageError(f"the order webhook at {self.http.host} must answer with a JSON object")
        return data

    def find(self, number: str) -> Order | None:
        data = self._call({"action": "find", "order_number": clean_number(number)})
        raw = (data or {}).get("order")
        if not isinstance(raw, dict):
            return None
        try:
            order = Order.from_dict(raw)
        except (TypeError, ValueError, AttributeError) as exc:  # e.g. "items": ["Lamp"] for a list of objects
            raise StorageError(f"the order webhook sent an order we cannot read ({type(exc).__name__})") from None
        if order.number != clean_number(number):  # another customer's order is never shown, whatever was sent
            log.warning("the order webhook answered order %s with order %s: ignored", number, order.number)
            return None
        return order

    def apply(self, kind: str, order: Order, details: dict[str, Any]) -> str:
        check_kind(kind)
        data = self._call({"action": "apply", "kind": kind, "order_number": order.number,
                           "backend_id": order.backend_id, "details": details}) or {}
        return str(data.get("result") or f"the order webhook accepted the {kind} of order {order.number}")
