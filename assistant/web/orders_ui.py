"""The agent console's "Order requests" panel: each customer request (cancel, change address, return) with
the order beside the conversation; approve (the order system carries it out) or reject with a note. Every
decision is in the request's audit trail, and the request's handoff ticket is resolved with it.

Handlers are plain functions (role checked on the server, customer text escaped); `orders_panel` lays them
out inside the Agent tab. Building the panel touches no store: the first click does.
"""

from __future__ import annotations

import functools
import logging

from assistant.errors import AssistantError, InputError
from assistant.web.staff import SENT_MARK, agent_view, md_text, require

log = logging.getLogger(__name__)

HEADERS = ["request", "ticket", "kind", "order", "status", "created (UTC)", "asked for"]


def problem(runtime) -> str | None:
    """Why the panel cannot work, without building anything."""
    if not getattr(getattr(runtime.settings, "orders", None), "enabled", False):
        return "Order conversations are switched off (`orders.enabled: false`)."
    from assistant.web.staff import import_problem

    return import_problem("assistant.orders")


def desk(runtime):
    found = runtime.orders
    if found is None or found.requests is None:
        reason = runtime.degraded.get("orders") or runtime.degraded.get("storage") or "see the server log"
        raise InputError(f"order requests are unavailable: {reason}")
    return found


def _asked(request) -> str:
    if request.kind == "change_address":
        return f"new address: {request.details.get('address', '')}"
    if request.kind == "return":
        return f"return {request.details.get('quantity', 1)} × {request.details.get('item', '')}"
    return "cancel the order"


def requests_table(runtime, role, which: str = "waiting"):
    require(role, "agent")
    import pandas as pd

    statuses = {"waiting": ("pending", "approving"), "decided": ("approved", "rejected"),
                "all": ("pending", "approving", "approved", "rejected")}.get(which, ("pending", "approving"))
    rows = [[r.id, r.ticket_id, r.kind, r.order_number, r.status, r.created_at.strftime("%Y-%m-%d %H:%M"),
             _asked(r)] for r in desk(runtime).requests.listing(statuses)]
    return pd.DataFrame(rows, columns=HEADERS)


