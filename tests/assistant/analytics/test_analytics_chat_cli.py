"""The chat entry point, the one-page report and the CLI contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assistant.analytics.qa import answer_analytics_question, pick_analysis
from assistant.analytics.report import build_report, detect_kind
from assistant.errors import InputError
from assistant.llm import FakeBackend
from tests.conftest import run_module

LEXICON_ENV = {"ASSISTANT_ANALYTICS__SENTIMENT_MODEL": "lexicon", "ASSISTANT_ANALYTICS__MAX_K": "4"}


@pytest.mark.parametrize("question,analysis", [
    ("How did sentiment about our brand move week by week?", "sentiment"),
    ("品牌口碑每月的趋势怎么样", "sentiment"),
    ("What do customers complain about most?", "aspects"),
    ("物流和质量方面的投诉有哪些", "aspects"),
    ("What customer segments do we have?", "segment"),
    ("who is likely to churn and why", "churn"),
    ("哪些客户可能流失", "churn"),
    ("Did campaign B beat A?", "campaign"),
    ("哪个渠道的ROI最高", "campaign"),
    ("write the e-mail for segment 3", "email"),
    ("hello there", None),
    # keywords are words: "ctr" is not in "electric", "roi" not in "embroidery", "leave" not in "leave-in"
    ("What is the sentiment about our embroidery?", "sentiment"),
    ("What do people say about the electric kettle?", None),
])
def test_question_picks_the_analysis(question, analysis):
    assert pick_analysis(question) == analysis


def test_kinds_of_the_demo_files(tables):
    assert {n: detect_kind(t.df) for n, t in tables.items()} == {
        "customers": "churn", "orders": "orders", "reviews": "reviews", "campaigns": "campaign"}


def test_chat_answers_a_sentiment_question_with_numbers_table_and_plot(demo_dir, cfg, tmp_path):
    backend = FakeBackend(["Quality complaints are rising; fix the supplier first."])
    ans = answer_analytics_question("How did sentiment move week by week?", str(demo_dir / "reviews.csv"),
                                    backend, cfg=cfg, output_dir=tmp_path)
    assert ans.analysis == "sentiment" and "% positive" in ans.text and "2026-06-15" in ans.text
    assert isinstance(ans.table, pd.DataFrame) and {"period", "positive", "negative", "spike"} <= set(ans.table)
    assert Path(ans.plot_path).is_file() and ans.plot_path.endswith(".png")
    assert "Takeaway (AI-written from the numbers above): Quality complaints" in ans.text
    assert "Analysis results" in backend.calls[0]["messages"][-1].content


def test_chat_in_chinese_on_campaigns(demo_dir, cfg, tmp_path):
    ans = answer_analytics_question("B 版本有没有比 A 版本好？渠道ROI如何", str(demo_dir / "campaigns.csv"),
                                    None, cfg=cfg, output_dir=tmp_path)
    assert ans.analysis == "campaign" and ans.text.startswith("整体") and "A/B" in ans.text
    assert "p_value" in ans.table and ans.plot_path


def test_chat_falls_back_to_what_the_file_holds(demo_dir, cfg, tmp_path):
    ans = answer_analytics_question("who is likely to churn?", str(demo_dir / "reviews.csv"), None, cfg=cfg,
                                    output_dir=tmp_path)
    assert ans.analysis == "sentiment" and ans.text.startswith("(This file cannot answer a churn question")


def test_chat_writes_segment_emails_with_the_adcopy_writer(small_demo_dir, tmp_path):
    from assistant.adcopy import AdCopyConfig
    from assistant.analytics.config import AnalyticsConfig

    backend = FakeBackend(default="1. Aurora picks for you\n2. Back in stock for you\n3. Shop now")
    light = AdCopyConfig(sentiment=False, embedder="ngram")  # no classifier/embedder loads in a unit test
    ans = answer_analytics_question("write the e-mail for each segment", str(small_demo_dir / "orders.csv"),
                                    backend, cfg=AnalyticsConfig(max_k=3), output_dir=tmp_path, adcopy_cfg=light)
    assert ans.analysis == "email" and ans.text.count("**Back in stock for you**") + ans.text.count(
        "**Aurora picks for you**") == 3
    emails = pd.read_csv(tmp_path / "segment_emails.csv")
    assert (emails["writer"] == "assistant.adcopy.generate_email").all()
    assert emails["based_on"].str.contains("recency_days").all()
    assert emails["recommendation"].str.contains("most bought in this segment").all()
    # The segment's numbers reach the e-mail writer's prompt.
    assert any("recency_days" in c["messages"][-1].content for c in backend.calls[-3:])


def test_segment_emails_fall_back_to_a_plain_prompt(small_demo_dir, cfg, monkeypatch):
    import assistant.analytics.content as content
    from assistant.analytics.io import load_csv
    from assistant.analytics.segment import analyze_segments

    monkeypatch.setattr(content, "_adcopy_writer", lambda backend, adcopy_cfg: None)
    profiles = analyze_segments(load_csv(small_demo_dir / "orders.csv", cfg), cfg).tables["profiles"]
    long_subject = "We miss you " + "x" * 100
    backend = FakeBackend(default=f"Subject: {long_subject}\nBody: Come back for new tea sets.\nRecommendation: tea set")
    emails = content.segment_emails(profiles, backend, cfg)
    assert len(emails) == len(profiles) and emails["writer"].str.startswith("prompt").all()
    assert (emails["subject"].str.len() <= 60).all() and (emails["body"] == "Come back for new tea sets.").all()
    assert "recency_days" in backend.calls[0]["messages"][-1].content


def test_chat_rejects_an_empty_question(demo_dir):
    with pytest.raises(InputError, match="ask a question"):
        answer_analytics_question("  ", str(demo_dir / "reviews.csv"), None)


def test_report_covers_every_demo_file(small_demo_dir, cfg, tmp_path):
    report, results = build_report([small_demo_dir], tmp_path, cfg, backend=None)
    text = report.read_text()
    for part in ("campaigns.csv", "customers.csv", "orders.csv", "reviews.csv", "A/B tests", "Top complaints"):
        assert part in text
    assert len(results) == 5 and len(list(tmp_path.glob("*.png"))) >= 8 and "AUC" in text
    for img in [line[line.index("(") + 1:-1] for line in text.splitlines() if line.startswith("![")]:
        assert (tmp_path / img).is_file()


def test_cli_help_lists_every_command():
    r = run_module("assistant.analytics", "--help")
    assert r.returncode == 0
    for cmd in ("sentiment", "aspects", "segment", "churn", "campaign", "report", "demo"):
        assert cmd in r.stdout


@pytest.mark.parametrize("cmd", ["sentiment", "aspects", "segment", "churn", "campaign", "report", "demo"])
def test_cli_subcommand_help(cmd, capsys):
    from assistant.analytics.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0 and "--output" in capsys.readouterr().out


def test_cli_demo_then_sentiment_writes_csv_png_md(tmp_path, capsys, monkeypatch):
    from assistant.analytics.__main__ import main
    from assistant.cli_support import run_cli

    monkeypatch.setenv("ASSISTANT_ANALYTICS__SENTIMENT_MODEL", "lexicon")
    assert run_cli(main, ["demo", "--output", str(tmp_path / "d"), "--customers", "50", "--reviews", "200"]) == 0
    assert {p.name for p in (tmp_path / "d").iterdir()} == {"customers.csv", "orders.csv", "reviews.csv",
                                                           "campaigns.csv"}
    # The real entry point, as a user runs it.
    out = tmp_path / "out"
    r = run_module("assistant.analytics", "sentiment", "--input", str(tmp_path / "d" / "reviews.csv"),
                   "--output", str(out), "--freq", "month", env=LEXICON_ENV)
    assert r.returncode == 0, r.stderr
    assert "Trend per month" in r.stdout
    for name in ("sentiment_trend.csv", "sentiment_trend_long.csv", "sentiment_trend.png", "sentiment_summary.md"):
        assert (out / name).is_file()


def test_cli_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    from assistant.analytics.__main__ import main
    from assistant.cli_support import run_cli

    monkeypatch.setenv("ASSISTANT_ANALYTICS__SENTIMENT_MODEL", "lexicon")
    gbk = tmp_path / "gbk.csv"
    pd.DataFrame({"日期": ["2026-01-01"] * 10, "评论": ["好"] * 5 + ["差"] * 5, "churned": [0] * 10}).to_csv(
        gbk, index=False, encoding="gbk")
    cases = [
        (["churn", "--input", str(gbk)], "InputError: target column 'churned' has only one class"),
        (["sentiment", "--input", str(tmp_path / "nope.csv")], "InputError: no such file"),
        (["sentiment", "--input", str(gbk), "--date-column", "when"], "InputError: no date column 'when'"),
        (["segment", "--input", str(gbk), "--no-llm"], "InputError: no numeric columns"),
    ]
    for argv, message in cases:
        assert run_cli(main, [*argv, "--output", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(message), err


@pytest.mark.slow
def test_chat_takeaway_from_the_real_small_model(smollm2_backend, small_demo_dir, cfg, tmp_path):
    ans = answer_analytics_question("Did campaign B beat A?", str(small_demo_dir / "campaigns.csv"), smollm2_backend,
                                    cfg=cfg, output_dir=tmp_path)
    head, _, takeaway = ans.text.partition("Takeaway (AI-written from the numbers above): ")
    assert head.startswith("Overall: CTR") and len(takeaway.split()) >= 5


def test_a_sentiment_question_on_an_orders_file_says_it_holds_no_reviews(small_demo_dir, tmp_path):
    from assistant.analytics.config import AnalyticsConfig

    ans = answer_analytics_question("How did sentiment trend over time?", str(small_demo_dir / "orders.csv"), None,
                                    cfg=AnalyticsConfig(max_k=3), output_dir=tmp_path)
    assert ans.analysis == "segment" and "holds no customer reviews" in ans.text
