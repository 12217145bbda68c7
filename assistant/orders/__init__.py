"""Order conversations: "where is my order?", cancel, change address, return — verified, quoted from the
shop's order system (embedded store, Shopify, WooCommerce or a signed webhook), and approved by staff.

    desk = build_desk(settings.orders, engine=engine, shop=shop, handoff=queue, curated_faq=faq)
    reply = desk.handle("Where is my order #100234?", session, "en")    # None when it is not about an order

`python -m assistant.orders --help` imports an order export and checks the configured backend.
"""

from __future__ import annotations

from assistant.lazy_exports import lazy_exports

__all__ = ["Order", "OrderBackend", "OrderDesk", "OrderReply", "OrdersConfig", "build_backend", "build_desk"]

__getattr__ = lazy_exports(__name__, {
    "Order": "assistant.orders.model",
    "OrderBackend": "assistant.orders.backend",
    "build_backend": "assistant.orders.backend",
    "OrderDesk": "assistant.orders.desk",
    "OrderReply": "assistant.orders.desk",
    "OrdersConfig": "assistant.orders.config",
}, globals())


def build_desk(cfg, *, engine=None, shop=None, handoff=None, kb=None, curated_faq=None, redact=None,
               transport=None):
    """The desk for config section `cfg` (OrdersConfig), or None when orders are switched off. Requests and
    conversation state go to the SQL store behind `engine` (memory only for state without one)."""
    if not cfg.enabled:
        return None
    from assistant.orders.approvals import OrderRequests
    from assistant.orders.backend import build_backend
    from assistant.orders.desk import OrderDesk
    from assistant.orders.policy import KnowledgePolicy
    from assistant.orders.state import DialogueStore

    backend = build_backend(cfg, engine, transport=transport)
    return OrderDesk(backend, cfg, shop, states=DialogueStore(engine),
                     requests=OrderRequests(engine) if engine is not None else None, handoff=handoff,
                     policy=KnowledgePolicy(cfg.policy_questions, kb=kb, curated_faq=curated_faq), redact=redact)
