"""Gradio layouts of the staff tabs (copywriter, agent, admin, analytics): widgets and wiring only.

Handlers live in `assistant.web.staff` / `assistant.web.copywriter`. A tab whose component is not installed
(or fails to import) shows a "not available" panel instead, so the app always starts. Every staff tab, the
copywriter studio included, is login-gated: it returns `(locked_notice, content, needed_role)` triples and
app.py flips their visibility on login (the handlers check the role again on the server).
"""

from __future__ import annotations

import functools

from assistant.web import admin, staff

LOCKED = "🔒 Log in with a staff account (Staff login, above) to use this tab."


def usable(gr, what: str, reason: str | None) -> bool:
    """Show a "not available" panel when `reason` is set; True when the component can be used."""
    if reason:
        gr.Markdown(f"### {what} is not available\n{reason}\n\nThe rest of the app works without it.",
                    elem_classes="locked")
    return not reason


def gated(gr, needed: str):
    notice = gr.Markdown(LOCKED.replace("a staff account", f"an {needed} account"), elem_classes="locked")
    content = gr.Column(visible=False)
    return notice, content


# Advertisegen, 20 held-out rows: the same attribute coverage, fluency (perplexity) 70 -> 63, 3.8 -> 5.6 s a row.
LARGER_LABEL = "Long texts (Weibo, Xiaohongshu, Meta) by the larger model: more fluent, about 1.5x slower"


def copywriter_tab(gr, runtime, role, friendly) -> list:
    """Staff only: it drives the LLM for minutes per brief and writes training feedback."""
    notice, content = gated(gr, "agent")
    with content:
        _copywriter_studio(gr, runtime, role, friendly)
    return [(notice, content, "agent")]


