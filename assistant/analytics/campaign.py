"""Campaign and channel evaluation: CTR, conversion rate, CPA, ROAS/ROI per channel and campaign, A/B tests.

The significance test is the ad-copy module's `assistant.abtest.ab_test` (pooled two-proportion z-test,
Bonferroni-corrected when a campaign has more than two variants), on CTR and on CVR.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import (
    BLANK,
    AnalysisResult,
    Table,
    blank_cells,
    find_column,
    find_date_column,
    guessed_dates,
    to_numeric_frame,
)
from assistant.errors import InputError

# Names as ad platforms export them, after find_column turns spaces and dots into "_" (Meta: "Campaign name",
# "Link clicks", "Amount spent (USD)", "Purchases conversion value"; Google Ads: "Impr.", "Conv. value";
# GA4: "Session campaign", "Sessions", "Total revenue"). Later patterns are fallbacks: "visitors" or
# "sessions" are the visits an A/B tool counts conversions against, used only when no clicks are given.
COLUMN_PATTERNS = {
    "impressions": (r"impressions?|imps?|impr|views|展示|展现|曝光|曝光量|展示量|展现量",),
    "clicks": (r"clicks?|link_clicks|clicks_\(all\)|outbound_clicks|点击|点击量|点击数",
               r"visitors|unique_visitors|visits|sessions|users|访客|访客数|访问量|访问数|uv"),
    "conversions": (r"conversions?|orders|purchases|sales_count|all_conv|website_purchases|转化|转化数|转化量|订单|订单数"
                    r"|成交|成交量|购买|购买数",),
    "cost": (r"cost|spend|spent|budget_spent|amount_spent.*|cost_\(.*\)|花费|费用|消耗|成本|投放金额",),
    "revenue": (r"revenue|sales|gmv|income|total_revenue|purchase_revenue|(all_|total_)?conv(ersion)?_value"
                r"|purchases?_(conversion_)?value|收入|销售额|成交额|营收|成交金额",),
    "campaign": (r"campaign|campaign_name|session_campaign|campaign_title|活动|计划|广告计划|活动名称|计划名称",),
    "channel": (r"channel|platform|source|medium|publisher_platform|(session_)?(default_)?channel_group|"
                r"(session_)?source_/_medium|渠道|平台|媒体|来源",),
    "variant": (r"variant|arm|version|group|ab_group|test_group|版本|分组|实验组",),
}



# How A/B tools name the control arm. Only "A" was known, so in "new" vs "old" (sorted: new first) the new page
# became the control and every lift was reported with its sign reversed.
_CONTROL = re.compile(r"((variant|version|group|arm)[\s_-]*)?a|control|ctrl|original|baseline|default|old|champion"
                      r"|holdout|对照|对照组|原版|基准|旧版", re.I)


def campaign_columns(df: pd.DataFrame, given: dict[str, str | None]) -> dict[str, str | None]:
    cols = {k: find_column(df, given.get(k), pats, k, required=False) for k, pats in COLUMN_PATTERNS.items()}
    if cols["conversions"] is None or (cols["clicks"] is None and cols["impressions"] is None):
        raise InputError("a campaign CSV needs a conversions column and clicks, visitors or impressions: name "
                         "them with --conversions-column, --clicks-column "
                         f"(columns: {', '.join(map(str, df.columns[:20]))})")
    if cols["campaign"] is None and cols["channel"] is None and cols["variant"] is None:
        raise InputError("a campaign CSV needs a campaign, channel or variant column to compare: name it with "
                         f"--campaign-column (columns: {', '.join(map(str, df.columns[:20]))})")
    return cols


def check_counts(df: pd.DataFrame, m: dict[str, str | None], notes: list[str]) -> None:
    """Counts that cannot be: negative numbers, more clicks than impressions. They would print rates over 100%
    and stop the A/B test far from the row at fault. More conversions than clicks can be real (ad platforms count
    view-through and late conversions on the day they land): a note, and CVR over 100% where it happens."""
    def bad(mask: pd.Series, what: str) -> None:
        if mask.any():
            i = mask.idxmax()
            row = ", ".join(f"{m[k]}={df.at[i, m[k]]:g}" for k in ("impressions", "clicks", "conversions") if m[k])
            raise InputError(f"{int(mask.sum()):,} row(s) with {what}, first in data row {df.index.get_loc(i) + 1} "
                             f"({row}): fix the data or name the right columns")

    for k in ("impressions", "clicks", "conversions", "cost", "revenue"):
        if m[k]:
            bad(df[m[k]] < 0, f"a negative {k} value in {m[k]!r}")
    if m["impressions"] and m["clicks"]:
        bad(df[m["clicks"]] > df[m["impressions"]], f"more clicks ({m['clicks']!r}) than impressions")
    base = m["clicks"] or m["impressions"]
    over = df[m["conversions"]] > df[base]
    if over.any():
        notes.append(f"{int(over.sum()):,} row(s) with more conversions ({m['conversions']!r}) than {base!r}, first in "
                     f"data row {df.index.get_loc(over.idxmax()) + 1} (view-through or late conversions?): CVR can "
                     "exceed 100% there, and an A/B test on such sums is skipped")


def kpis(df: pd.DataFrame, by: str, m: dict[str, str | None]) -> pd.DataFrame:
    """Sums and the rates built from them (rates from sums, never averages of daily rates)."""
    num = [m[k] for k in ("impressions", "clicks", "conversions", "cost", "revenue") if m[k]]
    g = df.groupby(by)[num].sum()
    g.columns = [k for k in ("impressions", "clicks", "conversions", "cost", "revenue") if m[k]]
    out = g.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if "impressions" in g and "clicks" in g:
            out["ctr"] = g["clicks"] / g["impressions"]
        base = g["clicks"] if "clicks" in g else g["impressions"]
        out["cvr"] = g["conversions"] / base
        if "cost" in g:
            out["cpa"] = g["cost"] / g["conversions"].where(g["conversions"] > 0)
        if "cost" in g and "revenue" in g:
            out["roas"] = g["revenue"] / g["cost"].where(g["cost"] > 0)
            out["roi"] = (g["revenue"] - g["cost"]) / g["cost"].where(g["cost"] > 0)
    out.index.name = by
    return out.round(4).reset_index()


def ab_tests(df: pd.DataFrame, m: dict[str, str | None], alpha: float, notes: list[str]) -> pd.DataFrame:
    """CTR and CVR of each variant against the control (variant 'A', else the first) within every campaign;
    without a variant column, of each campaign against the first. The test is the ad-copy module's."""
    from assistant.abtest import ab_test

    if not m["clicks"]:
        notes.append("A/B tests need a clicks or visitors column: skipped")
        return pd.DataFrame()
    # Without impressions (an A/B tool's visitors and conversions, a GA export) only CVR can be tested: each
    # arm's clicks stand in for its impressions so the shared test accepts it, and CTR is not reported.
    metrics = ("ctr", "cvr") if m["impressions"] else ("cvr",)
    if m["variant"]:
        groups = df.groupby(m["campaign"]) if m["campaign"] else [("all", df)]
        key = m["variant"]
    else:
        key = m["campaign"] or m["channel"]
        label = "all campaigns" if m["campaign"] else "all channels"  # channels compared were "all campaigns"
        groups = [(label, df[df[key] != BLANK])]  # rows of no campaign are no arm to compare
    rows, small = [], set()
    for name, part in groups:
        sums = part.groupby(key)[[m["impressions"] or m["clicks"], m["clicks"], m["conversions"]]].sum()
        if len(sums) < 2:
            notes.append(f"{name}: only one {key} ({', '.join(map(str, sums.index)) or 'none'}): no A/B test")
            continue
        labels = [str(i) for i in sums.index]
        order = sorted(range(len(labels)), key=lambda i: (not _CONTROL.fullmatch(labels[i].strip()), i))  # control first
        arms = [{"name": labels[i], "impressions": int(sums.iloc[i, 0]), "clicks": int(sums.iloc[i, 1]),
                 "conversions": int(sums.iloc[i, 2])} for i in order]
        empty = [a["name"] for a in arms if not a["impressions"]]
        if empty:  # said in the file's own words ("no visitors"), not as the test's "impressions must be > 0"
            notes.append(f"{name}: A/B test skipped ({', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no "
                         f"{m['impressions'] or m['clicks']})")
            continue
        try:
            res = ab_test(arms, alpha=alpha)
        except InputError as exc:  # e.g. more conversions than clicks: that campaign has no test, the rest do
            notes.append(f"{name}: A/B test skipped ({exc})")
            continue
        notes += [f"{name}: {n}" for n in res.notes if n.split(":")[0] in metrics or ":" not in n[:5]]
        for c in res.comparisons:
            if c.metric not in metrics:
                continue
            if c.few_events:
                small.add((name, c.metric, c.variant))
            rows.append({"campaign": name, "metric": c.metric, "control": c.control, "variant": c.variant,
                         "control_rate": round(c.rate_control, 5), "variant_rate": round(c.rate_variant, 5),
                         "lift": round(c.lift, 4) if c.lift is not None else float("nan"),
                         "ci_low": round(c.ci_low, 5), "ci_high": round(c.ci_high, 5), "p_value": round(c.p_value, 5),
                         "significant": c.significant, "more_needed_per_arm": c.more_needed_per_arm})
    out = pd.DataFrame(rows)
    out.attrs["small"] = small  # (campaign, metric, variant) tested on few events; not a CSV column
    return out


