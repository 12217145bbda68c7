"""What people replied on the tickets of the gap questions: each ticket belongs to the question it answered (its
conversation's latest gap question asked before it opened), and its reply, note or draft is shown with that
question's group, pre-fills the group's FAQ answer when the question is typical of the group (faq.suggest), and
can merge groups answered alike (grouping.merge_by_replies).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from assistant.insights.gaps import GapGroup

log = logging.getLogger(__name__)

TICKET_SLACK_S = 60.0  # a question that hands off is recorded just after its ticket opens


def reply_text(reply: dict) -> str:
    """A ticket's text as the report shows it: the draft is the assistant's own, never shown as a person's reply."""
    prefix = {"note": "agent's note: ", "draft": "no reply yet; the assistant's draft: "}.get(reply.get("kind", ""), "")
    return prefix + reply["text"]


def _typical_bar(group: GapGroup, lang: str) -> float:
    """How near the label a phrasing in `lang` must be to be typical: the median phrasing's nearness. Of the label
    and one other phrasing, both are: which of the two is the label is a tie, and the median of the label's own 1.0
    and the other's made the other never typical. The other may still be another topic that landed in the group:
    faq.suggest pre-fills the reply nearest the label first, so such a phrasing's reply is not the one chosen."""
    near = [q["near_label"] for q in group.questions if q["lang"] == lang]
    if len(near) == 2 and any(q["question"] == group.label for q in group.questions if q["lang"] == lang):
        return min(near)
    return float(np.median(near))


def read_tickets(queue, session_id: str) -> list:
    """A conversation's tickets; [] (with a warning) when they cannot be read: that only costs a suggestion."""
    try:
        return queue.tickets_for_session(session_id)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("cannot read tickets of %s: %s", str(session_id)[:8], exc)
        return []


def person_text(ticket, drafts: bool = True) -> tuple[str, str]:
    """(kind, text) of what a person wrote on a ticket: the agent's reply, else their note, else the draft they
    had (when `drafts`: it is the assistant's own attempt, which they may have kept); ("", "") when none."""
    for kind, text in (("reply", ticket.agent_reply), ("note", ticket.agent_note),
                       ("draft", ticket.draft_reply if drafts else "")):
        if (text or "").strip():
            return kind, text.strip()
    return "", ""


def attributed_tickets(queue, cands) -> Iterator[tuple[int, object]]:
    """(turn id, ticket) for every ticket of the candidates' conversations. A ticket answers its conversation's
    latest gap question asked before it opened, so a customer's earlier, other questions do not share its reply
    (the first question when the ticket opened before any). A ticket whose transcript ends with a gap question
    (a thumbs-down opens one on the rated answer) answers that one; one ending with a later question answers no
    gap question after it: a vote on an early answer cast later must not give its ticket to a later question."""
    if queue is None or not len(cands):
        return
    for session_id, asked in cands.groupby("session_id", sort=False):
        asked = asked.sort_values("time", kind="stable")
        for t in read_tickets(queue, session_id):
            number, last = _ticket_question(t)
            before = asked
            if number is not None:
                same = asked[(asked.message == number) & (asked.question.str.strip() == last)]
                if len(same):
                    yield int(same.turn_id.iloc[-1]), t
                    continue
                mine = asked[asked.message <= number]
                if len(mine) and (mine.message >= 0).all():  # -1: a turn recorded without its number
                    before = mine
            opened = before.time <= t.created_at + timedelta(seconds=TICKET_SLACK_S)
            yield int(before.turn_id[opened].iloc[-1] if opened.any() else before.turn_id.iloc[0]), t


def _ticket_question(ticket) -> tuple[int | None, str]:
    """(the answer number of the customer message a ticket's transcript ends with, that message); (None, "")
    without a transcript."""
    said = [m.get("content", "") for m in (getattr(ticket, "transcript", None) or []) if m.get("role") == "user"]
    return (len(said) - 1, str(said[-1]).strip()) if said else (None, "")


def ticket_replies(queue, cands, attributed: list | None = None) -> dict[int, list[str]]:
    """What a person wrote on the candidates' tickets: {turn id: texts}, the agent's reply, else their note
    (never the draft: that is the assistant's own attempt). `attributed`: attributed_tickets already read."""
    out: dict[int, list[str]] = {}
    for turn, t in attributed if attributed is not None else attributed_tickets(queue, cands):
        _, text = person_text(t, drafts=False)
        if text:
            out.setdefault(turn, []).append(text)
    return out


def human_replies(queue, cands, group: GapGroup, limit: int | None = 3, attributed: list | None = None) -> list[dict]:
    """What people answered on the tickets of the group's questions: the agent's reply first, then a note, else
    the draft they had. Each says whether the question it answered is `typical` of the group: at least as near
    its label as the median phrasing in that language (_typical_bar). A group can hold a question of another
    topic; a reply to that question answers the other topic, and only typical ones may pre-fill the group's
    answer (faq.suggest).
    `attributed`: attributed_tickets of all the candidates, already read (one read for every group)."""
    phrasing_of = {turn: q for q in group.questions for turn in q["turn_ids"]}
    medians = {lang: _typical_bar(group, lang) for lang in {q["lang"] for q in group.questions}}
    mine = set(group.turn_ids)
    found = []
    if attributed is None:
        attributed = attributed_tickets(queue, cands[cands.session_id.isin(group.session_ids)])
    for turn, t in attributed:
        kind, text = person_text(t)
        if turn not in mine or not text:
            continue
        q = phrasing_of.get(turn)
        found.append({"ticket": t.id, "status": t.status, "text": text, "kind": kind, "updated": t.updated_at,
                      "turn_id": turn, "typical": q is None or q["near_label"] >= medians[q["lang"]] - 1e-9,
                      "near_label": q["near_label"] if q is not None else None})
    found.sort(key=lambda r: (("reply", "note", "draft").index(r["kind"]), r["status"] not in ("resolved", "closed"),
                              -r["updated"].timestamp()))
    return found[:limit] if limit else found