def _copywriter_studio(gr, runtime, role, friendly) -> None:
    from assistant.web import copywriter

    if not usable(gr, "The ad-copy studio", copywriter.problem()):
        return
    channels = copywriter.channel_choices(runtime)
    with gr.Row():
        with gr.Column(scale=2):
            product = gr.Textbox(label="Product", elem_id="brief-product",
                                 placeholder="The product's name / 产品名称")
            attributes = gr.Textbox(label="Selling points (comma-separated)", elem_id="brief-attributes")
            with gr.Row():
                audience = gr.Textbox(label="Audience")
                tone = gr.Textbox(label="Tone", placeholder="warm, calm")
            offer = gr.Textbox(label="Offer (quoted as given, never invented)")
            with gr.Row():
                keywords = gr.Textbox(label="Keywords")
                banned = gr.Textbox(label="Banned words")
        with gr.Column(scale=1):
            default = "google_rsa" if "google_rsa" in channels else (channels[0] if channels else None)
            channel = gr.Dropdown(channels, value=default, label="Channel",
                                  elem_id="brief-channel")
            language = gr.Radio(["auto", "en", "zh"], value="auto", label="Language")
            n = gr.Slider(1, 10, value=3, step=1, label="Variants")
            larger = gr.Checkbox(copywriter.larger_by_default(runtime), label=LARGER_LABEL, elem_id="brief-larger")
            generate = gr.Button("Generate variants", variant="primary", elem_id="generate-ads")
    status = gr.Markdown(elem_id="adcopy-status")
    variants = gr.Dataframe(label="Variants (edit text inline, then Save edits)", interactive=True, wrap=True,
                            elem_id="ad-variants")
    with gr.Row():
        row = gr.Number(label="Row #", value=1, precision=0, minimum=1)
        up = gr.Button("👍 Good")
        down = gr.Button("👎 Bad")
        save = gr.Button("💾 Save edits")
        csv = gr.DownloadButton("⬇️ Download CSV", elem_id="ad-csv")
    feedback_status = gr.Markdown()
    with gr.Accordion("A/B test calculator", open=False):
        with gr.Row():
            a_n = gr.Number(label="A: impressions", value=1000, precision=0)
            a_k = gr.Number(label="A: clicks", value=50, precision=0)
            b_n = gr.Number(label="B: impressions", value=1000, precision=0)
            b_k = gr.Number(label="B: clicks", value=70, precision=0)
        ab_go = gr.Button("Compare")
        ab_out = gr.Markdown(elem_id="ab-result")
    state = gr.State(None)  # the generated variants of this browser session, for feedback and CSV
    generate.click(friendly(functools.partial(copywriter.generate, runtime)),
                   [role, product, attributes, audience, tone, offer, keywords, banned, channel, language, n, larger],
                   [variants, status, state, csv], concurrency_id="chat")
    up.click(friendly(functools.partial(copywriter.feedback, runtime, 1)), [role, state, variants, row],
             feedback_status)
    down.click(friendly(functools.partial(copywriter.feedback, runtime, -1)), [role, state, variants, row],
               feedback_status)
    save.click(friendly(functools.partial(copywriter.save_edits, runtime)), [role, state, variants],
               [feedback_status, state, csv])
    ab_go.click(friendly(copywriter.ab_test), [a_n, a_k, b_n, b_k], ab_out)

    # Feed mode, after the studio's own events so that their endpoint names stay as they were.
    with gr.Accordion("Product feed: assets for a whole catalogue, approved in bulk", open=False):
        gr.Markdown("Upload a CSV/XLSX feed (columns such as title, description, attributes, price, url; see "
                    "docs/adcopy.md; a column under another name is mapped in the box). Every asset passes the channel's limits, the invented-fact check and the "
                    "compliance lint; `fixes` says what was changed. Uploading the same feed again resumes.")
        with gr.Row():
            feed_file = gr.File(label="Feed (.csv / .xlsx / .tsv, e.g. a Merchant Center feed)",
                                file_types=[".csv", ".xlsx", ".tsv", ".txt"], elem_id="feed-file")
            with gr.Column():
                feed_channel = gr.Dropdown(channels, value=default, label="Channel", elem_id="feed-channel")
                feed_language = gr.Radio(["auto", "en", "zh"], value="auto", label="Language")
                feed_n = gr.Slider(1, 5, value=3, step=1, label="Variants per product")
                feed_map = gr.Textbox(label="Column mapping (optional, when a column is not recognised)",
                                      placeholder="title=Product Name,id=SKU,url=Link", elem_id="feed-map")
                feed_larger = gr.Checkbox(copywriter.larger_by_default(runtime), label=LARGER_LABEL,
                                          elem_id="feed-larger")
                feed_go = gr.Button("Write assets for the feed", variant="primary", elem_id="feed-run")
        feed_status = gr.Markdown(elem_id="feed-status")
        feed_assets = gr.Dataframe(label="Assets: tick approved (edit text inline if needed)", interactive=True,
                                   wrap=True, elem_id="feed-assets")
        with gr.Row():
            approve_all = gr.Button("✅ Approve all")
            reject_all = gr.Button("⛔ Reject all")
            feed_export = gr.Button("Export approved in the channel's import layout", variant="primary",
                                    elem_id="feed-export")
        with gr.Row():
            feed_sheet = gr.File(label="Review sheet (all assets)", interactive=False)
            feed_import = gr.File(label="Import file", interactive=False, elem_id="feed-import")
        feed_log = gr.Markdown(elem_id="feed-export-status")
    feed_state = gr.State(None)

    def checkbox_table(table):
        # The approved column shows as checkboxes only when the datatype says so; the columns vary by channel.
        return gr.Dataframe(value=table, datatype=["bool"] + ["str"] * (len(table.columns) - 1))

    def feed_rows(role_, file, channel_, language_, n_, larger_, mapping_):
        for table, status_, state_, sheet in copywriter.run_feed(runtime, role_, file, channel_, language_, n_,
                                                                 larger_, mapping_):
            yield checkbox_table(table), status_, state_, sheet

    feed_go.click(friendly(feed_rows), [role, feed_file, feed_channel, feed_language, feed_n, feed_larger, feed_map],
                  [feed_assets, feed_status, feed_state, feed_sheet], concurrency_id="chat",
                  api_name="adcopy_feed_run")
    approve_all.click(friendly(lambda r, t: checkbox_table(copywriter.feed_mark_all(r, t, True))),
                      [role, feed_assets], feed_assets, api_name="adcopy_feed_approve_all")
    reject_all.click(friendly(lambda r, t: checkbox_table(copywriter.feed_mark_all(r, t, False))),
                     [role, feed_assets], feed_assets, api_name="adcopy_feed_reject_all")
    feed_export.click(friendly(functools.partial(copywriter.feed_export, runtime)),
                      [role, feed_state, feed_assets], [feed_log, feed_import], api_name="adcopy_feed_export")


