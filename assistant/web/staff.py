"""Handlers of the agent and admin views: knowledge-base search and documents, handoff queue, adapters,
fine-tuning, analytics. Plain functions over the other packages' public APIs, imported lazily so a missing
component shows as "not available" instead of stopping the app. Every handler checks the caller's role.
Customer text shown to agents is escaped (`md_text`): a message cannot inject Markdown or HTML into their view.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
from pathlib import Path

from assistant.config import resolve_path
from assistant.errors import AssistantError, InputError, NotFoundError
from assistant.web.auth import allows

log = logging.getLogger(__name__)

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


# --- knowledge base ------------------------------------------------------------------------------------
def kb_problem(runtime) -> str | None:
    return import_problem("knowledge_base")


def knowledge_base(runtime):
    """The runtime's KnowledgeBase (the one the chat answers from), or why there is none, in one line."""
    kb = runtime.kb
    if kb is None:
        raise InputError(f"the knowledge base is unavailable: {runtime.degraded.get('knowledge_base', 'see the log')}")
    return kb


KB_HIT_COLUMNS = ("#", "fused", "bm25", "vector", "id", "title", "source", "text")


def kb_search(runtime, role, query: str, k: float = 5):
    """Hit-test view: every hit with its fused, BM25 and vector scores, its own id, and the best hit's text."""
    require(role, "agent")
    if not query or not query.strip():
        raise InputError("type something to search for")
    hits = knowledge_base(runtime).search(query.strip(), k=int(k))
    # The CLI's `search` shows the same id, so an agent can quote a hit to whoever runs `delete --id`.
    rows = [[i, round(h.score, 4), _round(h.bm25_score), _round(h.vector_score), h.ref, h.title, h.source,
             " ".join(h.text.split())[:200]] for i, h in enumerate(hits, 1)]
    header = list(KB_HIT_COLUMNS)
    if not hits:
        return _frame(rows, header), "No hits: the knowledge base may be empty (Admin → Documents)."
    best = hits[0]
    # uploaded documents are anyone's text: shown as text, never as the Markdown/HTML it may hold
    detail = (f"**Best hit:** {md_text(best.title)} — {md_text(best.source)}\n\n> "
              + md_text(best.text[:1500]).replace("\n", "\n> "))
    return _frame(rows, header), detail


def _round(x):
    return None if x is None else round(float(x), 4)


def _frame(rows, header):
    import pandas as pd

    return pd.DataFrame(rows, columns=header)


def _sources_frame(runtime):
    try:
        docs = knowledge_base(runtime).documents()
    except NotFoundError:  # nothing ingested yet: the collection does not exist
        docs = []
    return _frame([[d["source"], d["title"], d["kind"], d["chunks"]] for d in docs],
                  ["source", "title", "kind", "chunks"])


def ingest_files(runtime, role, files):
    """Copy uploads into app.upload_dir (stable source names) and ingest them one by one, with progress."""
    require(role, "admin")
    from knowledge_base.ingest import is_junk
    from knowledge_base.loaders import SUFFIXES

    paths = [Path(getattr(f, "name", f)) for f in (files or [])]
    if not paths:
        raise InputError("choose one or more files to upload first")
    limit_mb = runtime.settings.app.max_upload_mb
    target = resolve_path(runtime.settings.app.upload_dir)
    target.mkdir(parents=True, exist_ok=True)
    lines, kb = [], knowledge_base(runtime)
    for i, path in enumerate(paths, 1):
        name = path.name
        if is_junk(Path(name)):  # "Sync with disk" skips such names: ingested now, it would drop them again
            lines.append(f"❌ {name}: a hidden, lock or backup file name (rename it, e.g. without the leading "
                         "'.' or '~$')")
            yield "\n\n".join(lines), None
            continue
        if path.suffix.lower() not in SUFFIXES:
            lines.append(f"❌ {name}: unsupported file type (use {', '.join(sorted(SUFFIXES))})")
            yield "\n\n".join(lines), None
            continue
        if path.stat().st_size > limit_mb * 1024 * 1024:
            lines.append(f"❌ {name}: larger than {limit_mb} MB")
            yield "\n\n".join(lines), None
            continue
        yield "\n\n".join([*lines, f"⏳ {i}/{len(paths)}: ingesting {name}…"]), None
        errors = replace_upload(kb, path, target / name)
        lines.append(f"❌ {name}: {errors}" if isinstance(errors, str) else f"✅ {name}: {errors.summary()}")
    yield "\n\n".join(lines) + f"\n\nDone: {len(paths)} file(s).", _sources_frame(runtime)


