"""Real exports a marketer uploads: Shopify orders, Meta / Google Ads reports, A/B files with visitors, dates with
UTC offsets, Chinese labels in plots; each case once broke an analysis or gave wrong figures."""

from __future__ import annotations

import pandas as pd
import pytest

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import Table, parse_dates


def _table(df: pd.DataFrame, name: str = "export.csv") -> Table:
    return Table(df=df, path=name, total_rows=len(df))


def test_dates_with_mixed_utc_offsets_keep_their_local_day():
    # A Shopify export across a DST change has -0500 and -0400: pandas refused the column with a traceback,
    # and one offset alone was converted to UTC, moving 07:00 in Shanghai to the day before.
    df = pd.DataFrame({"d": ["2026-03-07 10:23:45 -0500", "2026-03-09 10:23:45 -0400",
                             "2026-05-03T07:00:00+08:00", "2026-05-03T23:30:00Z", None]})
    notes: list[str] = []
    dates = parse_dates(df, "d", notes)
    assert dates.dt.strftime("%Y-%m-%d %H:%M").tolist()[:4] == [
        "2026-03-07 10:23", "2026-03-09 10:23", "2026-05-03 07:00", "2026-05-03 23:30"]
    assert pd.isna(dates.iloc[4])
    assert any("UTC offset" in n for n in notes)


@pytest.mark.parametrize("values, expected", [
    (["2026/5/3 下午 03:05:00", "2026/5/4 上午 11:05:00"], ["2026-05-03 15:05", "2026-05-04 11:05"]),  # 下午 = PM
    (["03.05.2026", "10.06.2026"], ["2026-05-03 00:00", "2026-06-10 00:00"]),  # dots: day first, was 5 March
    (["05/03/2026", "06/10/2026"], ["2026-05-03 00:00", "2026-06-10 00:00"]),  # slashes, no day > 12: US order
])
def test_dates_as_chinese_and_european_exports_write_them(values, expected):
    notes: list[str] = []
    assert parse_dates(pd.DataFrame({"d": values}), "d", notes).dt.strftime("%Y-%m-%d %H:%M").tolist() == expected


def test_a_sentiment_trend_over_mixed_offsets_runs():
    from assistant.analytics.sentiment import analyze_sentiment

    days = pd.date_range("2026-05-04", periods=28, freq="D")
    df = pd.DataFrame({"review": ["物流很快，质量很好", "质量太差了"] * 14,
                       "date": [f"{d:%Y-%m-%d}T07:00:00{'+08:00' if i % 2 else 'Z'}" for i, d in enumerate(days)]})
    res = analyze_sentiment(_table(df), AnalyticsConfig(sentiment_model="lexicon"), freq="week")
    try:
        trend = res.tables["trend"]
        assert trend["n"].sum() == 28 and not trend["partial"].any()
    finally:
        res.close()


# ---- ad-platform exports and A/B files ---------------------------------------------------------------------

def _meta_export(n_days: int = 14) -> pd.DataFrame:
    rows = []
    for i in range(n_days):
        for camp, conv in (("Spring - A", 20), ("Spring - B", 30)):
            rows.append({"Campaign name": camp, "Reporting starts": f"2026-03-{i + 1:02d}", "Impressions": 8000,
                         "Link clicks": 400, "Purchases": conv, "Amount spent (USD)": 320.0,
                         "Purchases conversion value": conv * 45.0, "Cost per result": 320.0 / conv})
    return pd.DataFrame(rows)


def test_a_meta_ads_export_is_understood_by_its_own_column_names():
    from assistant.analytics.campaign import analyze_campaigns

    res = analyze_campaigns(_table(_meta_export()), AnalyticsConfig())
    try:
        k = res.tables["by_campaign"].set_index("Campaign name")
        # "Amount spent (USD)" is the cost and "Purchases conversion value" the revenue: ROAS = 30*45/320
        assert k.loc["Spring - B", "roas"] == pytest.approx(30 * 45 / 320, abs=1e-3)
        assert k.loc["Spring - B", "cvr"] == pytest.approx(30 / 400, abs=1e-4)
        assert res.facts["best_campaign"] == "Spring - B" and "weekly" in res.figures
    finally:
        res.close()