def agent_tab(gr, runtime, role, friendly) -> list:
    notice, content = gated(gr, "agent")
    with content:
        with gr.Tab("Knowledge-base search"):
            if usable(gr, "Knowledge-base search", staff.kb_problem(runtime)):
                with gr.Row():
                    query = gr.Textbox(label="Search the knowledge base", scale=5, elem_id="kb-query")
                    k = gr.Slider(1, 20, value=5, step=1, label="Hits", scale=1)
                    go = gr.Button("Search", variant="primary", scale=1, elem_id="kb-search")
                hits = gr.Dataframe(label="Hits (fused score, BM25, vector)", wrap=True, elem_id="kb-hits",
                                    headers=list(staff.KB_HIT_COLUMNS))
                detail = gr.Markdown()
                go.click(friendly(functools.partial(staff.kb_search, runtime)), [role, query, k], [hits, detail])
                query.submit(friendly(functools.partial(staff.kb_search, runtime)), [role, query, k],
                             [hits, detail])
        with gr.Tab("Handoff queue"):
            if usable(gr, "The handoff queue", staff.handoff_problem()):
                refresh = gr.Button("Refresh queue", elem_id="queue-refresh")
                queue = gr.Dataframe(label="Open tickets, most urgent first", wrap=True, elem_id="handoff-queue",
                                     headers=["ticket", "urgency", "status", "intent", "sentiment", "lang",
                                              "created (UTC)", "last message"])
                ticket_id = gr.Textbox(label="Ticket id")
                show = gr.Button("Open ticket")
                ticket = gr.Markdown(elem_id="ticket-detail")
                reply = gr.Textbox(label="Reply to the customer (starts from the grounded draft; edit before saving)",
                                   lines=4, elem_id="ticket-reply")
                with gr.Row():
                    save = gr.Button("Save reply and resolve", elem_id="ticket-reply-save")
                    ask_back = gr.Button("Send reply, keep open (a question to the customer)",
                                         elem_id="ticket-reply-keep-open")
                saved = gr.Markdown()
                refresh.click(friendly(functools.partial(staff.queue_table, runtime)), [role], queue)
                gr.Timer(QUEUE_REFRESH_SECONDS).tick(functools.partial(live_queue, gr, runtime), [role], queue,
                                                     show_progress="hidden")
                show.click(friendly(functools.partial(staff.open_for_reply, runtime)), [role, ticket_id],
                           [ticket, reply])
                save.click(friendly(functools.partial(staff.reply_ticket, runtime)), [role, ticket_id, reply],
                           [saved, ticket])
                ask_back.click(friendly(functools.partial(staff.reply_ticket, runtime, keep_open=True)),
                               [role, ticket_id, reply], [saved, ticket])
    return [(notice, content, "agent")]


QUEUE_REFRESH_SECONDS = 15  # a new ticket shows in an open Handoff queue within this


def live_queue(gr, runtime, role):
    """The Handoff queue's timer: the queue for a logged-in agent; nothing (no update, no error) otherwise."""
    from assistant.errors import AssistantError
    from assistant.web.auth import allows

    if not allows(role, "agent"):
        return gr.skip()
    try:
        return staff.queue_table(runtime, role)
    except AssistantError:  # the queue is down: the Refresh button says why
        return gr.skip()


