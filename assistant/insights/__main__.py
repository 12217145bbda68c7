"""`python -m assistant.insights`: the same figures as the app's Analytics tab, from the command line.

    python -m assistant.insights gaps [--top 10] [--csv gaps.csv]
    python -m assistant.insights usage [--csv DIR] [--never-used]
    python -m assistant.insights outcomes [--csv DIR] [--plots DIR]
    python -m assistant.insights faq-check [--csv conflicts.csv]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.outputs import output_file, output_folder, writing


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant.insights",
                                     description="Knowledge gaps, document usage, conversation outcomes and CSAT "
                                                 "from what the app recorded (storage.url of the config).")
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    gaps = sub.add_parser("gaps", help="unanswered questions grouped with their paraphrases, most pressing first")
    add_common_args(gaps)
    gaps.add_argument("--top", type=int, default=10, help="groups shown (default 10)")
    gaps.add_argument("--csv", metavar="FILE", help="write every shown group's example questions to FILE "
                      "(a file, e.g. gaps.csv; its folder is created)")
    usage = sub.add_parser("usage", help="how often each document and chunk was retrieved and cited")
    add_common_args(usage)
    usage.add_argument("--csv", metavar="DIR", help="write usage_documents/chunks/never_used.csv into the "
                       "folder DIR (created)")
    usage.add_argument("--never-used", action="store_true", help="list the chunks nothing retrieved or cited")
    outcomes = sub.add_parser("outcomes", help="resolved / handed off / abandoned per day and intent; CSAT")
    add_common_args(outcomes)
    outcomes.add_argument("--csv", metavar="DIR", help="write the tables as CSV files into the folder DIR (created)")
    outcomes.add_argument("--plots", metavar="DIR", help="write the 4 plots (outcomes per day and per intent, CSAT "
                          "trend, documents retrieved/cited) as PNG files into the folder DIR (created)")
    check = sub.add_parser("faq-check", help="FAQ rows that duplicate or contradict each other")
    add_common_args(check)
    check.add_argument("--csv", metavar="FILE", help="write the pairs to FILE")
    return parser


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{x:.0%}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _gaps(runtime, args) -> int:
    from assistant.insights import gaps
    from assistant.insights.records import recorded_questions, recording_note

    if args.top < 1:
        from assistant.errors import InputError

        raise InputError(f"--top must be >= 1, got {args.top}")
    groups = gaps.compute(runtime, top=args.top)
    note = recording_note(runtime)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if not groups:
        print("no knowledge gaps recorded" if recorded_questions(runtime) else
              "no customer question recorded yet: nothing to list")
    for i, g in enumerate(groups, 1):
        langs = ", ".join(f"{k} {v}" for k, v in sorted(g.languages.items()))
        why = ", ".join(f"{k} {v}" for k, v in g.reasons.items())
        print(f"{i:2d}. {g.label}  [{_count(g.count, 'question')}, {_count(g.sessions, 'conversation')}, {langs}; {why}; "
              f"last {g.last_seen:%Y-%m-%d %H:%M} UTC]")
        # the label is printed above; the examples are the newest first, and the label need not be the newest
        for e in [e for e in g.examples if e["question"] != g.label][:3]:
            print(f"      · {e['question'][:100]}")
        if g.human_replies:
            first = g.human_replies[0]
            print(f"      ticket {first['ticket']}: {gaps.reply_text(first)[:160]}")
    if args.csv:
        with writing(args.csv, "--csv"):
            gaps.export_csv(groups, args.csv)
        print(f"wrote {args.csv}", file=sys.stderr)
    return 0


def _usage(runtime, args) -> int:
    from assistant.insights import usage

    result = usage.compute(runtime, progress=True)
    docs = result.documents
    print(f"{result.questions} questions counted; {len(result.chunks)} chunks, {len(result.never_used)} never used")
    print(docs[["source", "chunks", "retrieved", "cited", "chunks_never_used"]].to_string(index=False))
    if args.never_used:
        print(result.never_used[["chunk_id", "source", "title"]].to_string(index=False) if len(result.never_used)
              else "every chunk was retrieved or cited at least once")
    if args.csv:
        with writing(args.csv, "--csv"):
            paths = usage.export_csv(result, args.csv)
        for path in paths:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _outcomes(runtime, args) -> int:
    from assistant.insights import outcomes, plots

    result = outcomes.compute(runtime)
    s = result.summary
    trend = s["csat_trend_per_day"]
    print(f"{s['conversations']} conversations ({outcomes.ongoing_text(s)}): resolved {s['resolved']}, handed off "
          f"{s['handed_off']}, abandoned {s['abandoned']}; resolution rate {_pct(s['resolution_rate'])}; CSAT "
          f"{_pct(s['csat'])} ({s['thumbs_up']} up / {s['thumbs_down']} down)"
          + (f", trend {trend * 100:+.1f} points a day" if trend is not None else ""))
    for name in ("by_day", "by_intent", "csat_by_day", "csat_by_intent"):
        frame = getattr(result, name)
        if len(frame):
            # a rate of a day whose conversations are all still going is no number: "–", not NaN
            print(f"\n{name.replace('_', ' ')}:\n{frame.round(3).to_string(na_rep='–')}")
    if args.csv:
        with writing(args.csv, "--csv"):
            paths = outcomes.export_csv(result, args.csv)
        for path in paths:
            print(f"wrote {path}", file=sys.stderr)
    if args.plots:
        import matplotlib.pyplot as plt

        from assistant.insights import usage

        folder = Path(args.plots)
        # The Analytics tab's four plots: the fourth, documents retrieved/cited, comes from the usage counts.
        documents = usage.compute(runtime, progress=True).documents
        figures = {"outcomes_by_day": plots.outcomes_by_day(result.by_day),
                   "outcomes_by_intent": plots.outcomes_by_intent(result.by_intent),
                   "csat_trend": plots.csat_trend(result.csat_by_day, trend),
                   "document_usage": plots.document_usage(documents)}
        for name, fig in figures.items():
            with writing(folder / f"{name}.png", "--plots"):
                fig.savefig(folder / f"{name}.png")
            plt.close(fig)
            print(f"wrote {folder / f'{name}.png'}", file=sys.stderr)
    return 0


def _faq_check(runtime, args) -> int:
    from assistant.insights.faq import faq_conflicts
    from assistant.tables import spreadsheet_safe

    kb = runtime.kb
    if kb is None:
        from assistant.errors import StorageError

        raise StorageError(f"the knowledge base is unavailable: {runtime.degraded.get('knowledge_base', '')}")
    pairs = faq_conflicts(kb, runtime.settings.insights.conflict_similarity)
    if not len(pairs):
        print("no duplicate or contradictory FAQ rows")
    for p in pairs.itertuples(index=False):
        print(f"{p.kind:13s} {p.similarity:.2f}  {p.row_a} '{p.question_a[:50]}'  vs  {p.row_b} '{p.question_b[:50]}'")
    if args.csv:
        with writing(args.csv, "--csv"):
            # the rows hold customers' own phrasings (published with gap answers): no formula may run in Excel
            spreadsheet_safe(pairs).to_csv(args.csv, index=False, encoding="utf-8-sig")
        print(f"wrote {args.csv}", file=sys.stderr)
    return 1 if (pairs.kind == "contradiction").any() else 0


# Which output options of each command take one file and which a folder (for several files).
FILE_OPTIONS = {"gaps": {"csv": "gaps.csv"}, "faq-check": {"csv": "conflicts.csv"}}
FOLDER_OPTIONS = {"usage": ("csv",), "outcomes": ("csv", "plots")}


def check_outputs(args: argparse.Namespace) -> None:
    """Create the output folders and refuse a file given for a folder (or the reverse) before any work."""
    for name, example in FILE_OPTIONS.get(args.command, {}).items():
        if getattr(args, name, None):
            setattr(args, name, output_file(getattr(args, name), f"--{name}", example))
    for name in FOLDER_OPTIONS.get(args.command, ()):
        if getattr(args, name, None):
            setattr(args, name, output_folder(getattr(args, name), f"--{name}"))


def _missing_folders(args: argparse.Namespace) -> list[Path]:
    """The folders check_outputs will create for this command's output options, deepest first."""
    wanted = [Path(getattr(args, name)).parent for name in FILE_OPTIONS.get(args.command, {})
              if getattr(args, name, None)]
    wanted += [Path(getattr(args, name)) for name in FOLDER_OPTIONS.get(args.command, ()) if getattr(args, name, None)]
    missing: list[Path] = []
    for folder in wanted:
        while not folder.exists() and folder != folder.parent and folder not in missing:
            missing.append(folder)
            folder = folder.parent
    return sorted(missing, key=lambda f: len(f.parts), reverse=True)


