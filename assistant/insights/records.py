"""What the insights read: one row per answered customer message, with its question (redacted like
transcripts), its number in the conversation (so a thumbs-up/down names it), what it cited and, filled on
first use, what the knowledge base retrieved for it.

`record_turn` is called by `assistant.web.events.record_answer` after every answer; like the other events it
never breaks a chat. Rows go after `storage.retention_days`, like the conversations they come from.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Float, Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from assistant.storage import Base, runtime_sessions, utc_now
from knowledge_base.second_reading import UNSURE

log = logging.getLogger(__name__)

# The router writes "knowledge base: has answer (best 0.87)" among its reasons: the best passage similarity.
_BEST = re.compile(r"knowledge base: (?:has|no) answer \(best (-?[0-9.]+)\)")
ADDED_COLUMNS = {"unsure": "INTEGER DEFAULT 0"}  # columns newer than the table: added to older stores
_PRUNE_EVERY_S = 3600.0
_pruned = {"at": -_PRUNE_EVERY_S}
_prune_lock = threading.Lock()


class TurnRow(Base):
    __tablename__ = "insights_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC, naive
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[int] = mapped_column(Integer, default=-1)  # the answer's number (app_votes.message); -1 unknown
    channel: Mapped[str] = mapped_column(String(16), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    intent: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32), default="")
    handoff: Mapped[int] = mapped_column(Integer, default=0)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    best_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    question: Mapped[str] = mapped_column(Text, default="")
    searched: Mapped[str] = mapped_column(Text, default="")  # what the knowledge base searched (with context)
    answer: Mapped[str] = mapped_column(Text, default="")
    cited: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{chunk_id, source, row_id}]
    retrieved: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [chunk_id]; null = not yet known
    # 1: answered, but the second reading was unsure (knowledge_base.verify_unsure_below): a low-confidence gap
    unsure: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def sessions(runtime):
    """Sessions on the runtime's store, tables made once per runtime."""
    import assistant.insights.faq  # noqa: F401 - declares the proposals table before the tables are made
    import assistant.web.events  # noqa: F401 - app_votes

    return runtime_sessions(runtime, "insights_sessions", {TurnRow.__tablename__: ADDED_COLUMNS})



def recording_note(runtime) -> str:
    """Why the list may be short: with insights.record_questions off no question is kept, so "no gaps" would read as
    "every question was answered" when nothing was looked at."""
    if runtime.settings.insights.record_questions:
        return ""
    return ("customers' questions are not kept (insights.record_questions: false): questions the assistant failed "
            "on since then are not listed")


def best_score(route: dict | None) -> float | None:
    for reason in (route or {}).get("reasons") or []:
        m = _BEST.search(str(reason))
        if m:
            return float(m.group(1))
    return None


def _conversation(runtime, session_id: str, channel: str) -> tuple[str, list[str], int]:
    """(this question, earlier questions, answer number) from the stored conversation; the API is stateless
    (its turns arrive in the request), so nothing is known there unless the caller passes the question."""
    if channel == "api" or not session_id:
        return "", [], -1
    try:
        session = runtime.chat.sessions.get(session_id)
    except Exception as exc:  # noqa: BLE001 - a missing conversation only costs the gap report this row
        log.debug("no conversation for %s: %s", session_id[:8], exc)
        return "", [], -1
    users = [m.content for m in session.history if m.role == "user"]
    answers = session.answers
    return (users[-1] if users else ""), users[:-1], answers - 1


