"""The ad-copy CLI never loses a person's work and never ends in a traceback: a re-run keeps the review sheet's
approvals and edits, an --output that is the --input is refused, sheets and copy files in GB18030 or .xlsx are
read, a stray quote in a feed names its line, and bad values (channel, --n, --limit, a folder) are one line."""

from __future__ import annotations

import csv
import io
import sys

import pytest

from assistant.adcopy.__main__ import build_parser, main
from assistant.adcopy.feed_run import read_assets
from assistant.cli_support import run_cli

FEED = [["SKU", "Product Name", "Description", "Link"],
        ["A1", "Stonewashed linen duvet cover", "Washed linen", "https://shop.example/a1"]]
LAMP = ["A2", "Ceramic table lamp", "Stoneware base", "https://shop.example/a2"]



def write_csv(path, rows, encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def rewrite_sheet(path, rows, encoding="utf-8-sig"):
    """The sheet as a reviewer saves it after editing (all columns, maybe one of their own)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)


def feed(*args):
    return run_cli(main, ["feed", "--channel", "meta_feed", "--no-progress", *map(str, args)])


def test_a_rerun_keeps_the_reviewers_approvals_and_edits(fake_env, capsys):
    source, out = write_csv(fake_env / "feed2.csv", FEED), fake_env / "out2.csv"
    assert feed("--input", source, "--output", out) == 0
    rows = read_assets(out)
    rows[0].update(approved="yes", primary_text="Washed linen that softens, by Aurora", reviewer="Li: ok")
    rewrite_sheet(out, rows)
    write_csv(source, [*FEED, LAMP])  # a product added to the feed
    capsys.readouterr()
    assert feed("--input", source, "--output", out) == 0
    err = capsys.readouterr().err
    assert "1 written, 1 resumed" in err and "kept the review of 1 assets" in err
    again = {r["row_id"]: r for r in read_assets(out)}
    assert again["A1"]["approved"] == "yes" and again["A1"]["primary_text"] == "Washed linen that softens, by Aurora"
    assert again["A1"]["reviewer"] == "Li: ok" and again["A2"]["approved"] == ""
    assert not list(fake_env.glob("out2.before-*"))  # nothing was lost, so no copy of the old sheet

    # The product changed: its copy is written afresh, so the old approval (of other words) is not put on it,
    # and the reviewed sheet is kept next to the new one rather than lost.
    write_csv(source, [FEED[0], [*FEED[1][:2], "Washed linen, 200 x 200 cm", FEED[1][3]], LAMP])
    assert feed("--input", source, "--output", out) == 0
    assert "previous sheet is kept as" in capsys.readouterr().err
    assert read_assets(out)[0]["approved"] == ""
    (backup,) = fake_env.glob("out2.before-*.csv")
    assert read_assets(backup)[0]["approved"] == "yes"


def test_an_output_that_is_no_review_sheet_is_not_overwritten(fake_env, capsys):
    source = write_csv(fake_env / "feed.csv", FEED)
    other = fake_env / "budget.csv"
    other.write_text("month,spend\njan,100\n", encoding="utf-8")
    assert feed("--input", source, "--output", other) == 2
    assert "not a review sheet" in capsys.readouterr().err and "jan,100" in other.read_text()


def test_output_that_is_the_input_is_refused(fake_env, capsys):
    source = write_csv(fake_env / "feed1.csv", FEED)
    before = source.read_bytes()
    (fake_env / "sub").mkdir()
    assert feed("--input", source, "--output", fake_env / "sub" / ".." / "feed1.csv") == 2
    assert "is the --input file itself" in capsys.readouterr().err and source.read_bytes() == before
    out = fake_env / "out3.csv"
    assert feed("--input", source, "--output", out) == 0
    sheet = out.read_bytes()
    capsys.readouterr()
    assert run_cli(main, ["export", "--input", str(out), "--output", str(out), "--all"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the --input file itself" in err and out.read_bytes() == sheet


def test_export_reads_the_sheet_as_xlsx_and_as_gb18030_csv(fake_env, capsys):
    out = fake_env / "assets.csv"
    assert feed("--input", write_csv(fake_env / "f.csv", [*FEED, ["Z1", "水洗亚麻四件套", "亚麻", "https://x/z1"]]),
                "--output", out) == 0
    rows = read_assets(out)
    rows[0]["approved"] = "通过"
    rewrite_sheet(fake_env / "gbk.csv", rows, encoding="gb18030")  # Chinese Excel's "CSV"
    assert run_cli(main, ["export", "--input", str(fake_env / "gbk.csv"), "--output", str(fake_env / "i.csv")]) == 0
    assert "from 1 of 1 assets" in capsys.readouterr().err  # Z1 got no asset: its row is no asset
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(list(rows[0]))
    for r in rows:
        wb.active.append(list(r.values()))
    wb.save(fake_env / "sheet.xlsx")
    assert run_cli(main, ["export", "--input", str(fake_env / "sheet.xlsx"), "--output", str(fake_env / "j.csv"),
                          "--all"]) == 0
    assert "from 1 of 1 assets" in capsys.readouterr().err
    fake = fake_env / "text.xlsx"
    fake.write_text("row_id,channel,variant\n", encoding="utf-8")
    assert run_cli(main, ["export", "--input", str(fake), "--output", str(fake_env / "k.csv"), "--all"]) == 2
    assert "not a valid .xlsx workbook" in capsys.readouterr().err


def test_a_stray_quote_in_a_feed_names_its_line(fake_env, capsys):
    bad = fake_env / "malformed.csv"
    bad.write_text('id,title\nA1,"Linen cover\nx,y\n', encoding="utf-8")
    assert feed("--input", bad, "--output", fake_env / "o.csv") == 2
    err = capsys.readouterr().err
    assert "malformed.csv line 2: malformed CSV" in err and "products from" not in err
    bad.write_text('id,title\nA1,"Linen, cover\nx,y\nA2,"lamp",q\n', encoding="utf-8")  # closed rows later
    assert feed("--input", bad, "--output", fake_env / "o.csv") == 2
    assert "line 2" in capsys.readouterr().err
    good = fake_env / "ok.csv"  # a quoted field may hold line breaks and commas
    good.write_text('id,title,description\nA1,Linen cover,"Soft.\nWash cold, dry low"\nA2,Lamp,x\n', encoding="utf-8")
    assert feed("--input", good, "--output", fake_env / "o.csv") == 0
    assert "2 products from ok.csv" in capsys.readouterr().err


def test_lint_reads_gbk_and_stdin_and_refuses_binary_in_one_line(fake_env, capsys, monkeypatch):
    gbk = fake_env / "gbk.txt"
    gbk.write_bytes("全网最低价的亚麻四件套\n".encode("gbk"))
    assert run_cli(main, ["lint", "--input", str(gbk)]) == 1
    assert "zh.adlaw.lowest-price" in capsys.readouterr().out
    binary = fake_env / "blob.bin.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    assert run_cli(main, ["lint", "--input", str(binary)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("InputError:") and err.count("\n") == 1 and "binary" in err
    junk = fake_env / "junk.txt"
    junk.write_bytes(b"ok\n\xff\xfe\xfd\n")
    assert run_cli(main, ["lint", "--input", str(junk)]) == 2
    assert "is not UTF-8 nor GB18030" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Soft linen sheets, #1 choice\n")))
    assert run_cli(main, ["lint", "--input", "-", "--channel", "meta_feed"]) == 1
    assert "line 1" in capsys.readouterr().out


def test_lint_refuses_an_unknown_channel(fake_env, capsys):
    copy = fake_env / "copy.txt"
    copy.write_text("Soft linen sheets\n", encoding="utf-8")
    assert run_cli(main, ["lint", "--input", str(copy), "--channel", "nope"]) == 2
    assert "NotFoundError: unknown channel 'nope'; known channels:" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--n", "0"], "n must be at least 1"), (["--n", "-2"], "n must be at least 1"),
    (["--limit", "-1"], "--limit must be 0 (every row) or more"),
])
def test_feed_rejects_n_and_limit_below_their_range(fake_env, capsys, args, message):
    source = write_csv(fake_env / "f.csv", [*FEED, LAMP])
    assert feed("--input", source, "--output", fake_env / "o.csv", *args) == 2
    assert message in capsys.readouterr().err and not (fake_env / "o.csv").exists()
    assert "0: every row" in build_parser()._subparsers._group_actions[0].choices["feed"].format_help()


def test_feed_of_a_folder_says_so(fake_env, capsys):
    assert feed("--input", fake_env, "--output", fake_env / "o.csv") == 2
    assert "is a folder, not a file" in capsys.readouterr().err


def test_the_runs_own_note_on_an_asset_is_no_review_to_keep_or_lose():
    from assistant.adcopy.sheet import carry_review

    note = "could only produce 2 of 3: too long for the field"
    sheet = [{"row_id": "A1", "channel": "google_rsa", "variant": "1", "headline": "Soft linen", "notes": note,
              "approved": ""}]
    machine = {("A1", "headline"): {"Soft linen"}, ("A1", "notes"): {note}}
    header = list(sheet[0])
    # an unedited sheet read back: nothing counted as kept review
    same = carry_review([dict(sheet[0])], header, sheet, {"A1"}, machine)
    assert same.kept == 0 and same.lost == []
    # the row written afresh: the old run's note is not a review lost (no backup sheet for it)
    fresh = carry_review([{**sheet[0], "headline": "New linen", "notes": ""}], header, sheet, set(), machine)
    assert fresh.lost == []
    # a note the reviewer wrote is still theirs
    reviewed = [{**sheet[0], "notes": note + "; Li: fine"}]
    kept = carry_review([dict(sheet[0])], header, reviewed, {"A1"}, machine)
    assert kept.kept == 1 and kept.rows[0]["notes"] == note + "; Li: fine"


@pytest.mark.parametrize("command", ["generate", "feed"])
def test_an_output_under_a_file_or_that_is_a_folder_is_one_line_before_any_model(fake_env, capsys, command):
    # `--output products.csv/out.csv` ran the model and then ended in a FileExistsError traceback.
    source = write_csv(fake_env / "products.csv", [*FEED, LAMP])
    (fake_env / "adir.csv").mkdir()
    start = (["generate", "--product", "linen sheets"] if command == "generate"
             else ["feed", "--channel", "meta_feed", "--no-progress", "--input", str(source)])
    for output, message in ((source / "out.csv", "is a file, not a folder"), (fake_env / "adir.csv", "is a folder")):
        assert run_cli(main, [*start, "--output", str(output)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2, err


def test_a_file_error_the_checks_could_not_foresee_is_one_line(capsys):
    def failing(argv):
        raise IsADirectoryError(21, "Is a directory", "out/x.csv")

    assert run_cli(failing, []) == 1
    assert capsys.readouterr().err.strip() == "IsADirectoryError: Is a directory: out/x.csv"


def test_a_url_the_reviewer_filled_in_survives_a_rerun(fake_env, capsys):
    # The export asks to "fill the sheet's url column"; a re-run emptied it again, with no copy of the old sheet.
    source, out = write_csv(fake_env / "nourl.csv", [FEED[0], [*FEED[1][:3], ""]]), fake_env / "nourl-out.csv"
    assert feed("--input", source, "--output", out) == 0
    rows = read_assets(out)
    assert rows[0]["url"] == ""
    rows[0]["url"] = "https://shop.example/linen"
    rewrite_sheet(out, rows)
    assert feed("--input", source, "--output", out) == 0
    assert read_assets(out)[0]["url"] == "https://shop.example/linen"
    # the feed gaining a URL later does not overwrite the one the person typed (the feed's values are no edit)
    write_csv(source, FEED)
    assert feed("--input", source, "--output", out) == 0
    assert read_assets(out)[0]["url"] == "https://shop.example/linen"


def test_the_feeds_own_values_are_no_edit_to_carry():
    from assistant.adcopy.sheet import carry_review

    old = [{"row_id": "A1", "title": "Linen", "url": "https://old.example/a1", "channel": "sms", "variant": "1",
            "text": "Linen", "approved": ""}]
    machine = {("A1", "text"): {"Linen"}, ("A1", "url"): {"https://old.example/a1"}, ("A1", "title"): {"Linen"}}
    new = [{**old[0], "url": "https://new.example/a1"}]
    carried = carry_review(new, list(old[0]), old, {"A1"}, machine)
    assert carried.rows[0]["url"] == "https://new.example/a1" and carried.lost == [] and carried.kept == 0


def test_a_channel_field_named_like_a_product_column_keeps_the_product_name():
    # xiaohongshu's note title had replaced the product's name in the sheet, and the export then held the
    # product's name to the 20-character limit of a note title.
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.export import failing_fields, import_rows
    from assistant.adcopy.feed_run import RowResult, asset_rows
    from assistant.adcopy.lint import Linter

    long_name = "Stonewashed linen duvet cover, king size"
    note = {"fields": {"title": "Linen for summer", "body": "Washed linen, soft from the first night."},
            "score": 0.9, "fixes": []}
    rows = asset_rows([RowResult("k1", "A1", long_name, "", "en", "xiaohongshu", [note]),
                       RowResult("k2", "A2", long_name, "", "en", "xiaohongshu", [])])
    assert rows[0]["title"] == long_name and rows[0]["ad_title"] == "Linen for summer"
    kept, failing = failing_fields(rows, get_channel("xiaohongshu"), Linter([]))
    assert failing == [] and len(kept) == 2  # the product without copy is no ad text over a limit
    too_long = [{**rows[0], "ad_title": "A note title far longer than twenty"}]
    _, failing = failing_fields(too_long, get_channel("xiaohongshu"), Linter([]))
    assert failing and "title: too long" in failing[0]
    columns, exported, _ = import_rows(rows[:1], "xiaohongshu", campaign="Summer")
    assert exported[0]["title"] == long_name and exported[0]["ad_title"] == "Linen for summer"
    assert exported[0]["campaign"] == "Summer"


def test_lint_of_a_sheet_names_the_row_id_and_column_once(fake_env, capsys):
    sheet = fake_env / "edited.csv"
    write_csv(sheet, [["row_id", "title", "channel", "variant", "headline"],
                      ["A7", "Linen", "google_rsa", "2", "The BEST linen EVER!!!"]])
    assert run_cli(main, ["lint", "--input", str(sheet), "--channel", "google_rsa"]) == 1
    out = capsys.readouterr().out
    assert "A7 variant 2 headline: The BEST" in out and "headline headline" not in out
    plain = fake_env / "copy.csv"
    write_csv(plain, [["headline"], ["Soft linen"], ["The BEST linen EVER!!!"]])
    assert run_cli(main, ["lint", "--input", str(plain), "--channel", "google_rsa"]) == 1
    assert "line 3 headline:" in capsys.readouterr().out


@pytest.mark.parametrize(("feed_id", "as_excel_saves"), [("00123", "123"), ("612345678901", "6.12346E+11")])
def test_review_saved_by_excel_with_its_numeric_ids_is_kept(fake_env, capsys, feed_id, as_excel_saves):
    # Excel opens the sheet's row_id 00123 as the number 123 (and a 12-digit id as 6.12346E+11) and saves it so:
    # the re-run matched by id and lost every approval of a shop whose ids start with a zero.
    source = write_csv(fake_env / "zero.csv", [FEED[0], [feed_id, *FEED[1][1:]], ["00124", *LAMP[1:]]])
    out = fake_env / "zero-out.csv"
    assert feed("--input", source, "--output", out) == 0
    rows = read_assets(out)
    for row in rows:
        row["row_id"] = row["row_id"].lstrip("0") if row["row_id"] != feed_id else as_excel_saves
    rows[0].update(approved="yes", reviewer="Li: ok")
    rewrite_sheet(out, rows)
    capsys.readouterr()
    assert feed("--input", source, "--output", out) == 0
    assert "kept the review of 1 assets" in capsys.readouterr().err
    again = {r["row_id"]: r for r in read_assets(out)}
    assert again[feed_id]["approved"] == "yes" and again[feed_id]["reviewer"] == "Li: ok"
    assert again["00124"]["approved"] == "" and not list(fake_env.glob("zero-out.before-*"))
