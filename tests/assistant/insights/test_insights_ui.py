"""The insights views' handlers as the buttons call them: roles checked on the server, the gap -> proposal ->
publish flow, the outcome/usage report with its plots and CSV files; the layout builds."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from tests.assistant.insights.conftest import ask


def test_gap_to_published_answer_through_the_handlers(runtime):
    from assistant.web import insights_ui as ui

    ask(runtime, "Do you sell gift cards?")
    _, sid = ask(runtime, "Do you sell gift cards?")
    with pytest.raises(InputError, match="log in"):
        ui.find_gaps(runtime, None)
    table, groups, status = ui.find_gaps(runtime, "agent")
    assert table.question[0] == "Do you sell gift cards?" and "1 gap group" in status
    detail, en_q, en_a, zh_q, zh_a = ui.open_group(runtime, "agent", groups, 1)
    assert "What customers asked" in detail and en_q == "Do you sell gift cards?" and en_a == ""
    with pytest.raises(InputError, match="rank must be between 1 and 1"):
        ui.open_group(runtime, "agent", groups, 3)
    done = ui.propose_answer(runtime, "agent", groups, 1, en_q, "Yes, e-gift cards from ¥100.", "", "")
    assert "Proposal 1 is waiting" in done
    # the one phrasing is the form's own question: no alternative question goes with it (it read "1 of 1")
    assert "0 of the customers' 1 phrasing(s) go with it" in done
    with pytest.raises(InputError, match="admin"):
        ui.publish_proposal(runtime, "agent", 1, en_q, "x", "", "")
    proposals = ui.proposals_table(runtime, "admin")
    assert list(proposals.status) == ["pending"]
    review, q, a, _, _, phrasings = ui.load_proposal(runtime, "admin", 1)
    assert a == "Yes, e-gift cards from ¥100." and "no duplicate" in review
    assert phrasings["choices"] == ["Do you sell gift cards?"]  # the reviewer sees the customers' phrasings
    text, proposals = ui.publish_proposal(runtime, "admin", 1, q, "Yes: e-gift cards from ¥100 to ¥500.", "", "",
                                          phrasings["value"])
    assert "Published proposal 1" in text and list(proposals.status) == ["published"]
    reply, _ = ask(runtime, "Do you sell gift cards?")
    assert reply.text == "Yes: e-gift cards from ¥100 to ¥500."  # the admin's edit is what customers get
    _, groups, status = ui.find_gaps(runtime, "agent")
    assert not groups and "No knowledge gaps" in status


def test_reject_and_faq_check(runtime):
    from assistant.web import insights_ui as ui

    ask(runtime, "Do you sell gift cards?")
    _, groups, _ = ui.find_gaps(runtime, "agent")
    ui.propose_answer(runtime, "agent", groups, 1, "Do you sell gift cards?", "No.", "", "")
    text, table = ui.reject_proposal(runtime, "admin", 1)
    assert "rejected" in text and list(table.status) == ["rejected"]
    with pytest.raises(InputError, match="already rejected"):
        ui.reject_proposal(runtime, "admin", 1)
    text, pairs = ui.faq_check(runtime, "admin")
    assert "No duplicate" in text and len(pairs) == 0


def test_report_view(runtime):
    from assistant.web import insights_ui as ui

    ask(runtime, "How much does shipping cost?")
    text, *figures, docs, files = ui.report_view(runtime, "admin")
    assert "1** conversations" in text and len(figures) == 4
    assert docs.cited.sum() == 1
    assert {f.rsplit("/", 1)[-1] for f in files} >= {"outcomes_by_day.csv", "usage_chunks.csv"}


def test_section_builds():
    gr = pytest.importorskip("gradio")
    from assistant.web.insights_ui import insights_section

    with gr.Blocks():
        role = gr.State(None)
        views = insights_section(gr, object(), role, lambda fn: fn)
    assert [needed for *_, needed in views] == ["agent", "admin"]


def test_refreshing_the_outcomes_keeps_only_the_last_few_csv_folders():
    """Every refresh wrote its CSVs into a new temp folder that was never removed."""
    from assistant.web import insights_ui

    made = [insights_ui._export_folder() for _ in range(insights_ui._KEPT_EXPORTS + 3)]
    assert [f.exists() for f in made] == [False] * 3 + [True] * insights_ui._KEPT_EXPORTS