def record_turn(runtime, session_id: str, reply, language: str, channel: str, question: str | None = None) -> None:
    """Store one answered message for the insights; failures are logged, never raised."""
    try:
        cfg = runtime.settings.insights
        route = reply.route or {}
        asked, earlier, number = _conversation(runtime, session_id, channel)
        question = question if question is not None else asked
        searched = getattr(reply, "searched", "") or question  # the chat's own rewrite, when it made one
        if question and earlier and searched == question:
            from knowledge_base.questions import with_context

            searched = with_context(question, earlier)
        redactor = runtime.redactor
        if redactor is not None:
            question, searched = (redactor.redact_for("transcripts", t) for t in (question, searched))
        answer = reply.text or ""
        if redactor is not None:
            answer = redactor.redact_for("transcripts", answer)
        cited = [{"chunk_id": c.chunk_id, "source": c.source, "row_id": c.row_id} for c in reply.citations or []]
        retrieved = getattr(reply, "retrieved", None)  # when the chat reports it; else filled on first use
        row = TurnRow(time=utc_now(), session_id=session_id or "", message=number, channel=channel[:16],
                      language=str(route.get("language") or language)[:8], intent=str(route.get("intent", ""))[:64],
                      action=str(route.get("action", ""))[:32], handoff=int(bool(reply.handoff)),
                      ticket_id=getattr(reply, "ticket_id", None), best_score=best_score(route),
                      question=question if cfg.record_questions else "",
                      searched=searched if cfg.record_questions else "", answer=answer[:2000],
                      cited=json.dumps(cited, ensure_ascii=False),
                      retrieved=None if retrieved is None else json.dumps(list(retrieved)),
                      unsure=int(UNSURE in (getattr(reply, "checks", None) or [])))
        with sessions(runtime).begin() as s:
            s.add(row)
        _maybe_prune(runtime)
    except Exception as exc:  # noqa: BLE001 - insights must never cost a customer their answer
        log.warning("could not record the turn for insights: %s", exc)


def _maybe_prune(runtime) -> None:
    days = runtime.settings.storage.retention_days
    if days <= 0:
        return
    with _prune_lock:
        if time.monotonic() - _pruned["at"] < _PRUNE_EVERY_S:
            return
        _pruned["at"] = time.monotonic()
    with sessions(runtime).begin() as s:
        s.execute(delete(TurnRow).where(TurnRow.time < utc_now() - timedelta(days=days)))


def turns_frame(runtime, since: datetime | None = None):
    """Every recorded turn as a DataFrame (one row per answered message), oldest first."""
    import pandas as pd

    cols = [c.name for c in TurnRow.__table__.columns]
    with sessions(runtime)() as s:
        query = select(TurnRow).order_by(TurnRow.time, TurnRow.id)
        if since is not None:
            query = query.where(TurnRow.time >= since)
        rows = s.scalars(query).all()
        data = [[getattr(r, c) for c in cols] for r in rows]
    return pd.DataFrame(data, columns=cols)


def handoff_tickets(runtime):
    """The tickets that handed a conversation to a colleague (session_id, time): the "Talk to a human" button's
    among them, which opens one without an answer of its own, so no recorded turn says so. Not those a 👎 opens
    (insights.ticket_on_bad_rating) nor the order requests waiting for approval: neither hands the conversation
    over."""
    import pandas as pd

    from assistant.handoff import ORDER_REQUEST_KEY, TicketRow
    from assistant.insights.outcomes import RATING_REASON

    cols = ["session_id", "time"]
    with sessions(runtime)() as s:
        rows = s.execute(select(TicketRow.session_id, TicketRow.created_at, TicketRow.reasons,
                                TicketRow.message_key)).all()
    kept = []
    for session_id, created, reasons, key in rows:
        try:
            said = json.loads(reasons or "[]")
        except ValueError:  # a row written by another tool: its reasons say nothing, it still handed over
            said = []
        if str(key or "").startswith(ORDER_REQUEST_KEY) or any(str(r).startswith(RATING_REASON) for r in said):
            continue
        kept.append([session_id, created])
    return pd.DataFrame(kept, columns=cols)


def recorded_questions(runtime) -> int:
    """How many answered messages are recorded: none yet is no "every question was answered"."""
    from sqlalchemy import func

    with sessions(runtime)() as s:
        return int(s.scalar(select(func.count()).select_from(TurnRow)) or 0)


def votes_frame(runtime):
    """app_votes as a DataFrame: session_id, message, time, channel, vote (+1/-1)."""
    import pandas as pd

    from assistant.web.events import VoteRow

    cols = ["session_id", "message", "time", "channel", "vote"]
    with sessions(runtime)() as s:
        rows = s.scalars(select(VoteRow)).all()
        data = [[getattr(r, c) for c in cols] for r in rows]
    return pd.DataFrame(data, columns=cols)


def store_retrieved(runtime, retrieved: dict[int, list[str]]) -> None:
    """Remember what was retrieved for these turns (turn id -> chunk ids)."""
    with sessions(runtime).begin() as s:
        for turn_id, ids in retrieved.items():
            s.execute(update(TurnRow).where(TurnRow.id == int(turn_id)).values(retrieved=json.dumps(ids)))
