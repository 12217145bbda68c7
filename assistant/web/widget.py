"""The embeddable customer widget: `/widget` (chat page for an iframe), `/widget.js` (the one-line snippet's
loader), `/widget/example` (a plain shop page using the snippet) and the widget's JSON/SSE endpoints.

A shop pastes one line into any page: `<script src="https://ASSISTANT-HOST/widget.js" async></script>`.
The loader adds a chat button that opens `/widget` in an iframe, so the widget talks only to its own origin
(no CORS, no cookies on the shop's site). The session id lives in the iframe's sessionStorage: one per tab.
Messages, handoff requests and votes are limited per client address as well as per session (see customer.py);
error bodies never carry file paths or backend URLs.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from assistant.errors import AssistantError, InputError
from assistant.rate_limit import is_trusted_proxy
from assistant.web.api import client_of, public_message
from assistant.web.customer import (
    agent_replies,
    citation_dicts,
    precheck,
    request_handoff,
    stream_answer,
    t,
    vote,
)
from assistant.web.generation import closed_on_disconnect, generation_gate

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


_FORWARDED_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")


def public_base_url(request: Request, app_cfg) -> str:
    """Where shops' pages reach this app: app.public_url, else what a trusted proxy says the customer asked for
    (X-Forwarded-Proto/-Host), else the request's own address. Behind a TLS proxy the request's own address is the
    internal http://host:port, and a snippet with it is blocked on an https shop page."""
    if app_cfg.public_url:
        return app_cfg.public_url.rstrip("/") + "/"
    base = str(request.base_url)
    peer = request.client.host if request.client else None
    if not is_trusted_proxy(peer, app_cfg.trusted_proxies):  # anyone else could write these headers
        return base
    # the last value: the one our proxy wrote (one that appends puts a client's own value first)
    proto = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    host = request.headers.get("x-forwarded-host", "").split(",")[-1].strip()
    if proto not in ("http", "https") and not host:
        return base
    scheme = proto if proto in ("http", "https") else request.url.scheme
    netloc = host if host and _FORWARDED_HOST.fullmatch(host) else request.url.netloc
    return f"{scheme}://{netloc}{request.scope.get('root_path', '')}/"


def snippet(base_url: str) -> str:
    """The line a shop pastes before </body>."""
    return f'<script src="{base_url.rstrip("/")}/widget.js" async></script>'


def _static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message}})


def _customer_error(exc: AssistantError) -> JSONResponse:
    """An error the widget page shows in the chat: `message` in the shop's words where the error has them (a 429's
    "please wait", in the customer's language), and a 429's Retry-After."""
    content: dict = {"error": {"message": public_message(exc)}}
    if getattr(exc, "customer_text", None):
        content["message"] = exc.customer_text
    wait = getattr(exc, "retry_after_s", None)
    return JSONResponse(status_code=exc.http_status, content=content,
                        headers={"Retry-After": str(wait)} if wait else None)