def admin_tab(gr, runtime, role, friendly) -> list:
    notice, content = gated(gr, "admin")
    with content:
        with gr.Tab("Documents"):
            if usable(gr, "Document management", staff.kb_problem(runtime)):
                files = gr.File(label="Upload documents (md, txt, html, pdf, docx, csv, xlsx)", file_count="multiple",
                                elem_id="kb-upload")
                ingest = gr.Button("Ingest", variant="primary")
                ingest_log = gr.Markdown()
                sources = gr.Dataframe(label="Sources in the knowledge base", wrap=True)
                with gr.Row():
                    list_btn = gr.Button("List sources")
                    source = gr.Textbox(label="Source to delete", scale=3)
                    delete = gr.Button("Delete source", variant="stop")
                    sync = gr.Button("Sync with disk")
                ingest.click(friendly(functools.partial(staff.ingest_files, runtime)), [role, files],
                             [ingest_log, sources])
                list_btn.click(friendly(functools.partial(staff.list_sources, runtime)), [role], sources)
                delete.click(friendly(functools.partial(staff.delete_source, runtime)), [role, source],
                             [ingest_log, sources])
                sync.click(friendly(functools.partial(staff.sync_sources, runtime)), [role], [ingest_log, sources])
        with gr.Tab("Adapters"):
            adapters = gr.Dataframe(label="Task adapters", wrap=True, elem_id="adapters")
            with gr.Row():
                task = gr.Dropdown(["support", "adcopy"], value="support", label="Task")
                path = gr.Textbox(label="Adapter (name or path; empty = base model)", scale=3)
                activate = gr.Button("Activate")
            adapter_log = gr.Markdown()
            gr.Button("Refresh").click(friendly(functools.partial(admin.adapter_table, runtime)), [role], adapters)
            activate.click(friendly(functools.partial(admin.activate_adapter, runtime)), [role, task, path],
                           [adapter_log, adapters])
        with gr.Tab("Fine-tune"):
            if usable(gr, "Fine-tuning", admin.finetune_problem()):
                with gr.Row():
                    ft_task = gr.Dropdown(["support", "adcopy"], value="support", label="Task")
                    data = gr.File(label="Training data (JSONL)", elem_id="ft-data")
                    steps = gr.Number(label="Max steps", value=20, precision=0, minimum=1)
                start = gr.Button("Start fine-tune run", variant="primary")
                loss = gr.LinePlot(x="step", y="loss", color="series", label="Training loss", elem_id="ft-loss")
                ft_log = gr.Markdown()
                start.click(friendly(functools.partial(admin.finetune_run, runtime)), [role, ft_task, data, steps],
                            [loss, ft_log], concurrency_id="finetune", concurrency_limit=1)
    return [(notice, content, "admin")]


def analytics_tab(gr, runtime, role, friendly) -> list:
    notice, content = gated(gr, "admin")
    with content:
        refresh = gr.Button("Refresh analytics", variant="primary", elem_id="analytics-refresh")
        summary = gr.Markdown(elem_id="analytics-summary")
        with gr.Row():
            intents = gr.Plot(label="Intent mix")
            sentiment = gr.Plot(label="Sentiment trend")
        with gr.Row():
            handoff = gr.Plot(label="Handoff rate")
            csat = gr.Plot(label="CSAT from thumbs")
        refresh.click(friendly(functools.partial(admin.analytics_view, runtime)), [role],
                      [summary, intents, sentiment, handoff, csat])
        with gr.Accordion("Marketing data: analyse a CSV (reviews, orders, customers, campaigns)", open=False):
            if usable(gr, "Marketing analytics", staff.import_problem("assistant.analytics")):
                with gr.Row():
                    csv_file = gr.File(label="CSV / .xlsx file", file_types=[".csv", ".xlsx"], scale=3)
                    analysis = gr.Dropdown(["auto", "sentiment", "aspects", "segment", "churn", "campaign"],
                                           value="auto", label="Analysis", scale=1)
                    run = gr.Button("Analyse", variant="primary", scale=1)
                report = gr.Markdown()
                with gr.Row():
                    plot_a, plot_b = gr.Plot(), gr.Plot()
                run.click(friendly(functools.partial(admin.marketing_analysis, runtime)), [role, csv_file, analysis],
                          [report, plot_a, plot_b], concurrency_id="analytics", concurrency_limit=1)
    return [(notice, content, "admin")]
