"""Partial first and last periods of the sentiment trend (the data starts or stops mid-week) are marked and kept
out of the headline; the CLI's "wrote N files" counts every file it wrote."""

from __future__ import annotations

import pandas as pd

from assistant.analytics.io import Table
from assistant.analytics.sentiment import analyze_sentiment, sentiment_trend


def _reviews() -> pd.DataFrame:
    """Wednesday 2026-01-07 to Wednesday 2026-02-04: four whole weeks between two partial ones. The partial weeks
    are all praise (first) and all complaints (last), the whole weeks evenly mixed."""
    rows = [("2026-01-07", "很好，非常满意")] * 4
    for monday in ("2026-01-12", "2026-01-19", "2026-01-26"):
        for day in pd.date_range(monday, periods=7):
            rows += [(f"{day:%Y-%m-%d}", "很好，非常满意"), (f"{day:%Y-%m-%d}", "太差了，非常失望")]
    rows += [("2026-02-02", "太差了，非常失望")] * 3 + [("2026-02-04", "太差了，非常失望")]
    return pd.DataFrame(rows, columns=["date", "review"])


def test_partial_weeks_are_marked_and_left_out_of_the_headline(cfg):
    res = analyze_sentiment(Table(_reviews(), "r.csv"), cfg, freq="week")
    trend = res.tables["trend"]
    assert trend["partial"].tolist() == [True, False, False, False, True]
    assert res.facts["partial_periods"] == ["2026-01-05", "2026-02-02"]
    assert res.facts["trend_first_net"] == res.facts["trend_last_net"] == 0.0  # whole weeks only: flat
    summary = res.summary
    assert "went from +0.0% (2026-01-12) to +0.0% (2026-01-26)" in summary
    assert "best +0.0%, worst +0.0%" in summary and "-100.0%" not in summary
    assert "Left out as partial weeks (the data runs from 2026-01-07 to 2026-02-04" in summary
    assert "2026-01-05, 2026-02-02" in summary
    # The chart shows them hatched and faint.
    volume = res.figures["trend"].axes[1]
    assert [bool(bar.get_hatch()) for bar in volume.patches] == [True, False, False, False, True]
    res.close()


def test_whole_periods_are_not_partial_and_times_of_day_do_not_count():
    days = pd.to_datetime(["2026-01-05 09:00", "2026-01-11 23:00", "2026-01-12 00:10", "2026-01-18 08:00"])
    labels = pd.Series(["positive", "negative", "positive", "positive"], index=days.to_series().index)
    assert not sentiment_trend(days.to_series(), labels, "week")["partial"].any()
    assert not sentiment_trend(days.to_series(), labels, "day")["partial"].any()
    assert sentiment_trend(days.to_series(), labels, "month")["partial"].tolist() == [True]


def test_too_few_whole_periods_keep_every_period_and_say_so(cfg):
    df = pd.DataFrame({"date": ["2026-01-07", "2026-01-08", "2026-01-13"], "review": ["很好", "很差", "很好"]})
    res = analyze_sentiment(Table(df, "r.csv"), cfg, freq="week")
    assert res.tables["trend"]["partial"].all()
    assert "Fewer than two whole weeks" in res.summary and "include the partial weeks 2026-01-05, 2026-01-12" in res.summary
    res.close()


def test_cli_counts_every_file_it_writes(tmp_path, capsys, monkeypatch):
    from assistant.analytics.__main__ import main
    from assistant.cli_support import run_cli

    monkeypatch.setenv("ASSISTANT_ANALYTICS__SENTIMENT_MODEL", "lexicon")
    reviews = _reviews().assign(product=["kettle", "towel"] * 25)
    reviews.to_csv(tmp_path / "reviews.csv", index=False)
    out = tmp_path / "out"
    assert run_cli(main, ["sentiment", "--input", str(tmp_path / "reviews.csv"), "--group-column", "product",
                          "--output", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    # The trend and by_group tables share their names with the plots: each is a CSV and a PNG.
    assert len(written) == 8 and "sentiment_trend.csv" in written and "sentiment_by_group.png" in written
    assert f"wrote 8 files to {out}" in capsys.readouterr().out


def test_iso_week_dates_are_read_and_their_weeks_are_whole(cfg):
    # A weekly export writes "2026-W02": it was "does not hold dates", and its last week (dated on its Monday)
    # would have counted as partial.
    weeks = ["2026-W02", "2026-W03", "2026-W04", "2026W04"]
    df = pd.DataFrame({"week": weeks, "review": ["很好，非常满意", "太差了，非常失望", "很好，非常满意", "很好"]})
    res = analyze_sentiment(Table(df, "r.csv"), cfg, date_column="week", freq="week")
    trend = res.tables["trend"]
    assert [f"{p:%Y-%m-%d}" for p in trend["period"]] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert trend["n"].tolist() == [1, 1, 2] and not trend["partial"].any()
    res.close()
    from assistant.analytics.io import parse_dates

    days = parse_dates(pd.DataFrame({"d": ["2026-W04-3", "2020-W53-7", "2026-W54"]}), "d", notes := [])
    assert [f"{d:%Y-%m-%d}" if not pd.isna(d) else None for d in days] == ["2026-01-21", "2021-01-03", None]
    assert "1 rows with unparsable dates" in notes[0]
    monthly = pd.Series(pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]))
    labels = pd.Series(["positive", "negative", "positive"])
    assert not sentiment_trend(monthly, labels, "month")["partial"].any()  # monthly rows dated on the 1st


def test_messages_with_an_empty_group_cell_are_a_group_of_their_own(cfg):
    df = pd.DataFrame({"review": ["很好", "太差了", "很好", "太差了"], "product": ["tea", None, " ", "tea"]})
    res = analyze_sentiment(Table(df, "r.csv"), cfg, group_column="product")
    by = res.tables["by_group"].set_index("product")["n"].to_dict()
    assert by == {"tea": 2, "(blank)": 2}
    assert any("2 message(s) with no 'product' are shown as (blank)" in n for n in res.notes)
    res.close()
