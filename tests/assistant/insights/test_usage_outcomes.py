"""Usage counts and outcome figures against what really happened (and an independent pandas computation);
votes name their answer; a thumbs-down opens a ticket."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd

from tests.assistant.insights.conftest import ask


def _later():
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2)


def test_turns_are_recorded_with_question_number_and_citations(runtime):
    from assistant.insights.records import turns_frame

    first, sid = ask(runtime, "How much does shipping cost?")
    ask(runtime, "Do you sell gift cards? Call me on 13812345678", sid)
    turns = turns_frame(runtime)
    assert list(turns.message) == [0, 1] and list(turns.action) == ["kb_answer", "decline"]
    assert turns.question[0] == "How much does shipping cost?"
    assert "13812345678" not in turns.question[1]  # redacted like transcripts
    assert json.loads(turns.cited[0])[0]["row_id"] == "ship-cost"
    assert turns.best_score[0] is not None


def test_the_question_the_chat_searched_instead_is_recorded_as_searched(runtime):
    from assistant.insights.records import turns_frame

    reply, _ = ask(runtime, "Where is my parcel?")  # no order system: searched as how to track an order
    assert reply.searched == "How can I track my order?"
    turns = turns_frame(runtime)
    assert turns.question[0] == "Where is my parcel?" and turns.searched[0] == "How can I track my order?"


def test_usage_counts_equal_what_the_lookups_retrieved(runtime):
    from assistant.insights import usage
    from assistant.insights.usage import _faq_chunk

    seen, cited = Counter(), Counter()
    inner = runtime.kb.lookup

    def spy(*a, **kw):
        lookup = inner(*a, **kw)
        ids = ([_faq_chunk(runtime.kb, lookup.faq.source, lookup.faq.row_id)] if lookup.faq
               else [h.chunk_id for h in lookup.hits])
        seen.update(set(ids))
        return lookup

    runtime.kb.lookup = spy
    for q in ["How much does shipping cost?", "how long do I have to return an item", "运费是多少？",
              "How much does shipping cost?", "Do you sell gift cards?",
              "Where is my parcel?"]:  # searched as how to track an order (no order system): counted as searched
        reply, _ = ask(runtime, q)
        cited.update({c.row_id for c in reply.citations})
    runtime.kb.lookup = inner
    result = usage.compute(runtime, progress=False)
    got = {c: n for c, n in zip(result.chunks.chunk_id, result.chunks.retrieved, strict=True) if n}
    assert got == dict(seen)
    by_row = {r: n for r, n in zip(result.chunks.row_id, result.chunks.cited, strict=True) if n}
    assert by_row == {k: v for k, v in cited.items() if k}
    docs = result.documents.set_index("source")
    assert docs.cited.sum() == sum(cited.values()) and result.questions == 6
    assert usage.compute(runtime, progress=False).chunks.retrieved.sum() == result.chunks.retrieved.sum()  # cached
    assert set(result.never_used.row_id) == set(result.chunks.row_id) - set(got_rows(result))


def got_rows(result):
    c = result.chunks
    return set(c.row_id[(c.retrieved > 0) | (c.cited > 0)])


def test_outcomes_equal_a_pandas_computation(runtime):
    from assistant.insights import outcomes
    from assistant.web.customer import vote

    _, resolved = ask(runtime, "How much does shipping cost?")
    ask(runtime, "thanks", resolved)  # small talk after an answer: still resolved
    vote(runtime, resolved, True, "ui", message=0)
    _, abandoned = ask(runtime, "Do you sell gift cards?")
    _, handed = ask(runtime, "Do you sell gift cards?")
    ask(runtime, "I want a human", handed)
    _, unhappy = ask(runtime, "运费是多少？")
    vote(runtime, unhappy, False, "ui", message=0)  # an answer rated bad is not a resolution

    result = outcomes.compute(runtime, now=_later())
    engine = runtime.storage_engine
    turns = pd.read_sql("SELECT * FROM insights_turns", engine, parse_dates=["time"])
    votes = pd.read_sql("SELECT * FROM app_votes", engine)
    expected = {resolved: "resolved", abandoned: "abandoned", handed: "handed_off", unhappy: "abandoned"}
    got = dict(zip(result.conversations.session_id, result.conversations.outcome, strict=True))
    assert got == expected
    # the same figures, computed here straight from the tables
    last = turns.sort_values("time").groupby("session_id").time.max()
    assert len(last) == result.by_day.conversations.sum() == 4
    day = turns.time.min().tz_localize("UTC").tz_convert(runtime.settings.shop.timezone).strftime("%Y-%m-%d")
    assert result.by_day.loc[day, ["resolved", "handed_off", "abandoned"]].tolist() == [1, 1, 2]
    assert result.by_day.loc[day, "resolution_rate"] == 0.25
    assert result.summary["csat"] == (votes.vote > 0).mean() == 0.5
    intents = result.by_intent
    assert intents.loc["shipping", "conversations"] == 2 and intents.loc["product_question", "handed_off"] == 1
    by_intent = result.csat_by_intent
    assert by_intent.loc["shipping", "votes"] == 2 and by_intent.loc["shipping", "csat"] == 0.5
    ongoing = outcomes.compute(runtime).summary  # just now: every conversation is still going on
    assert ongoing["ongoing"] == 4 and ongoing["resolution_rate"] is None


def test_a_thumbs_down_opens_a_ticket_and_a_gap(runtime):
    from assistant.insights import gaps
    from assistant.web.customer import vote

    _, sid = ask(runtime, "How much does shipping cost?")
    vote(runtime, sid, False, "ui", message=0)
    tickets = runtime.handoff.tickets_for_session(sid)
    assert len(tickets) == 1 and "rated answer 1 as bad" in tickets[0].reasons[0]
    assert gaps.compute(runtime)[0].reasons == {"rated bad": 1}


def test_no_ticket_when_switched_off(tmp_path, monkeypatch):
    from assistant.web.customer import vote
    from tests.assistant.insights.conftest import make_runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    runtime = make_runtime(tmp_path, insights={"ticket_on_bad_rating": False})
    _, sid = ask(runtime, "How much does shipping cost?")
    vote(runtime, sid, False, "ui", message=0)
    assert runtime.handoff.tickets_for_session(sid) == []


def test_outcome_csv_and_plots(runtime, tmp_path):
    from assistant.insights import outcomes, plots

    _, sid = ask(runtime, "How much does shipping cost?")
    result = outcomes.compute(runtime, now=_later())
    paths = outcomes.export_csv(result, tmp_path / "csv")
    assert [p.name for p in paths][0] == "outcomes_by_day.csv"
    assert "resolved" in paths[0].read_text(encoding="utf-8-sig")
    for fig in (plots.outcomes_by_day(result.by_day), plots.outcomes_by_intent(result.by_intent),
                plots.csat_trend(result.csat_by_day, None)):
        fig.savefig(tmp_path / "x.png")


def test_csat_trend_slope():
    from assistant.insights.outcomes import csat_trend

    days = pd.DataFrame({"up": [1, 2, 3], "down": [3, 2, 1], "votes": [4, 4, 4], "csat": [0.25, 0.5, 0.75]},
                        index=["2026-05-01", "2026-05-02", "2026-05-03"])
    assert abs(csat_trend(days) - 0.25) < 1e-9
    assert csat_trend(days.iloc[:1]) is None


def test_recorded_questions_follow_the_retention_period(runtime):
    from assistant.insights import records

    ask(runtime, "How much does shipping cost?")
    with records.sessions(runtime).begin() as s:
        s.add(records.TurnRow(time=datetime(2000, 1, 1), session_id="old", question="an old question"))
    records._pruned["at"] = -records._PRUNE_EVERY_S  # as if the last pruning was long ago
    records._maybe_prune(runtime)
    assert list(records.turns_frame(runtime).question) == ["How much does shipping cost?"]


def test_questions_are_not_kept_when_switched_off(tmp_path, monkeypatch):
    from assistant.insights.records import turns_frame
    from tests.assistant.insights.conftest import make_runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    runtime = make_runtime(tmp_path, insights={"record_questions": False})
    ask(runtime, "Do you sell gift cards?")
    turns = turns_frame(runtime)
    assert list(turns.action) == ["decline"] and list(turns.question) == [""]


def test_the_7_day_csat_counts_7_calendar_days():
    # A rolling window of 7 rows reached back a month on a shop that gets a vote a week.
    from assistant.insights.outcomes import csat_last_7_days

    days = pd.DataFrame({"up": [1, 0, 0, 1], "down": [0, 1, 1, 0], "votes": [1, 1, 1, 1]},
                        index=["2026-05-01", "2026-05-11", "2026-05-31", "2026-06-03"])
    assert list(csat_last_7_days(days)) == [1.0, 0.0, 0.0, 0.5]


def test_a_thumbs_down_on_an_earlier_answer_opens_its_ticket_on_that_question(runtime):
    # Rating answer 1 after a second question had drafted the second answer on the ticket, and the gap report
    # showed that draft under the first question.
    from assistant.insights import gaps
    from assistant.web.customer import vote

    _, sid = ask(runtime, "Do you sell gift cards?")
    ask(runtime, "How much does shipping cost?", session_id=sid)
    vote(runtime, sid, False, "ui", message=0)
    (ticket,) = runtime.handoff.tickets_for_session(sid)
    assert [m["content"] for m in ticket.transcript if m["role"] == "user"] == ["Do you sell gift cards?"]
    assert any(g.label == "Do you sell gift cards?" for g in gaps.compute(runtime))


def test_a_ticket_answers_the_question_its_transcript_ends_with():
    from types import SimpleNamespace

    from assistant.insights.gaps import attributed_tickets

    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    cands = pd.DataFrame({"turn_id": [1, 2], "time": [t0, t0 + timedelta(minutes=1)], "session_id": ["s", "s"],
                          "question": ["运费是多少？", "可以退货吗？"], "message": [0, 1]})

    def ticket(said, minutes):
        transcript = [m for q in said for m in ({"role": "user", "content": q}, {"role": "assistant", "content": "…"})]
        return SimpleNamespace(transcript=transcript, created_at=t0 + timedelta(minutes=minutes))

    class Queue:
        def __init__(self, tickets):
            self.tickets = tickets

        def tickets_for_session(self, session_id):
            return self.tickets

    # a thumbs-down on the first answer, cast after the second question: the first question's ticket
    rated = ticket(["运费是多少？"], 5)
    assert [turn for turn, _ in attributed_tickets(Queue([rated]), cands)] == [1]
    # a handoff after both: the latest gap question before it opened, as before
    later = ticket(["运费是多少？", "可以退货吗？", "转人工"], 5)
    assert [turn for turn, _ in attributed_tickets(Queue([later]), cands)] == [2]


def test_days_are_the_shops_calendar_days():
    """A Beijing shop's conversation at 07:30 on 2 May is 23:30 on 1 May in UTC: it counts under 2 May, and so does
    a rating cast then; a UTC shop counts both under 1 May."""
    from assistant.insights import outcomes

    at = datetime(2026, 5, 1, 23, 30)
    turns = pd.DataFrame({"id": [1], "time": [at], "session_id": ["s1"], "message": [0], "channel": ["widget"],
                          "intent": ["shipping"], "action": ["kb_answer"], "handoff": [0]})
    votes = pd.DataFrame({"session_id": ["s1"], "message": [0], "time": [at], "vote": [1]})
    later = at + timedelta(days=1)
    for tz, day in (("Asia/Shanghai", "2026-05-02"), ("UTC", "2026-05-01"), ("America/New_York", "2026-05-01")):
        conv = outcomes.conversation_outcomes(turns, votes, now=later, timezone=tz)
        assert conv.day.tolist() == [day]
        assert outcomes._csat(votes, turns, "day", tz).index.tolist() == [day]


def test_a_timezone_that_does_not_exist_is_a_config_error():
    import pytest

    from assistant.errors import ConfigError
    from assistant.shop import ShopConfig

    assert ShopConfig(timezone="Asia/Shanghai").timezone == "Asia/Shanghai"
    with pytest.raises(ConfigError, match="IANA time zone"):
        ShopConfig(timezone="Beijing")
