"""A catalogue as a shop exports it: repeated rows, rows without an id, an ERP's title line above the column names,
its own name for the product code, landing pages typed without https:// — each said where the person looks."""

from __future__ import annotations

import csv

import pytest

from assistant.adcopy.__main__ import main
from assistant.adcopy.feed import read_feed
from assistant.cli_support import run_cli
from assistant.errors import InputError

from .test_adcopy_feed import write_feed


def test_ids_made_for_a_row_name_the_spreadsheet_row_its_note_names(tmp_path):
    rows = [["id", "title"], ["A2", "Linen duvet cover"], ["A2", "Linen pillowcase pair"], ["", "Cast iron skillet"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    # Before: "row 3: id 'A2' repeats row 2; kept as A2#2", and the skillet on row 4 was "row3": both read as the
    # row above.
    assert [p.id for p in feed.products] == ["A2", "A2#3", "row4"]
    assert feed.skipped == ["row 3: id 'A2' repeats row 2; kept as A2#3"]


def test_a_row_repeated_exactly_is_written_once(tmp_path):
    rows = [["id", "title", "price"], ["B3", "Wool throw", "59"], ["B3", "Wool throw", "59"], ["B4", "Wool throw", "59"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    # Before: both B3 rows were written (twice the model's time) and exported as two identical ads in one ad group.
    assert [p.id for p in feed.products] == ["B3", "B4"]
    assert feed.skipped == ["row 3: the same as row 2 (id 'B3'), left out"]


def test_a_title_line_above_the_column_names_is_named(tmp_path):
    rows = [["商品信息导出 2024-05-01", "", "", ""], ["商品编码", "商品名称", "售价", "商品链接"],
            ["612345678901", "水洗亚麻枕套", "59", "https://shop.example/p/1"]]
    path = write_feed(tmp_path / "erp.csv", rows)
    # Before: "no title column … rename the product-name column to title", and --map title=商品名称 said the feed
    # had no such column.
    with pytest.raises(InputError, match="first row.*'商品信息导出 2024-05-01'.*column names.*row 2"):
        read_feed(path)


def test_an_erps_product_code_is_the_id(tmp_path):
    rows = [["商品编码", "商品名称"], ["612345678901", "水洗亚麻枕套"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    assert feed.mapping["id"] == "商品编码" and feed.products[0].id == "612345678901"


def test_a_landing_page_that_is_no_web_address_is_noted_when_the_feed_is_read(tmp_path):
    rows = [["id", "title", "link"], ["B1", "Linen sheet set", "www.shop.example/p/b1"],
            ["B2", "Wool throw", "https://shop.example/wool throw"], ["B3", "Oak stool", "https://shop.example/b3"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    assert [s for s in feed.skipped if "url" in s] == [
        "row 2 (B1): url 'www.shop.example/p/b1' is no http(s) address; an import file needs one (fix the feed, or "
        "the sheet's url column before the export)",
        "row 3 (B2): url 'https://shop.example/wool throw' is no http(s) address; an import file needs one (fix the "
        "feed, or the sheet's url column before the export)"]


def test_export_leaves_out_an_asset_whose_url_is_no_web_address(fake_env, capsys):
    assets = [{"row_id": rid, "title": "Linen", "url": url, "channel": "google_rsa", "variant": str(i),
               "language": "en", "headline": f"Aurora Linen {rid} {i}", "description": f"Soft washed linen, take {i}.",
               "approved": "yes"} for rid, url in (("A1", "www.shop.example/a1"), ("A2", "https://shop.example/a2"))
              for i in (1, 2, 3)]
    sheet = fake_env / "assets.csv"
    with sheet.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(assets[0]))
        w.writeheader()
        w.writerows(assets)
    out = fake_env / "import.csv"
    # Before: "www.shop.example/a1" went into Final URL, which Google Ads Editor refuses at import; the Copywriter
    # tab already left such an asset out, named.
    assert run_cli(main, ["export", "--input", str(sheet), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out: row A1 variant 1: url 'www.shop.example/a1' is no http(s) address" in err
    with out.open(encoding="utf-8") as fh:
        assert [r["Final URL"] for r in csv.DictReader(fh)] == ["https://shop.example/a2"]


def test_too_few_headlines_says_how_to_get_more_in_the_tab_too():
    from assistant.adcopy.export import import_rows

    assets = [{"row_id": "A1", "title": "Linen", "url": "https://shop.example/a1", "channel": "google_rsa",
               "variant": "1", "headline": "Aurora Linen", "description": "Soft washed linen."}]
    # Before: "run the feed with a larger --n", a flag the Copywriter tab, which shows the same note, does not have
    assert "the Copywriter tab's slider" in import_rows(assets, "google_rsa")[2][0]
