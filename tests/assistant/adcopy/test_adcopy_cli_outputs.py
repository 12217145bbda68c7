"""What the ad-copy CLI writes is safe to write: `export`, `export-feedback` and `training-data` never replace a
file they did not write, `export` lets no text over a channel's limit or against the lint into an import file,
feedback that is not SFT rows is refused with its line, and every option says what it does. Fakes only."""

from __future__ import annotations

import csv
import json

import pytest

from assistant.adcopy.__main__ import build_parser, main
from assistant.cli_support import run_cli

SHEET_COLUMNS = ["row_id", "title", "url", "language", "channel", "variant", "score", "fixes", "check", "notes",
                 "approved"]
BAD = "BEST SHEETS EVER!! 100% guaranteed, cures insomnia. Call 020-8123-4567"
GOOD_RSA = [
    {"row_id": "EN1", "variant": "1", "headline": "Aurora Linen Sheets",
     "description": "Soft washed linen sheets for cool summer nights.", "path1": "linen", "path2": "sheets"},
    {"row_id": "EN1", "variant": "2", "headline": "Washed Linen by Aurora",
     "description": "Washed linen that softens with every wash.", "path1": "linen", "path2": "sheets"},
    {"row_id": "EN2", "variant": "1", "headline": "Aurora Wool Throw",
     "description": "Warm merino wool throw for the sofa.", "path1": "wool", "path2": "throw"},
]


def sheet(path, channel, assets):
    """A review sheet as `feed` writes it (and a reviewer saves it), every asset approved."""
    fields = list(dict.fromkeys(k for a in assets for k in a if k not in SHEET_COLUMNS))
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=SHEET_COLUMNS[:6] + fields + SHEET_COLUMNS[6:])
        w.writeheader()
        for a in assets:
            w.writerow({"title": f"Product {a['row_id']}", "url": f"https://shop.example/{a['row_id']}",
                        "language": "en", "channel": channel, "approved": "yes", **a})
    return path


def export(*args):
    return run_cli(main, ["export", *map(str, args)])


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---- export: the output file ---------------------------------------------------------------------------------
def test_export_does_not_replace_a_file_it_did_not_write(fake_env, capsys):
    source = sheet(fake_env / "assets.csv", "google_rsa", GOOD_RSA)
    product_feed = fake_env / "products.csv"
    product_feed.write_text("id,title,price\nA1,Linen sheets,89\n", encoding="utf-8")
    assert export("--input", source, "--output", product_feed) == 2
    err = one_line(capsys.readouterr().err)
    assert "not a google_ads_editor import file" in err and "choose another --output" in err
    assert product_feed.read_text(encoding="utf-8") == "id,title,price\nA1,Linen sheets,89\n"

    # The review sheet itself under another name is no import file either; an import file export wrote is.
    copy = fake_env / "assets_copy.csv"
    copy.write_bytes(source.read_bytes())
    assert export("--input", source, "--output", copy) == 2
    assert copy.read_bytes() == source.read_bytes()
    target = fake_env / "import.csv"
    assert export("--input", source, "--output", target) == 0
    assert export("--input", source, "--output", target) == 0
    assert "wrote 2 rows" in capsys.readouterr().err


def test_export_of_a_plain_layout_replaces_only_a_plain_import(fake_env, capsys):
    sms = sheet(fake_env / "sms.csv", "sms", [{"row_id": "S1", "variant": "1", "text": "Aurora linen is back."}])
    rsa_import = fake_env / "rsa_import.csv"
    assert export("--input", sheet(fake_env / "rsa.csv", "google_rsa", GOOD_RSA), "--output", rsa_import) == 0
    capsys.readouterr()
    assert export("--input", sms, "--output", rsa_import) == 2
    assert "not a plain import file" in one_line(capsys.readouterr().err)
    target = fake_env / "sms_import.csv"
    assert export("--input", sms, "--output", target) == 0 and export("--input", sms, "--output", target) == 0


def test_export_to_a_folder_is_one_line(fake_env, capsys):
    (fake_env / "out").mkdir()
    assert export("--input", sheet(fake_env / "a.csv", "google_rsa", GOOD_RSA), "--output", fake_env / "out") == 2
    assert "is a folder" in one_line(capsys.readouterr().err)


