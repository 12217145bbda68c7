"""The two-proportion A/B test: known textbook values, sample size, multi-arm correction, bad input."""

from __future__ import annotations

import math

import pytest

from assistant.abtest import ab_test, read_ab_csv, sample_size_per_arm, two_proportion_test
from assistant.errors import InputError


def test_matches_a_hand_computed_z_test():
    # 200/10000 vs 260/10000: pooled p = 0.023, se = sqrt(.023*.977*2/10000) = 0.0021199, z = 2.8303
    z, p, lo, hi = two_proportion_test(200, 10_000, 260, 10_000)
    assert z == pytest.approx(2.8303, abs=1e-3)
    assert p == pytest.approx(0.00465, abs=2e-4)
    se = math.sqrt(0.02 * 0.98 / 10_000 + 0.026 * 0.974 / 10_000)
    assert (lo, hi) == pytest.approx((0.006 - 1.959964 * se, 0.006 + 1.959964 * se), abs=1e-6)


def test_sample_size_matches_the_textbook_formula():
    # 10% -> 12% at alpha 0.05, power 0.8: the usual answer is ~3,841 per arm
    assert sample_size_per_arm(0.10, 0.12) == pytest.approx(3841, abs=5)
    assert sample_size_per_arm(0.1, 0.1) is None


def test_ab_test_reports_ctr_cvr_lift_and_what_is_still_needed():
    r = ab_test([{"name": "A", "impressions": 10_000, "clicks": 200, "conversions": 20},
                 {"name": "B", "impressions": 10_000, "clicks": 260, "conversions": 31}])
    ctr = next(c for c in r.comparisons if c.metric == "ctr")
    cvr = next(c for c in r.comparisons if c.metric == "cvr")
    assert r.arms[1].ctr == pytest.approx(0.026) and r.arms[1].cvr == pytest.approx(31 / 260)
    assert ctr.lift == pytest.approx(0.3) and ctr.significant and r.winner == "B"
    assert ctr.more_needed_per_arm == 0
    assert not cvr.significant and cvr.more_needed_per_arm > 0  # 20/200 vs 31/260: far too few clicks
    assert "winner: B" in r.as_text()


def test_small_samples_are_not_significant_and_say_how_many_more():
    r = ab_test([("A", 500, 10), ("B", 500, 14)])
    c = r.comparisons[0]
    assert not c.significant and r.winner is None
    assert c.needed_per_arm > 500 and c.more_needed_per_arm == c.needed_per_arm - 500
    assert len(r.comparisons) == 1  # no conversions given: CTR only


def test_three_arms_are_bonferroni_corrected():
    r = ab_test([("A", 10_000, 200), ("B", 10_000, 245), ("C", 10_000, 190)])
    assert r.confidence == pytest.approx(0.975)
    b = next(c for c in r.comparisons if c.variant == "B")
    assert 0.025 < b.p_value < 0.05 and not b.significant  # significant alone, not after correction
    assert any("Bonferroni" in n for n in r.notes)


@pytest.mark.parametrize("variants, message", [
    ([("A", 100, 5)], "at least two"),
    ([("A", 100, 5), ("B", 0, 0)], "impressions must be > 0"),
    ([("A", 100, 5), ("B", 100, 101)], "clicks must be between"),
    ([("A", 100, 5, 6), ("B", 100, 5, 1)], "conversions must be between"),
    ([("A", 100, 5), ("A", 100, 6)], "unique"),
    ([("A", "many", 5), ("B", 100, 6)], "whole number"),
])
def test_bad_input_is_an_input_error(variants, message):
    with pytest.raises(InputError, match=message):
        ab_test(variants)


def test_read_csv(tmp_path):
    p = tmp_path / "ab.csv"
    p.write_text("variant,impressions,clicks,conversions\nA,1000,30,3\nB,1000,45,5\n", encoding="utf-8")
    assert ab_test(read_ab_csv(p)).arms[1].clicks == 45
    p.write_text("name,views\nA,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs columns"):
        read_ab_csv(p)


def test_fisher_exact_matches_the_reference():
    from assistant.abtest import fisher_exact_p

    # scipy.stats.fisher_exact([[4, 36], [12, 28]]) and ([[3, 999997], [15, 999985]])
    assert fisher_exact_p(4, 40, 12, 40) == pytest.approx(0.0481667, abs=1e-6)
    assert fisher_exact_p(3, 10**6, 15, 10**6) == pytest.approx(0.0075376, abs=1e-6)
    assert fisher_exact_p(0, 10, 0, 10) == 1.0


def test_a_handful_of_clicks_is_not_a_winner():
    # 4 vs 12 clicks on 40 impressions: the z-test says p = 0.025; too few events to act on.
    r = ab_test([("A", 40, 4, 1), ("B", 40, 12, 6)])
    ctr = next(c for c in r.comparisons if c.metric == "ctr")
    assert ctr.p_value == pytest.approx(0.0481667, abs=1e-6)  # Fisher's exact, not the z-test's 0.025
    assert r.winner is None and "winner: none yet" in r.as_text()
    assert any("Fisher" in n and "too little data" in n for n in r.notes)


def test_nan_and_inf_counts_are_input_errors():
    for bad in ("nan", "inf"):
        with pytest.raises(InputError, match="whole number"):
            ab_test([("A", bad, 5), ("B", 100, 6)])


def test_missing_conversions_for_one_arm_is_said(tmp_path):
    r = ab_test([("A", 1000, 40, None), ("B", 1000, 52, 6)])
    assert all(c.metric == "ctr" for c in r.comparisons)
    assert any("no conversions given for A" in n for n in r.notes)


def test_read_csv_accepts_gbk_and_xlsx_and_refuses_folders_and_stray_quotes(tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("variant,impressions,clicks\n控制组,1000,40\n实验组,1000,52\n".encode("gbk"))
    assert [r["variant"] for r in read_ab_csv(gbk)] == ["控制组", "实验组"]
    import pandas as pd

    xlsx = tmp_path / "ab.xlsx"
    pd.DataFrame({"Variant": ["A", "B"], "Impressions": [1000, 1000], "Clicks": [30, 45]}).to_excel(xlsx, index=False)
    assert ab_test(read_ab_csv(xlsx)).arms[1].clicks == 45
    with pytest.raises(InputError, match="is a folder"):
        read_ab_csv(tmp_path)
    quote = tmp_path / "quote.csv"
    quote.write_text('variant,impressions,clicks\nA,1000,40\n"B,1000,52\n', encoding="utf-8")
    with pytest.raises(InputError, match="quote.csv line 3: malformed CSV"):
        read_ab_csv(quote)


def test_a_significant_result_does_not_ask_for_more_data():
    from assistant.abtest import ab_test

    r = ab_test([{"name": "A", "impressions": 10000, "clicks": 320, "conversions": 21},
                 {"name": "B", "impressions": 10000, "clicks": 385, "conversions": 30}])
    lines = r.as_text().splitlines()
    ctr = next(line for line in lines if line.startswith("CTR"))
    cvr = next(line for line in lines if line.startswith("CVR"))
    assert "(significant); enough data" in ctr  # was "(significant); 2635 more per arm"
    assert "more clicks per arm (of" in cvr  # CVR trials are clicks: the unit is said
