"""The insights in the app: knowledge gaps and their one-click FAQ answers (agents propose, admins publish),
FAQ duplicates/contradictions, document usage, conversation outcomes and CSAT with plots and CSV export.

`insights_section(gr, runtime, role, friendly)` lays out the widgets and returns the usual
`(locked_notice, content, needed_role)` triples; the handlers below are plain functions that check the role
on the server. Customer text shown here is escaped (`staff.md_text`).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from assistant.errors import InputError
from assistant.web.staff import md_text, require

GAP_COLUMNS = ["rank", "question", "count", "sessions", "score", "last seen (UTC)", "languages", "why",
               "human reply"]
SHOWN_REPLIES = 3  # human replies listed with an opened group


# --- handlers -----------------------------------------------------------------------------------------
def find_gaps(runtime, role):
    """(groups table, groups for the session state, status line)."""
    require(role, "agent")
    from assistant.insights import gaps
    from assistant.insights.records import recorded_questions, recording_note

    groups = gaps.compute(runtime, top=50)
    frame = gaps.groups_frame(groups)[GAP_COLUMNS]
    note = recording_note(runtime)
    if groups:
        status = f"{len(groups)} gap group(s), most pressing first. Type a rank and open it."
    elif not recorded_questions(runtime):
        status = ("No customer question recorded yet: the questions the assistant declines, hands off, is rated 👎 "
                  "for or answers unsurely will be listed here.")
    else:
        status = "No knowledge gaps recorded" + ("." if note else ": every question so far was answered.")
    return frame, groups, status + (f" ⚠️ {md_text(note)}." if note else "")


def _pick(groups, rank):
    try:
        i = int(rank)
    except (TypeError, ValueError):
        raise InputError("type the rank of a group from the table") from None
    if not groups:
        raise InputError("press 'Find gaps' first")
    if not 1 <= i <= len(groups):
        raise InputError(f"rank must be between 1 and {len(groups)}")
    return groups[i - 1]


def open_group(runtime, role, groups, rank):
    """(details markdown, en question, en answer, zh question, zh answer) for the chosen group."""
    require(role, "agent")
    from assistant.insights.faq import suggest

    g = _pick(groups, rank)
    lines = [f"### {md_text(g.label)}",
             f"{g.count} question(s) in {g.sessions} conversation(s), last {g.last_seen:%Y-%m-%d %H:%M} UTC · "
             + ", ".join(f"{md_text(k)} {v}" for k, v in g.reasons.items()), "", "#### What customers asked"]
    for e in g.examples:
        lines.append(f"- {md_text(e['question'], 300)} <small>({md_text(e['reason'])}, {e['time']:%m-%d %H:%M}; "
                     f"the assistant said: {md_text(e['answer'], 160) or '–'})</small>")
    lines.append("\n#### What a human replied")
    lines += [f"- ticket {h['ticket']} ({h['kind']}, {md_text(h['status'])}): {md_text(h['text'], 600)}"
              for h in g.human_replies[:SHOWN_REPLIES]] or ["- (no ticket reply yet)"]
    if len(g.human_replies) > SHOWN_REPLIES:
        lines.append(f"- … and {len(g.human_replies) - SHOWN_REPLIES} more (all in the CSV: "
                     "`python -m assistant.insights gaps --csv FILE`)")
    redactor = runtime.redactor
    rows = {r["lang"]: r for r in suggest(g, redact=redactor.redact if redactor is not None else None)}
    return ("\n".join(lines), rows["en"]["question"], rows["en"]["answer"], rows["zh"]["question"],
            rows["zh"]["answer"])


def open_group_form(runtime, role, groups, rank):
    """open_group, and the opened group itself: the form's answer is proposed for the group it was filled from,
    whatever the rank box or a later 'Find gaps' (which re-ranks the list) says by then."""
    return (*open_group(runtime, role, groups, rank), _pick(groups, rank))


def _rows(en_q, en_a, zh_q, zh_a) -> list[dict]:
    return [{"lang": "en", "question": en_q or "", "answer": en_a or ""},
            {"lang": "zh", "question": zh_q or "", "answer": zh_a or ""}]


def propose_answer(runtime, role, groups, rank, en_q, en_a, zh_q, zh_a, opened=None) -> str:
    """`opened`: the group the form was filled from (open_group_form); without it, the group at `rank`."""
    require(role, "agent")
    from assistant.insights import faq

    g = opened if opened is not None else _pick(groups, rank)
    p = faq.propose(runtime, _rows(en_q, en_a, zh_q, zh_a), g.turn_ids, g.key, by=role or "",
                    variants=g.questions)
    flags = "".join(f"\n- ⚠️ {md_text(f)}" for f in p.flags)
    ticked = [v for v in p.variants if v.get("keep", True)]
    unticked = "".join(f"\n- {md_text(v['question'])}" for v in p.variants if not v.get("keep", True))
    others = "".join(f"\n- {md_text(v['question'])}" for v in ticked if v.get("other"))
    # what publishing would write: a ticked phrasing that is the form's own question, or in a language the form
    # gives no answer in, is no alternative question ("3 of 3 go with it" had counted the form's two)
    alternatives = len(faq.table_rows(p.id, p.rows, p.variants)) - len(p.rows)
    return (f"✅ Proposal {p.id} is waiting for an admin's review (Review FAQ answers); {alternatives} of the "
            f"customers' {len(p.variants)} phrasing(s) go with it as alternative questions."
            + (f"\n\nAsked in other gap groups, and this answer suits them (the reviewer can untick them):{others}"
               if others else "")
            + (f"\n\nLeft unticked (another answer suits them better; the reviewer can tick them):{unticked}"
               if unticked else "")
            + (f"\n\nCheck before publishing:{flags}" if flags else ""))


def proposals_table(runtime, role):
    require(role, "admin")
    import pandas as pd

    from assistant.insights import faq

    rows = [[p.id, p.status, " / ".join(r["question"] for r in p.rows), " / ".join(r["answer"][:80] for r in p.rows),
             len(p.turn_ids), "; ".join(p.flags) or "", p.proposed_by, f"{p.created_at:%Y-%m-%d %H:%M}"]
            for p in faq.proposals(runtime)]
    return pd.DataFrame(rows, columns=["id", "status", "question(s)", "answer(s)", "questions answered", "flags",
                                       "by", "created (UTC)"])


def load_proposal(runtime, role, proposal_id):
    require(role, "admin")
    from assistant.insights import faq

    p = faq.get(runtime, _int(proposal_id, "proposal"))
    rows = {r["lang"]: r for r in p.rows}
    en, zh = rows.get("en", {}), rows.get("zh", {})
    flags = "".join(f"\n- ⚠️ {md_text(f)}" for f in p.flags) or "\n- no duplicate or contradiction found"
    import gradio as gr

    phrasings = gr.update(choices=[v["question"] for v in p.variants],
                          value=[v["question"] for v in p.variants if v.get("keep", True)])
    return (f"Proposal {p.id} ({md_text(p.status)}), by {md_text(p.proposed_by)}:{flags}", en.get("question", ""),
            en.get("answer", ""), zh.get("question", ""), zh.get("answer", ""), phrasings)


def load_proposal_form(runtime, role, proposal_id):
    """load_proposal, and the id of the proposal now in the form (publish_loaded checks it)."""
    return (*load_proposal(runtime, role, proposal_id), _int(proposal_id, "proposal"))


def publish_proposal(runtime, role, proposal_id, en_q, en_a, zh_q, zh_a, keep=None):
    """`keep`: the customers' phrasings the reviewer left ticked (None: the proposal's own ticks)."""
    require(role, "admin")
    from assistant.insights import faq

    p, report = faq.publish(runtime, _int(proposal_id, "proposal"), by=role or "", rows=_rows(en_q, en_a, zh_q, zh_a),
                            keep=list(keep) if keep is not None else None)
    from assistant.insights.faq_table import answered_elsewhere

    elsewhere = answered_elsewhere(runtime, p)
    done = ("⚠️ Not every question gets this answer yet:" + "".join(f"\n- {md_text(n)}" for n in elsewhere)
            if elsewhere else "The assistant answers it from the next message on.")
    if contradicted := faq.contradicted_by(runtime, p):
        done += ("\n\n⚠️ It contradicts another FAQ answer, so customers get one or the other depending on their "
                 "wording: edit or remove one of them." + "".join(f"\n- {md_text(c)}" for c in contradicted))
    return (f"✅ Published proposal {p.id} to `{Path(runtime.settings.insights.faq_file).name.replace('`', '')}` "
            f"({md_text(report.summary())}). {done}", proposals_table(runtime, role))


def publish_loaded(runtime, role, proposal_id, en_q, en_a, zh_q, zh_a, keep=None, loaded=None):
    """The review form's Publish: the form holds the proposal last loaded (`loaded`), so a number typed since
    would publish that proposal with another one's text and ticks."""
    require(role, "admin")
    wanted = _int(proposal_id, "proposal")
    if loaded is None:
        raise InputError(f"press Load to review proposal {wanted} before publishing it")
    if int(loaded) != wanted:
        raise InputError(f"the form holds proposal {loaded}: press Load to review proposal {wanted} first")
    return publish_proposal(runtime, role, wanted, en_q, en_a, zh_q, zh_a, keep)