# ---- export: every exported field passes the channel's limit and the lint -----------------------------------
def test_an_edited_headline_that_breaks_the_rules_is_left_out_and_named(fake_env, capsys):
    edited = [GOOD_RSA[0], {**GOOD_RSA[1], "headline": BAD}, GOOD_RSA[2]]
    out = fake_env / "import.csv"
    assert export("--input", sheet(fake_env / "a.csv", "google_rsa", edited), "--output", out) == 0
    err = capsys.readouterr().err
    (named,) = [line for line in err.splitlines() if line.startswith("left out:")]
    assert "row EN1 variant 2 headline: too long" in named
    for rule in ("google.punctuation", "google.phone", "en.health-claim", "google.capitalization"):
        assert rule in named
    assert "from 2 of 3 assets; 1 left out" in err
    text = out.read_text(encoding="utf-8")
    assert "BEST SHEETS" not in text and "Aurora Linen Sheets" in text and "Aurora Wool Throw" in text
    # The left-out asset's description goes with it: an asset is exported whole or not at all.
    assert "softens with every wash" not in text


def test_an_sms_over_its_segment_or_against_the_lint_is_left_out(fake_env, capsys):
    assets = [{"row_id": "S1", "variant": "1", "text": f"{BAD} {BAD} {BAD}"},
              {"row_id": "S2", "variant": "1", "text": "Aurora wool throws are back in stock."},
              {"row_id": "S3", "variant": "1", "text": "Linen that cures insomnia, from Aurora."}]
    out = fake_env / "sms_import.csv"
    assert export("--input", sheet(fake_env / "sms.csv", "sms", assets), "--output", out) == 0
    err = capsys.readouterr().err
    assert "row S1 variant 1 text: too long (" in err and "sms_segments" in err
    assert "row S3 variant 1 text: en.health-claim 'cures'" in err and "2 left out" in err
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["row_id"] for r in rows] == ["S2"]


def test_nothing_is_written_when_every_asset_is_left_out(fake_env, capsys):
    out = fake_env / "import.csv"
    source = sheet(fake_env / "sms.csv", "sms", [{"row_id": "S1", "variant": "1", "text": "It cures insomnia."}])
    assert export("--input", source, "--output", out) == 2
    err = capsys.readouterr().err
    assert "left out: row S1" in err and err.splitlines()[-1].startswith("InputError: nothing written")
    assert not out.exists()


def test_google_notes_count_one_headline_in_the_singular(fake_env, capsys):
    assert export("--input", sheet(fake_env / "a.csv", "google_rsa", GOOD_RSA[2:]), "--output",
                  fake_env / "i.csv") == 0
    err = capsys.readouterr().err
    assert "EN2: 1 headline and 1 description;" in err and "wrote 1 row to" in err


# ---- export-feedback ------------------------------------------------------------------------------------------
def _record_feedback(folder):
    from assistant.adcopy import Brief, FeedbackStore
    from assistant.storage import get_engine

    store = FeedbackStore(get_engine(url=f"sqlite:///{folder / 'a.db'}"))
    store.record(Brief(product="linen", language="en"), {"headline": "Aurora linen"}, rating="up",
                 edited="Aurora linen sheets")


def test_export_feedback_refuses_one_path_for_both_files(fake_env, capsys):
    _record_feedback(fake_env)
    same = fake_env / "fb.jsonl"
    assert run_cli(main, ["export-feedback", "--output", str(same), "--pairs", str(same)]) == 2
    assert "are the same file" in one_line(capsys.readouterr().err) and not same.exists()


def test_export_feedback_replaces_only_jsonl_files(fake_env, capsys):
    _record_feedback(fake_env)
    budget = fake_env / "budget.csv"
    budget.write_text("month,spend\njan,100\n", encoding="utf-8")
    assert run_cli(main, ["export-feedback", "--output", str(budget)]) == 2
    assert "not a .jsonl file" in one_line(capsys.readouterr().err) and "jan,100" in budget.read_text()
    assert run_cli(main, ["export-feedback", "--output", str(fake_env / "fb.jsonl"), "--pairs", str(budget)]) == 2
    assert "--pairs" in one_line(capsys.readouterr().err) and not (fake_env / "fb.jsonl").exists()
    old = fake_env / "old.jsonl"
    old.write_text('{"stale": 1}\n', encoding="utf-8")
    assert run_cli(main, ["export-feedback", "--output", str(old)]) == 0
    assert json.loads(old.read_text(encoding="utf-8"))["output"] == "1. Aurora linen sheets"
    assert "1 preference pairs" in capsys.readouterr().out and (fake_env / "old.pairs.jsonl").is_file()


def test_export_feedback_with_no_feedback_writes_nothing(fake_env, capsys):
    out = fake_env / "fb.jsonl"
    assert run_cli(main, ["export-feedback", "--output", str(out)]) == 1
    assert one_line(capsys.readouterr().err).strip() == "no feedback recorded yet: nothing written"
    assert not out.exists() and not (fake_env / "fb.pairs.jsonl").exists()


