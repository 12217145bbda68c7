"""Defects an admin of a new shop hit walking the gap -> FAQ flow and the reports end to end: a publish that
claimed an answer the assistant did not give, forms that published or proposed for another item than the one
they were filled from, the CLI hiding a customer's question, a CSV that ran formulas, "no gaps" read as "all
answered" with question recording off."""

from __future__ import annotations

import argparse
from datetime import datetime

import pytest

from assistant.errors import InputError
from tests.assistant.insights.conftest import ask

NEW_PRICE = "We now charge ¥20 for every order of any size, to every province, tracked and insured, packed by hand."


def test_a_published_answer_to_the_very_question_of_the_shops_own_row_is_the_one_given(runtime):
    # The shop's faq.csv row asking the same question kept winning: customers were still told the old price.
    # The table changed last now answers; a row elsewhere that still answers it is named (answered_elsewhere).
    from assistant.insights import faq
    from assistant.insights.faq_table import answered_elsewhere
    from assistant.web import insights_ui as ui

    ask(runtime, "How much does shipping cost?")
    before, _ = ask(runtime, "How much does shipping cost?")
    assert "¥15" in before.text

    p = faq.propose(runtime, [{"lang": "en", "question": "How much does shipping cost?", "answer": NEW_PRICE}])
    assert any(f.startswith("contradiction") for f in p.flags)
    _, q, a, zq, za, ticks = ui.load_proposal(runtime, "admin", p.id)
    text, _ = ui.publish_proposal(runtime, "admin", p.id, q, a, zq, za, ticks["value"])
    reply, _ = ask(runtime, "How much does shipping cost?")
    assert "¥20" in reply.text and "¥15" not in reply.text
    assert "Not every question gets this answer" not in text
    assert answered_elsewhere(runtime, faq.get(runtime, p.id)) == []


def test_publish_says_when_another_row_still_answers_the_question(runtime, monkeypatch):
    # When the shop's own row still wins (here: its table is made the one changed last), publishing says so and
    # does not promise the new answer from the next message on.
    from pathlib import Path

    import knowledge_base.kb as kb_module
    from assistant.insights import faq
    from assistant.insights.faq_table import answered_elsewhere
    from assistant.web import insights_ui as ui

    ask(runtime, "How much does shipping cost?")
    p = faq.propose(runtime, [{"lang": "en", "question": "How much does shipping cost?", "answer": NEW_PRICE}])
    _, q, a, zq, za, ticks = ui.load_proposal(runtime, "admin", p.id)
    real = kb_module.changed_at
    monkeypatch.setattr(kb_module, "changed_at", lambda source: 2e9 if Path(source).name == "faq.csv" else real(source))
    text, _ = ui.publish_proposal(runtime, "admin", p.id, q, a, zq, za, ticks["value"])
    reply, _ = ask(runtime, "How much does shipping cost?")
    assert "¥15" in reply.text
    assert "Not every question gets this answer" in text and "from the next message on" not in text
    assert answered_elsewhere(runtime, faq.get(runtime, p.id)) == [
        "'How much does shipping cost?' is still answered from ship-cost in faq.csv, not from this answer: edit or "
        "delete that row"]


def test_publish_of_an_answer_the_assistant_gives_promises_it(runtime):
    from assistant.insights import faq
    from assistant.insights.faq_table import answered_elsewhere

    ask(runtime, "Do you sell gift cards?")
    p = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}])
    published, _ = faq.publish(runtime, p.id)
    assert answered_elsewhere(runtime, published) == []