def missing_sqlite_store(url: str) -> None:
    """A report on a SQLite file that is not there would create it and report nothing: a mistyped storage.url."""
    from pathlib import Path

    from assistant.errors import StorageError
    from assistant.storage import sqlite_path

    path = sqlite_path(url)
    if path and not Path(path).exists():
        raise StorageError(f"no store at {path}: the app has recorded nothing there (check storage.url)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    from assistant.config import load_config
    from assistant.runtime import Runtime

    made = _missing_folders(args)
    check_outputs(args)  # a mix-up of file and folder is said first, before the config is even read
    try:
        settings = load_config(config_path(args))
        reads_store = args.command != "faq-check"  # the FAQ check reads the knowledge base alone
        if reads_store:
            missing_sqlite_store(settings.storage.effective_url)
        runtime = Runtime(settings, sync_kb=False)  # reports read the store, never write it
        if reads_store and runtime.storage_engine is None:
            from assistant.errors import StorageError

            raise StorageError(f"the store is unavailable: {runtime.degraded.get('storage', '')}")
    except Exception:
        for folder in made:  # deepest first: a report that could not start leaves no empty folders behind
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    command = {"gaps": _gaps, "usage": _usage, "outcomes": _outcomes, "faq-check": _faq_check}[args.command]
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return command(runtime, args)
    except (SQLAlchemyError, ValueError) as exc:  # a row written by hand or by a broken tool: one line, not a traceback
        from assistant.errors import StorageError

        raise StorageError(f"the store holds a record the report cannot read ({type(exc).__name__}: {exc})") from None


if __name__ == "__main__":
    sys.exit(run_cli(main))