def test_a_google_ads_export_with_abbreviations_and_currency_symbols():
    from assistant.analytics.campaign import analyze_campaigns

    df = pd.DataFrame({"Campaign": ["Brand", "Generic"], "Impr.": ["12,000", "30,000"], "Clicks": [600, 900],
                       "Conversions": [30, 27], "Cost": ["$1,200.00", "$1,800.00"], "Conv. value": [3000, 2700]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        k = res.tables["by_campaign"].set_index("Campaign")
        assert k.loc["Brand", "ctr"] == pytest.approx(0.05) and k.loc["Brand", "roas"] == pytest.approx(2.5)
        assert "ab_tests" in res.tables  # impressions were found, so CTR and CVR are both tested
        assert "Best campaign by ROAS: **Brand** (2.50)" in res.summary
    finally:
        res.close()


def test_an_ab_file_of_visitors_and_conversions_is_tested_on_cvr():
    from scipy.stats import norm

    from assistant.analytics.campaign import analyze_campaigns

    df = pd.DataFrame({"variant": ["A", "B"], "visitors": [5000, 5000], "conversions": [150, 190]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        ab = res.tables["ab_tests"]
        assert ab["metric"].tolist() == ["cvr"]  # no impressions: no CTR invented from visitors
        x1, x2, n = 150, 190, 5000
        pool = (x1 + x2) / (2 * n)
        z = (x2 / n - x1 / n) / (pool * (1 - pool) * 2 / n) ** 0.5
        assert ab["p_value"].iloc[0] == pytest.approx(2 * norm.sf(abs(z)), abs=1e-5)
        assert bool(ab["significant"].iloc[0]) and any("visitors" in note for note in res.notes)
        # the variants' own rates, drawn in percent (3.0% and 3.8% both read "0.04" on the bars)
        assert res.tables["by_variant"]["cvr"].tolist() == [0.03, 0.038]
        ax = res.figures["cvr_by_variant"].axes[0]
        assert ax.get_title() == "CVR by variant, %" and [t.get_text().strip() for t in ax.texts] == ["3.00%", "3.80%"]
    finally:
        res.close()


def test_more_data_needed_is_counted_in_the_files_unit():
    from assistant.analytics.campaign import analyze_campaigns

    df = pd.DataFrame({"variant": ["A", "B"], "visitors": [5000, 5000], "conversions": [150, 165]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        assert "not significant; about" in res.summary and "more visitors per arm to tell" in res.summary
    finally:
        res.close()


def test_an_arm_with_zero_visitors_is_named_in_the_files_words():
    from assistant.analytics.campaign import analyze_campaigns

    df = pd.DataFrame({"variant": ["A", "B"], "visitors": [5000, 0], "conversions": [150, 0]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        assert "ab_tests" not in res.tables
        assert any("B has no visitors" in note for note in res.notes)
    finally:
        res.close()


def test_a_campaign_file_without_a_name_column_says_which_option_names_it():
    from assistant.analytics.campaign import analyze_campaigns
    from assistant.errors import InputError

    df = pd.DataFrame({"Ad name": ["x", "y"], "clicks": [10, 20], "conversions": [1, 2]})
    with pytest.raises(InputError, match="--campaign-column"):
        analyze_campaigns(_table(df), AnalyticsConfig())


# ---- orders, workbooks, plots ------------------------------------------------------------------------------

def _shopify_orders() -> pd.DataFrame:
    """Shopify's export: one row per line item, the order's total on its first row only, buyers by e-mail,
    'Customer ID' blank for guest checkouts, times with the store's UTC offset."""
    rows = []
    for i in range(60):
        email, items = f"c{i if i < 25 else i % 7}@shop.example", 1 + i % 3  # 25 buyers, 1 to 6 orders
        for j in range(items):
            rows.append({"Name": f"#{1001 + i}", "Email": email, "Customer ID": None,
                         "Created at": f"2026-{1 + i % 6:02d}-{1 + i % 27:02d} 10:00:00 -0500",
                         "Total": 30.0 * items if j == 0 else None, "Lineitem name": "Mug", "Lineitem price": 30.0})
    return pd.DataFrame(rows)


def test_shopify_line_items_count_orders_not_rows():
    from assistant.analytics.report import detect_kind
    from assistant.analytics.segment import analyze_segments

    df = _shopify_orders()
    assert detect_kind(df) == "orders"
    res = analyze_segments(_table(df), AnalyticsConfig(max_k=4))
    try:
        profiles = res.tables["profiles"]
        customers = df["Email"].nunique()
        assert res.facts["rfm"] and res.facts["customers"] == customers
        # 60 orders, though the file has 120 rows (line items)
        assert (profiles["frequency"] * profiles["customers"]).sum() == pytest.approx(60, abs=0.1)
        money = (profiles["monetary"] * profiles["customers"]).sum()
        assert money == pytest.approx(df["Total"].sum(), rel=1e-3)
        assert any("line items of 60 orders" in n for n in res.notes)
        assert set(profiles["top_product"]) == {"Mug"}  # from "Lineitem name": the e-mails recommend it
    finally:
        res.close()


def test_money_columns_left_blank_on_some_rows_are_still_numbers():
    from assistant.analytics.io import to_numeric_frame

    df = pd.DataFrame({"total": ["$1,299.00", None, "", None, "¥3"]})
    notes: list[str] = []
    out = to_numeric_frame(df, ["total"], notes)
    assert out["total"].tolist()[0] == 1299.0 and out["total"].tolist()[4] == 3.0 and notes == []


def test_a_workbook_is_read_from_its_data_sheet_not_its_cover_sheet(tmp_path):
    from assistant.analytics.io import load_csv

    p = tmp_path / "export.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"说明": ["本表为导出数据"]}).to_excel(w, sheet_name="说明", index=False)
        pd.DataFrame({"campaign": ["a", "b", "c"], "clicks": [10, 20, 30],
                      "conversions": [1, 2, 3]}).to_excel(w, sheet_name="data", index=False)
    table = load_csv(p, AnalyticsConfig())
    assert table.df.columns.tolist() == ["campaign", "clicks", "conversions"] and len(table.df) == 3
    assert any("'data'" in n and "说明" in n for n in table.notes)


def test_chinese_labels_without_a_chinese_font_are_one_note_not_a_flood(tmp_path, monkeypatch):
    import warnings

    import matplotlib.pyplot as plt

    from assistant.analytics import plots
    from assistant.analytics.io import AnalysisResult

    monkeypatch.setitem(plt.rcParams, "font.family", ["DejaVu Sans"])  # as on a server with no CJK font
    res = AnalysisResult("x", "# x", figures={"bars": plots.bar_figure(["连衣裙", "T恤"], [1, 2], "净情感")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph … missing" warning would fail here
        res.save(tmp_path)
    res.close()
    assert res.notes == [plots.NO_CJK_FONT_NOTE]
    assert plots.NO_CJK_FONT_NOTE in (tmp_path / "x_summary.md").read_text(encoding="utf-8")


def test_an_installed_chinese_font_is_put_behind_the_default(monkeypatch):
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from assistant.analytics import plots

    fake = font_manager.FontEntry(fname="/nonexistent/NotoSansCJK.ttc", name="Noto Sans CJK SC")
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [*font_manager.fontManager.ttflist, fake])
    monkeypatch.setitem(plt.rcParams, "font.family", ["sans-serif"])
    assert plots.use_cjk_fonts() == ["Noto Sans CJK SC"]
    assert plt.rcParams["font.family"] == ["DejaVu Sans", "Noto Sans CJK SC"]


# ---- sparse reviews ----------------------------------------------------------------------------------------

def test_a_quiet_week_has_no_sentiment_and_is_not_named_in_the_headline():
    from assistant.analytics.sentiment import analyze_sentiment

    # Weeks of 4 May (negative), 11 May (positive), 18 May (no review at all), 25 May (partial: data ends on 25).
    df = pd.DataFrame({"review": ["bad", "bad", "great", "great", "great"],
                       "date": ["2026-05-04", "2026-05-10", "2026-05-11", "2026-05-17", "2026-05-25"],
                       "product": list("abcde")})
    res = analyze_sentiment(_table(df), AnalyticsConfig(sentiment_model="lexicon"), group_column="product")
    try:
        trend = res.tables["trend"].set_index(res.tables["trend"]["period"].dt.strftime("%Y-%m-%d"))
        assert trend.loc["2026-05-18", "n"] == 0 and pd.isna(trend.loc["2026-05-18", "net"])
        assert pd.isna(trend.loc["2026-05-18", "positive"])  # not a 0% positive week in the chart
        assert "2026-05-18" not in set(res.tables["trend_long"]["period"].dt.strftime("%Y-%m-%d"))
        # "to" is the last week with reviews, not the empty one read as +0.0%
        assert "from -100.0% (2026-05-04) to +100.0% (2026-05-11)" in res.summary
        assert res.facts["trend_last_net"] == 1.0
        # every product has one review: said, instead of an empty "Lowest net sentiment:" line
        assert "too few to rank" in res.summary and "Lowest net sentiment: \n" not in res.summary + "\n"
    finally:
        res.close()


# ---- churn -------------------------------------------------------------------------------------------------

def test_churn_probabilities_are_on_the_real_scale_when_churn_is_rare():
    import numpy as np

    from assistant.analytics.churn import analyze_churn

    # 5% churn. The balanced logistic model said ~27% on average, and "72%" for customers of whom 17% churned.
    rng = np.random.default_rng(0)
    n = 2000
    recency = rng.exponential(60, n)
    churned = rng.random(n) < 1 / (1 + np.exp(-(-4.2 + recency / 60)))
    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "recency_days": recency.round(),
                       "orders": rng.poisson(4, n), "churned": churned.astype(int)})
    res = analyze_churn(_table(df), AnalyticsConfig())
    try:
        scores = res.tables["scores"]
        base = df["churned"].mean()
        assert 0.02 < base < 0.1
        assert scores["probability"].mean() == pytest.approx(base, abs=0.02)
        assert res.facts["model"] == "logistic regression" and res.facts["auc"] > 0.7
    finally:
        res.close()


@pytest.mark.parametrize("control, variant", [("old", "new"), ("Original", "Challenger"), ("对照组", "实验组"),
                                              ("Variant A", "Variant B")])
def test_the_control_arm_is_known_by_its_usual_names(control, variant):
    from assistant.analytics.campaign import analyze_campaigns

    # Sorted, "new" came before "old": the new page was the control and the lift had the wrong sign.
    df = pd.DataFrame({"variant": [variant, control], "visitors": [4000, 4000], "conversions": [200, 120]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        row = res.tables["ab_tests"].iloc[0]
        assert (row["control"], row["variant"]) == (control, variant) and row["lift"] > 0
    finally:
        res.close()


def test_money_in_european_accounting_and_currency_code_formats():
    from assistant.analytics.io import to_numeric_frame

    df = pd.DataFrame({"eu": ["1.299,00 €", "19,99 €", "5,00 €"], "fr": ["1\u00a0299,00\u00a0€", "19,99 €", "-5,00 €"],
                       "us": ["$1,299.00", "$19.99", "($5.00)"], "codes": ["US$ 1,299", "USD 19.99", "RMB 5"],
                       "sku": ["SKU1", "SKU2", "SKU3"]})
    notes: list[str] = []
    out = to_numeric_frame(df, list(df.columns), notes)
    assert out["eu"].tolist() == [1299.0, 19.99, 5.0]  # was 1.299, 1999, 500
    assert out["fr"].tolist() == [1299.0, 19.99, -5.0]
    assert out["us"].tolist() == [1299.0, 19.99, -5.0]  # "(5.00)" had made the column "not numeric"
    assert out["codes"].tolist() == [1299.0, 19.99, 5.0]
    assert "sku" not in out and notes == ["column 'sku' is not numeric: left out"]


def test_the_campaign_command_lets_every_count_column_be_named(tmp_path, capsys):
    from assistant.analytics.__main__ import main
    from assistant.cli_support import run_cli

    # A German report: nothing is found by name, and the counts had no option to name them with.
    p = tmp_path / "de.csv"
    pd.DataFrame({"Kampagne": ["Sommer", "Winter"], "Klicks": [100, 200], "Käufe": [5, 7],
                  "Kosten": ["50,00 €", "80,50 €"], "Umsatz": ["500,00 €", "400,00 €"]}).to_csv(p, index=False)
    argv = ["campaign", "--input", str(p), "--output", str(tmp_path / "o")]
    assert run_cli(main, argv) == 2
    assert "--conversions-column" in capsys.readouterr().err
    assert run_cli(main, [*argv, "--campaign-column", "Kampagne", "--clicks-column", "Klicks", "--conversions-column",
                          "Käufe", "--cost-column", "Kosten", "--revenue-column", "Umsatz"]) == 0
    k = pd.read_csv(tmp_path / "o" / "campaign_by_campaign.csv", encoding="utf-8-sig").set_index("Kampagne")
    assert k.loc["Sommer", "roas"] == pytest.approx(10.0) and k.loc["Winter", "cpa"] == pytest.approx(11.5)


def test_a_churn_flag_typed_in_mixed_case_and_a_model_that_predicts_nothing():
    import numpy as np

    from assistant.analytics.churn import analyze_churn

    # "Yes"/"yes"/"No"/"no" was "4 values" and stopped the model; a model at chance level listed "highest-risk
    # customers" with reasons and no word of warning.
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"churned": ["Yes", "No", "yes", "no"] * 50, "noise": rng.normal(size=200)})
    res = analyze_churn(_table(df), AnalyticsConfig())
    try:
        assert res.facts["base_rate"] == 0.5 and res.facts["rows"] == 200
        assert res.facts["auc"] < 0.6
        assert "**Warning: held-out AUC" in res.summary and any("do not act on the scores" in n for n in res.notes)
    finally:
        res.close()


def test_customers_whose_product_cells_are_all_blank_do_not_stop_segments_or_emails():
    import numpy as np

    from assistant.analytics.content import segment_emails
    from assistant.analytics.segment import analyze_segments
    from assistant.llm.fake import FakeBackend

    rng = np.random.default_rng(0)
    n = 300
    # c3's product is never filled in: the commonest product of nothing was an IndexError traceback
    df = pd.DataFrame({"customer_id": [f"c{i % 40}" for i in range(n)],
                       "order_date": pd.date_range("2026-01-01", periods=n, freq="6h").strftime("%Y-%m-%d"),
                       "amount": rng.integers(5, 500, n),
                       "product": [None if i % 40 == 3 else "mug" for i in range(n)]})
    res = analyze_segments(_table(df), AnalyticsConfig(max_k=4))
    try:
        profiles = res.tables["profiles"]
        assert set(profiles["top_product"]) == {"mug"}
        profiles.loc[0, "top_product"] = float("nan")  # a segment whose customers all left it blank
        emails = segment_emails(profiles, FakeBackend(), AnalyticsConfig(), product="our bestsellers")
        assert emails.loc[0, "product"] == "our bestsellers" and "nan" not in emails["recommendation"].tolist()
    finally:
        res.close()


def test_rows_without_a_campaign_name_stay_in_the_tables():
    from assistant.analytics.campaign import analyze_campaigns

    # 5,000 impressions without a campaign name vanished from the campaign table (groupby drops them).
    df = pd.DataFrame({"campaign": ["a", "b", None, "a"], "channel": ["x", "y", "y", " "],
                       "impressions": [1000, 1000, 5000, 1000], "clicks": [50, 40, 300, 10],
                       "conversions": [5, 4, 30, 1]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        for dim in ("campaign", "channel"):
            k = res.tables[f"by_{dim}"]
            assert k["impressions"].sum() == 8000 and "(blank)" in set(k[dim])
        assert set(res.tables["ab_tests"]["variant"]) == {"b"}  # "(blank)" is no campaign to test against "a"
        assert "1 row(s) with no 'campaign' are shown as (blank)" in res.notes
    finally:
        res.close()


def test_a_ga4_channel_report_of_sessions_compares_channels():
    from assistant.analytics.campaign import analyze_campaigns

    df = pd.DataFrame({"Session default channel group": ["Direct", "Email"], "Sessions": ["5,000", "3,000"],
                       "Conversions": [90, 150], "Total revenue": ["$4,000.00", "$7,200.00"]})
    res = analyze_campaigns(_table(df), AnalyticsConfig())
    try:
        k = res.tables["by_channel"].set_index("Session default channel group")
        assert k.loc["Email", "cvr"] == 0.05 and k.loc["Email", "revenue"] == 7200
        assert res.tables["ab_tests"]["campaign"].tolist() == ["all channels"]
    finally:
        res.close()


@pytest.mark.parametrize("sep, encoding", [(";", "utf-8-sig"), ("\t", "utf-16"), ("\t", "gb18030")])
def test_semicolon_and_tab_separated_exports_are_read(tmp_path, sep, encoding):
    from assistant.analytics.io import load_csv

    # Excel in Germany/France saves CSV with ';' and its "Unicode text" is tab-separated UTF-16: either was read
    # as one column, and every analysis said a column was missing.
    p = tmp_path / "export.csv"
    pd.DataFrame({"评论": ["物流很快, 质量很好", "太差了"], "clicks": [100, 200], "cost": ["50,00", "80,50"]}).to_csv(
        p, sep=sep, index=False, encoding=encoding)
    table = load_csv(p, AnalyticsConfig())
    assert table.df.columns.tolist() == ["评论", "clicks", "cost"]
    assert table.df["评论"].tolist() == ["物流很快, 质量很好", "太差了"]