def _request_id(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise InputError("type a request number from the list") from None


def order_markdown(order, title: str) -> str:
    """The order record for an agent (address included; agents need it), every value escaped."""
    lines = [f"#### {title}", f"**Order {md_text(order.number)}** · status **{md_text(order.status)}** "
             f"({md_text(order.status_text)}) · placed {md_text(order.placed_at)} · total {md_text(order.total)} "
             f"{md_text(order.currency)}", f"- e-mail: {md_text(order.email)} · phone: {md_text(order.phone)}",
             f"- delivery address: {md_text(order.shipping_address)}"]
    lines += [f"- item: {i.quantity} × {md_text(i.name)} {md_text(i.sku)}" for i in order.items]
    lines += [f"- shipment: {md_text(s.carrier)} {md_text(s.tracking_number)} · shipped {md_text(s.shipped_at)} · "
              f"expected {md_text(s.expected_delivery)} · delivered {md_text(s.delivered_at) or '—'}"
              for s in order.shipments]
    lines += [f"- return: {r.quantity} × {md_text(r.item)} · {md_text(r.status)}" for r in order.returns]
    return "\n".join(lines)


def request_detail(runtime, role, request_id) -> tuple[str, str]:
    """(the order, live from the order system or as the customer saw it; the request, conversation and audit)."""
    require(role, "agent")
    d = desk(runtime)
    request = d.requests.get(_request_id(request_id))
    try:
        live = d.backend.find(request.order_number)
        title = ("Order now (from the order system)" if live is not None
                 else "Order as the customer saw it (no longer in the order system)")
    except AssistantError as exc:
        live, title = None, f"Order as the customer saw it (the order system failed: {md_text(exc.one_line())})"
    order_md = order_markdown(live or request.order, title)
    transcript = []
    if request.ticket_id is not None and runtime.handoff is not None:
        try:
            transcript = runtime.handoff.get(request.ticket_id).transcript
        except AssistantError as exc:
            transcript = [{"role": "note", "content": exc.one_line()}]
    shown = agent_view(runtime)
    turns = "\n".join(f"- **{md_text(m['role'])}**" + (f" {SENT_MARK}" if m.get("as_sent") else "")
                      + f": {md_text(shown(m['content']))}" for m in transcript) or "- (none kept)"
    audit = "\n".join(f"- {a.at:%Y-%m-%d %H:%M} · {md_text(a.actor)} · **{md_text(a.action)}** {md_text(a.detail)}"
                      for a in d.requests.audit(request.id))
    detail = (f"### Request {request.id} · {md_text(request.kind)} · **{md_text(request.status)}**\n"
              f"Customer asks: **{md_text(_asked(request))}** (ticket {request.ticket_id or '—'}, "
              f"language {md_text(request.language or '?')})\n\n"
              f"#### Conversation\n{turns}\n\n#### Audit\n{audit}"
              + (f"\n\nResult: {md_text(request.result)}" if request.result else ""))
    return order_md, detail


def _actor(role, user) -> str:
    name = str(user or "").strip()[:60]
    return f"{name} ({role})" if name else str(role)


def _close_ticket(runtime, request, note: str) -> None:
    """Resolve the request's ticket with the decision told to the customer: the desk promised "you'll get their
    answer here", and an approval only closed the ticket (a reply after that was refused as "already resolved").
    The agent's note stays internal (it may say why a customer was not trusted)."""
    if request.ticket_id is None or runtime.handoff is None:
        return
    from assistant.orders import wording
    from assistant.web.customer import deliver_agent_reply

    shop, lang = runtime.shop, request.language or runtime.shop.cfg.default_language
    key = "order_request_done" if request.status == "approved" else "order_request_declined"
    told = shop.text(key, lang, request=request.id, number=request.order_number,
                     kind=wording.kind_label(shop, request.kind, lang))
    try:
        ticket = runtime.handoff.reply(request.ticket_id, told, status="resolved")
        runtime.handoff.update_status(request.ticket_id, "resolved", note)
    except AssistantError as exc:  # the decision stands (a ticket resolved by hand before it is left so)
        log.warning("could not resolve ticket %s: %s", request.ticket_id, exc.one_line())
        return
    try:
        deliver_agent_reply(runtime, ticket)
    except AssistantError as exc:  # the widget still shows it from the ticket
        log.warning("could not add the decision to conversation %s: %s", request.session_id[:8], exc.one_line())


def approve(runtime, role, user, request_id, note: str = ""):
    """Carry the request out through the order system (the embedded store marks it done), then record it."""
    require(role, "agent")
    d = desk(runtime)
    request = d.requests.approve(_request_id(request_id), _actor(role, user), d.backend, (note or "").strip())
    _close_ticket(runtime, request, f"Order request {request.id} approved: {request.result}")
    return f"✅ Request {request.id} approved: {md_text(request.result)}", *request_detail(runtime, role, request.id)


def reject(runtime, role, user, request_id, note: str = ""):
    require(role, "agent")
    d = desk(runtime)
    request = d.requests.reject(_request_id(request_id), _actor(role, user), note or "")
    _close_ticket(runtime, request, f"Order request {request.id} rejected: {request.note}")
    return f"🚫 Request {request.id} rejected.", *request_detail(runtime, role, request.id)


def orders_panel(gr, runtime, role, friendly, user=None) -> None:
    """The panel, inside the Agent tab's login-gated column (app.py calls this once)."""
    from assistant.web.staff_ui import usable

    with gr.Tab("Order requests"):
        if not usable(gr, "Order requests", problem(runtime)):
            return
        with gr.Row():
            which = gr.Radio(["waiting", "decided", "all"], value="waiting", label="Show", scale=3)
            refresh = gr.Button("Refresh requests", elem_id="order-requests-refresh", scale=1)
        table = gr.Dataframe(label="Order requests (oldest first)", wrap=True, elem_id="order-requests",
                             headers=HEADERS)
        with gr.Row():
            request_id = gr.Textbox(label="Request id", scale=3, elem_id="order-request-id")
            show = gr.Button("Open request", scale=1)
        with gr.Row():
            order_md = gr.Markdown(elem_id="order-record")
            detail_md = gr.Markdown(elem_id="order-request-detail")
        note = gr.Textbox(label="Note (kept in the audit; required to reject)", elem_id="order-note")
        with gr.Row():
            approve_btn = gr.Button("Approve: carry it out", variant="primary", elem_id="order-approve")
            reject_btn = gr.Button("Reject", variant="stop", elem_id="order-reject")
        status = gr.Markdown(elem_id="order-decision")
        who = [role, user] if user is not None else [role, role]
        refresh.click(friendly(functools.partial(requests_table, runtime)), [role, which], table)
        show.click(friendly(functools.partial(request_detail, runtime)), [role, request_id], [order_md, detail_md])
        approve_btn.click(friendly(functools.partial(approve, runtime)), [*who, request_id, note],
                          [status, order_md, detail_md])
        reject_btn.click(friendly(functools.partial(reject, runtime)), [*who, request_id, note],
                         [status, order_md, detail_md])
