"""Feed mode on the fake backend: column mapping (aliases, zh headers, XLSX, --map), briefs from rows, a run
that resumes after an interruption without redoing finished rows, the import layouts, and the CLI."""

from __future__ import annotations

import csv

import pytest

from assistant.adcopy import AdCopyGenerator
from assistant.adcopy.__main__ import main
from assistant.adcopy.export import GOOGLE_ADS_COLUMNS, META_COLUMNS, import_rows, write_import
from assistant.adcopy.feed import parse_mapping, read_feed, split_attributes
from assistant.adcopy.feed_run import FeedState, asset_rows, is_approved, iter_feed, read_assets, run_feed
from assistant.cli_support import run_cli
from assistant.errors import InputError
from assistant.llm import FakeBackend

FEED = [
    ["SKU", "Product Name", "Description", "Features", "Material", "Price", "Sale Price", "Link", "Colour code"],
    ["A1", "Stonewashed linen duvet cover", "Washed linen, 200 x 200 cm", "soft; breathable", "linen", "129", "99",
     "https://shop.example/a1", "c-12"],
    ["A2", "Ceramic table lamp", "Stoneware base, linen shade", "dimmable", "stoneware", "89", "",
     "https://shop.example/a2", "c-7"],
    ["A3", "Oak side table", "Solid oak, 45 cm tall", "sturdy", "oak", "149", "", "https://shop.example/a3", ""],
]


