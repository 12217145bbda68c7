"""What a marketer feeds the analytics CLI by mistake (or from Excel): one clear line or an honest result,
never a traceback, NaN in the text, a winner on a handful of clicks or a user's file overwritten."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import Table, load_csv, parse_dates
from assistant.errors import InputError

CFG = AnalyticsConfig(sentiment_model="lexicon", max_k=4)


@pytest.fixture(autouse=True)
def _close_figures():
    """The analyses here are not saved: their figures would pile up in pyplot for the rest of the session."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _cli(argv, capsys):
    from assistant.analytics.__main__ import main
    from assistant.cli_support import run_cli

    code = run_cli(main, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _table(df: pd.DataFrame) -> Table:
    return Table(df=df, path="t.csv", total_rows=len(df))


# ---- input files -------------------------------------------------------------------------------------------

def test_xlsx_is_read_like_a_csv(tmp_path):
    p = tmp_path / "campaigns.xlsx"
    pd.DataFrame({"campaign": ["a", "b"], "clicks": [10, 20], "conversions": [1, 2]}).to_excel(p, index=False)
    table = load_csv(p, CFG)
    assert table.df.columns.tolist() == ["campaign", "clicks", "conversions"] and len(table.df) == 2


@pytest.mark.parametrize("name, content, message", [
    ("broken.xlsx", b"not a zip", "not a valid .xlsx workbook"),
    ("renamed.csv", b"PK\x03\x04" + b"\0" * 100, "zip/Excel file, not a CSV"),
    ("binary.csv", b"a,b\n\0\0\x01\x02\xff\n", "binary file"),
    ("old.xls", b"\xd0\xcf\x11\xe0 old excel", "old Excel .xls file"),
])
def test_unreadable_spreadsheets_are_one_line(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_csv(p, CFG)


def test_a_folder_given_as_the_input_file_says_so(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_csv(tmp_path, CFG)


def test_numbers_are_not_read_as_1970_dates():
    with pytest.raises(InputError, match="holds numbers, not dates"):
        parse_dates(pd.DataFrame({"rating": [1, 5, 4, 3]}), "rating", [])
    # yyyymmdd integers are dates, as exported by many shop back-ends
    dates = parse_dates(pd.DataFrame({"d": [20260105, 20260212]}), "d", [])
    assert dates.dt.strftime("%Y-%m-%d").tolist() == ["2026-01-05", "2026-02-12"]


def test_a_numeric_time_column_is_not_picked_as_the_date():
    from assistant.analytics.io import find_date_column

    df = pd.DataFrame({"time_on_page": [12, 30], "created": ["2026-01-01", "2026-01-02"]})
    assert find_date_column(df) == "created"


# ---- output paths --------------------------------------------------------------------------------------------

def test_output_that_is_a_file_is_one_line_before_any_work(small_demo_dir, tmp_path, capsys):
    target = tmp_path / "taken.csv"
    target.write_text("mine")
    for cmd in (["campaign", "--input", str(small_demo_dir / "campaigns.csv")],
                ["report", "--input", str(small_demo_dir / "campaigns.csv"), "--no-llm"],
                ["demo"]):
        code, _, err = _cli([*cmd, "--output", str(target)], capsys)
        assert code == 2 and err.startswith("InputError: --output takes a folder"), err
    assert target.read_text() == "mine"


def test_demo_does_not_overwrite_a_shops_own_files(tmp_path, capsys):
    (tmp_path / "orders.csv").write_text("order_id,amount\nreal,1\n")
    code, _, err = _cli(["demo", "--output", str(tmp_path), "--customers", "30", "--reviews", "5"], capsys)
    assert code == 2 and "not overwriting" in err and "orders.csv" in err
    assert (tmp_path / "orders.csv").read_text() == "order_id,amount\nreal,1\n"
    # the same demo again into its own folder is fine (re-runnable)
    demo = tmp_path / "demo"
    args = ["demo", "--output", str(demo), "--customers", "30", "--reviews", "5"]
    assert _cli(args, capsys)[0] == 0 and _cli(args, capsys)[0] == 0


def test_report_into_its_input_folder_does_not_read_its_own_tables(small_demo_dir, tmp_path):
    import shutil

    from assistant.analytics.report import build_report

    folder = tmp_path / "shop"
    folder.mkdir()
    shutil.copy(small_demo_dir / "campaigns.csv", folder / "campaigns.csv")
    _, first = build_report([folder], folder, CFG)
    _, second = build_report([folder], folder, CFG)
    assert len(first) == len(second) == 1


def test_report_skips_an_unreadable_file_and_keeps_the_others(small_demo_dir, tmp_path):
    from assistant.analytics.report import build_report

    (tmp_path / "empty.csv").write_text("")
    report, results = build_report([small_demo_dir / "campaigns.csv", tmp_path / "empty.csv"], tmp_path / "out", CFG)
    assert len(results) == 1 and "Skipped: empty.csv is empty" in report.read_text()
    with pytest.raises(InputError, match="empty"):
        build_report([tmp_path / "empty.csv"], tmp_path / "out2", CFG)


# ---- analyses ------------------------------------------------------------------------------------------------

def test_segment_with_a_misspelt_feature_is_one_line(capsys, small_demo_dir, tmp_path):
    code, _, err = _cli(["segment", "--input", str(small_demo_dir / "customers.csv"), "--features", "nope",
                         "--no-llm", "--output", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("InputError: no feature column 'nope'"), err


def test_churn_leaves_out_single_value_features():
    from assistant.analytics.churn import analyze_churn

    n = 80
    df = pd.DataFrame({"churned": [0, 1] * (n // 2), "plan": ["basic"] * n, "visits": [5] * n})
    with pytest.raises(InputError, match="single value"):
        analyze_churn(_table(df), CFG, features=["plan", "visits"])


def test_blank_reviews_are_left_out_not_scored_neutral():
    from assistant.analytics.sentiment import analyze_sentiment

    df = pd.DataFrame({"review": ["great, love it", None, "  ", "terrible, broken"]})
    res = analyze_sentiment(_table(df), CFG)
    assert res.facts["rows"] == 2 and any("no text" in n for n in res.notes)
    with pytest.raises(InputError, match="empty in every row"):
        analyze_sentiment(_table(pd.DataFrame({"review": [None, ""], "id": ["x", "y"]})), CFG, text_column="review")


def test_slow_sentiment_models_show_progress(capsys):
    from assistant.analytics.sentiment import score_texts

    class Slow:  # stands in for the trained classifier (~20-60 texts/s)
        def predict(self, texts):
            return [type("P", (), {"label": "positive", "score": 0.9})() for _ in texts]

    score_texts(["ok"] * 1200, Slow())
    assert "sentiment" in capsys.readouterr().err


# ---- campaigns -----------------------------------------------------------------------------------------------

def _campaigns(rows, cols=("campaign", "variant", "impressions", "clicks", "conversions", "cost", "revenue")):
    return _table(pd.DataFrame(rows, columns=list(cols)))


@pytest.mark.parametrize("row, message", [
    (("y", "A", 100, 120, 9, 10, 50), "more clicks"),
    (("y", "A", 100, 5, 1, -10, 50), "negative cost"),
])
def test_impossible_campaign_counts_are_one_line(row, message):
    from assistant.analytics.campaign import analyze_campaigns

    with pytest.raises(InputError, match=message):
        analyze_campaigns(_campaigns([row, ("y", "B", 100, 4, 2, 10, 30)]), CFG)


def test_more_conversions_than_clicks_is_a_note_not_an_error():
    from assistant.analytics.campaign import analyze_campaigns

    res = analyze_campaigns(_campaigns([("y", "A", 100, 5, 9, 10, 50), ("y", "B", 100, 4, 2, 10, 30)]), CFG)
    assert any("more conversions" in n and "data row 1" in n for n in res.notes)


def test_a_campaign_without_impressions_does_not_stop_the_others():
    from assistant.analytics.campaign import analyze_campaigns

    res = analyze_campaigns(_campaigns([("x", "A", 0, 0, 0, 0, 0), ("x", "B", 0, 0, 0, 10, 0),
                                        ("y", "A", 5000, 250, 30, 10, 50), ("y", "B", 5000, 240, 25, 10, 30)]), CFG)
    assert set(res.tables["ab_tests"]["campaign"]) == {"y"}
    assert any(n.startswith("x: A/B test skipped") for n in res.notes)


def test_no_nan_in_the_campaign_summary():
    from assistant.analytics.campaign import analyze_campaigns

    cols = ("campaign", "impressions", "clicks", "conversions", "cost", "revenue")  # campaigns vs each other
    res = analyze_campaigns(_campaigns([("x", 1000, 50, 0, 0, 0), ("y", 1000, 40, 0, 0, 0)], cols), CFG)
    md = res.markdown()
    assert not re.search(r"\bnan\b", md, re.I) and "same CVR" in md and "lift n/a" in md
    assert "| 0 | 0 | 0 |" in md  # zero counts print as 0, not 0.0000


def test_tiny_campaign_tests_say_they_are_tiny():
    from assistant.analytics.campaign import analyze_campaigns

    res = analyze_campaigns(_campaigns([("x", "A", 40, 4, 1, 1, 1), ("x", "B", 40, 12, 6, 1, 1)]), CFG)
    ctr = next(line for line in res.summary.splitlines() if "CTR:" in line)
    assert "few events" in ctr and "Fisher" in ctr


def test_one_week_of_reviews_is_not_shown_as_a_trend():
    from assistant.analytics.sentiment import analyze_sentiment

    df = pd.DataFrame({"date": ["2026-01-05", "2026-01-06"] * 5, "review": ["great", "awful"] * 5})
    res = analyze_sentiment(_table(df), CFG)
    assert "no trend to show" in res.summary and "went from" not in res.summary and "trend" not in res.figures


def test_churn_refuses_an_unknown_id_column_and_an_id_as_feature(small_demo_dir):
    from assistant.analytics.churn import analyze_churn

    table = load_csv(small_demo_dir / "customers.csv", CFG)
    with pytest.raises(InputError, match="no id column 'nope'"):
        analyze_churn(table, CFG, id_column="nope")
    with pytest.raises(InputError, match="an ID or free text"):
        analyze_churn(table, CFG, features=["customer_id"])


def test_a_campaign_with_one_variant_says_why_it_has_no_test():
    from assistant.analytics.campaign import analyze_campaigns

    res = analyze_campaigns(_campaigns([("x", "A", 1000, 50, 5, 1, 1), ("y", "A", 1000, 40, 4, 1, 1),
                                        ("y", "B", 1000, 45, 5, 1, 1)]), CFG)
    assert "x: only one variant (A): no A/B test" in res.notes


def test_aspect_mention_rate_is_a_share_of_reviews():
    from assistant.analytics.aspects import analyze_aspects

    df = pd.DataFrame({"review": ["物流很慢，物流太差，快递也慢"] * 4 + ["质量很好"] * 4})
    res = analyze_aspects(_table(df), CFG)
    rate = res.tables["table"].set_index("aspect")["mention_rate"]
    assert rate["shipping"] == 0.5 and (rate <= 1).all()
    assert "50% of reviews" in res.summary


def test_a_column_only_named_like_a_date_does_not_stop_the_analysis():
    from assistant.analytics.campaign import analyze_campaigns
    from assistant.analytics.sentiment import analyze_sentiment

    camp = analyze_campaigns(_campaigns([("x", "morning", 1000, 50, 5, 1, 1), ("y", "evening", 1000, 40, 4, 1, 1)],
                                        ("campaign", "time_slot", "impressions", "clicks", "conversions", "cost",
                                         "revenue")), CFG)
    assert any("'time_slot' does not hold dates" in n for n in camp.notes)
    reviews = _table(pd.DataFrame({"time_slot": ["morning", "evening"] * 3, "review": ["great", "awful"] * 3}))
    assert "trend" not in analyze_sentiment(reviews, CFG).tables
    with pytest.raises(InputError, match="does not hold dates"):  # named by the user: that is an error
        analyze_sentiment(reviews, CFG, date_column="time_slot")


def test_segments_never_ask_for_more_clusters_than_distinct_customers(recwarn):
    from assistant.analytics.segment import analyze_segments

    df = pd.DataFrame({"spend": [10, 200, 3000, 10, 200, 3000, 50, 50] * 5, "visits": [1, 5, 9, 1, 5, 9, 2, 2] * 5})
    res = analyze_segments(_table(df), AnalyticsConfig(max_k=8))
    assert res.facts["k"] <= 4
    assert not [w for w in recwarn if "distinct clusters" in str(w.message)]
    with pytest.raises(InputError, match="only 2 distinct"):
        analyze_segments(_table(pd.DataFrame({"spend": [1, 9] * 20, "visits": [1, 9] * 20})), CFG)


# ---- what a marketer found (ids read as text, reasons a customer does not have, orders without dates) ------

def test_an_id_column_named_like_text_is_not_scored_as_the_reviews():
    from assistant.analytics.io import find_text_column

    df = pd.DataFrame({"review_id": [1, 2, 3], "comment_count": [0, 4, 1],
                       "feedback": ["soft and warm", "arrived broken", "fine"]})
    assert find_text_column(df) == "feedback"
    with pytest.raises(InputError, match="no text column"):
        find_text_column(df[["review_id", "comment_count"]])


def test_churn_reasons_name_only_what_the_customer_has_and_keep_decimals():
    from assistant.analytics.churn import explain_customer

    contrib = pd.Series({"channel = organic": 0.9, "email_open_rate": 0.6, "channel = referral": 0.3})
    raw = pd.Series({"channel": "referral", "email_open_rate": 0.95})
    why = explain_customer(contrib, raw, pd.Series({"email_open_rate": 0.51}))
    assert why == "higher because of: email_open_rate 0.95 (avg 0.51); channel = referral"


def test_orders_without_dates_are_not_segmented_as_customers():
    from assistant.analytics.segment import analyze_segments

    df = pd.DataFrame({"customer_id": [f"C{i % 30:03d}" for i in range(95)], "amount": range(95)})
    with pytest.raises(InputError, match="look like orders.*date"):
        analyze_segments(_table(df), CFG)
    one = pd.DataFrame({"customer_id": ["C1"], "amount": [10], "visits": [3]})
    with pytest.raises(InputError, match="at least .* customers, got 1"):
        analyze_segments(_table(one), CFG)


def test_a_campaign_count_that_is_not_a_number_is_no_zero():
    from assistant.analytics.campaign import analyze_campaigns

    rows = [("y", "A", 1000 + i, "n/a" if i == 3 else 30, 3, 10, 50) for i in range(6)]
    rows += [("y", "B", 1000, 25, 2, 10, 30)] * 6
    with pytest.raises(InputError, match="not numbers.*'n/a' in data row 4"):
        analyze_campaigns(_campaigns(rows), CFG)


def test_churn_says_how_many_rows_had_no_target():
    from assistant.analytics.churn import analyze_churn

    n = 80
    df = pd.DataFrame({"churned": ([0, 1] * (n // 2))[:-3] + [None] * 3, "visits": range(n),
                       "spend": [v * 3 % 17 for v in range(n)]})
    res = analyze_churn(_table(df), CFG)
    assert any("3 rows with no 'churned'" in note for note in res.notes)