def test_propose_goes_to_the_group_the_form_was_filled_from(runtime):
    from assistant.web import insights_ui as ui

    ask(runtime, "Do you sell gift cards?")
    ask(runtime, "Is there parking near the store?")
    _, groups, _ = ui.find_gaps(runtime, "agent")
    gift = next(i for i, g in enumerate(groups, 1) if "gift" in g.label)
    *form, opened = ui.open_group_form(runtime, "agent", groups, gift)
    _, en_q, _, zh_q, zh_a = form
    # the agent presses Find gaps again (new traffic re-ranks the list) or the rank box shows another number
    other = 1 if gift == 2 else 2
    done = ui.propose_answer(runtime, "agent", groups, other, en_q, "Yes, from ¥100.", zh_q, zh_a, opened)
    assert "Proposal 1" in done
    from assistant.insights import faq

    p = faq.get(runtime, 1)
    assert p.turn_ids == opened.turn_ids and p.group_key == opened.key
    assert [v["question"] for v in p.variants if not v.get("other")] == ["Do you sell gift cards?"]


def test_publish_refuses_a_proposal_other_than_the_one_in_the_form(runtime):
    from assistant.insights import faq
    from assistant.web import insights_ui as ui

    one = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}])
    two = faq.propose(runtime, [{"lang": "en", "question": "Is there parking?", "answer": "Yes, behind the shop."}])
    *form, loaded = ui.load_proposal_form(runtime, "admin", one.id)
    _, q, a, zq, za, ticks = form
    with pytest.raises(InputError, match="the form holds proposal 1: press Load to review proposal 2 first"):
        ui.publish_loaded(runtime, "admin", two.id, q, a, zq, za, ticks["value"], loaded)
    with pytest.raises(InputError, match="press Load"):
        ui.publish_loaded(runtime, "admin", two.id, "Is there parking?", "Yes.", "", "", [], None)
    assert faq.get(runtime, two.id).status == "pending" and faq.get(runtime, two.id).rows[0]["answer"] == \
        "Yes, behind the shop."
    text, _ = ui.publish_loaded(runtime, "admin", one.id, q, a, zq, za, ticks["value"], loaded)
    assert "Published proposal 1" in text


def test_gaps_cli_lists_the_newest_question_when_it_is_not_the_label(runtime, monkeypatch, capsys):
    from assistant.insights import __main__ as cli
    from assistant.insights import gaps

    t = datetime(2026, 5, 1, 12)
    examples = [{"time": t, "question": q, "reason": "declined", "answer": "", "lang": "zh", "session_id": str(i)}
                for i, q in enumerate(["礼品卡怎么买？", "有礼品卡吗？", "do you sell gift cards"])]
    group = gaps.GapGroup("k", "有礼品卡吗？", 3, 3, 3.0, t, t, {"zh": 2, "en": 1}, {"declined": 3}, examples,
                          [1, 2, 3], ["0", "1", "2"])
    monkeypatch.setattr(gaps, "compute", lambda runtime, top=None: [group])
    assert cli._gaps(runtime, argparse.Namespace(top=10, csv=None)) == 0
    out = capsys.readouterr().out
    assert "· 礼品卡怎么买？" in out and "· do you sell gift cards" in out and "· 有礼品卡吗？" not in out


def test_faq_check_csv_runs_no_formula(runtime, tmp_path):
    from assistant.insights.__main__ import _faq_check

    table = tmp_path / "shop" / "more.csv"
    table.write_text('id,question,answer,lang\n'
                     'a,"=HYPERLINK(""http://x.example"",""gift"") card?",Yes.,en\n'
                     'b,"=HYPERLINK(""http://x.example"",""gift"") card?",Yes we do.,en\n', encoding="utf-8")
    assert runtime.kb.ingest([table], progress=False).ok
    out = tmp_path / "pairs.csv"
    _faq_check(runtime, argparse.Namespace(csv=str(out)))
    text = out.read_text(encoding="utf-8-sig")
    assert "duplicate" in text and ",=HYPERLINK" not in text and "'=HYPERLINK" in text