_upload_locks: dict[str, threading.Lock] = {}  # per destination file: two admins uploading one name take turns
_lock = threading.Lock()


def replace_upload(kb, upload: Path, dest: Path):
    """Put `upload` at `dest` and ingest it without ever losing the good copy: the report, or the error text.

    The new bytes go to a hidden temporary file beside `dest` (folder syncs skip hidden files) and are parsed
    there first; only a file that parses replaces `dest`, by an atomic rename (`dest` never goes missing, so a
    sync running meanwhile never drops its chunks). The old bytes stay linked aside until the new version's
    ingest succeeded; on any failure they come back and are ingested again, which also drops any chunks of the
    new version written before the failure.
    """
    with _lock:
        lock = _upload_locks.setdefault(str(dest), threading.Lock())
    with lock:  # two admins uploading the same name take turns
        tmp = dest.with_name(f".{dest.stem}.upload-{os.getpid()}-{threading.get_ident()}{dest.suffix}")
        backup = dest.with_name(f".{dest.name}.previous")
        try:
            shutil.copyfile(upload, tmp)
            problem = _parse_problem(kb, tmp)
            if problem:
                return problem.replace(str(tmp), dest.name)
            had_old = dest.exists()
            if had_old:
                backup.unlink(missing_ok=True)
                try:
                    os.link(dest, backup)  # a second name for the old bytes: no copy
                except OSError:
                    shutil.copy2(dest, backup)
            os.replace(tmp, dest)
            try:
                report = kb.ingest([dest], progress=False)
                problem = "; ".join(e.error for e in report.errors)
            except Exception as exc:  # noqa: BLE001 - the store failed: put the good copy back
                log.warning("ingest of %s failed: %s", dest.name, exc)
                problem = f"the knowledge base could not take it ({type(exc).__name__})"
            if not problem:
                backup.unlink(missing_ok=True)
                return report
            if had_old:
                os.replace(backup, dest)
                problem += "; the previous version stays"
                try:
                    kb.ingest([dest], progress=False)  # back to exactly the old version's chunks
                except Exception as exc:  # noqa: BLE001
                    log.error("could not re-ingest the previous %s: %s", dest.name, exc)
            else:
                dest.unlink(missing_ok=True)
            return problem
        finally:
            tmp.unlink(missing_ok=True)


def _parse_problem(kb, path: Path) -> str:
    """'' when the file parses into chunks as an ingest would; otherwise the loader's one-line reason."""
    from assistant.errors import AssistantError
    from knowledge_base.ingest import build_chunks
    from knowledge_base.loaders import TableOptions

    try:
        build_chunks(path, kb.cfg, TableOptions())
    except AssistantError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a parser library failing on a malformed file
        return f"{path}: cannot read ({type(exc).__name__}: {exc})"
    return ""


def list_sources(runtime, role):
    require(role, "admin")
    return _sources_frame(runtime)


