"""Segments (RFM, numeric, personas), churn prediction and campaign evaluation on the demo shop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assistant.analytics.campaign import analyze_campaigns, kpis
from assistant.analytics.churn import analyze_churn
from assistant.analytics.io import Table
from assistant.analytics.segment import analyze_segments
from assistant.errors import InputError
from assistant.llm import FakeBackend


@pytest.fixture(scope="module")
def rfm_result(tables, cfg):
    backend = FakeBackend(default="Loyal weekend shoppers who respond to early access.")
    return analyze_segments(tables["orders"], cfg, backend), backend


def test_rfm_segments_from_orders_with_llm_personas(rfm_result, cfg):
    res, backend = rfm_result
    f = res.facts
    assert f["rfm"] and f["features"] == ["recency_days", "frequency", "monetary"]
    assert cfg.min_k <= f["k"] <= cfg.max_k and f["silhouette"] == max(f["silhouettes"].values()) > 0.25
    prof = res.tables["profiles"]
    assert len(prof) == f["k"] and prof["customers"].sum() == f["customers"]
    assert len(backend.calls) == f["k"]  # one persona per segment
    prompt = backend.calls[0]["messages"][-1].content
    first = prof.iloc[0]
    assert f"{first['recency_days']:,.1f}" in prompt and "all customers" in prompt  # the numbers it is based on
    assert prof["persona"].str.startswith("Loyal").all() and prof["persona_basis"].str.contains("monetary").all()
    # Champions buy more recently and more often than the lapsed.
    by = prof.set_index("label")
    if "champions" in by.index and "lapsed / hibernating" in by.index:
        assert by.loc["champions", "frequency"] > by.loc["lapsed / hibernating", "frequency"]


def test_numeric_segments_leave_out_text_and_the_outcome_flag(tables, cfg):
    res = analyze_segments(tables["customers"], cfg, backend=None)
    assert "churned" not in res.facts["features"] and "city_tier" not in res.facts["features"]
    assert res.tables["profiles"]["persona"].eq("").all() and any("no LLM" in n for n in res.notes)


def test_segmentation_bad_inputs(cfg):
    with pytest.raises(InputError, match="at least 20 customers, got 5"):
        analyze_segments(Table(pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [5, 3, 2, 1, 0]}), "t"), cfg)
    with pytest.raises(InputError, match="no numeric columns"):
        analyze_segments(Table(pd.DataFrame({"name": list("abcdefghijklmnopqrstuvwxy")}), "t"), cfg)
    with pytest.raises(InputError, match="constant"):
        analyze_segments(Table(pd.DataFrame({"a": [1.0] * 30}), "t"), cfg)


def test_churn_model_learns_the_demo_signal(tables, cfg):
    res = analyze_churn(tables["customers"], cfg)
    f = res.facts
    assert f["target"] == "churned" and f["auc"] > 0.75
    assert f["model"] in ("logistic regression", "gradient boosting")
    assert 0 <= f["precision"] <= 1 and 0 <= f["recall"] <= 1 and f["brier"] < 0.25
    scores = res.tables["scores"]
    assert len(scores) == len(tables["customers"].df) and scores["probability"].is_monotonic_decreasing
    top = scores.iloc[0]
    assert top["why"].startswith("higher because of") and "avg" in top["why"]
    effects = res.tables["effects"].set_index("feature")
    assert effects.loc["recency_days", "coefficient"] > 0  # long since the last order -> churn
    assert effects.loc["email_open_rate", "coefficient"] < 0
    cal = res.tables["calibration"]
    assert ((cal["predicted"] - cal["observed"]).abs().mean()) < 0.2


def _frame(n, churn):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"customer_id": range(n), "spend": rng.normal(size=n), "churned": churn})


def test_churn_bad_inputs(cfg):
    with pytest.raises(InputError, match="only one class"):
        analyze_churn(Table(_frame(50, [0] * 50), "t"), cfg)
    with pytest.raises(InputError, match="at least 20 rows, got 5"):
        analyze_churn(Table(_frame(5, [0, 1, 0, 1, 0]), "t"), cfg)
    with pytest.raises(InputError, match="only 2 rows of its rarer class"):
        analyze_churn(Table(_frame(40, [1, 1] + [0] * 38), "t"), cfg)
    with pytest.raises(InputError, match="two values"):
        analyze_churn(Table(_frame(30, [0, 1, 2] * 10), "t"), cfg)
    with pytest.raises(InputError, match="cannot find a target column"):
        analyze_churn(Table(_frame(30, [0, 1] * 15).rename(columns={"churned": "x"}), "t"), cfg)


def test_kpis_are_ratios_of_sums():
    df = pd.DataFrame({"ch": ["a", "a", "b"], "imp": [1000, 3000, 500], "clk": [10, 30, 50],
                       "conv": [1, 2, 0], "cost": [10.0, 20.0, 5.0], "rev": [50.0, 40.0, 0.0]})
    m = {"impressions": "imp", "clicks": "clk", "conversions": "conv", "cost": "cost", "revenue": "rev"}
    k = kpis(df, "ch", m).set_index("ch")
    assert k.loc["a", "ctr"] == pytest.approx(40 / 4000) and k.loc["a", "cvr"] == pytest.approx(3 / 40)
    assert k.loc["a", "cpa"] == pytest.approx(10.0) and k.loc["a", "roas"] == pytest.approx(3.0)
    assert k.loc["a", "roi"] == pytest.approx(2.0) and np.isnan(k.loc["b", "cpa"])


def test_campaign_ab_tests_find_the_true_winner(tables, cfg):
    res = analyze_campaigns(tables["campaigns"], cfg)
    tests = res.tables["ab_tests"]
    cvr = tests[tests["metric"] == "cvr"].set_index("campaign")
    assert cvr.loc["spring_sale", "significant"] and cvr.loc["spring_sale", "lift"] > 0.1
    assert not cvr.loc["new_arrivals", "significant"]
    assert set(tests["metric"]) == {"ctr", "cvr"} and (tests["ci_low"] <= tests["ci_high"]).all()
    assert "A/B tests" in res.summary and "spring_sale CVR" in res.summary
    assert {"by_channel", "by_campaign"} <= set(res.tables) and "weekly" in res.figures
    assert res.facts["best_channel"] in {"email", "search", "social", "display"}
    res.close()


def test_campaign_csv_without_conversions_is_rejected(cfg):
    with pytest.raises(InputError, match="needs a conversions column"):
        analyze_campaigns(Table(pd.DataFrame({"campaign": ["a"], "clicks": [1]}), "t"), cfg)
    bad = pd.DataFrame({"campaign": ["a", "b"], "clicks": ["many", "few"], "conversions": [1, 2]})
    with pytest.raises(InputError, match="must be numbers"):
        analyze_campaigns(Table(bad, "t"), cfg)
