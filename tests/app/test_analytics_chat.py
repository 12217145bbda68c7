"""The Analytics tab's Q&A chat: a CSV and a question in, the numbers, a table and a plot out; every
problem answered in the chat, and only admins served."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from assistant.web.analytics_chat import analytics_chat_turn


@pytest.fixture(scope="module")
def reviews_csv(tmp_path_factory):
    from assistant.analytics import write_demo_data

    out = tmp_path_factory.mktemp("shop")
    write_demo_data(out, seed=5, customers=120, n_reviews=300)
    return out / "reviews.csv"


@pytest.fixture
def runtime(fake_runtime, tmp_path):
    # The lexicon keeps the test off the classifier's first-use training; outputs go under tmp_path.
    s = fake_runtime.settings
    s.sections["analytics"] = dataclasses.replace(s.analytics, sentiment_model="lexicon",
                                                  output_dir=str(tmp_path / "analytics"))
    return fake_runtime


def test_sentiment_question_gets_numbers_table_and_plot(runtime, reviews_csv, tmp_path):
    runtime.backend.queue("Mood is improving; answer the shipping complaints first.")
    history, table, plot = analytics_chat_turn(runtime, "admin", str(reviews_csv),
                                               "How did sentiment move week by week?", [])
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == "How did sentiment move week by week?"
    answer = history[1]["content"]
    assert re.search(r"\d+(\.\d+)?% positive", answer) and "Net sentiment moved" in answer
    assert "Takeaway" in answer and "shipping complaints" in answer  # the fake backend's takeaway
    assert table is not None and len(table) > 1 and "period" in " ".join(map(str, table.columns)).lower()
    assert plot and Path(plot).suffix == ".png" and Path(plot).stat().st_size > 0
    assert Path(plot).is_relative_to(tmp_path / "analytics")
    # The next turn keeps the conversation.
    history2, *_ = analytics_chat_turn(runtime, "admin", str(reviews_csv), "", history)
    assert history2[:2] == history and len(history2) == 4


def test_only_admins_are_served(runtime, reviews_csv):
    for role in (None, "agent"):
        history, table, plot = analytics_chat_turn(runtime, role, str(reviews_csv), "How is sentiment?", [])
        assert "admin account" in history[-1]["content"] and table is None and plot is None
    assert runtime.backend.calls == []


def test_input_problems_are_answered_in_the_chat(runtime, reviews_csv, tmp_path):
    history, table, plot = analytics_chat_turn(runtime, "admin", None, "How is sentiment?", [])
    assert "Upload a CSV" in history[-1]["content"] and table is None and plot is None
    history, *_ = analytics_chat_turn(runtime, "admin", str(reviews_csv), "   ", [])
    assert "Type a question" in history[-1]["content"]
    sheet = tmp_path / "data.xlsx"  # read like the CLI reads it; a broken one is one line in the chat
    sheet.write_bytes(b"PK\x03\x04")
    history, *_ = analytics_chat_turn(runtime, "admin", str(sheet), "How is sentiment?", [])
    assert history[-1]["content"].startswith("⚠️") and "xlsx" in history[-1]["content"]
    other = tmp_path / "data.pdf"
    other.write_bytes(b"%PDF-1.4")
    history, *_ = analytics_chat_turn(runtime, "admin", str(other), "How is sentiment?", [])
    assert "is neither" in history[-1]["content"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    history, table, _ = analytics_chat_turn(runtime, "admin", str(empty), "How is sentiment?", [])
    assert history[-1]["content"].startswith("⚠️") and "empty" in history[-1]["content"] and table is None


def test_the_analytics_tab_has_the_chat(fake_runtime):
    from app import build_demo

    demo = build_demo(fake_runtime)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"analytics-chat", "analytics-question", "analytics-table", "analytics-plot"} <= ids
    chat = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "analytics-chat")
    parent, chain = chat.parent, []
    while parent is not None:
        chain.append(parent)
        parent = parent.parent
    # Inside the admin-gated (hidden until login) column of the Analytics tab.
    assert any(getattr(b, "visible", True) is False for b in chain)
    assert any(getattr(b, "id", None) == "analytics" for b in chain)


def test_a_spreadsheet_is_read_like_a_csv(runtime, reviews_csv, tmp_path):
    import pandas as pd

    sheet = tmp_path / "reviews.xlsx"
    pd.read_csv(reviews_csv).to_excel(sheet, index=False)
    runtime.backend.queue("Steady.")
    history, table, _ = analytics_chat_turn(runtime, "admin", str(sheet), "How did sentiment move week by week?", [])
    assert "Net sentiment moved" in history[-1]["content"] and table is not None and len(table) > 1


def test_did_b_beat_a_is_answered_with_b_against_a(runtime, tmp_path):
    import pandas as pd

    # An A/B tool's export: visitors and conversions, no impressions. It was refused ("needs clicks or
    # impressions") and, once read, the reply gave overall rates and a count of significant tests, not B vs A.
    ab = tmp_path / "ab.csv"
    pd.DataFrame({"variant": ["A", "B"], "visitors": [5000, 5000], "conversions": [150, 190]}).to_csv(ab, index=False)
    runtime.backend.queue("B converts better.")
    history, table, _ = analytics_chat_turn(runtime, "admin", str(ab), "Did B beat A?", [])
    answer = history[-1]["content"]
    assert "CVR: B 3.80% vs A 3.00% (+26.7%)" in answer and "significant" in answer
    assert table is not None and table["metric"].tolist() == ["cvr"]


def test_which_channel_works_best_names_the_channel(runtime, tmp_path):
    import pandas as pd

    camp = tmp_path / "campaigns.csv"
    pd.DataFrame({"channel": ["search", "social", "email"], "impressions": [10000, 20000, 5000],
                  "clicks": [500, 400, 300], "conversions": [25, 8, 30], "cost": [500, 400, 100],
                  "revenue": [2500, 600, 1500]}).to_csv(camp, index=False)
    runtime.backend.queue("Shift budget to e-mail.")
    history, *_ = analytics_chat_turn(runtime, "admin", str(camp), "Which channel has the best ROI?", [])
    assert "Best channel by ROAS: email (15.00)" in history[-1]["content"]


def test_which_product_gets_the_worst_reviews_names_the_products(runtime, tmp_path):
    import pandas as pd

    reviews = tmp_path / "reviews.csv"
    pd.DataFrame({"商品名称": ["连衣裙"] * 6 + ["T恤"] * 6,
                  "评论": ["很好"] * 5 + ["太差了"] + ["太差了"] * 4 + ["很好"] * 2,
                  "日期": pd.date_range("2026-05-04", periods=12, freq="D").strftime("%Y-%m-%d")}
                 ).to_csv(reviews, index=False, encoding="utf-8-sig")
    runtime.backend.queue("T恤 needs attention.")
    history, table, plot = analytics_chat_turn(runtime, "admin", str(reviews), "哪个商品口碑最差？", [])
    answer = history[-1]["content"]
    assert "- T恤: net -33% (n=6)" in answer and "- 连衣裙: net +67% (n=6)" in answer
    assert table is not None and table.columns[0] == "商品名称" and plot.endswith("by_group.png")


def test_short_reviews_are_reviews(runtime, tmp_path):
    import pandas as pd

    # "好评" / "great": a review file of short texts was taken for plain numbers and the sentiment question was
    # answered with "no numeric columns to segment on".
    reviews = tmp_path / "short.csv"
    pd.DataFrame({"review": ["great", "bad", "ok", "好评"] * 5,
                  "date": pd.date_range("2026-05-04", periods=20, freq="D").strftime("%Y-%m-%d")}
                 ).to_csv(reviews, index=False)
    runtime.backend.queue("Fine.")
    history, *_ = analytics_chat_turn(runtime, "admin", str(reviews), "How did sentiment change day by day?", [])
    assert "20 messages:" in history[-1]["content"] and "⚠️" not in history[-1]["content"]
