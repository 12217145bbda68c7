"""From a knowledge gap to a curated FAQ answer: an agent proposes the answer (pre-filled from what the human
replied in the group's tickets), an admin reviews it, and publishing appends the rows to the curated FAQ
table (`insights.faq_file`) and ingests that table, after which the assistant answers the question.

Each proposal is checked against the FAQ rows already in the knowledge base: one asking the same question
(`insights.conflict_similarity`) is a *duplicate* when the answers agree and a *contradiction* when their
figures differ (prices, days, percentages). `faq_conflicts` runs the same check over the whole FAQ.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.errors import InputError, NotFoundError
from assistant.insights.faq_table import append_rows, asked_while_waiting
from assistant.insights.grouping import unit_rows
from assistant.shop.contact_rows import CONTACT_FILE
from assistant.storage import Base, utc_now

log = logging.getLogger(__name__)
SCANNED_GAP_QUESTIONS = 500  # open gap questions a proposal looks through for others its answer suits

STATUSES = ("pending", "published", "rejected")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_write_lock = threading.Lock()
_propose_lock = threading.Lock()  # the check for a proposal of the same group and the insert, as one step


class ProposalRow(Base):
    __tablename__ = "insights_faq_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(String(32), default="")
    rows: Mapped[str] = mapped_column(Text)  # JSON [{lang, question, answer}]
    turn_ids: Mapped[str] = mapped_column(Text, default="[]")  # the gap questions this answers
    # customers' phrasings [{lang, question, turn_ids, fit, keep}]: only the ticked ones are published
    variants: Mapped[str] = mapped_column(Text, default="[]")
    flags: Mapped[str] = mapped_column(Text, default="[]")  # JSON [str]: duplicates / contradictions found
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    proposed_by: Mapped[str] = mapped_column(String(64), default="")
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass
class Proposal:
    id: int
    group_key: str
    rows: list[dict]
    turn_ids: list[int]
    variants: list[dict]
    flags: list[str]
    status: str
    proposed_by: str
    reviewed_by: str
    created_at: datetime
    updated_at: datetime



def _proposal(r: ProposalRow) -> Proposal:
    return Proposal(r.id, r.group_key, json.loads(r.rows), json.loads(r.turn_ids), json.loads(r.variants or "[]"),
                    json.loads(r.flags), r.status,
                    r.proposed_by, r.reviewed_by, r.created_at, r.updated_at)


def numbers(text: str) -> set[str]:
    """The figures of an answer, each written one way: "$25.00" and "$25", "9:00" and "9", "1,000" and "1000" are
    one figure (compared as written, "Gift cards from $25.00" contradicted "from $25")."""
    return {_figure(n) for n in _NUMBER.findall(text or "")}


def _figure(n: str) -> str:
    n = n.replace(",", "")
    for sep in (".", ":"):  # a zero fraction or zero minutes add nothing: 25.00 = 25, 9:00 = 9
        head, _, tail = n.partition(sep)
        if tail and sep not in tail and set(tail) == {"0"}:
            n = head
    if n.count(".") == 1 and n.endswith("0"):
        n = n.rstrip("0")  # 2.50 = 2.5
    return n.lstrip("0") or "0" if n.isdigit() else n


def clean_rows(rows: list[dict]) -> list[dict]:
    """Rows with both a question and an answer; a half-filled row is an error, an empty one is skipped."""
    out = []
    for r in rows:
        q, a = str(r.get("question") or "").strip(), str(r.get("answer") or "").strip()
        if not q and not a:
            continue
        if not q or not a:
            raise InputError(f"the {r.get('lang') or ''} FAQ row needs both a question and an answer".replace("  ", " "))
        lang = str(r.get("lang") or "").strip() or _language(q)
        out.append({"lang": lang, "question": q, "answer": a})
    if not out:
        raise InputError("write at least one question and its answer")
    return out


def _language(text: str) -> str:
    from assistant.language import answer_language

    return answer_language(text)


# --- checks against the FAQ already there ---------------------------------------------------------------
def faq_rows(kb) -> list[dict]:
    """Every FAQ row in the knowledge base: {chunk_id, source, row_id, question, answer, lang}."""
    return [{"chunk_id": cid, "source": str(m.get("source", "")), "row_id": str(m.get("row_id", "")),
             "question": str(m.get("question", "")), "answer": str(m.get("answer", "")), "lang": str(m.get("lang", ""))}
            for cid, _, m in kb.store.iter_all(documents=False) if m.get("kind") == "faq"]


def verdict(a: dict, b: dict) -> str | None:
    """'contradiction' when two answers to one question state different figures (neither answer's figures all
    among the other's: "¥15, free from ¥199" against "¥20"); 'duplicate' when they are in the same language and
    their figures agree (the same, or one answer's all in the longer one: the hours alone, and the hours with the
    phone number); None for a translation, and for two answers only one of which states figures (a phone number
    and an e-mail address answer two questions, however alike the questions read)."""
    na, nb = numbers(a["answer"]), numbers(b["answer"])
    if na and nb and not (na <= nb or nb <= na):
        return "contradiction"
    if bool(na) != bool(nb):
        return None
    return "duplicate" if a.get("lang") == b.get("lang") else None


def check_rows(rows: list[dict], existing: list[dict], embedder, threshold: float) -> list[str]:
    """Plain-words flags for proposed rows against the existing FAQ rows."""
    from knowledge_base.embeddings import embed_queries

    if not rows or not existing:
        return []
    m = unit_rows(embed_queries(embedder, [r["question"] for r in rows] + [e["question"] for e in existing]))
    sims = m[:len(rows)] @ m[len(rows):].T
    flags = []
    for i, r in enumerate(rows):
        for j in np.argsort(-sims[i])[:3]:
            if sims[i, j] < threshold:
                break
            e = existing[j]
            kind = verdict(r, e)
            if kind:
                flags.append(f"{kind}: {r['lang']} '{r['question']}' vs {e['row_id']} in {Path(e['source']).name} "
                             f"'{e['question']}' (similarity {sims[i, j]:.2f})")
    return flags


def faq_conflicts(kb, threshold: float):
    """Pairs of FAQ rows asking the same question: duplicates and contradictions, as a DataFrame."""
    import pandas as pd

    from knowledge_base.embeddings import embed_queries

    cols = ["kind", "similarity", "row_a", "source_a", "question_a", "answer_a", "row_b", "source_b", "question_b",
            "answer_b"]
    rows = faq_rows(kb)
    if len(rows) < 2:
        return pd.DataFrame(columns=cols)
    m = unit_rows(embed_queries(kb.embedder, [r["question"] for r in rows]))
    sims = m @ m.T
    out = []
    for i, j in zip(*np.triu_indices(len(rows), k=1), strict=True):
        a, b = rows[i], rows[j]
        if sims[i, j] >= threshold and not (_proposal_of(a["row_id"]) and
                                            _proposal_of(a["row_id"]) == _proposal_of(b["row_id"])):
            kind = verdict(a, b)
            if kind == "duplicate" and CONTACT_FILE in (Path(a["source"]).name, Path(b["source"]).name):
                continue  # the shop's contact rows restate its config on purpose; a contradiction is still shown
            if kind:
                out.append([kind, round(float(sims[i, j]), 3), a["row_id"], a["source"], a["question"], a["answer"],
                            b["row_id"], b["source"], b["question"], b["answer"]])
    frame = pd.DataFrame(out, columns=cols)
    return frame.sort_values(["kind", "similarity"], ascending=[True, False], kind="stable").reset_index(drop=True)


# --- proposals ------------------------------------------------------------------------------------------
def _db(runtime):
    from assistant.insights.records import sessions

    return sessions(runtime)


def propose(runtime, rows: list[dict], turn_ids: list[int] = (), group_key: str = "", by: str = "",
            variants: list[dict] = ()) -> Proposal:
    """Store an agent's FAQ answer for review, with its duplicate/contradiction flags. `variants` are the
    customers' own phrasings ({lang, question, turn_ids}): published as alternative questions with the same
    answer, so the next customer who words it their way gets it too. Each is ticked by default only when the
    answer suits it about as well as anything already in the knowledge base (assistant.insights.phrasings)."""
    from assistant.insights.phrasings import tick

    rows = clean_rows(rows)
    variants = [{"lang": str(v.get("lang") or _language(v["question"])), "question": str(v["question"]).strip(),
                 "turn_ids": [int(t) for t in v.get("turn_ids", [])]}
                for v in variants if str(v.get("question") or "").strip()]
    kb = runtime.kb
    cfg = runtime.settings.insights
    if cfg.other_questions_min_fit is not None and kb is not None and rows:
        variants += suited_gap_questions(runtime, rows, turn_ids, variants)
    reader = phrasing_reader(runtime) if cfg.variant_min_reading is not None else None
    variants = tick(kb, rows, variants, cfg.variant_min_fit, reader, cfg.variant_min_reading)
    flags = check_rows(rows, faq_rows(kb), kb.embedder, cfg.conflict_similarity) if kb else []
    # a double-clicked Propose, or two agents on one group: the reviewer is told, so only one gets published. Looked
    # up right before the insert, under a lock: read before the seconds of ticking above, two proposes running at
    # once each saw none waiting.
    with _propose_lock:
        flags += [f"proposal {p.id} answers the same gap group and is waiting for review too: publish one, reject "
                  f"the other" for p in _pending_for_group(runtime, group_key)]
        now = utc_now()
        row = ProposalRow(group_key=group_key, rows=json.dumps(rows, ensure_ascii=False),
                          turn_ids=json.dumps([int(i) for i in turn_ids]), flags=json.dumps(flags, ensure_ascii=False),
                          variants=json.dumps(variants, ensure_ascii=False),
                          status="pending", proposed_by=by[:64], created_at=now, updated_at=now)
        with _db(runtime).begin() as s:
            s.add(row)
    return _proposal(row)


def _pending_for_group(runtime, group_key: str) -> list[Proposal]:
    if not group_key:
        return []
    with _db(runtime)() as s:
        found = s.scalars(select(ProposalRow).where(ProposalRow.status == "pending",
                                                    ProposalRow.group_key == group_key)).all()
        return [_proposal(r) for r in found]


def suited_gap_questions(runtime, rows: list[dict], turn_ids, variants: list[dict]) -> list[dict]:
    """Other open gap questions the new answer suits (insights.other_questions_min_fit; phrasings.other_questions):
    proposed along with the group's phrasings, so publishing answers them too. None found when reading fails."""
    from assistant.insights.gaps import open_candidates
    from assistant.insights.phrasings import other_questions
    from knowledge_base.text import normalize_question

    cfg = runtime.settings.insights
    try:
        # the newest SCANNED_GAP_QUESTIONS: each costs an embedding and a search while the agent waits
        return other_questions(runtime.kb, rows, open_candidates(runtime).iloc[-SCANNED_GAP_QUESTIONS:],
                               {int(t) for t in turn_ids},
                               {normalize_question(v["question"]) for v in variants}, cfg.other_questions_min_fit,
                               cfg.other_questions_max)
    except Exception as exc:  # noqa: BLE001 - without them the proposal is still made from the group alone
        log.warning("cannot look for other gap questions this answer suits: %s", exc)
        return []


def phrasing_reader(runtime):
    """The reader of the customers' phrasings against a new answer: the chat's second reader (None without one, or
    when it cannot be built: the fit alone ticks them)."""
    try:
        return runtime.component("phrasing_reader", lambda: runtime.verifier)
    except Exception as exc:  # noqa: BLE001 - without the reader the proposal is still made, on the fit alone
        log.warning("no reader for the customers' phrasings: %s", exc)
        return None


def proposals(runtime, statuses: tuple[str, ...] = STATUSES) -> list[Proposal]:
    with _db(runtime)() as s:
        found = s.scalars(select(ProposalRow).where(ProposalRow.status.in_(list(statuses)))
                          .order_by(ProposalRow.id.desc())).all()
        return [_proposal(r) for r in found]


def get(runtime, proposal_id: int) -> Proposal:
    with _db(runtime)() as s:
        row = s.get(ProposalRow, int(proposal_id))
        if row is None:
            raise NotFoundError(f"no FAQ proposal {proposal_id}")
        return _proposal(row)


def answered_turns(runtime) -> set[int]:
    """Gap questions a published answer covers: they leave the gap list (those of unticked phrasings stay)."""
    from assistant.insights.phrasings import unticked_turns

    done: set[int] = set()
    for p in proposals(runtime, ("published",)):
        ticked = {int(t) for v in p.variants if v.get("keep", True) for t in v.get("turn_ids", [])}
        done.update((set(p.turn_ids) | ticked) - unticked_turns(p.variants))
    return done


def reject(runtime, proposal_id: int, by: str = "") -> Proposal:
    return _set_status(runtime, proposal_id, "rejected", by)


def _set_status(runtime, proposal_id: int, status: str, by: str, rows: list[dict] | None = None,
                variants: list[dict] | None = None, turn_ids: list[int] | None = None) -> Proposal:
    with _db(runtime).begin() as s:
        row = s.get(ProposalRow, int(proposal_id))
        if row is None:
            raise NotFoundError(f"no FAQ proposal {proposal_id}")
        if row.status != "pending":
            raise InputError(f"FAQ proposal {proposal_id} is already {row.status}")
        row.status, row.reviewed_by, row.updated_at = status, by[:64], utc_now()
        if rows is not None:
            row.rows = json.dumps(rows, ensure_ascii=False)
        if variants is not None:
            row.variants = json.dumps(variants, ensure_ascii=False)
        if turn_ids is not None:
            row.turn_ids = json.dumps([int(t) for t in turn_ids])
        return _proposal(row)


def publish(runtime, proposal_id: int, by: str = "", rows: list[dict] | None = None,
            keep: list[str] | None = None):
    """Approve a proposal (with the reviewer's edits, if any): append its rows and its ticked phrasings to the
    curated FAQ table and ingest it. `keep`: the customers' phrasings the reviewer ticked (None = the default
    ticks). Returns (proposal, ingest report). From the next message on, the assistant answers it."""
    from assistant.config import resolve_path
    from assistant.insights.phrasings import apply_ticks

    kb = runtime.kb
    if kb is None:
        raise InputError(f"the knowledge base is unavailable: {runtime.degraded.get('knowledge_base', 'see the log')}")
    proposal = get(runtime, proposal_id)
    if proposal.status != "pending":
        raise InputError(f"FAQ proposal {proposal_id} is already {proposal.status}")
    final = clean_rows(rows) if rows is not None else proposal.rows
    variants = apply_ticks(proposal.variants, keep) if keep is not None else proposal.variants
    path = resolve_path(runtime.settings.insights.faq_file)
    with _write_lock:
        append_rows(path, table_rows(proposal_id, final, variants))
        report = kb.ingest([path], progress=False)
    if report.errors:
        raise InputError(f"the FAQ table could not be ingested: {report.errors[0].error}")
    waited = asked_while_waiting(runtime, replace(proposal, rows=final, variants=variants))
    published = _set_status(runtime, proposal_id, "published", by, final,
                            variants if keep is not None else None,
                            proposal.turn_ids + waited if waited else None)
    log.info("FAQ proposal %s published to %s: %s", proposal_id, path, report.summary())
    return published, report


def contradicted_by(runtime, proposal) -> list[str]:
    """The contradictions a published proposal's answers make with the FAQ rows of other sources or proposals: the
    review form flags them when loaded, but an answer edited since (¥10 typed over a ¥8 table) was published with
    the message that the assistant answers it, and customers got ¥8 or ¥10 depending on their wording."""
    kb = runtime.kb
    if kb is None:
        return []
    others = [r for r in faq_rows(kb) if _proposal_of(r["row_id"]) != str(proposal.id)]
    flags = check_rows(proposal.rows, others, kb.embedder, runtime.settings.insights.conflict_similarity)
    return [f for f in flags if f.startswith("contradiction")]


def table_rows(proposal_id: int, rows: list[dict], variants: list[dict]) -> list[dict]:
    """The curated table's rows of one proposal: `gap-N-LANG` per answer, and `gap-N-LANG-vK` per ticked customer
    phrasing in a language that has an answer (the same answer, asked their way). Retrieval reads rows named
    so as one answer (knowledge_base.curated_answers.CuratedAnswers): a question nearest any of its phrasings, in
    either language, gets that answer rather than older rows."""
    from knowledge_base.text import normalize_question

    out = [{**r, "id": f"gap-{proposal_id}-{r['lang']}"} for r in rows]
    answers = {r["lang"]: r["answer"] for r in rows}
    seen = {normalize_question(r["question"]) for r in rows}
    for k, v in enumerate(variants, 1):
        key = normalize_question(v["question"])
        if v.get("keep", True) and v["lang"] in answers and key not in seen:
            seen.add(key)
            out.append({"id": f"gap-{proposal_id}-{v['lang']}-v{k}", "question": v["question"],
                        "answer": answers[v["lang"]], "lang": v["lang"]})
    return out


def _proposal_of(row_id: str) -> str | None:
    m = re.match(r"^gap-(\d+)-", row_id or "")
    return m.group(1) if m else None


def suggest(group, languages: tuple[str, ...] = ("en", "zh"), redact=None) -> list[dict]:
    """The one-click form for a gap group (assistant.insights.gaps.GapGroup), one row per language: the
    group's most typical question in that language (the label, else the phrasing nearest it) and, when a person
    already replied in it (a ticket's reply or note) to one of the group's typical questions, their reply (to the
    one nearest the label). A
    reply to an atypical question may answer another topic that landed in the group, and a ticket's draft is the
    assistant's own attempt, the answer that failed: both are shown with the group, neither pre-fills.
    `redact`: a reply written to one customer may hold their phone or e-mail, which a published FAQ row must not."""
    from assistant.language import answer_language

    redact = redact or (lambda text: text)

    rows = []
    for lang in languages:
        phrasings = [q for q in group.questions if q.get("lang") == lang]
        phrasings.sort(key=lambda q: -q.get("near_label", 0.0))  # stable: the latest first among equals
        asked = ([q["question"] for q in phrasings]
                 or [e["question"] for e in group.examples if e.get("lang") == lang])
        question = group.label if answer_language(group.label) == lang else (asked[0] if asked else "")
        # of the typical replies, the one to the phrasing nearest the label: of a label and one other phrasing
        # both are typical, and the other's reply may answer another topic that landed in the group
        replies = [h for h in group.human_replies if h.get("kind") != "draft" and h.get("typical", True)
                   and answer_language(h["text"]) == lang]
        near = [h.get("near_label") for h in replies]
        best = max(range(len(replies)), key=lambda i: -2.0 if near[i] is None else near[i], default=None)
        reply = replies[best]["text"] if best is not None else ""
        rows.append({"lang": lang, "question": redact(question), "answer": redact(reply)})
    return rows