def write_feed(path, rows=FEED, delimiter=",", encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def test_columns_map_by_alias_and_extra_columns_become_selling_points(tmp_path):
    feed = read_feed(write_feed(tmp_path / "f.csv"))
    assert feed.mapping == {"id": "SKU", "title": "Product Name", "description": "Description",
                            "attributes": "Features", "price": "Price", "sale_price": "Sale Price", "url": "Link"}
    assert feed.attribute_columns == {"Material": "material"} and feed.ignored == ["Colour code"]
    a1 = feed.products[0]
    assert (a1.id, a1.title, a1.url) == ("A1", "Stonewashed linen duvet cover", "https://shop.example/a1")
    assert a1.attributes == ["soft", "breathable"] and a1.specs == {"material": "linen"}
    brief = a1.brief("google_rsa", 3)
    assert brief.attributes == ["soft", "breathable", "material: linen"]
    assert read_feed(write_feed(tmp_path / "zh.csv", [["标题", "材质"], ["亚麻围裙", "亚麻"]])).products[0] \
        .brief("weibo").attributes == ["材质：亚麻"]  # labelled in the brief's language
    assert brief.language == "en" and brief.offer == "sale 99 (was 129)" and brief.details == "Washed linen, 200 x 200 cm"
    assert "Details: Washed linen" in brief.summary() and "129" in " ".join(brief.facts())


def test_chinese_headers_semicolons_gb18030_and_xlsx(tmp_path):
    rows = [["商品编号", "商品名称", "卖点", "售价", "链接"], ["Z1", "水洗亚麻四件套", "柔软，透气，1,299元", "599", "https://x/z1"]]
    feed = read_feed(write_feed(tmp_path / "zh.csv", rows, delimiter=";", encoding="gb18030"))
    p = feed.products[0]
    assert (p.id, p.title, p.price) == ("Z1", "水洗亚麻四件套", "599")
    assert p.attributes == ["柔软", "透气", "1,299元"]  # a thousands separator is not a list comma
    assert p.brief("weibo").language == "zh" and p.brief("weibo").offer == "售价 599"
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for r in FEED:
        wb.active.append(r)
    wb.save(tmp_path / "f.xlsx")
    assert [x.id for x in read_feed(tmp_path / "f.xlsx").products] == ["A1", "A2", "A3"]


@pytest.mark.parametrize("headers, expected", [
    (["货号", "商品名称（必填）", "价格(元)"], {"id": "货号", "title": "商品名称（必填）", "price": "价格(元)"}),
    (["SKU", "Name", "Price (USD)", "Sale price (USD)", "Landing Page URL"],
     {"id": "SKU", "title": "Name", "price": "Price (USD)", "sale_price": "Sale price (USD)", "url": "Landing Page URL"}),
])
def test_a_unit_or_note_in_brackets_does_not_hide_a_column(headers, expected):
    from assistant.adcopy.feed import map_columns

    mapping, _, ignored = map_columns(headers)
    assert mapping == expected and ignored == []


def test_a_row_whose_language_column_contradicts_its_title_is_noted(tmp_path):
    rows = [["SKU", "Product Name", "Description", "lang"], ["TL-5", "Bamboo tea tray", "Solid bamboo", "zh"],
            ["TL-6", "竹制茶盘", "整块竹板", "zh"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    assert feed.skipped == ["row 2 (TL-5): its language column says zh, but its title is in English; the copy is "
                            "written in Chinese"]
    assert len(feed.products) == 2


def test_mapping_overrides_and_bad_feeds(tmp_path):
    rows = [["code", "what", "blurb"], ["k1", "Linen apron", "Washed linen"]]
    path = write_feed(tmp_path / "odd.csv", rows)
    with pytest.raises(InputError, match="no title column"):
        read_feed(path)
    feed = read_feed(path, parse_mapping("title=what,id=code,description=blurb"))
    assert (feed.products[0].id, feed.products[0].title, feed.products[0].description) == ("k1", "Linen apron", "Washed linen")
    with pytest.raises(InputError, match="no such column"):
        read_feed(path, parse_mapping("title=Name"))
    with pytest.raises(InputError, match="unknown field"):
        parse_mapping("colour=what")
    dup = write_feed(tmp_path / "dup.csv", [["id", "title"], ["x", "A"], ["x", "B"], ["y", ""]])
    feed = read_feed(dup)
    # the repeat of x is on the spreadsheet's row 3 (the header is row 1)
    assert [p.id for p in feed.products] == ["x", "x#3"] and any("no title" in s for s in feed.skipped)
    with pytest.raises(InputError, match="expected a .csv or .xlsx"):
        read_feed(write_feed(tmp_path / "f.json"))


def test_advertisegen_style_attributes():
    assert split_attributes("类型#上衣*版型#宽松*颜色#灰色") == ["上衣", "宽松", "灰色"]


def test_a_run_resumes_without_redoing_finished_rows(tmp_path, cfg, brand, numbered, capsys):
    feed = read_feed(write_feed(tmp_path / "f.csv"))
    out = tmp_path / "assets.csv"
    good = numbered("Aurora linen for slow evenings", "Aurora, soft and breathable")

    class Interrupting(FakeBackend):  # the machine goes down while the second row is being written
        def _next(self, messages, opts):
            if "Ceramic" in messages[-1].content and not self.replies:
                raise KeyboardInterrupt
            return super()._next(messages, opts)

    first = Interrupting([], default=good)
    with pytest.raises(KeyboardInterrupt):
        run_feed(AdCopyGenerator(first, cfg, brand), feed, "wechat_moments", out, progress=False)
    said = capsys.readouterr().err
    assert "interrupted after 1 of 3 rows" in said and "run the same command again" in said
    state = FeedState(out.with_name("assets.state.jsonl"))
    assert [r.row_id for r in state.done.values()] == ["A1"]
    (out.with_name("assets.state.jsonl")).open("a").write('{"key": "cut off mid-li')  # a torn last line

    second = FakeBackend([], default=good)
    run = run_feed(AdCopyGenerator(second, cfg, brand), feed, "wechat_moments", out, progress=False)
    assert (run.resumed, run.written, run.failed) == (1, 2, 0)
    asked = [c["messages"][-1].content for c in second.calls]
    assert not any("Stonewashed" in a for a in asked)  # A1 came from the state file
    rows = read_assets(out)
    assert [r["row_id"] for r in rows] == ["A1", "A2", "A3"] and rows[0]["text"]
    assert {"approved", "fixes", "score", "url"} <= set(rows[0])

    # A row whose content changed is written again; the others are not.
    changed = [r[:] for r in FEED]
    changed[3][2] = "Solid oak, 50 cm tall"
    third = FakeBackend([], default=good)
    run = run_feed(AdCopyGenerator(third, cfg, brand), read_feed(write_feed(tmp_path / "f.csv", changed)),
                   "wechat_moments", out, progress=False)
    assert (run.resumed, run.written) == (2, 1) and all("Oak" in c["messages"][-1].content for c in third.calls)


def test_a_row_with_fewer_assets_than_asked_says_why_in_the_sheet_and_the_summary(tmp_path, cfg, brand, numbered):
    feed = read_feed(write_feed(tmp_path / "f.csv", FEED[:2]))
    out = tmp_path / "assets.csv"
    one = numbered("Aurora linen for slow evenings")  # every call gives the same single line: one asset per row
    run = run_feed(AdCopyGenerator(FakeBackend([], default=one), cfg, brand), feed, "wechat_moments", out, n=2,
                   progress=False)
    rows = read_assets(out)
    assert rows[0]["variant"] == "1" and "could only produce 1 of 2" in rows[0]["notes"]
    assert "1 row got fewer than 2 assets (A1: see their notes)" in run.summary()


def test_a_row_without_a_description_still_gets_the_word_check(tmp_path, cfg, brand, numbered):
    # "竹制茶盘" with no description got "送茶上门" and "质地结实": the word check ran only on rows with a description.
    rows = [["SKU", "Product Name", "Link"], ["Z3", "竹制茶盘", "https://shop.example/z3"]]
    feed = read_feed(write_feed(tmp_path / "f.csv", rows))
    assert feed.products[0].brief("wechat_moments").from_feed
    invented = numbered("极光竹制茶盘，送茶上门")
    gen = AdCopyGenerator(FakeBackend([], default=invented), cfg, brand)
    row, _ = next(iter_feed(gen, feed.products, "wechat_moments", n=1))
    texts = [v["fields"]["text"] for v in row.variants]
    assert not any("送茶上门" in t for t in texts), texts


def test_rows_without_an_asset_are_kept_on_a_rerun_unless_retried(tmp_path, cfg, brand, numbered):
    feed = read_feed(write_feed(tmp_path / "f.csv", FEED[:2]))
    out = tmp_path / "assets.csv"
    nothing = FakeBackend([], default="")  # no usable item: the row is finished without an asset
    first = run_feed(AdCopyGenerator(nothing, cfg, brand), feed, "wechat_moments", out, progress=False)
    assert first.assets == 0 and "--retry-empty writes them again" in first.summary()
    again = FakeBackend([], default=numbered("Aurora linen for slow evenings"))
    kept = run_feed(AdCopyGenerator(again, cfg, brand), feed, "wechat_moments", out, progress=False)
    assert kept.resumed == 1 and not again.calls
    retried = run_feed(AdCopyGenerator(again, cfg, brand), feed, "wechat_moments", out, progress=False,
                       retry_empty=True)
    assert retried.written == 1 and retried.assets == 1 and again.calls
    assert run_feed(AdCopyGenerator(again, cfg, brand), feed, "wechat_moments", out, progress=False,
                    retry_empty=True).resumed == 1  # a row with an asset is resumed as before


def test_a_row_the_model_fails_on_is_reported_and_retried_next_time(tmp_path, cfg, brand, numbered):
    from assistant.errors import GenerationError

    feed = read_feed(write_feed(tmp_path / "f.csv", FEED[:2]))
    gen = AdCopyGenerator(FakeBackend([GenerationError("backend down")]), cfg, brand)
    rows = [r for r, _ in iter_feed(gen, feed.products, "sms", state=FeedState(tmp_path / "s.jsonl"))]
    assert rows[0].error and not FeedState(tmp_path / "s.jsonl").done
    assert asset_rows(rows)[0]["variant"] == "0" and "backend down" in asset_rows(rows)[0]["notes"]


ASSETS = [
    {"row_id": "A1", "title": "Linen cover", "url": "https://x/a1", "channel": "google_rsa", "variant": str(i),
     "headline": f"Aurora Linen {i}", "description": f"Soft washed linen, take {i}.", "language": "en"}
    for i in (1, 2, 3)
]


def test_google_ads_editor_layout_packs_one_rsa_per_product():
    columns, rows, notes = import_rows(ASSETS, "google_rsa", campaign="Spring")
    assert columns == list(GOOGLE_ADS_COLUMNS) and len(rows) == 1 and not notes
    ad = rows[0]
    assert (ad["Campaign"], ad["Ad group"], ad["Final URL"]) == ("Spring", "Linen cover", "https://x/a1")
    assert [ad[f"Headline {i}"] for i in (1, 2, 3)] == ["Aurora Linen 1", "Aurora Linen 2", "Aurora Linen 3"]
    assert ad["Description 3"] and not ad["Description 4"] and ad["Ad type"] == "Responsive search ad"
    _, _, notes = import_rows(ASSETS[:1], "google_rsa")
    assert "at least 3" in notes[0]


def test_meta_and_plain_layouts(tmp_path):
    meta = [{**a, "channel": "meta_feed", "primary_text": "Linen that softens.", "variant": "1"} for a in ASSETS[:1]]
    columns, rows, _ = import_rows(meta, "meta_feed")
    assert columns == META_COLUMNS
    assert (rows[0]["Body"], rows[0]["Title"], rows[0]["Link"], rows[0]["Ad Name"]) == \
        ("Linen that softens.", "Aurora Linen 1", "https://x/a1", "A1-1")
    plain = [{"row_id": "Z1", "title": "四件套", "url": "", "channel": "weibo", "variant": "1", "text": "亚麻，越洗越软",
              "language": "zh", "score": "0.8", "approved": "yes"}]
    path, count, _ = write_import(plain, "weibo", tmp_path / "weibo.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert count == 1 and text.splitlines()[0] == "row_id,title,url,channel,language,variant,text" and "越洗越软" in text
    with pytest.raises(InputError, match="nothing to export"):
        write_import([], "weibo", tmp_path / "none.csv")


@pytest.mark.parametrize("value,ok", [("yes", True), ("x", True), ("✓", True), ("通过", True), (True, True),
                                      ("", False), ("no", False), (None, False), (False, False)])
def test_approved_values(value, ok):
    assert is_approved(value) is ok



def test_feed_and_export_cli(fake_env, capsys):
    feed = write_feed(fake_env / "f.csv")
    out = fake_env / "assets.csv"
    code = run_cli(main, ["feed", "--input", str(feed), "--channel", "sms", "--output", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert "3 products from f.csv" in err and "title ← 'Product Name'" in err
    assert out.exists() and (fake_env / "assets.state.jsonl").exists() and code in (0, 1)
    assert run_cli(main, ["export", "--input", str(out), "--output", str(fake_env / "i.csv")]) == 2
    assert "no row" in capsys.readouterr().err
    rows = read_assets(out)
    for r in rows:
        r["approved"] = "x"
    with out.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code = run_cli(main, ["export", "--input", str(out), "--output", str(fake_env / "i.csv")])
    assert code == (0 if any(r["variant"] != "0" for r in rows) else 2)
    assert run_cli(main, ["feed", "--input", str(feed), "--channel", "nope", "--output", str(out)]) == 2


@pytest.mark.parametrize("cmd", ["feed", "export", "lint"])
def test_help_of_the_new_subcommands(cmd, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([cmd, "--help"])
    assert exit_.value.code == 0 and "--input" in capsys.readouterr().out


def test_xlsx_cells_read_as_the_person_sees_them(tmp_path):
    # A 0%-formatted offer of 20% was read as "0.2" and $99.90 as "99.9": the brief then quoted other figures.
    import datetime

    import openpyxl

    from assistant.tables import read_table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "title", "price", "offer", "stock", "since"])
    ws.append([1001, "Linen", 99.9, 0.2, 3.0, datetime.datetime(2026, 5, 1)])
    ws.append(["", "", "", "", "", ""])  # a blank row is skipped but counted
    ws.append([1003, "", 1250, 0.125, 7, None])
    ws["C2"].number_format, ws["D2"].number_format = '"$"#,##0.00', "0%"
    ws["C4"].number_format, ws["D4"].number_format = "[$¥-804]#,##0", "0.0%"
    wb.save(tmp_path / "f.xlsx")
    _, rows = read_table(tmp_path / "f.xlsx")
    assert rows[0] == {"id": "1001", "title": "Linen", "price": "$99.90", "offer": "20%", "stock": "3",
                       "since": "2026-05-01"}
    assert (rows[1]["price"], rows[1]["offer"]) == ("¥1,250", "12.5%")
    feed = read_feed(tmp_path / "f.xlsx")
    assert feed.skipped == ["row 4 (id 1003): no title, left out"]  # the spreadsheet's own row number
