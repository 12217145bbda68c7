"""Conversation events for the Analytics tab: one row per answered customer message and per thumbs vote.

Only labels are kept here (intent, sentiment, language, action, handoff, vote), never the message text, so the
analytics need no redaction; the question of each answer, redacted like transcripts, goes to
`assistant.insights.records` (knowledge gaps; `insights.record_questions: false` keeps it out).
Writing an event never breaks a chat: failures are logged and dropped. Votes
live in their own table keyed by (session, answer number), so each answer holds at most one vote. Old rows go
after `storage.retention_days` (`runtime.retention`, checked as events are written).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.storage import Base, insert_or_replace, runtime_sessions, utc_now

log = logging.getLogger(__name__)


class ChatEventRow(Base):
    __tablename__ = "app_chat_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC, naive (SQLite keeps no zone)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # "answer" | "vote"
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="")  # ui | widget | api
    intent: Mapped[str] = mapped_column(String(64), default="")
    sentiment: Mapped[str] = mapped_column(String(32), default="")
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str] = mapped_column(String(8), default="")
    action: Mapped[str] = mapped_column(String(32), default="")
    handoff: Mapped[int] = mapped_column(Integer, default=0)
    vote: Mapped[int] = mapped_column(Integer, default=0)  # +1 / -1 for kind == "vote"


class VoteRow(Base):
    """One thumbs up/down per answer: a second vote on the same answer replaces the first."""

    __tablename__ = "app_votes"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message: Mapped[int] = mapped_column(Integer, primary_key=True)  # the answer's number in the conversation
    time: Mapped[datetime] = mapped_column(DateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="")
    vote: Mapped[int] = mapped_column(Integer, default=0)


def _factory(runtime):
    return runtime_sessions(runtime, "event_sessions")



def record_answer(runtime, session_id: str, reply, language: str, channel: str, question: str | None = None) -> None:
    """The labels here; the question, its number, citations (redacted) for the insights (assistant.insights)."""
    route = reply.route or {}
    row = ChatEventRow(time=utc_now(), kind="answer", session_id=session_id, channel=channel,
                       intent=str(route.get("intent", ""))[:64], sentiment=str(route.get("sentiment", ""))[:32],
                       sentiment_score=float(route.get("sentiment_score") or 0.0),
                       language=str(route.get("language") or language)[:8], action=str(route.get("action", ""))[:32],
                       handoff=int(bool(reply.handoff)))
    _add(runtime, row)
    from assistant.insights.records import record_turn

    record_turn(runtime, session_id, reply, language, channel, question)


def record_vote(runtime, session_id: str | None, vote: int, channel: str = "ui", message: int = 0) -> None:
    row = {"session_id": session_id or "", "message": int(message), "time": utc_now(), "channel": channel,
           "vote": 1 if vote > 0 else -1}
    try:
        with _factory(runtime).begin() as s:
            insert_or_replace(s, VoteRow, row)
    except Exception as exc:  # noqa: BLE001 - a lost vote must never cost a customer their chat
        log.warning("could not record a vote: %s", exc)
        return
    if vote < 0:
        from assistant.insights.outcomes import ticket_for_bad_rating

        ticket_for_bad_rating(runtime, session_id or "", int(message))


def _add(runtime, row: ChatEventRow) -> None:
    try:
        with _factory(runtime).begin() as s:
            s.add(row)
    except Exception as exc:  # noqa: BLE001 - analytics must never cost a customer their answer
        log.warning("could not record a chat event: %s", exc)
    runtime.retention.maybe_prune()


def events_frame(runtime):
    """All events as a DataFrame (columns as in the table); empty frame when there are none."""
    import pandas as pd

    cols = ["time", "kind", "session_id", "channel", "intent", "sentiment", "sentiment_score", "language",
            "action", "handoff", "vote"]
    with _factory(runtime)() as s:
        rows = s.scalars(select(ChatEventRow).order_by(ChatEventRow.time)).all()
        data = [[getattr(r, c) for c in cols] for r in rows]
        votes = s.scalars(select(VoteRow)).all()
        data += [[v.time, "vote", v.session_id, v.channel, "", "", 0.0, "", "", 0, v.vote] for v in votes]
    return pd.DataFrame(data, columns=cols).sort_values("time", kind="stable").reset_index(drop=True)


def summary(runtime) -> dict:
    """Intent mix, sentiment by day, handoff rate and CSAT (share of thumbs up) as plain numbers."""
    df = events_frame(runtime)
    answers, votes = df[df.kind == "answer"], df[df.kind == "vote"]
    up, down = int((votes.vote > 0).sum()), int((votes.vote < 0).sum())
    by_day = {}
    if len(answers):
        days = answers.assign(day=answers["time"].dt.strftime("%Y-%m-%d"))
        by_day = {day: g.sentiment.value_counts().to_dict() for day, g in days.groupby("day")}
    return {
        "messages": int(len(answers)),
        "sessions": int(answers.session_id.nunique()) if len(answers) else 0,
        "intent_mix": answers.intent.replace("", "unknown").value_counts().to_dict(),
        "language_mix": answers.language.replace("", "unknown").value_counts().to_dict(),
        "sentiment_by_day": by_day,
        "handoff_rate": float(answers.handoff.mean()) if len(answers) else None,
        "thumbs_up": up, "thumbs_down": down,
        "csat": up / (up + down) if up + down else None,
    }
