"""The CLI contract: train / predict / eval with the exact flags and output columns scripts rely on."""

import csv

import pytest

from assistant.classifiers.__main__ import main
from assistant.cli_support import run_cli
from tests.conftest import run_module


def _write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A model trained through the CLI on a slice of the demo intents (columns renamed on purpose)."""
    from assistant.classifiers.defaults import DEMO_INTENTS

    base = tmp_path_factory.mktemp("cli")
    # n-grams only: fast, and it exercises --config (the embedding path is covered by the default pair).
    config = base / "cfg.yaml"
    config.write_text("classifiers:\n  use_embeddings: false\n", encoding="utf-8")
    rows = list(csv.DictReader(DEMO_INTENTS.open(encoding="utf-8")))
    keep = [r for r in rows if r["label"] in {"shipping", "payment", "greeting"}]
    data = _write_csv(base / "train.csv", ["utterance", "intent"], [[r["text"], r["label"]] for r in keep])
    out = base / "model"
    assert main(["train", "--data", str(data), "--text-column", "utterance", "--label-column", "intent",
                 "--out", str(out), "--method", "linear", "--config", str(config)]) == 0
    return out, data


def test_train_writes_model_and_report(small_model, capsys):
    out, _ = small_model
    for name in ("classifier.json", "linear.joblib", "report.json", "report_confusion_matrix.png"):
        assert (out / name).is_file()


def test_predict_keeps_rows_and_adds_label_and_score(small_model, tmp_path, capsys):
    out, _ = small_model
    src = _write_csv(tmp_path / "in.csv", ["id", "msg"],
                     [["1", "运费多少钱"], ["2", "Can I pay with PayPal?"], ["3", ""], ["4", "hello there"]])
    dst = tmp_path / "out.csv"
    assert main(["predict", "--model", str(out), "--input", str(src), "--text-column", "msg",
                 "--output", str(dst)]) == 0
    rows = list(csv.DictReader(dst.open(encoding="utf-8")))
    assert list(rows[0]) == ["id", "msg", "label", "score"]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["label"] for r in rows[:2]] == ["shipping", "payment"]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)


def test_eval_prints_accuracy(small_model, capsys):
    out, data = small_model
    assert main(["eval", "--model", str(out), "--data", str(data), "--text-column", "utterance",
                 "--label-column", "intent"]) == 0
    printed = capsys.readouterr().out
    accuracy = float(printed.split("accuracy=")[1].split()[0])
    assert accuracy > 0.9  # its own training data
    assert "shipping" in printed and "macro_f1=" in printed


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "{csv}", "--text-column", "nope", "--out", "{tmp}/m"], "no column 'nope'"),
    (["predict", "--model", "{tmp}/missing", "--input", "{csv}", "--output", "{tmp}/o.csv"], "not found"),
    (["eval", "--model", "{tmp}/missing", "--data", "{csv}"], "not found"),
    (["train", "--data", "{tmp}/absent.csv", "--out", "{tmp}/m"], "CSV file not found"),
    # an output folder or report file mixed up: the option named, before any model is read
    (["predict", "--model", "{tmp}/missing", "--input", "{csv}", "--output", "{tmp}"], "--output takes a file"),
    (["eval", "--model", "{tmp}/missing", "--data", "{csv}", "--report", "{csv}"], "--report takes a folder"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, message):
    data = _write_csv(tmp_path / "d.csv", ["text", "label"], [["hi", "a"], ["yo", "b"]])
    argv = [a.format(csv=data, tmp=tmp_path) for a in argv]
    code = run_cli(main, argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err and len(err.splitlines()) == 1


def test_one_label_csv_is_refused(tmp_path, capsys):
    data = _write_csv(tmp_path / "d.csv", ["text", "label"], [["hi", "a"], ["yo", "a"]])
    assert run_cli(main, ["train", "--data", str(data), "--out", str(tmp_path / "m")]) == 2
    assert "at least 2 different labels" in capsys.readouterr().err


def test_help_lists_the_contract():
    from assistant.classifiers.__main__ import build_parser

    for word in ("train", "predict", "eval"):
        assert word in build_parser().format_help()
    result = run_module("assistant.classifiers", "train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--text-column", "--label-column", "--output", "--method", "--epochs"):
        assert flag in result.stdout
    result = run_module("assistant.classifiers", "predict", "--model", "/nonexistent/model",
                        "--input", "x.csv", "--output", "y.csv")
    assert result.returncode != 0 and "Traceback" not in result.stderr
