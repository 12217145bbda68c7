"""The Meta bulk-import file `export` writes: its header, column for column, and the field limits it holds the
sheet's texts to. The header is pinned as written here; export.py says what of it Meta's documentation confirms."""

from __future__ import annotations

import csv

import pytest

from assistant.adcopy.__main__ import main
from assistant.adcopy.channels import get_channel
from assistant.adcopy.export import META_COLUMNS, failing_fields, refuse_foreign_output, write_import
from assistant.adcopy.lint import Linter
from assistant.cli_support import run_cli

HEADER = ["Campaign Name", "Ad Set Name", "Ad Name", "Body", "Title", "Link Description", "Link"]
SHEET = ["row_id", "title", "url", "language", "channel", "variant", "primary_text", "headline", "description",
         "approved"]


def asset(variant="1", **fields):
    return {"row_id": "A1", "title": "Linen cover", "url": "https://shop.example/a1", "language": "en",
            "channel": "meta_feed", "variant": variant, "primary_text": "Washed linen, soft from the first night.",
            "headline": "Aurora linen cover", "description": "Free returns", **fields}


def test_the_meta_file_has_the_bulk_sheet_header_in_order(tmp_path):
    assert META_COLUMNS == HEADER
    path, count, notes = write_import([asset("1"), asset("2", headline="Linen that softens")], "meta_feed",
                                      tmp_path / "meta.csv", campaign="Spring")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # Ads Manager reads UTF-8; the BOM is for the plain layout only
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    assert rows[0] == HEADER and count == 2 and notes == []
    assert rows[1] == ["Spring", "Linen cover", "A1-1", "Washed linen, soft from the first night.",
                       "Aurora linen cover", "Free returns", "https://shop.example/a1"]
    assert rows[2][HEADER.index("Title")] == "Linen that softens"
    refuse_foreign_output(path, "meta_feed")  # a second export may replace the file the first one wrote


@pytest.mark.parametrize(("field", "limit"), [("primary_text", 125), ("headline", 40), ("description", 30)])
def test_a_meta_text_over_its_limit_is_held_back_and_one_at_the_limit_is_not(field, limit):
    channel = get_channel("meta_feed")
    assert channel.fields[field].limit == limit and channel.fields[field].unit == "chars"
    at, over = asset("1", **{field: "a" * limit}), asset("2", **{field: "a" * (limit + 1)})
    kept, failing = failing_fields([at, over], channel, Linter([]))
    assert kept == [at]
    assert failing == [f"row A1 variant 2 {field}: too long ({limit + 1} > {limit} chars)"]
    # counted in characters: a Chinese text of the same length fits as well (no double width, unlike Google)
    kept, failing = failing_fields([asset("3", **{field: "亚" * limit})], channel, Linter([]))
    assert failing == [] and len(kept) == 1


def test_export_leaves_a_meta_ad_over_a_limit_out_of_the_import_file(fake_env, capsys):
    good = ["A1", "Linen cover", "https://shop.example/a1", "en", "meta_feed", "1", "Washed linen, soft.",
            "Aurora linen cover", "Free returns", "yes"]
    long = [*good[:5], "2", "Washed linen, soft.", "An Aurora linen duvet cover that softens w", "Free returns",
            "yes"]
    sheet = fake_env / "assets.csv"
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([SHEET, good, long])
    out = fake_env / "meta.csv"
    assert run_cli(main, ["export", "--input", str(sheet), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == HEADER and [r["Ad Name"] for r in rows] == ["A1-1"]
    assert "left out: row A1 variant 2 headline: too long (42 > 40 chars)" in capsys.readouterr().err


def test_names_from_a_feed_title_never_start_a_formula(tmp_path):
    """A feed title such as =HYPERLINK(...) became the ad set / ad group name, which runs as a formula when the
    import file is opened in Excel or Google Sheets."""
    bad = asset(title='=HYPERLINK("http://evil.example","Linen")')
    path, _, _ = write_import([bad], "meta_feed", tmp_path / "meta.csv", campaign="+Spring")
    row = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))[1]
    assert row[0] == "Spring" and row[1] == 'HYPERLINK("http://evil.example","Linen")'
    google = dict(bad, channel="google_rsa", headline="Linen cover", description="Washed linen.")
    path, _, _ = write_import([google], "google_rsa", tmp_path / "google.csv", campaign="@Spring")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0]["Campaign"] == "Spring" and not rows[0]["Ad group"].startswith(("=", "+", "-", "@"))


@pytest.mark.parametrize("text, kept", [("=HYPERLINK(\"http://x\",\"soft\")", 'HYPERLINK("http://x","soft")'),
                                        ("@home comfort", "home comfort"), ("- soft linen sheets", "soft linen sheets")])
def test_an_ad_text_starting_a_formula_loses_the_sign(text, kept):
    r = Linter().rewrite(text, "en", "wechat_moments", "text")
    assert [v.rule for v in r.violations] == ["import.formula-start"] and r.rewrite == kept


def test_a_text_starting_with_a_negative_figure_is_no_formula():
    assert Linter().check("-20% off all linen", "en", "meta_feed", "headline") == []
