"""One FastAPI server for everything: the OpenAI-compatible API, the widget, the admin API and the Gradio UI.

`create_app(runtime, demo)` wires the routers and mounts the Blocks at `/`; `serve(...)` runs uvicorn.
Building the app loads no model: the runtime builds the backend on the first request that needs it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import threading
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.rate_limit import via_proxy
from assistant.web import api, widget
from assistant.web.auth import Authenticator, allows
from assistant.web.body_limit import BodyLimitMiddleware

log = logging.getLogger(__name__)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        username, _, password = base64.b64decode(value).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def worker_threads(app_cfg) -> int:
    """Worker threads the server needs: one per admitted chat, plus room for the UI, staff and health requests."""
    return app_cfg.concurrency_limit + app_cfg.max_queue + 32


def create_app(runtime, demo=None, auth: Authenticator | None = None, css: str | None = None) -> FastAPI:
    """The ASGI app. `demo` (a gr.Blocks) is mounted at `/` when given; the API and widget work without it.

    `css` is the UI's stylesheet: gradio 6 takes it at mount time, not in the Blocks constructor.
    """
    auth = auth or Authenticator.from_config(runtime.settings.app)
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Every admitted chat (app.concurrency_limit running + app.max_queue waiting) holds a worker thread while it
        # waits for the model; anyio's default of 40 threads made a full queue stall every other sync request.
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, worker_threads(runtime.settings.app))
        yield

    app = FastAPI(title=runtime.title, docs_url="/api/docs", openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.runtime, app.state.auth = runtime, auth
    api.install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit_bytes=runtime.settings.app.max_request_kb * 1024)
    app.include_router(api.build_router(runtime))
    app.include_router(widget.build_router(runtime))
    _start_pruning(runtime)

    @app.get("/healthz")
    async def health():  # on the event loop: never queued behind customers' answers for a worker thread
        """Liveness plus what is degraded; 503 only when the model cannot answer at all (take this replica out)."""
        state = runtime.health()
        body = {"ok": state["status"] != "failed", **state, "demo_mode": auth.demo}
        return JSONResponse(status_code=503 if state["status"] == "failed" else 200, content=body)

    @app.get("/readyz")
    async def ready():
        """200 once the model has generated a real answer in this process (after warm-up), 503 before."""
        state = runtime.health()
        return JSONResponse(status_code=200 if state["ready"] else 503, content={"ok": state["ready"], **state})

    def staff(request: Request, needed: str) -> JSONResponse | None:
        """None when the caller may proceed; otherwise the 401/403 to send back."""
        creds = basic_credentials(request)
        role = auth.login(*creds, address=api.client_of(request, runtime.settings.app),
                          proxied=via_proxy(request.headers)) if creds else None
        if role is None:
            return JSONResponse(status_code=401, headers={"WWW-Authenticate": 'Basic realm="shop-assistant"'},
                                content=api.error_body("valid staff credentials required", "authentication_error"))
        if not allows(role, needed):
            return JSONResponse(status_code=403, content=api.error_body(f"the {needed} role is required",
                                                                        "permission_error"))
        return None

    @app.get("/api/admin/tickets")
    def admin_tickets(request: Request):
        if (denied := staff(request, "agent")) is not None:
            return denied
        # ?session_id=…: that conversation's tickets, resolved ones too, so a /v1 client reads the closing reply
        from assistant.handoff import STATUSES
        from assistant.web.staff import QUEUE_LIMIT, handoff, handoff_queue

        params = request.query_params
        session_id = params.get("session_id", "").strip()
        unknown = sorted(set(params) - {"session_id", "status", "limit"})
        statuses = [x for x in params.get("status", "").split(",") if x.strip()]
        bad = [x for x in statuses if x not in STATUSES]
        limit = params.get("limit", str(QUEUE_LIMIT))
        if unknown or bad or not limit.isdigit() or not 1 <= int(limit) <= QUEUE_LIMIT:
            what = (f"unknown parameter {unknown[0]!r} (session_id, status, limit)" if unknown else
                    f"status must be among {', '.join(STATUSES)}" if bad else f"limit must be 1-{QUEUE_LIMIT}")
            return JSONResponse(status_code=400, content=api.error_body(what, "invalid_request_error"))
        try:
            if session_id:
                return {"tickets": [t.as_dict() for t in handoff(runtime).tickets_for_session(session_id)]}
            return {"tickets": handoff_queue(runtime, statuses or None, int(limit))}
        except Exception as exc:  # noqa: BLE001 - a missing component is a 503, not a crash
            return JSONResponse(status_code=503, content=api.error_body(
                f"handoff queue unavailable: {api.public_message(exc)}", "server_error"))

    @app.get("/api/admin/analytics")
    def admin_analytics(request: Request):
        if (denied := staff(request, "admin")) is not None:
            return denied
        from assistant.web.events import summary

        try:
            return summary(runtime)
        except Exception as exc:  # noqa: BLE001
            return JSONResponse(status_code=503, content=api.error_body(
                f"analytics unavailable: {api.public_message(exc)}", "server_error"))

    if demo is not None:
        import gradio as gr

        # Mounted last at "/": every route above is matched first, the UI gets the rest.
        app = gr.mount_gradio_app(app, demo, path="/", **_mount_options(runtime, css))
    return app


def _start_pruning(runtime) -> None:
    """Drop conversations older than storage.retention_days now (in the background: start-up never waits on
    the store); events.py keeps pruning hourly as it writes."""
    threading.Thread(target=lambda: runtime.retention.maybe_prune(force=True), name="retention",
                     daemon=True).start()


def _mount_options(runtime, css: str | None) -> dict:
    """Options gradio's mount accepts in this version (checked by introspection, not assumed)."""
    import inspect

    import gradio as gr

    params = inspect.signature(gr.mount_gradio_app).parameters
    opts = {}
    if "max_file_size" in params:
        opts["max_file_size"] = f"{runtime.settings.app.max_upload_mb}mb"
    if "footer_links" in params:
        opts["footer_links"] = []  # no "built with"/API-docs links in a shop's product UI
    if "run_history" in params:
        opts["run_history"] = False  # a customer's chat must not be kept in the browser's run history
    if css and "css" in params:
        opts["css"] = css
    return opts


class BackgroundServer:
    """uvicorn in a daemon thread on 127.0.0.1 and a free port (tests, benchmarks): `with ... as server:`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import socket

        import uvicorn

        if not port:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.port, self.url = port, f"http://{host}:{port}"
        # proxy_headers=False: X-Forwarded-For counts only from app.trusted_proxies (assistant.rate_limit)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    proxy_headers=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI, host: str, port: int) -> None:
    import logging

    import uvicorn

    from assistant.privacy import ShortSessionIds

    # the widget's GET /widget/api/replies?session_id=… lines: the id is the key to the conversation
    logging.getLogger("uvicorn.access").addFilter(ShortSessionIds())
    # uvicorn would trust X-Forwarded-For from 127.0.0.1 by itself; the app decides (app.trusted_proxies)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5, proxy_headers=False)