def analyze_campaigns(table: Table, cfg: AnalyticsConfig | None = None, columns: dict[str, str | None] | None = None,
                      date_column: str | None = None) -> AnalysisResult:
    from assistant.analytics.plots import bar_figure, line_figure

    cfg = cfg or AnalyticsConfig()
    notes = list(table.notes)
    m = campaign_columns(table.df, columns or {})
    if m["clicks"] and not (columns or {}).get("clicks") and not find_column(
            table.df[[m["clicks"]]], None, COLUMN_PATTERNS["clicks"][:1], "clicks", required=False):
        notes.append(f"{m['clicks']!r} is counted as the clicks (visits): CVR = conversions per {m['clicks']}")
    num_cols = [m[k] for k in ("impressions", "clicks", "conversions", "cost", "revenue") if m[k]]
    nums = to_numeric_frame(table.df, num_cols, notes)
    missing = [c for c in num_cols if c not in nums]
    if missing:
        raise InputError(f"campaign column(s) {', '.join(map(repr, missing))} must be numbers")
    # A count that is not a number ("n/a") is no 0: it would lower that arm's rates and change the test.
    unreadable = [(c, i) for c in num_cols for i in nums.index[nums[c].isna() & table.df[c].notna()
                                                                & (table.df[c].astype(str).str.strip() != "")]]
    if unreadable:
        c, i = unreadable[0]
        raise InputError(f"{len(unreadable)} value(s) of the campaign counts are not numbers, e.g. {c!r} = "
                         f"{table.df.at[i, c]!r} in data row {i + 1}: fix or remove them (an empty cell counts as 0)")
    df = table.df.drop(columns=num_cols).join(nums.fillna(0))
    check_counts(df, m, notes)
    # groupby drops rows without a label: their clicks and spend vanished from every table while the totals
    # kept them. A blank campaign or channel is a group of its own; a row without a variant is in no arm.
    for k in ("campaign", "channel", "variant"):
        blank = blank_cells(df[m[k]]) if m[k] else None
        if blank is not None and blank.any():
            if k == "variant":
                notes.append(f"{int(blank.sum()):,} row(s) with no {m[k]!r} are in no A/B arm")
                df[m[k]] = df[m[k]].where(~blank)
            else:
                notes.append(f"{int(blank.sum()):,} row(s) with no {m[k]!r} are shown as (blank)")
                df[m[k]] = df[m[k]].astype(object).where(~blank, BLANK)
    tables, figures, lines = {}, {}, [f"# Campaign report ({len(df):,} rows)", ""]
    facts: dict[str, Any] = {"rows": len(df)}
    # An A/B tool's export has only variants: their rates are the table to show beside the test.
    dims = ("channel", "campaign") if m["channel"] or m["campaign"] else ("variant",)
    for dim in dims:
        if not m[dim]:
            continue
        k = kpis(df, m[dim], m)
        tables[f"by_{dim}"] = k
        # ROAS needs spend; with none recorded every ROAS is empty and "best" would be the first row (nan).
        metric = "roas" if "roas" in k and k["roas"].notna().any() else "cvr"
        best = k.sort_values(metric, ascending=False, na_position="last").iloc[0]
        facts[f"best_{dim}"], facts[f"best_{dim}_{metric}"] = str(best[m[dim]]), float(best[metric])
        # CVR in percent: 3.5% and 4.4% both read "0.04" on the bars.
        figures[f"{metric}_by_{dim}"] = (
            bar_figure(k[m[dim]].tolist(), (k[metric].fillna(0) * 100).tolist(), f"CVR by {dim}, %",
                       "conversions per 100 clicks", fmt="{:.2f}%") if metric == "cvr" else
            bar_figure(k[m[dim]].tolist(), k[metric].fillna(0).tolist(), f"ROAS by {dim}",
                       "revenue per unit of spend"))
        lines += [f"## By {dim}", "", "| " + " | ".join(map(str, k.columns)) + " |",
                  "|" + "---|" * len(k.columns)]
        lines += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in k.itertuples(index=False)]
        if len(k) < 2:
            lines += ["", f"Only one {dim}: nothing to compare.", ""]
        elif pd.isna(best[metric]):
            lines += ["", f"No {dim} has a {metric.upper()} (no clicks or spend recorded).", ""]
        elif k[metric].nunique() == 1:  # a tie (often all 0): naming the first row "best" would mislead
            lines += ["", f"Every {dim} has the same {metric.upper()} ({best[metric]:.2f}): no best one.", ""]
        else:
            shown = f"{best[metric]:.2%}" if metric == "cvr" else f"{best[metric]:.2f}"  # CVR 0.07 read as 7 cents
            lines += ["", f"Best {dim} by {metric.upper()}: **{best[m[dim]]}** ({shown}).", ""]
            facts[f"best_{dim}_clear"] = True  # more than one, not tied: the chat may name it
    total = kpis(df.assign(_all="total"), "_all", m).iloc[0]
    facts.update({k: float(total[k]) for k in ("ctr", "cvr", "cpa", "roas", "roi") if k in total})
    tests = ab_tests(df, m, cfg.alpha, notes)
    if len(tests):
        tables["ab_tests"] = tests
        lines += ["## A/B tests", "", f"Two-proportion z-tests (assistant.abtest), α = {cfg.alpha}; CTR = clicks "
                  "per impression, CVR = conversions per click:", ""]
        for _, t in tests.iterrows():
            verdict = "**significant**" if t["significant"] else "not significant"
            if (t["campaign"], t["metric"], t["variant"]) in tests.attrs.get("small", ()):
                verdict += (" (few events, Fisher's exact test: too little data to act on)" if t["significant"]
                            else " (few events, Fisher's exact test)")
            # "N more per arm" only where the observed lift is big enough to matter to a marketer.
            # In the unit the rate is per: "124,111 more per arm" left open whether clicks or impressions.
            unit = m["impressions"] if t["metric"] == "ctr" else m["clicks"]
            more = (f"; about {int(t['more_needed_per_arm']):,} more {unit} per arm to tell" if not t["significant"]
                    and pd.notna(t["more_needed_per_arm"]) and t["more_needed_per_arm"] and abs(t["lift"]) >= 0.02
                    else "")
            lift = "lift n/a" if pd.isna(t["lift"]) else f"{t['lift']:+.1%}"  # the control rate is 0
            p = "p < 0.0001" if t["p_value"] < 0.0001 else f"p = {t['p_value']:.4f}"
            lines.append(f"- {t['campaign']} {t['metric'].upper()}: {t['variant']} {t['variant_rate']:.2%} vs "
                         f"{t['control']} {t['control_rate']:.2%} ({lift}), {p} → {verdict}{more}")
        facts["ab_lines"] = lines[-len(tests):]  # the chat quotes them: "did B beat A?" wants B against A
        cvr = tests[tests["metric"] == "cvr"]
        facts["ab_significant"] = int(cvr["significant"].sum()) if len(cvr) else int(tests["significant"].sum())
    date = find_date_column(df, date_column)
    d = guessed_dates(df, date, bool(date_column), notes) if date else None
    if d is not None:
        daily = df.assign(_d=d.dt.to_period("W").dt.start_time).dropna(subset=["_d"]).groupby("_d")[
            [m[c] for c in ("cost", "revenue") if m[c]]].sum()
        if len(daily) > 1 and not daily.empty:
            figures["weekly"] = line_figure(daily.index, {c: daily[c] for c in daily}, "Weekly spend and revenue", "")
    return AnalysisResult("campaign", "\n".join(lines), tables, figures, notes, facts)


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return "–"
        if float(v).is_integer():  # counts summed as floats: 897,893 (and 0) not 897,893.00
            return f"{v:,.0f}"
        return f"{v:.4f}" if abs(v) < 1 else f"{v:,.2f}"
    return f"{v:,}" if isinstance(v, int | np.integer) else str(v)
