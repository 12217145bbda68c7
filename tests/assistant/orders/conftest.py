"""Fixtures for the order desk: the bench's order export as Orders, an embedded store with them, the recorded
API shapes, loopback fakes of Shopify, WooCommerce and the signed webhook serving the same orders, and a desk on
the embedded store with a clock the tests move (`desk`, `talk`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.chat import ChatSession
from assistant.citations import Citation
from assistant.handoff import HandoffQueue
from assistant.llm import Message
from assistant.orders.approvals import OrderRequests
from assistant.orders.config import OrdersConfig
from assistant.orders.desk import OrderDesk
from assistant.orders.state import DialogueStore
from bench.orders import SECRETS, dataset_orders

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def orders():
    return dataset_orders()


@pytest.fixture
def engine(tmp_path):
    from assistant.storage import get_engine

    return get_engine(url=f"sqlite:///{tmp_path / 'orders.db'}")


@pytest.fixture
def store(engine, orders):
    from assistant.orders.embedded import EmbeddedOrders

    s = EmbeddedOrders(engine)
    s.save(orders)
    return s


@pytest.fixture
def secrets(monkeypatch):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    return SECRETS


@pytest.fixture
def fake_servers(orders):
    """{name: (FakeShop, base url)} for shopify, woocommerce and webhook, each on 127.0.0.1."""
    from assistant.orders import fakes
    from assistant.web.server import BackgroundServer

    out, servers = {}, []
    apps = {"shopify": lambda s: fakes.shopify_app(s, SECRETS["SHOPIFY_ACCESS_TOKEN"],
                                                   recorded("shopify_orders")["orders"][0],
                                                   recorded("shopify_fulfillment_events")),
            "woocommerce": lambda s: fakes.woocommerce_app(s, SECRETS["WOOCOMMERCE_CONSUMER_KEY"],
                                                           SECRETS["WOOCOMMERCE_CONSUMER_SECRET"],
                                                           recorded("woocommerce_order")),
            "webhook": lambda s: fakes.webhook_app(s, SECRETS["ORDERS_WEBHOOK_SECRET"])}
    for name, make in apps.items():
        shop = fakes.FakeShop(orders)
        server = BackgroundServer(make(shop)).__enter__()
        servers.append(server)
        out[name] = (shop, server.url + ("/orders-hook" if name == "webhook" else ""))
    yield out
    for server in servers:
        server.__exit__(None, None, None)


def http_backend(name: str, url: str, timeout: float = 2.0):
    from assistant.orders.backend import build_backend
    from assistant.orders.config import OrdersConfig

    key = {"shopify": "shopify_store", "woocommerce": "woocommerce_url", "webhook": "webhook_url"}[name]
    return build_backend(OrdersConfig(backend=name, timeout_s=timeout, **{key: url}))


# -- the order desk's dialogue (test_desk*.py) ----------------------------------------------------------
POLICY = {"return": ("You can return most items within 30 days of delivery.",
                     [Citation(source="faq.csv", title="What is your return policy?", chunk_id="en-return")]),
          "cancel": ("You can cancel while the order is Processing.", [Citation(source="faq.csv", title="Cancel")])}


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def desk(store, engine):
    return OrderDesk(store, OrdersConfig(), states=DialogueStore(engine), requests=OrderRequests(engine),
                     handoff=HandoffQueue(engine), policy=lambda kind, lang: POLICY.get(kind), clock=Clock(),
                     redact=lambda text: text.replace("anna.lee@example.com", "<EMAIL>"))


def talk(desk, *messages, session=None):
    """Each message with the language the chat pipeline gives it (the shop's rule, by script alone)."""
    from assistant.shop import Shop

    session = session or ChatSession()
    replies = []
    for text in messages:
        reply = desk.handle(text, session, Shop().language_of(text))
        replies.append(reply)
        session.history += [Message("user", text), Message("assistant", reply.text if reply else "(kb)")]
    return replies, session
