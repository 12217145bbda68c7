"""Which customer phrasings go out with a gap answer: a phrasing an existing FAQ answer suits better is left
unticked, not published, and stays on the gap list; the reviewer's ticks win; the settings are checked."""

from __future__ import annotations

import pytest

from tests.assistant.insights.conftest import ask

GIFT = [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, gift cards from ¥100, valid 3 years."}]
ON_TOPIC = {"lang": "en", "question": "can I buy gift cards for a friend", "turn_ids": [101]}
# Grouped with the gift-card questions by mistake: the shop's shipping row answers it far better.
STRAY = {"lang": "en", "question": "how much does shipping cost to Beijing", "turn_ids": [102, 103]}


def test_fit_ranks_the_stray_phrasing_below_the_on_topic_one(runtime):
    from assistant.insights.phrasings import phrasing_fit

    on_topic, stray = phrasing_fit(runtime.kb, GIFT, [ON_TOPIC, STRAY])
    assert on_topic > 0 > stray
    assert on_topic - stray > 0.3


def test_default_ticks_follow_the_configured_fit(runtime):
    from assistant.insights.phrasings import tick

    ticked = tick(runtime.kb, GIFT, [ON_TOPIC, STRAY], runtime.settings.insights.variant_min_fit)
    assert [v["keep"] for v in ticked] == [True, False]
    assert ticked[1]["turn_ids"] == [102, 103] and isinstance(ticked[1]["fit"], float)
    # at -1 nothing is too far: every phrasing is ticked (what was published before the check)
    assert all(v["keep"] for v in tick(runtime.kb, GIFT, [ON_TOPIC, STRAY], -1.0))
    # without a knowledge base there is nothing to compare with: every phrasing stays ticked
    assert [v["keep"] for v in tick(None, GIFT, [ON_TOPIC, STRAY], 0.5)] == [True, True]


def test_a_phrasing_that_comes_scored_is_not_scored_again():
    from assistant.insights.phrasings import tick

    # other_questions hands over its fit; without a knowledge base to score with, the fit still decides the tick
    scored = {**ON_TOPIC, "fit": -0.5, "other": True}
    assert [(v["keep"], v["fit"]) for v in tick(None, GIFT, [scored, STRAY], -0.01)] == [(False, -0.5), (True, None)]


def ReaderOf(*odds):  # noqa: N802 - reads as the thing it builds
    """The second reader on a FakeBackend whose replies are the log odds, one per phrasing read."""
    from assistant.llm.fake import FakeBackend
    from knowledge_base.second_reading import Verifier

    return Verifier(FakeBackend([str(o) for o in odds]), "Does the TEXT state it? YES or NO")


def test_the_reader_unticks_a_phrasing_the_fit_would_tick(runtime):
    """"pause my food box" grouped with the newsletter's unsubscribe answer: both were gaps, so no passage suited it
    better and the fit ticked it. The reader reads each phrasing the fit ticks against the new answer."""
    from assistant.insights.phrasings import tick

    other = {"lang": "en", "question": "can I pause my monthly food box", "turn_ids": [104]}
    reader = ReaderOf(2.5, -3.0)
    ticked = tick(runtime.kb, GIFT, [ON_TOPIC, other], -1.0, reader, -1.0)
    assert [v["keep"] for v in ticked] == [True, False] and [v["reading"] for v in ticked] == [2.5, -3.0]
    # the reader read the answer row against the phrasing, with the second reading's own prompt
    prompt = reader.backend.last_prompt
    assert prompt[0].content == reader.prompt and "gift cards from ¥100" in prompt[1].content
    assert "can I pause my monthly food box" in prompt[1].content
    # a phrasing the fit already unticked is not read; nor is the answer's own question; no reader, no reading
    reader = ReaderOf(4.0)
    same = {"lang": "en", "question": "do you sell gift cards", "turn_ids": [7]}
    ticked = tick(runtime.kb, GIFT, [STRAY, same, ON_TOPIC], runtime.settings.insights.variant_min_fit, reader, -1.0)
    assert [v["keep"] for v in ticked] == [False, True, True] and len(reader.backend.calls) == 1
    assert all("reading" not in v for v in tick(runtime.kb, GIFT, [ON_TOPIC], -1.0, None, -1.0))


def test_a_failed_reading_leaves_the_fits_tick(runtime):
    from assistant.insights.phrasings import tick

    reader = ReaderOf()

    def gone(messages, **opts):
        raise RuntimeError("model gone")

    reader.backend.yes_log_odds = gone
    assert tick(runtime.kb, GIFT, [ON_TOPIC], -1.0, reader, -1.0)[0]["keep"]


def test_propose_reads_with_the_runtimes_reader_when_configured(runtime):
    from assistant.insights import faq

    other = {"lang": "en", "question": "can I pause my monthly food box", "turn_ids": [104]}
    runtime.component("phrasing_reader", lambda: ReaderOf(3.0, -2.0))
    runtime.settings.insights.variant_min_reading = -1.0
    p = faq.propose(runtime, GIFT, [101, 104], by="agent", variants=[ON_TOPIC, other])
    assert [v["keep"] for v in p.variants] == [True, False]
    runtime.settings.insights.variant_min_reading = None  # off (the default): the fit alone
    p = faq.propose(runtime, GIFT, [101, 104], by="agent", variants=[ON_TOPIC, other])
    assert [v["keep"] for v in p.variants] == [True, True] and "reading" not in p.variants[1]


def test_the_answers_own_question_is_never_unticked(runtime):
    from assistant.insights.phrasings import tick

    same = {"lang": "en", "question": "do you sell gift cards", "turn_ids": [7]}
    assert tick(runtime.kb, GIFT, [same], 1.0)[0]["keep"]  # the row itself answers it, whatever the threshold


def test_unticked_phrasings_are_not_published_and_stay_gaps(runtime):
    from assistant.insights import faq, gaps

    for text in ("Do you sell gift cards?", "can I buy gift cards for a friend", STRAY["question"] + " moon base"):
        reply, _ = ask(runtime, text)
        assert reply.route["action"] != "kb_answer"  # all three are gaps (the last one fell below the threshold)
    groups = gaps.compute(runtime)
    turn_ids = [t for g in groups for t in g.turn_ids]
    variants = [q for g in groups for q in g.questions]  # as if all three had landed in one group
    assert sorted(t for q in variants for t in q["turn_ids"]) == sorted(turn_ids)  # each phrasing knows its turns
    p = faq.propose(runtime, GIFT, turn_ids, by="agent", variants=variants)
    unticked = [v["question"] for v in p.variants if not v["keep"]]
    assert unticked == [STRAY["question"] + " moon base"]
    faq.publish(runtime, p.id, by="admin")
    table = open(runtime.settings.insights.faq_file, encoding="utf-8").read()
    assert "moon base" not in table and "can I buy gift cards for a friend" in table
    left = [q["question"] for g in gaps.compute(runtime) for q in g.questions]
    assert left == unticked  # the unticked question is still a gap; the answered ones left the list


def test_the_reviewers_ticks_replace_the_defaults(runtime):
    from assistant.insights import faq

    p = faq.propose(runtime, GIFT, [101, 102, 103], variants=[ON_TOPIC, STRAY])
    assert [v["keep"] for v in p.variants] == [True, False]
    published, _ = faq.publish(runtime, p.id, keep=[STRAY["question"]])  # the reviewer ticks the other one
    assert [v["keep"] for v in published.variants] == [False, True]
    table = open(runtime.settings.insights.faq_file, encoding="utf-8").read()
    assert STRAY["question"] in table and ON_TOPIC["question"] not in table
    assert faq.answered_turns(runtime) == {102, 103}


def test_a_draft_never_prefills_the_answer():
    from datetime import datetime

    from assistant.insights.faq import suggest
    from assistant.insights.gaps import GapGroup

    now = datetime(2026, 1, 1)
    group = GapGroup("k", "Do you sell gift cards?", 1, 1, 1.0, now, now, {"en": 1}, {"declined": 1}, [], [1],
                     ["s"], human_replies=[{"text": "Returns are free within 30 days.", "kind": "draft"}])
    assert suggest(group)[0]["answer"] == ""
    group.human_replies.append({"text": "Yes, from ¥100.", "kind": "note"})
    assert suggest(group)[0]["answer"] == "Yes, from ¥100."


@pytest.mark.parametrize("value", [-1.5, 2.0])
def test_variant_min_fit_is_validated(value):
    from assistant.errors import ConfigError
    from assistant.insights.config import InsightsConfig

    with pytest.raises(ConfigError, match="variant_min_fit"):
        InsightsConfig(variant_min_fit=value)


@pytest.mark.parametrize("value", [-25.0, 21.0])
def test_variant_min_reading_is_validated(value):
    from assistant.errors import ConfigError
    from assistant.insights.config import InsightsConfig

    with pytest.raises(ConfigError, match="variant_min_reading"):
        InsightsConfig(variant_min_reading=value)
    assert InsightsConfig(variant_min_reading=None).variant_min_reading is None


def test_the_other_languages_question_is_the_phrasing_nearest_the_label():
    from datetime import datetime

    from assistant.insights.faq import suggest
    from assistant.insights.gaps import GapGroup

    now = datetime(2026, 1, 1)
    questions = [{"question": "我的快递到哪了", "lang": "zh", "turn_ids": [3], "near_label": 0.71},  # the latest
                 {"question": "要几天才能送到", "lang": "zh", "turn_ids": [2], "near_label": 0.83},
                 {"question": "How many days until it arrives?", "lang": "en", "turn_ids": [1], "near_label": 1.0}]
    group = GapGroup("k", "How many days until it arrives?", 3, 3, 3.0, now, now, {"en": 1, "zh": 2},
                     {"declined": 3}, [], [1, 2, 3], ["a", "b", "c"], questions=questions)
    rows = suggest(group)
    assert [r["question"] for r in rows] == ["How many days until it arrives?", "要几天才能送到"]


class _Tickets:
    """A handoff queue with fixed tickets per conversation."""

    def __init__(self, by_session):
        self.by_session = by_session

    def tickets_for_session(self, session_id):
        return self.by_session.get(session_id, [])


def _ticket(tid, opened, reply="", note="", draft=""):
    from types import SimpleNamespace

    return SimpleNamespace(id=tid, created_at=opened, updated_at=opened, status="resolved", agent_reply=reply,
                           agent_note=note, draft_reply=draft)


def test_a_reply_to_an_atypical_question_of_the_group_is_shown_but_never_prefills():
    """A group can hold a question of another topic; the reply on that question's ticket answers the other topic:
    it is shown, but only a reply to one of the group's typical questions pre-fills the one-click answer. A ticket
    of the same conversation that answers a question outside the group is not the group's."""
    from datetime import datetime, timedelta

    import pandas as pd

    from assistant.insights.faq import suggest
    from assistant.insights.gaps import GapGroup, human_replies

    t0 = datetime(2026, 1, 1)
    cands = pd.DataFrame([
        {"turn_id": 1, "session_id": "a", "time": t0, "question": "Do you sell gift cards?"},
        {"turn_id": 2, "session_id": "b", "time": t0, "question": "can I buy a gift card"},
        {"turn_id": 3, "session_id": "c", "time": t0, "question": "how much is shipping to Beijing"},
        {"turn_id": 4, "session_id": "c", "time": t0 + timedelta(hours=1), "question": "is there parking?"},
    ])
    group = GapGroup("k", "Do you sell gift cards?", 3, 3, 1.0, t0, t0, {"en": 3}, {"declined": 3}, [], [1, 2, 3],
                     ["a", "b", "c"], questions=[
                         {"question": "Do you sell gift cards?", "lang": "en", "turn_ids": [1], "near_label": 1.0},
                         {"question": "can I buy a gift card", "lang": "en", "turn_ids": [2], "near_label": 0.9},
                         {"question": "how much is shipping to Beijing", "lang": "en", "turn_ids": [3],
                          "near_label": 0.4}])
    queue = _Tickets({
        "c": [_ticket(10, t0 + timedelta(minutes=1), reply="Shipping to Beijing is ¥12."),
              _ticket(11, t0 + timedelta(hours=1, minutes=1), reply="Yes, 40 parking spaces.")],  # question 4's
        "b": [_ticket(12, t0 + timedelta(minutes=2), note="Yes, from ¥100.")]})
    replies = human_replies(queue, cands, group)
    assert [(r["ticket"], r["turn_id"], r["typical"]) for r in replies] == [(10, 3, False), (12, 2, True)]
    assert suggest(group)[0]["answer"] == ""  # nothing in the group's replies yet
    group.human_replies = replies
    assert suggest(group)[0]["answer"] == "Yes, from ¥100."  # not the shipping reply, shown first
    group.human_replies = replies[:1]
    assert suggest(group)[0]["answer"] == ""  # only the atypical question's reply: the agent writes the answer


def _open_gap_questions():
    import pandas as pd

    return pd.DataFrame({"question": ["can I buy gift cards for a friend", "how much does shipping cost to Beijing",
                                      "Do you sell gift cards?"],
                         "language": ["en", "en", "en"], "turn_id": [201, 202, 203]})


def test_other_gap_questions_the_answer_suits_are_found(runtime):
    from assistant.insights.phrasings import other_questions

    found = other_questions(runtime.kb, GIFT, _open_gap_questions(), {203}, set(), 0.0)
    assert [(v["question"], v["turn_ids"], v["other"]) for v in found] == [
        ("can I buy gift cards for a friend", [201], True)]  # not the group's own, not the shipping question
    assert other_questions(runtime.kb, GIFT, _open_gap_questions(), set(), {"can i buy gift cards for a friend",
                                                                            "do you sell gift cards"}, 0.0) == []


def test_a_proposal_brings_other_gap_questions_and_publishing_answers_them(runtime, monkeypatch):
    from assistant.insights import faq, gaps

    monkeypatch.setattr(gaps, "open_candidates", lambda rt: _open_gap_questions())
    own = [{"lang": "en", "question": "Do you sell gift cards?", "turn_ids": [203]}]
    assert runtime.settings.insights.other_questions_min_fit == 0.02  # on by default
    monkeypatch.setattr(runtime.settings.insights, "other_questions_min_fit", None)  # off: the group's phrasings only
    assert [v["question"] for v in faq.propose(runtime, GIFT, [203], "g", variants=own).variants] == [own[0]["question"]]
    monkeypatch.setattr(runtime.settings.insights, "other_questions_min_fit", 0.02)
    proposal = faq.propose(runtime, GIFT, [203], "g", variants=own)
    brought = [v for v in proposal.variants if v.get("other")]
    assert [(v["question"], v["keep"]) for v in brought] == [("can I buy gift cards for a friend", True)]
    faq.publish(runtime, proposal.id, by="admin")
    done = faq.answered_turns(runtime)
    assert {201, 203} <= done and 202 not in done  # the other group's question leaves the gap list too
