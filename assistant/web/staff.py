"""Handlers of the agent and admin views: knowledge-base search and documents, handoff queue, adapters,
fine-tuning, analytics. Plain functions over the other packages' public APIs, imported lazily so a missing
component shows as "not available" instead of stopping the app. Every handler checks the caller's role.
"""

from __future__ import annotations

import logging
import shutil
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from assistant.config import resolve_path
from assistant.errors import InputError, NotFoundError
from assistant.web.auth import allows

log = logging.getLogger(__name__)

UPLOAD_DIR = "data/uploads"
# Long-lived helpers built once per runtime (weak keys: a finished test's runtime takes its objects along).
_shared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def shared(runtime, name: str, build: Callable[[], object], use_runtimes: bool = False):
    """`runtime.<name>` when `use_runtimes` and the runtime has one (shared with the chat), else `build()` once."""
    own = getattr(runtime, name, None) if use_runtimes else None
    if own is not None:
        return own
    with _lock:
        per_runtime = _shared.setdefault(runtime, {})
        if name not in per_runtime:
            per_runtime[name] = build()
        return per_runtime[name]


def require(role: str | None, needed: str) -> None:
    """Server-side check on every staff action: hiding a view is not access control."""
    if not allows(role, needed):
        raise InputError(f"please log in with an {needed} account first")


def import_problem(module: str) -> str | None:
    """None when `module` imports; otherwise why not, in one line."""
    import importlib

    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available here"
        return f"`{module}` could not be loaded ({type(exc).__name__}: {exc})."
    return None


def forget(runtime, name: str) -> None:
    """Drop a helper built by `shared`, so the next use builds it anew (e.g. after the model changed)."""
    with _lock:
        _shared.get(runtime, {}).pop(name, None)


# --- knowledge base ------------------------------------------------------------------------------------
def kb_problem(runtime) -> str | None:
    return import_problem("knowledge_base")


def knowledge_base(runtime):
    """The runtime's KnowledgeBase when it has one (shared with the chat), else one built once here."""
    def build():
        from knowledge_base import KnowledgeBase

        return KnowledgeBase.from_config(runtime.settings.knowledge_base)

    return shared(runtime, "kb", build, use_runtimes=True)


def kb_search(runtime, role, query: str, k: float = 5):
    """Hit-test view: every hit with its fused, BM25 and vector scores, and the best hit's text."""
    require(role, "agent")
    if not query or not query.strip():
        raise InputError("type something to search for")
    hits = knowledge_base(runtime).search(query.strip(), k=int(k))
    rows = [[i, round(h.score, 4), _round(h.bm25_score), _round(h.vector_score), h.title, h.source,
             " ".join(h.text.split())[:200]] for i, h in enumerate(hits, 1)]
    header = ["#", "fused", "bm25", "vector", "title", "source", "text"]
    if not hits:
        return _frame(rows, header), "No hits: the knowledge base may be empty (Admin → Documents)."
    best = hits[0]
    detail = f"**Best hit:** {best.title} — `{best.source}`\n\n> " + best.text.replace("\n", "\n> ")[:1500]
    return _frame(rows, header), detail


def _round(x):
    return None if x is None else round(float(x), 4)


def _frame(rows, header):
    import pandas as pd

    return pd.DataFrame(rows, columns=header)


def _sources_frame(runtime):
    docs = knowledge_base(runtime).documents()
    return _frame([[d["source"], d["title"], d["kind"], d["chunks"]] for d in docs],
                  ["source", "title", "kind", "chunks"])


def ingest_files(runtime, role, files):
    """Copy uploads under data/uploads/ (stable source names) and ingest them one by one, with progress."""
    require(role, "admin")
    from knowledge_base.loaders import SUFFIXES

    paths = [Path(getattr(f, "name", f)) for f in (files or [])]
    if not paths:
        raise InputError("choose one or more files to upload first")
    limit_mb = runtime.settings.app.max_upload_mb
    target = resolve_path(UPLOAD_DIR)
    target.mkdir(parents=True, exist_ok=True)
    lines, kb = [], knowledge_base(runtime)
    for i, path in enumerate(paths, 1):
        name = path.name
        if path.suffix.lower() not in SUFFIXES:
            lines.append(f"❌ {name}: unsupported file type (use {', '.join(sorted(SUFFIXES))})")
            yield "\n\n".join(lines), None
            continue
        if path.stat().st_size > limit_mb * 1024 * 1024:
            lines.append(f"❌ {name}: larger than {limit_mb} MB")
            yield "\n\n".join(lines), None
            continue
        yield "\n\n".join([*lines, f"⏳ {i}/{len(paths)}: ingesting {name}…"]), None
        dest = target / name
        shutil.copyfile(path, dest)
        report = kb.ingest([dest], progress=False)
        errors = "; ".join(e.error for e in report.errors)
        if errors:
            dest.unlink(missing_ok=True)
        lines.append(f"❌ {name}: {errors}" if errors else f"✅ {name}: {report.summary()}")
    yield "\n\n".join(lines) + f"\n\nDone: {len(paths)} file(s).", _sources_frame(runtime)