async def _json_body(request: Request) -> dict:
    from assistant.web.json_body import load_json

    try:
        body = load_json(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("the request body is not valid JSON") from None
    except RecursionError:  # "[[[[…]]]]" 100,000 deep fits the body limit: it was a 500 and a traceback each time
        raise InputError("the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


async def _body_or_error(request: Request) -> tuple[dict, JSONResponse | None]:
    try:
        return await _json_body(request), None
    except InputError as exc:
        return {}, _error(400, str(exc))


def widget_html(runtime) -> str:
    """The widget page in the configured shop's words (every text from the shop's message catalog)."""
    import html
    import json

    shop = runtime.shop
    labels = {lang: {"human": shop.text("talk_to_human", lang), "send": shop.text("send", lang),
                     "sources": shop.text("sources", lang), "greeting": shop.text("greeting", lang),
                     "colleague": shop.text("colleague", lang)}
              for lang in ("en", "zh")}
    first = shop.cfg.default_language
    fill = {"{{TITLE}}": html.escape(runtime.title), "{{HUMAN}}": html.escape(labels[first]["human"]),
            "{{SEND}}": html.escape(labels[first]["send"]),
            "{{PLACEHOLDER}}": html.escape(shop.text("input_placeholder", first)),
            # "<" escaped: a shop's text can never close the <script> element it sits in
            "{{LABELS}}": json.dumps(labels, ensure_ascii=False).replace("<", "\\u003c")}
    page = _static("widget.html")
    for key, value in fill.items():
        page = page.replace(key, value)
    return page


def build_router(runtime) -> APIRouter:
    router = APIRouter(tags=["widget"])

    @router.get("/widget", response_class=HTMLResponse)
    def widget_page() -> HTMLResponse:
        return HTMLResponse(widget_html(runtime))

    @router.get("/widget.js")
    def widget_loader() -> Response:
        return Response(_static("widget.js"), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

    @router.get("/widget/example", response_class=HTMLResponse)
    def example_page(request: Request) -> HTMLResponse:
        import html

        page = _static("example_shop.html").replace("{{SHOP}}", html.escape(runtime.shop.name(
            runtime.shop.cfg.default_language)))
        return HTMLResponse(page.replace("{{SNIPPET}}", snippet(public_base_url(request, runtime.settings.app))))

    @router.get("/widget/snippet")
    def widget_snippet(request: Request) -> dict:
        return {"snippet": snippet(public_base_url(request, runtime.settings.app))}

    gate = generation_gate(runtime)  # got once: runtime.component takes the runtime's lock, held by model loads

    @router.post("/widget/api/chat")
    async def widget_chat(request: Request):
        from starlette.concurrency import run_in_threadpool

        client = client_of(request, runtime.settings.app)
        try:
            body = await _json_body(request)
            # an empty message or a client past its limit is refused before it takes a place in the queue
            admission = await run_in_threadpool(_checked_admission, runtime, gate, body.get("message"), client)
        except AssistantError as exc:
            return _customer_error(exc)
        try:
            events = gate.run(stream_answer(runtime, body.get("session_id"), body.get("message"), channel="widget",
                                            client=client, checked=True), admission)
            first = await _next_in_thread(events)  # validation errors surface here, before any byte is sent
        except AssistantError as exc:  # bad input (400), too many (429), or e.g. the model could not load (503)
            admission.release()
            return _customer_error(exc)

        def sse():
            event = first
            yield _event("start", session_id=event.session_id, lang=event.lang)
            sent = ""
            for event in _chain(first, events):
                if event.done:
                    reply = event.reply
                    answers = runtime.chat.sessions.get(event.session_id).answers
                    # the browser gets what the page acts on: the route's action, not its scores and reasons
                    route = {"action": reply.route.get("action")} if reply.route else None
                    yield _event("done", text=reply.text, citations=citation_dicts(reply.citations),
                                 route=route, handoff=reply.handoff, lang=event.lang,
                                 ticket_id=getattr(reply, "ticket_id", None), answer=max(0, answers - 1))
                    return
                yield _event("delta", text=event.text[len(sent):])
                sent = event.text

        # X-Accel-Buffering: a proxy in front (nginx buffers by default) would hold the answer back until it is whole,
        # as /v1's streams already say
        stream = sse()
        admission.on_drop(stream)
        # a customer who leaves gives back the place, the generation slot and the conversation's turn lock
        return StreamingResponse(closed_on_disconnect(stream, events, admission=admission),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.post("/widget/api/feedback")
    async def widget_feedback(request: Request):
        """{session_id, vote: 1|-1, message?}: one vote per answer (`message` = its number; default the latest)."""
        body, error = await _body_or_error(request)
        if error is not None:
            return error
        choice = body.get("vote")
        if isinstance(choice, bool) or not isinstance(choice, int) or choice not in (1, -1):  # true, 1.0: no vote
            return _error(400, "vote must be 1 (thumbs up) or -1 (thumbs down)")
        from starlette.concurrency import run_in_threadpool

        try:
            await run_in_threadpool(vote, runtime, body.get("session_id"), body["vote"] > 0, "widget",
                                    body.get("message"), client_of(request, runtime.settings.app))
        except AssistantError as exc:
            return _error(exc.http_status, public_message(exc))
        return {"ok": True}

    @router.post("/widget/api/handoff")
    async def widget_handoff(request: Request):
        body, error = await _body_or_error(request)
        if error is not None:
            return error
        from starlette.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(request_handoff, runtime, body.get("session_id"),
                                           client=client_of(request, runtime.settings.app))
        except AssistantError as exc:  # e.g. 400 before the first message, 404 for an unknown session id
            message = public_message(exc)
            # `message` too: the widget page shows a handoff answer's `message` in the chat, so it holds the
            # customer's words where the error has them ("Please type a question first.")
            return JSONResponse(status_code=exc.http_status, content={
                "error": {"message": message}, "ok": False, "ticket": None,
                "message": getattr(exc, "customer_text", None) or message})

    @router.get("/widget/api/replies")
    async def widget_replies(session_id: str = ""):
        """{replies: [{ticket, text}]}: what colleagues answered this conversation's tickets (the page polls it
        while a ticket waits, and shows each reply once)."""
        from starlette.concurrency import run_in_threadpool

        try:
            return {"replies": await run_in_threadpool(agent_replies, runtime, session_id)}
        except AssistantError as exc:  # e.g. the store is down: the page tries again later
            return _error(exc.http_status, public_message(exc))

    return router


def _checked_admission(runtime, gate, message, client):
    """The message checked (`precheck`), then a place in the generation gate, or a 503 in the shop's words ("many
    customers are writing right now")."""
    from assistant.errors import BusyError

    precheck(runtime, message, client)
    try:
        return gate.admit()
    except BusyError as exc:
        exc.customer_text = t(runtime, runtime.shop.language_of_conversation([message]), "busy")
        raise


def _event(kind: str, **data) -> str:
    return f"data: {json.dumps({'type': kind, **data}, ensure_ascii=False)}\n\n"


def _chain(first, rest):
    yield first
    yield from rest


async def _next_in_thread(iterator):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(next, iterator)
