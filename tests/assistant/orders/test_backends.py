"""The order-system clients against their recorded JSON and against loopback fakes: parsing, lookups, the
approved actions, and failures (slow, down, wrong credentials) as one StorageError that names no secret."""

from __future__ import annotations

import httpx
import pytest

from assistant.errors import ConfigError, StorageError
from assistant.orders.config import OrdersConfig
from assistant.orders.shopify import ShopifyOrders
from assistant.orders.webhook import sign, signature_ok
from assistant.orders.woocommerce import WooCommerceOrders

from .conftest import http_backend, recorded


def _mock(routes: dict):
    def handler(request: httpx.Request):
        body = routes.get(request.url.path)
        return httpx.Response(200 if body is not None else 404, json=body if body is not None else {"errors": "Not Found"})
    return httpx.MockTransport(handler)


def test_shopify_reads_the_recorded_order_as_documented():
    order_json = recorded("shopify_orders")
    events = recorded("shopify_fulfillment_events")
    prefix = "/admin/api/2024-10"
    transport = _mock({f"{prefix}/orders.json": order_json,
                       f"{prefix}/orders/450789469/fulfillments/255858046/events.json": events})
    order = ShopifyOrders("https://shop.example", "tok", "2024-10", 2, transport=transport).find("#1001")
    assert order.number == "1001" and order.backend_id == "450789469"
    assert order.status == "shipped" and order.status_text == "fulfilled"
    assert order.email == "bob.norman@mail.example.com" and order.phone == "+557734881234"
    assert "+16136120707" in order.extra_phones  # the customer's phone verifies too
    assert [(i.name, i.quantity) for i in order.items] == [("IPod Nano - 8gb - green", 1), ("IPod Nano - 8gb - red", 2)]
    s = order.shipments[0]
    assert (s.carrier, s.tracking_number, s.status) == ("USPS", "1Z2345", "in_transit")
    assert s.expected_delivery == "2026-11-15T18:00:00-05:00" and s.delivered_at == ""
    assert order.shipping_address.startswith("Chestnut Street 92, Louisville")


def test_woocommerce_reads_the_recorded_order_as_documented():
    order = WooCommerceOrders.to_order(recorded("woocommerce_order"))
    assert order.number == "727" and order.status == "shipped" and order.status_text == "completed"
    assert order.email == "john.doe@example.com" and order.phone == "(555) 555-5555"
    assert [(i.name, i.quantity) for i in order.items][0] == ("Woo Single #1", 2)
    s = order.shipments[0]
    assert (s.carrier, s.tracking_number, s.shipped_at) == ("USPS", "9400111899223197428490", "2025-11-05")
    assert s.expected_delivery == "" and s.delivered_at == ""  # WooCommerce does not know them


@pytest.mark.parametrize("name", ["shopify", "woocommerce", "webhook"])
def test_lookups_through_the_fakes(fake_servers, secrets, orders, name):
    shop, url = fake_servers[name]
    backend = http_backend(name, url)
    got = backend.find("100236")
    want = next(o for o in orders if o.number == "100236")
    assert got.email == want.email and got.phone.endswith("2222")
    assert [i.name for i in got.items] == [i.name for i in want.items]
    assert got.shipments[0].tracking_number == "SF9876543210"
    assert got.status == ("shipped" if name == "woocommerce" else "delivered")
    if name != "woocommerce":
        assert got.shipments[0].delivered_at.startswith("2026-10-23")
    assert backend.find("999999") is None
    assert got.returns == [] and backend.find("100241").returns[0].status == "refunded"


@pytest.mark.parametrize("name", ["shopify", "woocommerce", "webhook"])
def test_approved_actions_reach_the_system(fake_servers, secrets, name):
    shop, url = fake_servers[name]
    backend = http_backend(name, url)
    order = backend.find("100242")
    assert "100242" in backend.apply("cancel", order, {})
    assert shop.orders["100242"].status == "cancelled" and backend.find("100242").status == "cancelled"
    backend.apply("change_address", backend.find("100240"), {"address": "9 Orchard Road, Singapore"})
    assert shop.orders["100240"].shipping_address == "9 Orchard Road, Singapore"
    result = backend.apply("return", backend.find("100244"), {"item": "Glass storage jars", "quantity": 3})
    assert "Glass storage jars" in shop.orders["100244"].returns[-1].item
    assert result and ("Glass storage jars" in result or name == "webhook")  # the hook words its own result