def list_sources(runtime, role):
    require(role, "admin")
    return _sources_frame(runtime)


def delete_source(runtime, role, source: str):
    require(role, "admin")
    source = (source or "").strip()
    if not source:
        raise InputError("type the source to delete (copy it from the list)")
    removed = knowledge_base(runtime).delete(sources=[source])
    if not removed:
        raise NotFoundError(f"no source {source!r} in the knowledge base")
    return f"🗑️ {source}: {removed} chunk(s) removed.", _sources_frame(runtime)


def sync_sources(runtime, role):
    """Re-read the demo folder and the uploads: changed files re-ingested, deleted ones removed."""
    require(role, "admin")
    kb = knowledge_base(runtime)
    folders = [p for p in (resolve_path(kb.cfg.demo_path), resolve_path(UPLOAD_DIR)) if p and p.exists()]
    report = kb.sync(folders, progress=False)
    errors = "".join(f"\n\n❌ {e.source}: {e.error}" for e in report.errors)
    return f"🔄 {report.summary()}{errors}", _sources_frame(runtime)


# --- handoff queue -------------------------------------------------------------------------------------
def handoff_problem() -> str | None:
    return import_problem("assistant.handoff")


def handoff(runtime):
    """The runtime's HandoffQueue when it has one, else one on the configured store (built once)."""
    def build():
        from assistant.handoff import HandoffQueue
        from assistant.storage import get_engine

        return HandoffQueue(get_engine(runtime.settings.storage), runtime.settings.handoff)

    return shared(runtime, "handoff", build, use_runtimes=True)


def _draft(runtime, transcript: list[dict]):
    """A reply draft grounded in the knowledge base for the agent to edit; empty when that fails."""
    question = next((m["content"] for m in reversed(transcript) if m["role"] == "user"), "")
    if not question:
        return "", []
    try:
        answer = knowledge_base(runtime).answer(question, runtime.backend)
        return answer.text, list(answer.citations)
    except Exception as exc:  # noqa: BLE001 - the ticket matters more than its draft
        log.warning("no draft reply for the handoff ticket: %s", exc)
        return "", []


def open_ticket(runtime, session_id: str, history: list[dict], reason: str) -> str:
    """Ticket id for this conversation (the same one again on a double click: tickets are idempotent)."""
    from assistant.web.customer import detect_language

    if not history:
        history = [{"role": "user", "content": "(the customer asked for a human before writing anything)"}]
    last_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
    ticket = handoff(runtime).create_ticket(
        session_id or "anonymous", history, intent="human_agent", reasons=[reason],
        language=detect_language(last_user), draft_fn=lambda turns: _draft(runtime, turns))
    return str(ticket.id)


def handoff_queue(runtime) -> list[dict]:
    return [t.as_dict() for t in handoff(runtime).queue()]


def queue_table(runtime, role):
    require(role, "agent")
    rows = []
    for t in handoff(runtime).queue():
        last = next((m["content"] for m in reversed(t.transcript) if m["role"] == "user"), "")
        rows.append([t.id, round(t.urgency, 2), t.status, t.intent, f"{t.sentiment} {t.sentiment_score:.2f}",
                     t.language, t.created_at.strftime("%Y-%m-%d %H:%M"), " ".join(last.split())[:120]])
    return _frame(rows, ["ticket", "urgency", "status", "intent", "sentiment", "lang", "created (UTC)",
                         "last message"])


def ticket_detail(runtime, role, ticket_id) -> str:
    require(role, "agent")
    try:
        t = handoff(runtime).get(int(str(ticket_id).strip()))
    except ValueError:
        raise InputError("type a ticket number from the queue") from None
    turns = "\n".join(f"- **{m['role']}**: {m['content']}" for m in t.transcript)
    reasons = "\n".join(f"- {r}" for r in t.reasons) or "- (none recorded)"
    cites = "\n".join(f"- [{i}] {c.title or c.source} — `{c.source}`" for i, c in enumerate(t.citations, 1))
    return (f"### Ticket {t.id} · {t.status} · urgency {t.urgency:.2f}\n"
            f"intent **{t.intent or '?'}**, sentiment **{t.sentiment or '?'}**, language **{t.language or '?'}**\n\n"
            f"#### Transcript\n{turns}\n\n#### Route reasons\n{reasons}\n\n"
            f"#### Draft reply (grounded)\n{t.draft_reply or '(no draft)'}\n\n{cites}")
