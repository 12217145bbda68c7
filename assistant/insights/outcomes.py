"""How conversations end, per day and per intent (resolved by the assistant, handed off, abandoned), and CSAT
from explicit ratings: each vote names the answer it is for, so it is counted under that answer's intent
and action, and under the day it was cast. A thumbs-down can open a ticket (`insights.ticket_on_bad_rating`).

Definitions (docs/insights.md): a conversation is one session of the UI or widget (the stateless API has no
conversations). It is *handed off* when any answer handed off; else *resolved* when its last message that
was not small talk got an answer (not a decline, clarification, fallback or refusal) that was not rated 👎;
else *abandoned*. A hand-off is an answer that handed off or a ticket the customer asked for with the "Talk to a
human" button. A conversation with activity in the last `abandon_after_minutes` is *ongoing* and in no share
(`handed_off` says whether it was handed off already). Its day is the day it began; its intent is that of its
first message that is not small talk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.storage import utc_now

log = logging.getLogger(__name__)

# The order desk's questions back (the order number, the e-mail to verify it) answer nothing yet: a customer who
# leaves there abandoned, and counting them resolved made every unfinished order question a success.
UNANSWERED = ("decline", "clarify", "fallback", "refuse", "order_ask", "order_verify")
RATING_REASON = "the customer rated answer "  # how a 👎's ticket states its reason (ticket_for_bad_rating)
OUTCOMES = ("resolved", "handed_off", "abandoned")


@dataclass
class Outcomes:
    conversations: object  # DataFrame: one row per conversation (session_id, day, intent, outcome, turns, ...)
    by_day: object  # DataFrame indexed by day: conversations, resolved, handed_off, abandoned, ongoing, rates
    by_intent: object  # the same, indexed by intent
    csat_by_day: object  # DataFrame indexed by day: up, down, votes, csat, csat_7d
    csat_by_intent: object
    summary: dict = field(default_factory=dict)


def local_days(times, timezone: str = "UTC"):
    """The shop's calendar day ("YYYY-MM-DD") of each stored time (UTC, naive): a Beijing shop's conversation at
    07:30 on 2 May is 23:30 on 1 May in UTC, and counted under 1 May its daily figures were split at 08:00."""
    import pandas as pd

    times = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    return times.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.strftime("%Y-%m-%d")


def conversation_outcomes(turns, votes, now: datetime | None = None, abandon_after_minutes: float = 30.0,
                          small_talk: tuple[str, ...] = ("small_talk",), timezone: str = "UTC", handoffs=None):
    """One row per conversation from the turns (insights_turns) and votes (app_votes) frames; its day is the day
    it began in `timezone` (the shop's). `handoffs`: the tickets that handed a conversation over
    (records.handoff_tickets), the "Talk to a human" button's among them."""
    import pandas as pd

    now = now or utc_now()
    cols = ["session_id", "channel", "day", "intent", "outcome", "handed_off", "turns", "started", "last"]
    t = turns[turns.channel != "api"] if len(turns) else turns
    if not len(t):
        return pd.DataFrame(columns=cols)
    down = set()
    if len(votes):
        down = {(s, int(m)) for s, m, v in zip(votes.session_id, votes.message, votes.vote, strict=True) if v < 0}
    handed = set(handoffs.session_id) if handoffs is not None and len(handoffs) else set()
    rows = []
    for session_id, g in t.sort_values(["time", "id"], kind="stable").groupby("session_id", sort=False):
        substantive = g[~g.action.isin(small_talk)]
        if session_id in handed or g.handoff.astype(bool).any() or (g.action == "handoff").any():
            outcome = "handed_off"
        elif len(substantive) and substantive.action.iloc[-1] not in UNANSWERED and \
                (session_id, int(substantive.message.iloc[-1])) not in down:
            outcome = "resolved"
        else:
            outcome = "abandoned"
        # Every outcome waits for the conversation to go quiet, a hand-off too: counted at once, hand-offs would
        # make the share of the last half hour look worse than it is (resolutions wait, hand-offs would not).
        handed_off = outcome == "handed_off"
        if g.time.iloc[-1] > now - timedelta(minutes=abandon_after_minutes):
            outcome = "ongoing"
        intents = [i for i, a in zip(g.intent, g.action, strict=True) if a not in small_talk and i]
        rows.append([session_id, g.channel.iloc[0], "",  # the day: converted for all conversations at once below
                     intents[0] if intents else (g.intent.iloc[0] or "unknown"), outcome, handed_off, len(g),
                     g.time.iloc[0], g.time.iloc[-1]])
    frame = pd.DataFrame(rows, columns=cols)
    frame["day"] = local_days(frame.started, timezone).to_numpy()
    return frame


def _table(conversations, key: str):
    import pandas as pd

    if not len(conversations):
        return pd.DataFrame(columns=["conversations", *OUTCOMES, "ongoing", "resolution_rate", "handoff_rate",
                                     "abandon_rate"])
    counts = pd.crosstab(conversations[key], conversations.outcome)
    for name in (*OUTCOMES, "ongoing"):
        if name not in counts:
            counts[name] = 0
    table = counts[[*OUTCOMES, "ongoing"]].copy()
    table.insert(0, "conversations", table.sum(axis=1))
    finished = table[list(OUTCOMES)].sum(axis=1).replace(0, float("nan"))
    table["resolution_rate"] = table.resolved / finished
    table["handoff_rate"] = table.handed_off / finished
    table["abandon_rate"] = table.abandoned / finished
    table.columns.name = None
    return table.sort_index()


def _csat(votes, turns, key: str, timezone: str = "UTC"):
    """Votes joined to the answers they rate (session, answer number), counted per `key` (a day in `timezone`)."""
    import pandas as pd

    cols = ["up", "down", "votes", "csat"]
    if not len(votes):
        return pd.DataFrame(columns=cols)
    v = votes.copy()
    v["day"] = local_days(v.time, timezone).to_numpy()
    if key != "day":
        rated = turns[["session_id", "message", key]].drop_duplicates(["session_id", "message"], keep="last") \
            if len(turns) else pd.DataFrame(columns=["session_id", "message", key])
        v = v.merge(rated, on=["session_id", "message"], how="left")
        v[key] = v[key].fillna("unknown").replace("", "unknown")
    table = v.groupby(key).vote.agg(up=lambda x: int((x > 0).sum()), down=lambda x: int((x < 0).sum()))
    table["votes"] = table.up + table.down
    table["csat"] = table.up / table.votes
    table.index.name = key
    return table.sort_index()


def compute(runtime, now: datetime | None = None) -> Outcomes:
    from assistant.insights.records import handoff_tickets, turns_frame, votes_frame

    cfg = runtime.settings.insights
    turns, votes = turns_frame(runtime), votes_frame(runtime)
    small_talk = ("small_talk",)
    tz = runtime.settings.shop.timezone
    conv = conversation_outcomes(turns, votes, now, cfg.abandon_after_minutes, small_talk, tz,
                                 handoffs=handoff_tickets(runtime))
    by_day, by_intent = _table(conv, "day"), _table(conv, "intent")
    csat_day, csat_intent = _csat(votes, turns, "day", tz), _csat(votes, turns, "intent")
    if len(csat_day):
        csat_day["csat_7d"] = csat_last_7_days(csat_day)
    finished = conv[conv.outcome != "ongoing"] if len(conv) else conv
    up, down = int((votes.vote > 0).sum()) if len(votes) else 0, int((votes.vote < 0).sum()) if len(votes) else 0
    summary = {"conversations": int(len(conv)), "finished": int(len(finished)),
               **{name: int((conv.outcome == name).sum()) if len(conv) else 0 for name in (*OUTCOMES, "ongoing")},
               # the agents have these already: "handed off 0" read as none while the queue held their tickets
               "ongoing_handed_off": int(((conv.outcome == "ongoing") & conv.handed_off).sum()) if len(conv) else 0,
               "resolution_rate": float((finished.outcome == "resolved").mean()) if len(finished) else None,
               "thumbs_up": up, "thumbs_down": down, "csat": up / (up + down) if up + down else None,
               "csat_trend_per_day": csat_trend(csat_day)}
    return Outcomes(conv, by_day, by_intent, csat_day, csat_intent, summary)


def ongoing_text(summary: dict) -> str:
    """"5 ongoing", or "5 ongoing, 2 of them handed off already": the hand-offs the agents' queue holds now."""
    handed = summary.get("ongoing_handed_off", 0)
    return f"{summary['ongoing']} ongoing" + (f", {handed} of them handed off already" if handed else "")


def csat_last_7_days(csat_by_day):
    """Each day's CSAT over the 7 calendar days ending that day (days without votes count as none, not as a
    place in the window: a rolling window of 7 rows reached back a month on a quiet shop)."""
    import pandas as pd

    dated = csat_by_day[["up", "votes"]].set_index(pd.to_datetime(pd.Series(csat_by_day.index)))
    window = dated.rolling("7D").sum()
    return (window.up / window.votes).to_numpy()


def csat_trend(csat_by_day) -> float | None:
    """Change of daily CSAT per day (least squares, weighted by votes); None with fewer than 2 days."""
    import numpy as np
    import pandas as pd

    if len(csat_by_day) < 2:
        return None
    days = pd.to_datetime(pd.Series(csat_by_day.index))
    x = ((days - days.iloc[0]).dt.days).to_numpy(dtype=float)
    if np.ptp(x) == 0:
        return None
    slope = np.polyfit(x, csat_by_day.csat.to_numpy(dtype=float), 1, w=np.sqrt(csat_by_day.votes.to_numpy(float)))
    return float(slope[0])


def export_csv(result: Outcomes, folder) -> list:
    """by_day.csv, by_intent.csv, csat_by_day.csv, csat_by_intent.csv, conversations.csv (UTF-8 with BOM so
    Excel reads Chinese intents); returns the paths."""
    from pathlib import Path

    from assistant.tables import spreadsheet_safe

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("by_day", "by_intent", "csat_by_day", "csat_by_intent", "conversations"):
        path = folder / f"outcomes_{name}.csv"
        frame = spreadsheet_safe(getattr(result, name))
        frame.to_csv(path, index=name != "conversations", encoding="utf-8-sig")
        paths.append(path)
    return paths


def rated_part(history: list[dict], message: int) -> list[dict]:
    """The conversation up to the rated answer (`message`: its number, 0 = the first): the ticket, its draft and
    the gap report are about the question that answer was for, not the customer's latest one."""
    answers = 0
    for i, m in enumerate(history):
        if m.get("role") == "assistant":
            if answers == message:
                return history[:i + 1]
            answers += 1
    return history


def ticket_for_bad_rating(runtime, session_id: str, message: int):
    """A thumbs-down opens (or joins) the conversation's handoff ticket; never raises."""
    try:
        if not runtime.settings.insights.ticket_on_bad_rating or not session_id:
            return None
        from assistant.handoff import open_ticket

        queue = runtime.handoff
        if queue is None:
            return None
        session = runtime.chat.sessions.get(session_id)
        history = [m.as_dict() for m in session.history]
        if queue.waiting_ticket(session_id) is None:  # a waiting ticket is joined with what was said since
            # `message` counts every answer of the conversation; the history kept starts after earlier_answers
            history = rated_part(history, message - getattr(session, "earlier_answers", 0))
        language = runtime.shop.language_of_conversation([m["content"] for m in history if m["role"] == "user"])
        redactor = runtime.redactor
        if redactor is not None:
            history = [{**m, "content": redactor.redact_for("tickets", m["content"])} for m in history]
        ticket = open_ticket(queue, session_id, history, kb=runtime.kb, shop=runtime.shop,
                             sentiment="negative", sentiment_score=1.0,
                             reasons=[f"{RATING_REASON}{message + 1} as bad (thumbs down)"],
                             language=language, router_cfg=runtime.settings.router)
        return ticket
    except Exception as exc:  # noqa: BLE001 - a vote is recorded whatever happens to the ticket
        log.warning("could not open a ticket for a bad rating: %s", exc)
        return None