@pytest.mark.parametrize("name", ["shopify", "woocommerce", "webhook"])
def test_slow_or_down_is_one_storage_error(fake_servers, secrets, name):
    shop, url = fake_servers[name]
    backend = http_backend(name, url, timeout=0.3)
    shop.delay_s = 0.6
    with pytest.raises(StorageError, match="did not answer within 0.3 s"):
        backend.find("100234")
    shop.delay_s, shop.down = 0.0, True
    with pytest.raises(StorageError, match=r"failed \(HTTP 500\)"):
        backend.find("100234")
    shop.down = False


def test_wrong_credentials_are_said_without_the_secret(fake_servers, monkeypatch):
    for name, env in (("shopify", ["SHOPIFY_ACCESS_TOKEN"]),
                      ("woocommerce", ["WOOCOMMERCE_CONSUMER_KEY", "WOOCOMMERCE_CONSUMER_SECRET"]),
                      ("webhook", ["ORDERS_WEBHOOK_SECRET"])):
        for var in env:
            monkeypatch.setenv(var, "wrong-secret-value")
        with pytest.raises(StorageError) as err:
            http_backend(name, fake_servers[name][1]).find("100234")
        assert "wrong-secret-value" not in str(err.value)
        assert "credentials" in str(err.value) or "signature" in str(err.value)


def test_webhook_signatures():
    body = b'{"action":"find"}'
    sig = sign("s3cret", "1700000000", body)
    assert signature_ok("s3cret", "1700000000", body, sig, now=1700000100)
    assert not signature_ok("s3cret", "1700000000", body + b" ", sig, now=1700000100)
    assert not signature_ok("other", "1700000000", body, sig, now=1700000100)
    assert not signature_ok("s3cret", "1700000000", body, sig, now=1700009999)  # a stale replay
    assert not signature_ok("s3cret", "soon", body, sig)


def test_config_is_checked_where_it_is_made(monkeypatch):
    with pytest.raises(ConfigError, match="^backend must be one of"):
        OrdersConfig(backend="magento")
    with pytest.raises(ConfigError, match="^shopify_store must be set"):
        OrdersConfig(backend="shopify")
    with pytest.raises(ConfigError, match="^woocommerce_url must use https://"):
        OrdersConfig(backend="woocommerce", woocommerce_url="http://shop.example")
    with pytest.raises(ConfigError, match="^timeout_s must be in"):
        OrdersConfig(timeout_s=0)
    with pytest.raises(ConfigError, match="^max_wrong_per_session must be >= 1"):
        OrdersConfig(max_wrong_per_session=0)
    from assistant.config import load_config

    with pytest.raises(ConfigError, match="^orders.backend must be one of"):
        load_config(env={"ASSISTANT_ORDERS__BACKEND": "magento"})
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN", raising=False)
    from assistant.orders.backend import build_backend

    with pytest.raises(ConfigError, match="SHOPIFY_ACCESS_TOKEN is not set"):
        build_backend(OrdersConfig(backend="shopify", shopify_store="https://x.example"))


def test_a_webhook_order_that_cannot_be_read_or_is_another_order_is_never_shown(monkeypatch, secrets):
    backend = http_backend("webhook", "https://hooks.example/orders")
    answer = {"order": {"number": "100234", "items": ["Lamp"], "email": "a@example.com"}}
    monkeypatch.setattr(backend, "_call", lambda body: answer)
    with pytest.raises(StorageError, match="cannot read"):
        backend.find("100234")
    answer = {"order": {"number": "100999", "email": "someone.else@example.com"}}
    assert backend.find("100234") is None
    answer = {"order": {"number": "#100234", "email": "a@example.com"}}
    assert backend.find("100234").email == "a@example.com"
