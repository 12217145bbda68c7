"""The shop assistant's web app: `python app.py [--host 127.0.0.1 --port 7860 --config FILE]`.

Builds the Gradio UI only (customer chat, copywriter studio, agent console, admin, analytics); every handler
lives in `assistant.web` and calls into `assistant/`. One server carries the UI at `/`, the embeddable widget
at `/widget` and the OpenAI-compatible API at `/v1`. No model loads until the first question needs it.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
import sys
from collections.abc import Sequence

import assistant  # noqa: F401 - sets the offline/no-telemetry environment before gradio is imported
from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.errors import AssistantError, ConfigError

log = logging.getLogger("app")

CSS = """
#talk-to-human { min-width: 140px; }
.locked { padding: 24px; text-align: center; opacity: .8; }
.demo-banner { background: #fff4e5; border: 1px solid #f0c36d; border-radius: 8px; padding: 4px 12px; }
"""


def friendly(fn):
    """Turn an AssistantError from a handler into a readable message in the UI; the server stays up."""
    import gradio as gr

    name = getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", repr(fn))

    def report(exc: Exception):
        if isinstance(exc, AssistantError):
            return gr.Error(str(exc))
        log.exception("UI handler %s failed", name)
        return gr.Error(f"Something went wrong ({type(exc).__name__}); the team has the details in the log.")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args):
            try:
                yield from fn(*args)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001
                raise report(exc) from None
        return gen

    @functools.wraps(fn)
    def plain(*args):
        try:
            return fn(*args)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise report(exc) from None
    return plain


REPLY_POLL_SECONDS = 10  # how soon a colleague's reply to a hand-off shows in the customer tab


def customer_tab(gr, runtime, base_url: str) -> None:
    from assistant.web import customer
    from assistant.web.widget import snippet

    shop = runtime.shop
    first = shop.cfg.default_language
    langs = (first, "en" if first == "zh" else "zh")

    def both(key: str) -> str:  # the shop's text in its default language, then the other one when different
        return " / ".join(dict.fromkeys(shop.text(key, lang) for lang in langs))

    session = gr.State(None)  # per browser session: the only key to this customer's server-side history
    chatbot = gr.Chatbot(label=shop.text("assistant_label", first), height=460, elem_id="customer-chat",
                         feedback_options=("Like", "Dislike"), buttons=["copy"])
    with gr.Row():
        msg = gr.Textbox(placeholder=both("input_placeholder"), show_label=False,
                         scale=6, elem_id="customer-input", lines=1)
        send = gr.Button(both("send"), variant="primary", scale=1, elem_id="customer-send")
        human_button = gr.Button(f"🧑‍💼 {both('talk_to_human')}", scale=1, elem_id="talk-to-human")
    status = gr.Markdown(elem_id="customer-status")
    with gr.Accordion("Put this chat on your shop's website", open=False):
        gr.Markdown("Paste this line before `</body>` on any page (replace the host with this server's "
                    "address). See it on [an example shop page](/widget/example) or open [the widget](/widget).")
        gr.Code(snippet(base_url), language="html", elem_id="widget-snippet")

    app_cfg = runtime.settings.app

    def turn(message, history, session_id, request):
        yield from customer.chat_ui_turn(runtime, message, history, session_id, client_of(request, app_cfg))

    def human(history, session_id, request):
        return customer.handoff_ui(runtime, history, session_id, client_of(request, app_cfg))

    def on_like(session_id, history, data, request):
        customer.vote_ui(runtime, session_id, data.liked, data.index, history, client_of(request, app_cfg))

    # gradio injects the request and the vote by these type hints (set here: annotations are strings)
    for fn in (turn, human, on_like):
        fn.__annotations__["request"] = gr.Request
    on_like.__annotations__["data"] = gr.LikeData
    turn, human_click = friendly(turn), friendly(human)
    outputs = [chatbot, session, status, msg]
    msg.submit(turn, [msg, chatbot, session], outputs, concurrency_id="chat")
    send.click(turn, [msg, chatbot, session], outputs, concurrency_id="chat")
    human_button.click(human_click, [chatbot, session], [chatbot, status])
    chatbot.like(friendly(on_like), [session, chatbot], None)

    # A colleague's reply to a hand-off appears in the chat: polled, each shown once per browser session.
    shown = gr.State([])

    def poll(history, session_id, shown_):
        added = customer.replies_ui(runtime, history, session_id, shown_)
        return (gr.skip(), gr.skip()) if added is None else added

    gr.Timer(REPLY_POLL_SECONDS).tick(friendly(poll), [chatbot, session, shown], [chatbot, shown],
                                      show_progress="hidden")


def client_of(request, app_cfg) -> str | None:
    """The browser's address (X-Forwarded-For only from app.trusted_proxies); None outside a request."""
    from assistant.rate_limit import client_address

    if request is None or getattr(request, "client", None) is None:
        return None
    return client_address(request.client.host, request.headers, app_cfg.trusted_proxies)


def staff_login(gr, auth):
    """Login row for agents and admins; returns the role State and the logged-in name's State (server-side: a browser
    cannot forge them; the Username box can be edited after login, so it names no one)."""
    from assistant.web.auth import DEMO_WARNING

    role, name = gr.State(None), gr.State(None)
    with gr.Accordion("Staff login (agents and admins)", open=False, elem_id="staff-login"):
        if auth.demo:
            gr.Markdown(f"⚠️ {DEMO_WARNING}", elem_classes="demo-banner")
        elif not auth.enabled:
            gr.Markdown("🔒 No staff account is configured (`app.users`); agent and admin views are locked.")
        with gr.Row():
            user = gr.Textbox(label="Username", elem_id="login-user", scale=2)
            password = gr.Textbox(label="Password", type="password", elem_id="login-password", scale=2)
            login = gr.Button("Log in", variant="primary", elem_id="login-button", scale=1)
            logout = gr.Button("Log out", elem_id="logout-button", scale=1)
        status = gr.Markdown(elem_id="login-status")
    return role, name, user, password, login, logout, status


def serving_panel(gr, runtime, role) -> None:
    """Admin → Training & serving: background training progress, the served adapter per task, the gate's
    decisions with their figures, a rollback per task and a retrain from the shop's feedback."""
    from assistant.web import admin
    from assistant.web.auth import allows

    with gr.Tab("Training & serving"):
        with gr.Row():
            refresh = gr.Button("Refresh", elem_id="serving-refresh", scale=1)
            auto = gr.Checkbox(label="Refresh every 10 s", value=False, scale=1)
        progress = gr.Markdown(elem_id="training-status")
        served = gr.Dataframe(label="Served adapter per task", headers=admin.SERVED_HEADERS, wrap=True,
                              elem_id="served-adapters")
        decisions = gr.Dataframe(label="Gate decisions, newest first", headers=admin.DECISION_HEADERS, wrap=True,
                                 elem_id="gate-decisions")
        with gr.Row():
            rollbacks = {task: gr.Button(f"Rollback {task}", variant="stop", elem_id=f"rollback-{task}")
                         for task in admin.TASKS}
        with gr.Row():
            task = gr.Dropdown(list(admin.TASKS), value="support", label="Task", scale=1)
            retrain = gr.Button("Retrain from feedback", variant="primary", elem_id="retrain", scale=1)
        status = gr.Markdown(elem_id="serving-status")
        # Off until an admin turns it on: the customer chat shares this page, and customers' browsers must not poll.
        timer = gr.Timer(10, active=False)
        view = [progress, served, decisions]

        def tick(current_role):
            if not allows(current_role, "admin"):
                return gr.skip(), gr.skip(), gr.skip()
            return admin.serving_view(runtime, current_role)

        refresh.click(friendly(functools.partial(admin.serving_view, runtime)), [role], view)
        auto.change(lambda on: gr.Timer(active=bool(on)), auto, timer)
        timer.tick(friendly(tick), [role], view)
        def rollback_of(name):
            def rollback(current_role):
                return admin.rollback_adapter(runtime, current_role, name)
            return rollback

        for name, button in rollbacks.items():
            button.click(friendly(rollback_of(name)), [role], [status, served, decisions])
        retrain.click(friendly(functools.partial(admin.retrain_run, runtime)), [role, task], status,
                      concurrency_id="finetune", concurrency_limit=1)


def build_demo(runtime, auth=None, base_url: str | None = None):
    """The Gradio Blocks of the whole app. Cheap: builds widgets only, loads no model.

    `base_url` is where customers reach this server (for the widget snippet); default: app.host/app.port.
    """
    import gradio as gr

    from assistant.web import analytics_chat, insights_ui, orders_ui, staff_ui
    from assistant.web.auth import Authenticator
    from assistant.web.staff import md_text

    auth = auth or Authenticator.from_config(runtime.settings.app)
    cfg = runtime.settings.app
    with gr.Blocks(title=runtime.title) as demo:
        gr.Markdown(f"## {runtime.title}")
        role, staff_name, user, password, login, logout, login_status = staff_login(gr, auth)
        with gr.Tabs():
            with gr.Tab("Customer chat", id="customer"):
                customer_tab(gr, runtime, base_url or f"http://{cfg.host}:{cfg.port}")
            with gr.Tab("Copywriter", id="copywriter"):
                copywriter_views = staff_ui.copywriter_tab(gr, runtime, role, friendly)
            with gr.Tab("Agent", id="agent"):
                agent_views = staff_ui.agent_tab(gr, runtime, role, friendly)
                with agent_views[0][1]:  # the agent-gated content column: order requests join its tabs
                    orders_ui.orders_panel(gr, runtime, role, friendly, staff_name)
            with gr.Tab("Admin", id="admin"):
                admin_views = staff_ui.admin_tab(gr, runtime, role, friendly)
                with admin_views[0][1]:  # the admin-gated content column: training and serving join its tabs
                    serving_panel(gr, runtime, role)
            with gr.Tab("Analytics", id="analytics"):
                analytics_views = staff_ui.analytics_tab(gr, runtime, role, friendly)
                with analytics_views[0][1]:  # the admin-gated content column: the Q&A chat joins its end
                    analytics_chat.chat_panel(gr, runtime, role)
                analytics_views += insights_ui.insights_section(gr, runtime, role, friendly)  # gaps: agents too

        # (locked notice, content, needed role) triples
        gated = [*copywriter_views, *agent_views, *admin_views, *analytics_views]

        def show(current_role):
            from assistant.web.auth import allows

            updates = []
            for _notice, _content, needed in gated:
                ok = allows(current_role, needed)
                updates += [gr.update(visible=not ok), gr.update(visible=ok)]
            return updates

        views = [c for notice, content, _ in gated for c in (notice, content)]

        def do_login(username, pw, request):
            from assistant.rate_limit import via_proxy

            got = auth.login(username, pw, client_of(request, cfg) or "unknown",
                             via_proxy(getattr(request, "headers", None)))
            who = md_text(username)
            msg = f"✅ Logged in as **{who}** ({got})." if got else "❌ Wrong username or password."
            return got, (username.strip() or None) if got else None, msg, "", *show(got)

        do_login.__annotations__["request"] = gr.Request

        def do_logout():
            return None, None, "Logged out.", "", *show(None)

        login.click(do_login, [user, password], [role, staff_name, login_status, password, *views])
        password.submit(do_login, [user, password], [role, staff_name, login_status, password, *views])
        logout.click(do_logout, None, [role, staff_name, login_status, password, *views])
    demo.queue(max_size=cfg.max_queue, default_concurrency_limit=cfg.concurrency_limit)
    return demo


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_common_args(argparse.ArgumentParser(
        prog="python app.py", description="Serve the shop assistant: UI at /, widget at /widget, API at /v1.",
        epilog="Demo logins (agent/demo-agent, admin/demo-admin) work only on a loopback host, and only from this "
               "machine. With app.demo_mode on and no app.users, a --host other machines can reach (e.g. 0.0.0.0) "
               "refuses to start: create staff accounts with `python -m assistant.web hash-password --role admin` "
               "and put them in app.users, or set app.demo_mode: false (staff views locked), or "
               "app.allow_demo_on_public_host: true (starts with the staff views locked)."))
    parser.add_argument("--host", help="address to listen on (default: app.host from config; demo logins only on "
                                       "127.0.0.1/::1, see below)")
    parser.add_argument("--port", type=int, help="port to listen on (default: app.port from config)")
    args = parser.parse_args(argv)
    setup_logging(verbose(args))
    logging.getLogger("assistant").setLevel(logging.INFO)

    from assistant.config import load_config
    from assistant.rate_limit import is_loopback
    from assistant.runtime import Runtime
    from assistant.web.auth import Authenticator, exposure_problem
    from assistant.web.server import create_app, serve

    settings = load_config(config_path(args))
    host, port = args.host or settings.app.host, args.port or settings.app.port
    problem = exposure_problem(settings.app, host)
    if problem:
        raise ConfigError(problem)
    runtime = Runtime(settings)
    auth = Authenticator.from_config(settings.app, host=host)
    app = create_app(runtime, build_demo(runtime, auth, f"http://{host}:{port}"), auth, css=CSS)
    print(f"Shop assistant on http://{host}:{port}/  (widget: /widget/example, API: /v1, docs: /api/docs)",
          file=sys.stderr)
    if not is_loopback(host) and not settings.app.api_keys:
        print("warning: /v1 is open to anyone who can reach this address; set app.api_keys "
              "(`python -m assistant.web new-api-key`)", file=sys.stderr)
    if settings.app.warm_up:
        start_warm_up(runtime)
    serve(app, host, port)
    return 0


def start_warm_up(runtime) -> None:
    """Load what the first customer message needs while the server already answers (the UI shows progress)."""
    import threading

    def report(step: str, seconds: float, problem: str | None) -> None:
        state = f"unavailable ({problem})" if problem else "done"
        print(f"warm-up: {step} {state} in {seconds:.1f} s", file=sys.stderr, flush=True)

    def warm_up() -> None:
        runtime.warm_up(report)
        if runtime.ready:
            print("ready: the model answered a test question; serving customers", file=sys.stderr, flush=True)
        else:
            why = runtime.degraded.get("language_model", "the model did not answer a test question")
            print(f"NOT READY: {why} (customers are offered a human; /healthz reports it)", file=sys.stderr,
                  flush=True)
            if runtime.wait_for_remote_model():  # llm.backend openai: the server may come up after this replica
                print("ready: the LLM server answered a test question; serving customers", file=sys.stderr,
                      flush=True)

    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()


if __name__ == "__main__":
    sys.exit(run_cli(main))