# ---- training-data -------------------------------------------------------------------------------------------
def training_data(*args):
    return run_cli(main, ["training-data", *map(str, args)])


def test_training_data_output_must_be_a_jsonl_file(fake_env, capsys):
    (fake_env / "rows").mkdir()
    assert training_data("--output", fake_env / "rows") == 2
    assert "is a folder" in one_line(capsys.readouterr().err)
    sheet_csv = fake_env / "assets.csv"
    sheet_csv.write_text("row_id,channel,variant\nA1,sms,1\n", encoding="utf-8")
    assert training_data("--output", sheet_csv) == 2
    assert "not a .jsonl file" in one_line(capsys.readouterr().err)
    assert sheet_csv.read_text(encoding="utf-8") == "row_id,channel,variant\nA1,sms,1\n"


@pytest.mark.parametrize("content, line, says", [
    ("id,title\nA1,linen\n", 1, "not a JSON object"),
    (json.dumps({"instruction": "Write 1 ad headline", "input": "", "output": "1. Aurora"}) + "\nnot json\n", 2,
     "not a JSON object"),
    (json.dumps({"prompt": "p", "instruction": "p", "input": "", "chosen": "1. a", "rejected": "1. b"}) + "\n", 1,
     "no 'output' text"),
    ("\n" + json.dumps({"instruction": 3, "output": "1. Aurora"}) + "\n", 2, "no 'instruction' text"),
])
def test_training_data_names_the_first_feedback_line_that_is_no_sft_row(fake_env, capsys, content, line, says):
    feedback = fake_env / "fb.jsonl"
    feedback.write_text(content, encoding="utf-8")
    out = fake_env / "rows.jsonl"
    assert training_data("--output", out, "--feedback", feedback) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{feedback} line {line}" in err and says in err and not out.exists()


def test_training_data_appends_valid_feedback_rows_as_written(fake_env, capsys):
    row = json.dumps({"instruction": "Write 1 ad headline", "input": "", "output": "1. Aurora, hi"})
    feedback = fake_env / "fb.jsonl"
    feedback.write_text(row + "\n\n", encoding="utf-8")
    out = fake_env / "rows.jsonl"
    out.write_text("old\n", encoding="utf-8")  # an earlier run's file is replaced
    assert training_data("--output", out, "--feedback", feedback) == 0
    assert out.read_text(encoding="utf-8").splitlines()[-1] == row
    assert training_data("--output", feedback, "--feedback", feedback) == 2
    assert "is the --feedback file" in one_line(capsys.readouterr().err) and feedback.read_text() == row + "\n\n"


# ---- help ------------------------------------------------------------------------------------------------------
def test_every_option_of_every_subcommand_has_help():
    sub = next(a for a in build_parser()._actions if a.choices and "email" in a.choices)
    missing = [f"{name} {a.option_strings[-1]}" for name, p in sub.choices.items() for a in p._actions
               if a.option_strings and not a.help]
    assert not missing
    n_help = next(a.help for a in sub.choices["generate"]._actions if "--n" in a.option_strings)
    assert "at least 1" in n_help and "adcopy.max_variants (50 by default)" in n_help


def test_export_writes_csv_only_and_lint_of_nothing_is_no_pass(fake_env, capsys):
    # "y.xlsx" got CSV text; "0 of 0 texts break a rule" with exit 0 read as a pass
    assert export("--input", sheet(fake_env / "a.csv", "google_rsa", GOOD_RSA), "--output", fake_env / "y.xlsx") == 2
    assert ".csv file" in capsys.readouterr().err and not (fake_env / "y.xlsx").exists()
    (fake_env / "empty.txt").write_text("\n\n", encoding="utf-8")
    assert run_cli(main, ["lint", "--input", str(fake_env / "empty.txt")]) == 2
    assert "no text to lint" in capsys.readouterr().err


def test_a_liked_text_with_a_brand_banned_word_never_teaches_the_next_adapter():
    from assistant.adcopy import Brief
    from assistant.adcopy.brand import load_brand
    from assistant.adcopy.feedback import TrainingGate

    brand = load_brand(None)  # the demo brand: "miracle" is among its banned words
    assert "miracle" in [w.lower() for w in brand.banned("en")]
    gate = TrainingGate(brand)
    brief = Brief(product="Aurora linen sheets", channel="google_rsa", language="en")
    assert gate.why_not(brief, "headline", "Aurora miracle linen sheets") == "breaks a lint rule"
    assert gate.why_not(brief, "headline", "Aurora linen sheets") == ""