def delete_source(runtime, role, source: str):
    require(role, "admin")
    source = (source or "").strip()
    if not source:
        raise InputError("type the source to delete (copy it from the list)")
    kb = knowledge_base(runtime)
    uploads = resolve_path(runtime.settings.app.upload_dir)
    if "/" not in source and "\\" not in source:  # the name customers see ("warranty.md"), not the stored path
        named = [s for s in _sources_frame(runtime)["source"] if Path(str(s)).name == source]
        if len(named) > 1:
            raise InputError(f"{len(named)} sources are named {source!r}: copy the whole one from the list")
        source = str(named[0]) if named else source
    removed = kb.delete(sources=[source])
    if not removed:
        raise NotFoundError(f"no source {source!r} in the knowledge base")
    # An uploaded file left in the upload folder came back at the next "Sync with disk": it goes too.
    path = Path(source)
    gone = ""
    if uploads is not None and path.is_file() and path.resolve().parent == uploads.resolve():
        path.unlink()
        gone = " The uploaded file was deleted too."
    elif path.is_file():
        gone = f" Its file is still at {path}: a sync with disk brings it back unless it is moved away."
    return f"🗑️ {source}: {removed} chunk(s) removed.{gone}", _sources_frame(runtime)


def sync_sources(runtime, role):
    """Re-read the demo folder and the uploads: changed files re-ingested, deleted ones removed."""
    require(role, "admin")
    kb = knowledge_base(runtime)
    folders = [p for p in (resolve_path(kb.cfg.demo_path), resolve_path(runtime.settings.app.upload_dir))
               if p and p.exists()]
    report = kb.sync(folders, progress=False)
    errors = "".join(f"\n\n❌ {e.source}: {e.error}" for e in report.errors)
    return f"🔄 {report.summary()}{errors}", _sources_frame(runtime)


# --- handoff queue -------------------------------------------------------------------------------------
def handoff_problem() -> str | None:
    return import_problem("assistant.handoff")


def handoff(runtime):
    """The runtime's HandoffQueue, or why there is none, in one line."""
    queue = runtime.handoff
    if queue is None:
        raise InputError(f"the handoff queue is unavailable: {runtime.degraded.get('handoff', 'see the log')}")
    return queue


def open_ticket(runtime, session_id: str, history: list[dict], reason: str) -> str:
    """Ticket id for this conversation (assistant.handoff.open_ticket: one waiting ticket per conversation)."""
    from assistant.handoff import open_ticket as open_handoff

    language = runtime.shop.language_of_conversation([m["content"] for m in history if m["role"] == "user"])
    ticket = open_handoff(handoff(runtime), session_id, history, kb=runtime.kb, shop=runtime.shop,
                          intent="human_agent", reasons=[reason], language=language,
                          router_cfg=runtime.settings.router)
    return str(ticket.id)


QUEUE_LIMIT = 500  # tickets per admin API call and per Agent-tab table: the most urgent first


def handoff_queue(runtime, statuses=None, limit: int = QUEUE_LIMIT) -> list[dict]:
    from assistant.handoff import WAITING

    return [t.as_dict() for t in handoff(runtime).queue(statuses=statuses or WAITING, limit=limit)]


def queue_table(runtime, role):
    require(role, "agent")
    rows = []
    for t in handoff(runtime).queue(limit=QUEUE_LIMIT):
        last = next((m["content"] for m in reversed(t.transcript) if m["role"] == "user"), "")
        rows.append([t.id, round(t.urgency, 2), t.status, t.intent, f"{t.sentiment} {t.sentiment_score:.2f}",
                     t.language, t.created_at.strftime("%Y-%m-%d %H:%M"), " ".join(last.split())[:120]])
    return _frame(rows, ["ticket", "urgency", "status", "intent", "sentiment", "lang", "created (UTC)",
                         "last message"])


# Characters that mean something to Markdown (or to gr.Markdown's HTML) when they start or sit in a line.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~=:$])")


def md_text(text, limit: int | None = None) -> str:
    """Untrusted text (a customer's words, a model's draft) as literal text inside Markdown: HTML escaped,
    Markdown punctuation backslash-escaped, line breaks kept as <br> so no line can start a block."""
    text = str(text or "")
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    lines = [_MD_SPECIAL.sub(r"\\\1", html.escape(line.strip(), quote=False)) for line in text.splitlines()]
    return "<br>".join(lines)