def test_no_gaps_with_recording_off_is_not_reported_as_all_answered(tmp_path, monkeypatch, capsys):
    from assistant.insights.__main__ import _gaps
    from assistant.web import insights_ui as ui
    from tests.assistant.insights.conftest import make_runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    runtime = make_runtime(tmp_path, insights={"record_questions": False})
    ask(runtime, "Do you sell gift cards?")  # declined, but its question is not kept
    _, groups, status = ui.find_gaps(runtime, "agent")
    assert not groups and "every question so far was answered" not in status and "questions are not kept" in status
    _gaps(runtime, argparse.Namespace(top=10, csv=None))
    assert "record_questions: false" in capsys.readouterr().err


def test_publishing_keeps_a_curated_table_an_admin_saved_from_excel(runtime):
    from assistant.config import resolve_path
    from assistant.insights import faq

    path = resolve_path(runtime.settings.insights.faq_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Excel in many locales saves with ';' between cells; a Chinese Windows saves GBK
    path.write_bytes("id;question;answer;lang;notes\ngap-9-zh;有礼品卡吗？;有，100元起。;zh;checked\n".encode("gbk"))
    p = faq.propose(runtime, [{"lang": "en", "question": "Is there parking?", "answer": "Yes, behind the shop."}])
    faq.publish(runtime, p.id)
    from assistant.insights.faq_table import read_table

    header, rows = read_table(path)
    assert header == ["id", "question", "answer", "lang", "notes"]
    assert [(r["id"], r["answer"], r["notes"]) for r in rows] == [("gap-9-zh", "有，100元起。", "checked"),
                                                                 ("gap-1-en", "Yes, behind the shop.", "")]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as Chinese
    reply, _ = ask(runtime, "有礼品卡吗？")
    assert reply.text == "有，100元起。"  # the admin's own row is still answered


def test_a_curated_table_without_its_columns_is_refused_not_rewritten(runtime):
    from assistant.config import resolve_path
    from assistant.insights import faq

    path = resolve_path(runtime.settings.insights.faq_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("编号,内容,回答\ngap-9-zh,有礼品卡吗？,有。\n", encoding="utf-8")
    before = path.read_bytes()
    p = faq.propose(runtime, [{"lang": "en", "question": "Is there parking?", "answer": "Yes, behind the shop."}])
    with pytest.raises(InputError, match="has no question column"):
        faq.publish(runtime, p.id)
    assert path.read_bytes() == before and faq.get(runtime, p.id).status == "pending"


def test_a_curated_table_with_the_loaders_column_names_takes_new_rows(runtime):
    from assistant.config import resolve_path
    from assistant.insights import faq

    path = resolve_path(runtime.settings.insights.faq_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("问题,答案\n有礼品卡吗？,有，100元起。\n", encoding="utf-8")  # the knowledge base reads it
    p = faq.propose(runtime, [{"lang": "en", "question": "Is there parking?", "answer": "Yes, behind the shop."}])
    faq.publish(runtime, p.id)
    from assistant.insights.faq_table import read_table

    header, rows = read_table(path)
    assert header == ["question", "answer", "id", "lang"] and rows[0]["answer"] == "有，100元起。"


def test_a_documents_usage_counts_questions_not_its_chunks_hits():
    import json

    import pandas as pd

    from assistant.insights.usage import count

    chunks = [{"chunk_id": f"c{i}", "source": "faq.csv", "title": "", "kind": "faq", "row_id": f"r{i}"}
              for i in range(3)] + [{"chunk_id": "p", "source": "returns.md", "title": "", "kind": "doc", "row_id": ""}]
    turns = pd.DataFrame({"retrieved": [json.dumps(["c0", "c1", "c2"]), json.dumps(["c1", "p"]), None],
                          "cited": [json.dumps([{"chunk_id": "c0", "source": "faq.csv", "row_id": "r0"},
                                                {"chunk_id": "c1", "source": "faq.csv", "row_id": "r1"}]), "[]", "[]"]})
    result = count(turns, chunks)
    docs = result.documents.set_index("source")
    assert result.questions == 2
    assert docs.loc["faq.csv", "retrieved"] == 2 and docs.loc["faq.csv", "cited"] == 1  # 2 questions, 1 answer
    assert docs.loc["returns.md", "retrieved"] == 1 and docs.loc["returns.md", "cited"] == 0
    assert result.chunks.set_index("chunk_id").retrieved.to_dict() == {"c0": 1, "c1": 2, "c2": 1, "p": 1}


def test_an_expectation_added_since_the_last_run_is_no_regression():
    from assistant.insights.suite import TurnResult, diff

    before = {"ship #2": {"case": "ship", "turn": 2, "text": "Orders arrive in 3-5 days.", "action": "kb_answer",
                          "cited": ["x"], "handoff": False, "checked": False, "failures": []}}
    now = [TurnResult("ship", 2, "q", "Orders arrive in 3-5 days.", "kb_answer", ["x"], False, True,
                      ["missing '2-4'"])]  # the shop wrote `expect` for a turn that was only said before
    assert diff(before, now) == ["NEW     ship #2: FAIL (checked for the first time)"]


def test_a_second_proposal_for_one_group_tells_the_reviewer(runtime):
    from assistant.insights import faq
    from assistant.web import insights_ui as ui

    ask(runtime, "Do you sell gift cards?")
    _, groups, _ = ui.find_gaps(runtime, "agent")
    for _ in range(2):  # a double-clicked Propose: publishing both would put the answer in the table twice
        ui.propose_answer(runtime, "agent", groups, 1, "Do you sell gift cards?", "Yes, from ¥100.", "", "")
    first, second = faq.get(runtime, 1), faq.get(runtime, 2)
    assert not any("same gap group" in f for f in first.flags)
    assert any("proposal 1 answers the same gap group" in f for f in second.flags)
    faq.reject(runtime, 1)
    third = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "No."}],
                        group_key=groups[0].key)
    assert [f for f in third.flags if "same gap group" in f] == [
        "proposal 2 answers the same gap group and is waiting for review too: publish one, reject the other"]


