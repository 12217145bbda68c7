"""Analytics Q&A chat of the Analytics tab: a marketer uploads a CSV and asks a question in words
("how did sentiment move week by week?", "did campaign B beat A?"); the reply carries the numbers, the
main result table and one plot, from `assistant.analytics.answer_analytics_question`.

Problems (not logged in as admin, no file, unreadable CSV, empty question) come back as a chat message,
never a traceback: the marketer keeps the conversation and can fix the input.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.errors import AssistantError
from assistant.web.staff import require

log = logging.getLogger(__name__)

EXAMPLES = ["How did sentiment move week by week?", "What do customers complain about?",
            "Did campaign B beat A?", "Who is likely to churn?", "Write the e-mail for each segment"]


def _reply(history, question: str, answer: str) -> list[dict]:
    return [*(history or []), {"role": "user", "content": question or "…"}, {"role": "assistant", "content": answer}]


def analytics_chat_turn(runtime, role, csv_file, question, history):
    """One chat turn: (history with the question and its answer, result table or None, plot PNG path or None)."""
    question = (question or "").strip()
    try:
        require(role, "admin")
        path = Path(getattr(csv_file, "name", csv_file)) if csv_file else None
        if path is None or not path.is_file():
            return _reply(history, question, "📎 Upload a CSV or .xlsx file first (reviews, orders, customers or "
                                             "campaigns), then ask your question."), None, None
        from assistant.analytics.io import XLSX_SUFFIXES

        if path.suffix.lower() not in (".csv", *XLSX_SUFFIXES):
            return _reply(history, question, f"📎 I read .csv and .xlsx files; {path.name} is neither. Export the "
                                             "sheet as CSV and upload it again."), None, None
        if not question:
            return _reply(history, question, "💬 Type a question about the data, e.g. "
                                             + "; ".join(f"“{q}”" for q in EXAMPLES[:3]) + "."), None, None
        from assistant.analytics import answer_analytics_question

        answer = answer_analytics_question(question, str(path), runtime.backend, cfg=runtime.settings.analytics,
                                           settings=runtime.settings)
    except AssistantError as exc:
        return _reply(history, question, f"⚠️ {exc}"), None, None
    except Exception as exc:  # noqa: BLE001 - a bad file must not end the chat; details go to the log
        log.exception("analytics chat failed on %r", question)
        return _reply(history, question, f"⚠️ I could not analyse this file ({type(exc).__name__}). Check that it "
                                         "is a CSV or .xlsx with a header row and try again."), None, None
    table = answer.table
    if table is not None:  # 4 decimals are plenty on screen; the saved CSVs keep full precision
        table = table.assign(**{c: table[c].round(4) for c in table.select_dtypes("float").columns})
    return _reply(history, question, answer.text), table, answer.plot_path


def chat_panel(gr, runtime, role) -> None:
    """The widgets and wiring of the Q&A chat; call inside the (admin-gated) Analytics tab content."""
    import functools

    gr.Markdown("### Ask your data\nUpload a CSV and ask a question in plain words (English or 中文).")
    with gr.Row():
        with gr.Column(scale=1):
            csv_file = gr.File(label="CSV / .xlsx file", file_types=[".csv", ".xlsx"], elem_id="analytics-chat-file")
            gr.Markdown("Try: " + " · ".join(f"*{q}*" for q in EXAMPLES))
        with gr.Column(scale=2):
            chatbot = gr.Chatbot(label="Analytics Q&A", height=380, elem_id="analytics-chat", buttons=["copy"])
            with gr.Row():
                question = gr.Textbox(placeholder="How did sentiment move week by week?", show_label=False,
                                      scale=6, lines=1, elem_id="analytics-question")
                ask = gr.Button("Ask", variant="primary", scale=1, elem_id="analytics-ask")
    with gr.Row():
        table = gr.Dataframe(label="Result table", wrap=True, elem_id="analytics-table")
        plot = gr.Image(label="Plot", type="filepath", elem_id="analytics-plot")
    turn = functools.partial(analytics_chat_turn, runtime)
    for trigger in (ask.click, question.submit):
        trigger(turn, [role, csv_file, question, chatbot], [chatbot, table, plot],
                concurrency_id="analytics", concurrency_limit=1).then(lambda: "", None, question)