def _ticket_number(ticket_id) -> int:
    try:
        return int(str(ticket_id).strip())
    except ValueError:
        raise InputError("type a ticket number from the queue") from None


SENT_MARK = "_(as the API client sent it: not verified)_"  # an assistant turn a /v1 client wrote into its history


def agent_view(runtime):
    """text -> the text as the Agent tab shows a customer's words: redacted when privacy.apply_to.agent_view is on
    (tickets stored as written, `tickets: false`, are then still shown without the customer's phone or card)."""
    redactor = getattr(runtime, "redactor", None)  # a runtime without privacy settings shows the text as stored
    return (lambda text: redactor.redact_for("agent_view", text)) if redactor is not None else (lambda text: text)


def ticket_detail(runtime, role, ticket_id) -> str:
    require(role, "agent")
    t = handoff(runtime).get(_ticket_number(ticket_id))
    shown = agent_view(runtime)
    # An API client sends the whole history: what it says the assistant said is its word, not a record of ours.
    turns = "\n".join(f"- **{md_text(m['role'])}**"
                       + (f" {SENT_MARK}" if m.get("as_sent") else "")
                       + f": {md_text(shown(m['content']))}" for m in t.transcript)
    reasons = "\n".join(f"- {md_text(r)}" for r in t.reasons) or "- (none recorded)"
    cites = "\n".join(f"- [{i}] {md_text(c.title or c.source)} — {md_text(c.source)}"
                      for i, c in enumerate(t.citations, 1))
    return (f"### Ticket {t.id} · {md_text(t.status)} · urgency {t.urgency:.2f}\n"
            f"intent **{md_text(t.intent or '?')}**, sentiment **{md_text(t.sentiment or '?')}**, "
            f"language **{md_text(t.language or '?')}**\n\n"
            f"#### Transcript\n{turns}\n\n#### Route reasons\n{reasons}\n\n"
            f"#### Draft reply (grounded)\n{md_text(t.draft_reply) or '(no draft)'}\n\n{cites}"
            + (f"\n\n#### Agent's reply\n{md_text(t.agent_reply)}" if t.agent_reply else ""))


def open_for_reply(runtime, role, ticket_id) -> tuple[str, str]:
    """The ticket's detail and the text to start the reply from: the agent's saved reply, else the draft."""
    detail = ticket_detail(runtime, role, ticket_id)
    t = handoff(runtime).get(_ticket_number(ticket_id))
    return detail, t.agent_reply or t.draft_reply


def reply_ticket(runtime, role, ticket_id, text, keep_open: bool = False) -> tuple[str, str]:
    """Send the customer the agent's answer: saved on the ticket and added to the customer's chat. By default the
    ticket is resolved and the conversation goes back to the assistant; `keep_open` (a question to the customer)
    leaves it in progress, so the customer's answer comes to the ticket. The reply (the draft as sent, or
    corrected) is what the gap report shows and what `python -m finetune retrain` learns support answers from."""
    require(role, "agent")
    limit = runtime.settings.app.max_message_chars  # the customer's chat shows no more than a message holds
    if len(str(text or "").strip()) > limit:
        raise InputError(f"the reply is {len(str(text).strip())} characters; the limit is {limit} "
                         "(app.max_message_chars): shorten it")
    t = handoff(runtime).reply(_ticket_number(ticket_id), text, status="in_progress" if keep_open else "resolved")
    from assistant.web.customer import deliver_agent_reply

    done = f"Ticket {t.id} kept open with your reply." if keep_open else f"Ticket {t.id} resolved with your reply."
    try:
        deliver_agent_reply(runtime, t)
    except AssistantError as exc:  # the reply is saved on the ticket whatever happens to the session
        log.error("could not add the reply to the customer's conversation: %s", exc.one_line())
        done += f" It could not be added to the customer's chat ({exc.one_line()})."
    return done, ticket_detail(runtime, role, t.id)