def test_intent_plot_of_only_ongoing_conversations_says_so(runtime):
    from assistant.insights import outcomes, plots

    ask(runtime, "How much does shipping cost?")  # answered a moment ago: still going
    result = outcomes.compute(runtime)
    assert result.summary["ongoing"] == 1
    fig = plots.outcomes_by_intent(result.by_intent)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no finished conversations yet"]


@pytest.mark.parametrize("a, b, kind", [
    ("Gift cards from $25.00.", "Gift cards start at $25.", "duplicate"),
    ("We are open 9:00-18:00.", "Open from 9 to 18 every day.", "duplicate"),
    ("Shipping is 1,000 yen.", "Shipping costs 1000 yen.", "duplicate"),
    ("We are open 9:00-18:30.", "Open from 9 to 18 every day.", "contradiction"),
    ("Gift cards from $25.50.", "Gift cards start at $25.", "contradiction"),
])
def test_the_same_figure_written_two_ways_is_no_contradiction(a, b, kind):
    from assistant.insights.faq import verdict

    assert verdict({"answer": a, "lang": "en"}, {"answer": b, "lang": "en"}) == kind


def test_gaps_csv_without_gaps_still_has_its_header(tmp_path):
    from assistant.insights.gaps import export_csv

    export_csv([], tmp_path / "gaps.csv")
    assert (tmp_path / "gaps.csv").read_text(encoding="utf-8-sig").startswith("rank,group,count,score,question")


def test_a_faq_file_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    from assistant.insights import faq
    from tests.assistant.insights.conftest import make_runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "blocked").write_text("a file where the folder should be")
    runtime = make_runtime(tmp_path, insights={"faq_file": str(tmp_path / "blocked" / "gap_answers.csv")})
    p = faq.propose(runtime, [{"lang": "en", "question": "Is there parking?", "answer": "Yes, behind the shop."}])
    with pytest.raises(InputError, match=r"insights.faq_file: cannot write .*gap_answers.csv"):
        faq.publish(runtime, p.id)
    assert faq.get(runtime, p.id).status == "pending"


