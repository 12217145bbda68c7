"""The order-system interface and the one factory that knows the implementations.

    backend = build_backend(settings.orders, engine)    # embedded | shopify | woocommerce | webhook
    order = backend.find("100234")                      # an Order, or None when there is no such order
    done = backend.apply("cancel", order, {})           # what the system did, in words (for the audit)

`find` never decides who may see an order (the desk verifies first); `apply` runs only when an agent
approves a request. A system that is down or slow raises StorageError (the desk hands off politely).
Credentials come from environment variables named in config and never appear in a log line or an error.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Protocol

from assistant.errors import ConfigError, InputError, StorageError
from assistant.orders.config import OrdersConfig
from assistant.orders.model import Order

log = logging.getLogger(__name__)

KINDS = ("cancel", "change_address", "return")


class OrderBackend(Protocol):
    name: str

    def find(self, number: str) -> Order | None: ...

    def apply(self, kind: str, order: Order, details: dict[str, Any]) -> str: ...


def secret(env_name: str) -> str:
    """A credential from the environment; its name is said when missing, its value never."""
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {env_name} is not set (the order system's credential)")
    return value


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


class HttpClient:
    """httpx with the one error policy every HTTP backend shares: a timeout, a refused connection, a 5xx or
    a 429 is a StorageError naming only the host; 404 is returned (the caller knows what "not found" means)."""

    def __init__(self, base_url: str, timeout: float, *, headers: dict[str, str] | None = None, auth=None,
                 transport=None, what: str = "the order system"):
        import httpx

        self.what = what
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers or {},
                                    auth=auth, transport=transport, follow_redirects=False)
        self.host = self._client.base_url.host
        self.timeout = timeout

    def request(self, method: str, path: str, **kw):
        import httpx

        try:
            response = self._client.request(method, path, **kw)
        except httpx.TimeoutException:
            raise StorageError(f"{self.what} at {self.host} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise StorageError(f"{self.what} at {self.host} is unreachable ({type(exc).__name__})") from None
        status = response.status_code
        if status in (401, 403):
            raise StorageError(f"{self.what} at {self.host} refused our credentials (HTTP {status})")
        if status == 429:
            raise StorageError(f"{self.what} at {self.host} is rate limiting us (HTTP 429)")
        if status >= 500:
            raise StorageError(f"{self.what} at {self.host} failed (HTTP {status})")
        if status >= 400 and status != 404:
            raise StorageError(f"{self.what} at {self.host} rejected the call (HTTP {status}): "
                               f"{response.text[:200]}")
        return response

    def json(self, method: str, path: str, **kw) -> Any:
        """The decoded JSON body, or None for a 404."""
        response = self.request(method, path, **kw)
        if response.status_code == 404:
            return None
        try:
            return response.json()
        except ValueError:
            raise StorageError(f"{self.what} at {self.host} answered with something that is not JSON") from None

    def close(self) -> None:
        self._client.close()


def build_backend(cfg: OrdersConfig, engine=None, transport=None) -> OrderBackend:
    """The configured backend. `transport` (an httpx transport) lets tests route HTTP to a fake in-process."""
    if cfg.backend == "embedded":
        from assistant.orders.embedded import EmbeddedOrders

        if engine is None:
            raise StorageError("the embedded order store needs the app's SQL store, which is unavailable")
        return EmbeddedOrders(engine)
    if cfg.backend == "shopify":
        from assistant.orders.shopify import ShopifyOrders

        return ShopifyOrders(cfg.shopify_store, secret(cfg.shopify_token_env), cfg.shopify_api_version,
                             cfg.timeout_s, transport=transport)
    if cfg.backend == "woocommerce":
        from assistant.orders.woocommerce import WooCommerceOrders

        return WooCommerceOrders(cfg.woocommerce_url, secret(cfg.woocommerce_key_env),
                                 secret(cfg.woocommerce_secret_env), cfg.timeout_s, transport=transport)
    if cfg.backend == "webhook":
        from assistant.orders.webhook import WebhookOrders

        return WebhookOrders(cfg.webhook_url, secret(cfg.webhook_secret_env), cfg.timeout_s, transport=transport)
    raise ConfigError(f"backend must be one of embedded, shopify, woocommerce, webhook, got {cfg.backend!r}")
