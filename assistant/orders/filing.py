"""Making an order request: the row that waits for staff approval (assistant.orders.approvals), its ticket in the
agents' queue with the conversation (redacted), and a corrected address carried onto both."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.errors import AssistantError
from assistant.orders.model import Order

log = logging.getLogger(__name__)


@dataclass
class Filed:
    """One request a customer's message made, or found already waiting."""
    request_id: int
    outcome: str  # created | updated (a corrected address) | exists
    ticket_id: int | None = None
    details: dict = field(default_factory=dict)


def transcript(session, text: str, redact: Callable[[str], str]) -> list[dict]:
    """The conversation so far and `text`, redacted, as a ticket keeps it."""
    turns = [m.as_dict() for m in session.history] + ([{"role": "user", "content": text}] if text else [])
    # A /v1 client wrote its history itself: its "assistant" turns are marked for the agent who approves
    sent = getattr(session, "stateless", False)
    return [{**t, "content": redact(t["content"]), **({"as_sent": True} if sent and t["role"] == "assistant"
                                                      else {})} for t in turns]


def file_request(requests, handoff, kind: str, order: Order, details: dict, session, lang: str, text: str,
                 redact: Callable[[str], str]) -> Filed:
    """The request stored, with a ticket for the agents (`handoff` may be None); or the one already waiting for
    this order and kind (and item), updated when the customer corrected the address. Raises AssistantError when the
    request cannot be stored; a ticket that cannot be made is logged (the request is listed for agents anyway)."""
    from assistant.handoff import ORDER_REQUEST_KEY

    request, created = requests.create(kind, order, details, session.id, lang)
    # A corrected address replaces the one still waiting (the agent approves what the customer wants now).
    if (not created and kind == "change_address" and request.details != details
            and requests.update_details(request.id, details)):
        _add_to_ticket(handoff, request.ticket_id, redact(text))
        return Filed(request.id, "updated", request.ticket_id, details)
    if not created or handoff is None:
        return Filed(request.id, "created" if created else "exists", request.ticket_id, details)
    try:
        ticket = handoff.create_ticket(
            session.id or "anonymous", transcript(session, text, redact), intent=f"order_{kind}",
            reasons=[f"{kind} request {request.id} for order {order.number} waits for approval"],
            message_key=f"{ORDER_REQUEST_KEY}{request.id}", language=lang, draft_reply="")
        requests.attach_ticket(request.id, ticket.id)
        return Filed(request.id, "created", ticket.id, details)
    except AssistantError as exc:  # the request is stored and listed for agents all the same
        log.error("order request %s has no ticket: %s", request.id, exc.one_line())
        return Filed(request.id, "created", None, details)


def _add_to_ticket(handoff, ticket_id: int | None, text: str) -> None:
    """The customer's correction onto the request's ticket: the agent reads why the request changed."""
    if ticket_id is None or handoff is None or not text:
        return
    try:
        handoff.add_turns(ticket_id, [{"role": "user", "content": text}])
    except AssistantError as exc:  # the request itself is updated all the same
        log.error("order request ticket %s not updated: %s", ticket_id, exc.one_line())