def test_a_long_suite_conversation_is_not_stopped_by_the_customers_rate_limit(tmp_path, monkeypatch):
    import yaml

    from assistant.config import load_config
    from assistant.insights.suite import run_file
    from knowledge_base import KnowledgeBase
    from tests.assistant.insights.test_suite import FAQ

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "faq.csv").write_text(FAQ, encoding="utf-8")
    config = tmp_path / "shop.yaml"
    config.write_text(yaml.safe_dump({
        "llm": {"backend": "fake"}, "app": {"ingest_demo_kb": False},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb"), "collection": "suite-rate",
                           "abstain_threshold": 0.6, "faq_threshold": 0.99},
        "chat": {"use_router": False, "use_guardrails": False, "rate_limit_per_minute": 3},
        "storage": {"url": f"sqlite:///{tmp_path}/shop.db"}}), encoding="utf-8")
    settings = load_config(config, env={})
    KnowledgeBase.from_config(settings.knowledge_base).ingest([tmp_path / "faq.csv"], progress=False)
    suite = tmp_path / "suite.yaml"
    turns = ["How long do I have to return an item?"] * 4 + [{"say": "How much does shipping cost?",
                                                              "expect": {"must": ["¥15"]}}]
    suite.write_text(yaml.safe_dump({"conversations": [{"id": "long", "turns": turns}]}), encoding="utf-8")
    results, text = run_file(settings, suite, progress=False)
    assert [r.action for r in results].count("error") == 0 and results[-1].passed, text


def test_a_turn_that_raised_fails_even_without_expectations():
    from types import SimpleNamespace

    from assistant.chat_session import Reply, SessionStore
    from assistant.errors import RateLimitError
    from assistant.insights.suite import parse, run

    class Chat:
        sessions = SessionStore()

        def respond(self, text, session):
            if text == "hello":
                raise RateLimitError("too many messages")
            return SimpleNamespace(collect=lambda: Reply("¥15", route={"action": "kb_answer"}))

    cases = parse({"conversations": [{"id": "a", "turns": ["hello", {"say": "cost?", "expect": {"must": "¥15"}}]}]})
    first, second = run(Chat(), cases, progress=False)
    assert first.checked and first.failures == ["the turn raised: RateLimitError: too many messages"]
    assert second.passed


def test_a_customer_who_leaves_when_asked_for_the_order_number_is_not_resolved():
    import pandas as pd

    from assistant.insights.outcomes import conversation_outcomes

    t = datetime(2026, 5, 1, 12)
    rows = [("a", 0, "order_status", "order_ask"), ("b", 0, "order_status", "order_ask"),
            ("b", 1, "order_status", "order_verify"), ("c", 0, "order_status", "order_ask"),
            ("c", 1, "order_status", "order_verify"), ("c", 2, "order_status", "order_status")]
    turns = pd.DataFrame([{"id": i, "time": t, "session_id": s, "message": m, "channel": "widget", "intent": intent,
                           "action": action, "handoff": 0} for i, (s, m, intent, action) in enumerate(rows)])
    votes = pd.DataFrame(columns=["session_id", "message", "time", "channel", "vote"])
    got = conversation_outcomes(turns, votes, now=datetime(2026, 5, 2), abandon_after_minutes=30)
    assert dict(zip(got.session_id, got.outcome, strict=True)) == {"a": "abandoned", "b": "abandoned",
                                                                   "c": "resolved"}