def reject_proposal(runtime, role, proposal_id):
    require(role, "admin")
    from assistant.insights import faq

    p = faq.reject(runtime, _int(proposal_id, "proposal"), by=role or "")
    return f"Proposal {p.id} rejected.", proposals_table(runtime, role)


def faq_check(runtime, role):
    require(role, "admin")
    from assistant.insights.faq import faq_conflicts
    from assistant.web.staff import knowledge_base

    pairs = faq_conflicts(knowledge_base(runtime), runtime.settings.insights.conflict_similarity)
    n = int((pairs.kind == "contradiction").sum()) if len(pairs) else 0
    text = (f"{len(pairs)} pair(s) of FAQ rows ask the same question: {n} contradict each other."
            if len(pairs) else "No duplicate or contradictory FAQ rows.")
    return text, pairs


def _int(value, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InputError(f"type a {what} number") from None


def report_view(runtime, role):
    """(summary, 4 figures, documents table, CSV files) for the admin's outcome and usage view."""
    require(role, "admin")
    from assistant.insights import outcomes, plots, usage

    result = outcomes.compute(runtime)
    use = usage.compute(runtime, progress=False)
    s = result.summary
    pct = lambda x: "–" if x is None else f"{x:.0%}"  # noqa: E731
    trend = s["csat_trend_per_day"]
    text = (f"**{s['conversations']}** conversations ({outcomes.ongoing_text(s)}): **{s['resolved']}** resolved by the "
            f"assistant, **{s['handed_off']}** handed off, **{s['abandoned']}** abandoned · resolution rate "
            f"**{pct(s['resolution_rate'])}** · CSAT **{pct(s['csat'])}** ({s['thumbs_up']} 👍 / "
            f"{s['thumbs_down']} 👎{f', {trend * 100:+.1f} pts/day' if trend is not None else ''}) · "
            f"{len(use.never_used)} of {len(use.chunks)} chunks never retrieved or cited")
    folder = _export_folder()
    files = outcomes.export_csv(result, folder) + usage.export_csv(use, folder)
    docs = use.documents[["source", "chunks", "retrieved", "cited", "chunks_never_used"]]
    return (text, plots.outcomes_by_day(result.by_day), plots.outcomes_by_intent(result.by_intent),
            plots.csat_trend(result.csat_by_day, trend), plots.document_usage(use.documents), docs,
            [str(f) for f in files])


_EXPORTS: list[Path] = []  # this process's CSV folders, oldest first
_KEPT_EXPORTS = 4  # a download still open in another admin's browser keeps its files; older ones are removed


def _export_folder() -> Path:
    """A new folder for one refresh's CSVs; the oldest of this process's are removed past `_KEPT_EXPORTS` (every
    refresh left a folder in the temp directory for as long as the machine ran)."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="insights-"))
    _EXPORTS.append(folder)
    while len(_EXPORTS) > _KEPT_EXPORTS:
        shutil.rmtree(_EXPORTS.pop(0), ignore_errors=True)
    return folder


# --- layout ------------------------------------------------------------------------------------------
def _faq_fields(gr, prefix: str):
    with gr.Row():
        en_q = gr.Textbox(label="Question (English)", elem_id=f"{prefix}-en-q")
        zh_q = gr.Textbox(label="问题（中文）", elem_id=f"{prefix}-zh-q")
    with gr.Row():
        en_a = gr.Textbox(label="Answer (English)", lines=3, elem_id=f"{prefix}-en-a")
        zh_a = gr.Textbox(label="答案（中文）", lines=3, elem_id=f"{prefix}-zh-a")
    return en_q, en_a, zh_q, zh_a


def insights_section(gr, runtime, role, friendly) -> list:
    from assistant.web.staff_ui import gated

    views = []
    notice, content = gated(gr, "agent")
    with content:
        with gr.Accordion("Knowledge gaps: what the assistant could not answer", open=True):
            find = gr.Button("Find gaps", variant="primary", elem_id="gaps-find")
            status = gr.Markdown(elem_id="gaps-status")
            table = gr.Dataframe(label="Gap groups (paraphrases together, zh + en)", wrap=True, elem_id="gaps-table",
                                 headers=GAP_COLUMNS)
            groups = gr.State(None)
            opened = gr.State(None)  # the group the form below was filled from
            with gr.Row():
                rank = gr.Number(label="Group rank", value=1, precision=0, minimum=1, scale=1)
                show = gr.Button("Open group", scale=1, elem_id="gaps-open")
            detail = gr.Markdown(elem_id="gaps-detail")
            fields = _faq_fields(gr, "gap")
            propose = gr.Button("Propose as FAQ answer", variant="primary", elem_id="gaps-propose")
            proposed = gr.Markdown(elem_id="gaps-proposed")
            find.click(friendly(functools.partial(find_gaps, runtime)), [role], [table, groups, status])
            show.click(friendly(functools.partial(open_group_form, runtime)), [role, groups, rank],
                       [detail, *fields, opened])
            propose.click(friendly(functools.partial(propose_answer, runtime)), [role, groups, rank, *fields, opened],
                          proposed)
    views.append((notice, content, "agent"))

    notice, content = gated(gr, "admin")
    with content:
        with gr.Accordion("Review FAQ answers from gaps; FAQ duplicates and contradictions", open=False):
            refresh = gr.Button("Show proposals", elem_id="faq-proposals-refresh")
            proposals = gr.Dataframe(label="FAQ proposals", wrap=True, elem_id="faq-proposals")
            with gr.Row():
                pid = gr.Number(label="Proposal #", precision=0, minimum=1, scale=1)
                load = gr.Button("Load", scale=1, elem_id="faq-load")
            review = gr.Markdown(elem_id="faq-review")
            loaded = gr.State(None)  # the proposal the form below holds
            fields = _faq_fields(gr, "review")
            phrasings = gr.CheckboxGroup(label="Customers' phrasings published with the answer (unticked: another "
                                               "answer suits them better; they stay on the gap list)",
                                         choices=[], elem_id="faq-phrasings")
            with gr.Row():
                publish = gr.Button("Approve and publish", variant="primary", elem_id="faq-publish")
                reject = gr.Button("Reject", variant="stop")
            outcome = gr.Markdown(elem_id="faq-publish-status")
            check = gr.Button("Check the FAQ for duplicates and contradictions", elem_id="faq-check")
            check_text = gr.Markdown()
            pairs = gr.Dataframe(label="FAQ rows asking the same question", wrap=True)
            refresh.click(friendly(functools.partial(proposals_table, runtime)), [role], proposals)
            load.click(friendly(functools.partial(load_proposal_form, runtime)), [role, pid],
                       [review, *fields, phrasings, loaded])
            publish.click(friendly(functools.partial(publish_loaded, runtime)), [role, pid, *fields, phrasings, loaded],
                          [outcome, proposals])
            reject.click(friendly(functools.partial(reject_proposal, runtime)), [role, pid], [outcome, proposals])
            check.click(friendly(functools.partial(faq_check, runtime)), [role], [check_text, pairs])
        with gr.Accordion("Outcomes, CSAT and document usage", open=False):
            go = gr.Button("Refresh outcomes and usage", variant="primary", elem_id="insights-refresh")
            summary = gr.Markdown(elem_id="insights-summary")
            with gr.Row():
                by_day, by_intent = gr.Plot(label="Outcomes per day"), gr.Plot(label="Outcomes per intent")
            with gr.Row():
                csat, docs_plot = gr.Plot(label="CSAT trend"), gr.Plot(label="Document usage")
            docs = gr.Dataframe(label="Documents: retrieved / cited", wrap=True, elem_id="insights-docs")
            files = gr.File(label="CSV export", file_count="multiple", elem_id="insights-csv")
            go.click(friendly(functools.partial(report_view, runtime)), [role],
                     [summary, by_day, by_intent, csat, docs_plot, docs, files])
    views.append((notice, content, "admin"))
    return views
