"""Run the right analyses on one or more CSVs and write a one-page Markdown report with its plots.

`detect_kind` looks at a table's columns (campaign log, customers with a churn/purchase flag, orders,
reviews, or plain numbers); `run_analysis` dispatches on that kind, which the CLI, the report and the chat
all share.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import (
    AMOUNT_PATTERNS,
    CUSTOMER_PATTERNS,
    DATE_PATTERNS,
    TEXT_PATTERNS,
    AnalysisResult,
    Table,
    find_column,
    holds_words,
    load_csv,
)
from assistant.errors import InputError

log = logging.getLogger(__name__)

KINDS = ("campaign", "churn", "orders", "reviews", "numeric")
ANALYSES = ("sentiment", "aspects", "segment", "churn", "campaign")


def detect_kind(df: pd.DataFrame) -> str:
    from assistant.analytics.campaign import COLUMN_PATTERNS
    from assistant.analytics.churn import TARGET_PATTERNS

    def has(patterns) -> str | None:
        return find_column(df, None, patterns, "x", required=False)

    if has(COLUMN_PATTERNS["conversions"]) and (has(COLUMN_PATTERNS["clicks"]) or has(COLUMN_PATTERNS["impressions"])):
        return "campaign"
    target = has(TARGET_PATTERNS)
    if target and df[target].dropna().nunique() == 2:
        return "churn"
    cust, date, amount = has(CUSTOMER_PATTERNS), has(DATE_PATTERNS), has(AMOUNT_PATTERNS)
    if cust and date and amount and df[cust].nunique() < len(df):
        return "orders"
    text = has(TEXT_PATTERNS)
    if text is not None:
        words = df[text].dropna().astype(str)
        # Short reviews are still reviews: "好评", "很好", "great" (Taobao fills in "好评" by default) were taken
        # for codes, and the chat refused a sentiment question. The length test stays for names only loosely
        # like text ("content_type").
        named = re.fullmatch(TEXT_PATTERNS[0], str(text).strip().lower()) and holds_words(df[text])
        if named or words.str.len().mean() >= 6 or words.str.contains(r"[\u4e00-\u9fff]").mean() > 0.5:
            return "reviews"
    return "numeric"


def default_analysis(kind: str) -> str:
    return {"campaign": "campaign", "churn": "churn", "orders": "segment", "reviews": "sentiment",
            "numeric": "segment"}[kind]


def run_analysis(name: str, table: Table, cfg: AnalyticsConfig, backend: Any = None, opts: dict | None = None,
                 settings: Any = None) -> AnalysisResult:
    """One analysis by name; `opts` holds the column choices (text_column, date_column, …)."""
    o = {k: v for k, v in (opts or {}).items() if v not in (None, "", [])}
    if name == "sentiment":
        from assistant.analytics.sentiment import analyze_sentiment

        return analyze_sentiment(table, cfg, o.get("text_column"), o.get("date_column"), o.get("group_column"),
                                 settings=settings, freq=o.get("freq"), model=o.get("model"))
    if name == "aspects":
        from assistant.analytics.aspects import analyze_aspects

        return analyze_aspects(table, cfg, o.get("text_column"), settings=settings, model=o.get("model"))
    if name == "segment":
        from assistant.analytics.segment import analyze_segments

        return analyze_segments(table, cfg, backend, o.get("customer_column"), o.get("date_column"),
                                o.get("amount_column"), o.get("features"))
    if name == "churn":
        from assistant.analytics.churn import analyze_churn

        return analyze_churn(table, cfg, o.get("target_column"), o.get("id_column"), o.get("features"))
    if name == "campaign":
        from assistant.analytics.campaign import analyze_campaigns

        cols = {k: o.get(f"{k}_column") for k in ("campaign", "channel", "variant", "impressions", "clicks",
                                                   "conversions", "cost", "revenue")}
        return analyze_campaigns(table, cfg, cols, o.get("date_column"))
    raise InputError(f"unknown analysis {name!r} (one of {', '.join(ANALYSES)})")


# What a report writes next to report.md: `<stem>_<analysis>_<table>.csv`. Read back as inputs on the next run
# into the same folder, they would be analysed as if they were the shop's data (and multiply every run).
_OUTPUT_NAME = re.compile(rf".+_({'|'.join(ANALYSES)})_\w+\.csv$")


def _inputs(paths: list[str | Path], outdir: Path | None = None) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in (".csv", ".xlsx", ".xlsm"))
            if (outdir is not None and p.resolve() == outdir.resolve()) or (p / "report.md").is_file():
                ours = [q for q in found if _OUTPUT_NAME.fullmatch(q.name)]
                if ours:
                    log.info("left out %d tables an earlier report wrote into %s", len(ours), p)
                found = [q for q in found if q not in ours]
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    if not out:
        raise InputError(f"no .csv or .xlsx files in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(out))  # a file given twice (itself and its folder) is analysed once


def build_report(paths: list[str | Path], outdir: str | Path, cfg: AnalyticsConfig | None = None,
                 backend: Any = None, settings: Any = None) -> tuple[Path, list[AnalysisResult]]:
    """Analyse every CSV by its detected kind (reviews get sentiment and aspects) into one report.md."""
    from assistant.outputs import output_folder, writing

    cfg = cfg or AnalyticsConfig()
    out = output_folder(outdir, "--output")
    results: list[AnalysisResult] = []
    sections = ["# Marketing analytics report", ""]
    inputs = _inputs(paths, out)
    skipped = []
    for path in inputs:
        try:
            table = load_csv(path, cfg)
        except InputError as exc:  # one unreadable file must not cost the analyses of the others
            sections += [f"## {path.name}", "", f"Skipped: {exc}", ""]
            log.warning("skipped %s: %s", path.name, exc)
            skipped.append(exc)
            continue
        kind = detect_kind(table.df)
        names = ["sentiment", "aspects"] if kind == "reviews" else [default_analysis(kind)]
        for name in names:
            try:
                res = run_analysis(name, table, cfg, backend, settings=settings)
            except InputError as exc:
                sections += [f"## {path.name}: {name}", "", f"Skipped: {exc}", ""]
                continue
            res.name = f"{path.stem}_{res.name}" if not res.name.startswith(path.stem) else res.name
            res.save(out)
            results.append(res)
            body = re.sub(r"^(#+) ", r"#\1 ", res.summary, flags=re.M)  # every heading one level down
            body = re.sub(r"^## (.*)", rf"## {path.name}: \1", body, count=1)
            sections += [body, ""]
            sections += [f"![{n}]({res.name}_{n}.png)" for n in list(res.figures)[:2]] + [""]
            if res.notes:
                sections += ["Notes: " + " ".join(res.notes), ""]
            res.close()
    if len(skipped) == len(inputs):
        raise skipped[0] if len(skipped) == 1 else InputError(f"none of the {len(inputs)} files could be read: "
                                                              f"{skipped[0]}")
    report = out / "report.md"
    with writing(report, "--output"):
        report.write_text("\n".join(sections), encoding="utf-8")
    return report, results