def test_order_desk_turns_are_no_knowledge_gaps():
    import pandas as pd

    from assistant.insights.gaps import candidates
    from tests.assistant.insights.test_gaps_and_faq import _turns

    t = datetime(2026, 5, 1, 12)
    turns = _turns([
        # the order system was down: the desk handed the customer over
        {"id": 1, "time": t, "session_id": "a", "action": "order_handoff", "handoff": 1, "intent": "order_status",
         "question": "Where is my order #100234?"},
        # asked for the order number, the customer wanted a person instead
        {"id": 2, "time": t, "session_id": "b", "action": "order_ask", "intent": "order_status",
         "question": "Where is my parcel?"},
        {"id": 3, "time": t, "session_id": "b", "action": "handoff", "handoff": 1, "intent": "human_agent",
         "question": "I want a human", "message": 1},
        {"id": 4, "time": t, "session_id": "c", "action": "decline", "question": "Do you sell gift cards?"},
    ])
    votes = pd.DataFrame(columns=["session_id", "message", "time", "channel", "vote"])
    cands = candidates(turns, votes, abstain_threshold=0.85, margin=0.01)
    assert list(cands.question) == ["Do you sell gift cards?"]


def test_cites_is_matched_against_the_documents_name_not_its_folders():
    from assistant.citations import Citation
    from assistant.insights.suite import Expectation, check

    shipping = [Citation(source="/srv/returns-shop/knowledge/shipping.txt", title="Shipping", chunk_id="c1")]
    assert check(Expectation(cites=["returns"]), "x", "kb_answer", shipping, False) == ["does not cite 'returns'"]
    assert check(Expectation(cites=["shipping.txt"]), "x", "kb_answer", shipping, False) == []
    faq = [Citation(source="/srv/shop/faq.csv", title="How much?", chunk_id="ship-cost", row_id="ship-cost")]
    assert check(Expectation(cites=["ship-cost", "faq.csv"]), "x", "kb_answer", faq, False) == []


def test_questions_asked_while_the_proposal_waited_leave_the_gap_list_when_it_is_published(runtime):
    from assistant.insights import faq
    from assistant.web import insights_ui as ui

    ask(runtime, "Do you sell gift cards?")
    _, groups, _ = ui.find_gaps(runtime, "agent")
    ui.propose_answer(runtime, "agent", groups, 1, "Do you sell gift cards?", "Yes, from ¥100.", "", "")
    ask(runtime, "Do you sell gift cards?")  # more customers ask while the admin has not reviewed it yet
    ask(runtime, "do you sell gift cards")
    ask(runtime, "Is there parking near the store?")  # another gap: stays
    _, q, a, zq, za, ticks = ui.load_proposal(runtime, "admin", 1)
    ui.publish_proposal(runtime, "admin", 1, q, a, zq, za, ticks["value"])
    reply, _ = ask(runtime, "do you sell gift cards")
    assert reply.text == "Yes, from ¥100."  # the assistant answers them now ...
    _, groups, _ = ui.find_gaps(runtime, "agent")
    assert [g.label for g in groups] == ["Is there parking near the store?"]  # ... so they are no gap any more
    assert len(faq.get(runtime, 1).turn_ids) == 3


def test_a_phrasing_the_reviewer_unticked_stays_a_gap_when_asked_again_while_waiting(runtime):
    from assistant.insights import faq, gaps

    ask(runtime, "can I buy a voucher")
    first = int(gaps.open_candidates(runtime).turn_id.iloc[-1])
    p = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}],
                    [first], variants=[{"lang": "en", "question": "can I buy a voucher", "turn_ids": [first]}])
    ask(runtime, "can I buy a voucher")
    published, _ = faq.publish(runtime, p.id, keep=[])  # the reviewer: this answer does not suit it
    assert published.turn_ids == [first]
    assert list(gaps.open_candidates(runtime).question) == ["can I buy a voucher", "can I buy a voucher"]


def test_the_insights_plots_use_the_installed_chinese_fonts(monkeypatch):
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib import font_manager

    from assistant.insights import plots

    # a machine with Noto Sans CJK installed, in a process that never drew the marketing analytics' plots
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [*font_manager.fontManager.ttflist, font_manager.FontEntry(name="Noto Sans CJK SC")])
    monkeypatch.setitem(plt.rcParams, "font.family", ["DejaVu Sans"])
    fig = plots.document_usage(pd.DataFrame(columns=["source", "retrieved", "cited"]))
    plt.close(fig)
    assert "Noto Sans CJK SC" in plt.rcParams["font.family"]


