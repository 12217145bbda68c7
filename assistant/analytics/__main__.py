"""`python -m assistant.analytics`: sentiment | aspects | segment | churn | campaign | report | demo.

Each analysis reads `--input FILE.csv` (or .xlsx) and writes its tables (CSV), plots (PNG) and a Markdown summary to
`--output DIR`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import load_config, resolve_path
from assistant.outputs import output_folder

log = logging.getLogger("assistant.analytics")

HELP = {
    "sentiment": "sentiment share overall, per group and per day/week/month, with volume spikes",
    "aspects": "aspects (shipping/物流, quality/质量, price/价格…) × sentiment and top complaints with quotes",
    "segment": "RFM or numeric-column K-means segments (k by silhouette) with LLM personas",
    "churn": "churn/purchase model: AUC, precision/recall, calibration, drivers, per-customer reasons",
    "campaign": "CTR, CVR, CPA, ROAS/ROI per channel and campaign, A/B significance",
    "report": "detect what each CSV holds, run the matching analyses, write one report.md",
}


def _common(p: argparse.ArgumentParser, multi: bool = False) -> None:
    add_common_args(p)
    if multi:
        p.add_argument("--input", required=True, nargs="+", metavar="PATH", help="CSV/.xlsx files and/or folders of them")
    else:
        p.add_argument("--input", required=True, metavar="FILE.csv", help="the CSV (UTF-8, GBK/GB18030, Big5 or Windows-1252) or .xlsx (its largest sheet) to analyse")
    p.add_argument("--output", metavar="DIR", help="folder for CSV/PNG/Markdown (default: analytics.output_dir/<command>)")
    p.add_argument("--date-column", metavar="C", help="column with dates (auto-detected by name)")
    p.add_argument("--max-rows", type=int, metavar="N", help="override analytics.max_rows (bigger files are sampled)")
    p.add_argument("--no-llm", action="store_true", help="do not load the LLM (no personas/takeaways)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant.analytics",
                                     description="Marketing analytics on your CSVs: " + "; ".join(HELP))
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, text in HELP.items():
        p = sub.add_parser(name, help=text, description=text)
        _common(p, multi=name == "report")
        if name in ("sentiment", "aspects"):
            p.add_argument("--text-column", metavar="C", help="column with the review/ticket text")
            p.add_argument("--sentiment-model", choices=("auto", "classifier", "lexicon"),
                           help="override analytics.sentiment_model")
        if name == "sentiment":
            p.add_argument("--group-column", metavar="C", help="also compare sentiment by product/brand column")
            p.add_argument("--freq", choices=("day", "week", "month"), help="trend bucket (default analytics.freq)")
        if name == "segment":
            p.add_argument("--customer-column", metavar="C", help="column with the customer ID (auto-detected by name)")
            p.add_argument("--amount-column", metavar="C", help="column with the order amount (auto-detected by name)")
            p.add_argument("--features", metavar="A,B", help="comma-separated numeric columns instead of RFM")
            p.add_argument("--emails", action="store_true", help="also write an e-mail per segment (needs the LLM)")
        if name == "churn":
            p.add_argument("--target-column", metavar="C", help="0/1 or yes/no column to predict (churned, purchased)")
            p.add_argument("--id-column", metavar="C", help="column that names each customer in the scores")
            p.add_argument("--features", metavar="A,B", help="comma-separated feature columns (default: all usable)")
        if name == "campaign":
            # Every column the analysis reads can be named: a report with "Results" or "Käufe" had no way in.
            for c, what in (("campaign", "campaign name"), ("channel", "channel/platform"),
                            ("variant", "A/B variant (A, control, original… = control)"),
                            ("impressions", "impressions"), ("clicks", "clicks (or visitors)"),
                            ("conversions", "conversions"), ("cost", "spend"), ("revenue", "revenue")):
                p.add_argument(f"--{c}-column", metavar="C", help=f"column with the {what} (auto-detected by name)")
    demo = sub.add_parser("demo", help="write the seeded synthetic shop data (customers, orders, reviews, campaigns)")
    add_common_args(demo)
    demo.add_argument("--output", required=True, metavar="DIR",
                      help="folder for customers.csv, orders.csv, reviews.csv, campaigns.csv (other files there "
                           "with those names are not overwritten)")
    demo.add_argument("--seed", type=int, help="default analytics.seed")
    demo.add_argument("--customers", type=int, default=2000, help="customers to simulate (>= 20, default 2000)")
    demo.add_argument("--reviews", type=int, default=3000, help="reviews to simulate (>= 1, default 3000)")
    return parser


def _backend(args, settings):
    if getattr(args, "no_llm", False):
        return None
    from assistant.errors import AssistantError
    from assistant.llm import build_backend

    try:
        return build_backend(settings.llm)
    except AssistantError as exc:  # personas are a bonus: the numbers are still worth writing
        print(f"warning: no LLM ({exc.one_line()}); continuing without personas", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    settings = load_config(config_path(args))
    cfg = settings.analytics
    overrides = {k: v for k, v in (("max_rows", getattr(args, "max_rows", None)),
                                   ("sentiment_model", getattr(args, "sentiment_model", None))) if v is not None}
    if overrides:
        import dataclasses

        cfg = dataclasses.replace(cfg, **overrides)
    if args.command == "demo":
        from assistant.analytics.demo import write_demo_data

        if args.customers < 20 or args.reviews < 1:
            from assistant.errors import InputError

            raise InputError("--customers must be >= 20 and --reviews >= 1")
        output_folder(args.output, "--output")
        paths = write_demo_data(args.output, args.seed if args.seed is not None else cfg.seed, args.customers, args.reviews)
        for name, p in paths.items():
            print(f"{name}: {p}")
        return 0
    out = Path(args.output) if args.output else resolve_path(cfg.output_dir) / args.command
    output_folder(out, "--output")  # before the work: a model fitted for nothing is lost time
    needs_llm = args.command in ("segment", "report")
    backend = _backend(args, settings) if needs_llm else None
    if args.command == "report":
        from assistant.analytics.report import build_report

        report, results = build_report(args.input, out, cfg, backend, settings)
        print(f"wrote {report} ({len(results)} analyses)")
        return 0
    from assistant.analytics.io import load_csv
    from assistant.analytics.report import run_analysis

    opts = {k: getattr(args, k, None) for k in ("text_column", "date_column", "group_column", "freq", "customer_column",
                                                 "amount_column", "target_column", "id_column", "campaign_column",
                                                 "channel_column", "variant_column", "impressions_column",
                                                 "clicks_column", "conversions_column", "cost_column",
                                                 "revenue_column")}
    if getattr(args, "features", None):
        opts["features"] = [f.strip() for f in args.features.split(",") if f.strip()]
    table = load_csv(args.input, cfg)
    result = run_analysis(args.command, table, cfg, backend, opts, settings)
    if args.command == "segment" and getattr(args, "emails", False):
        from assistant.analytics.content import segment_emails
        from assistant.errors import InputError

        if backend is None:
            raise InputError("--emails needs the LLM (drop --no-llm or fix the llm config)")
        result.tables["emails"] = segment_emails(result.tables["profiles"], backend, cfg, adcopy_cfg=settings)
    written = result.save(out)
    result.close()
    print(result.markdown())
    print(f"wrote {len(written)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