def test_a_curated_table_naming_the_question_twice_keeps_both_columns(tmp_path):
    """'Q' and 'question' both name the question: the second column's cells replaced the first's on rewrite."""
    from assistant.insights.faq_table import append_rows, read_table

    path = tmp_path / "gap_answers.csv"
    path.write_text("id,Q,question,answer\n1,How long is shipping?,shipping time,3-5 days\n", encoding="utf-8")
    append_rows(path, [{"id": "2", "question": "Do you ship abroad?", "answer": "Yes.", "lang": "en"}])
    header, rows = read_table(path)
    assert rows[0]["question"] == "How long is shipping?" and "shipping time" in rows[0].values()
    assert len(header) == len(set(header)) and rows[1]["question"] == "Do you ship abroad?"


def test_two_proposals_for_one_group_made_at_once_still_tell_the_reviewer(runtime, monkeypatch):
    """The check ran before the seconds of ticking phrasings and the insert after them: two proposes at once (the UI
    runs four events together) each saw none waiting, and neither was flagged."""
    import threading
    import time

    from assistant.insights import faq, phrasings

    real_tick = phrasings.tick

    def slow_tick(*args, **kwargs):
        time.sleep(0.3)
        return real_tick(*args, **kwargs)

    monkeypatch.setattr(phrasings, "tick", slow_tick)
    row = [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}]
    threads = [threading.Thread(target=faq.propose, args=(runtime, row), kwargs={"group_key": "g1"}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flagged = [p for p in (faq.get(runtime, 1), faq.get(runtime, 2)) if any("same gap group" in f for f in p.flags)]
    assert len(flagged) == 1


def test_a_thumbs_down_in_a_long_conversation_files_the_answer_it_rated(runtime):
    """Answer numbers count every answer; the stored history keeps the latest turns only: the bad rating's ticket
    had been cut at the wrong answer once turns were dropped."""
    from assistant.insights.outcomes import ticket_for_bad_rating

    _, sid = ask(runtime, "How much does shipping cost?")
    ask(runtime, "Do you sell gift cards?", sid)
    session = runtime.chat.sessions.get(sid)
    session.earlier_answers = 7  # seven answers before the turns kept
    runtime.chat.sessions.save(session)
    ticket = ticket_for_bad_rating(runtime, sid, 7)  # the first answer kept
    turns = [t for t in ticket.transcript if t["role"] == "user"]
    assert turns[-1]["content"] == "How much does shipping cost?"


def test_publish_warns_when_the_answer_contradicts_another_faq_row(runtime):
    # Flagged when proposed, but published all the same with "the assistant answers it": customers then got ¥15 or
    # ¥20 depending on how they asked. The publish message names the row it contradicts; a plain answer has none.
    from assistant.insights import faq
    from assistant.web import insights_ui as ui

    ask(runtime, "How much does shipping cost?")
    p = faq.propose(runtime, [{"lang": "en", "question": "How much does shipping cost?", "answer": NEW_PRICE}])
    _, q, a, zq, za, ticks = ui.load_proposal(runtime, "admin", p.id)
    text, _ = ui.publish_proposal(runtime, "admin", p.id, q, a, zq, za, ticks["value"])
    plain = text.replace("\\", "")  # markdown escapes
    assert "contradicts another FAQ answer" in plain and "ship-cost in faq.csv" in plain

    ask(runtime, "Do you sell gift cards?")
    g = faq.propose(runtime, [{"lang": "en", "question": "Do you sell gift cards?", "answer": "Yes, from ¥100."}])
    _, q, a, zq, za, ticks = ui.load_proposal(runtime, "admin", g.id)
    text, _ = ui.publish_proposal(runtime, "admin", g.id, q, a, zq, za, ticks["value"])
    assert "contradicts" not in text
