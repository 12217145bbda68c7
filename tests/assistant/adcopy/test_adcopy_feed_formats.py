"""Feeds as shops export them: Shopify's product export (its column names, HTML in the description) and the
review sheet opened in Excel (a feed cell that Excel would run as a formula)."""

from __future__ import annotations

import csv

import pytest

from assistant.adcopy.feed import plain_text, read_feed
from assistant.errors import InputError

SHOPIFY = [
    ["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Option1 Value", "Variant SKU", "Variant Price",
     "Variant Compare At Price", "Image Src"],
    ["linen-duvet", "Stonewashed Linen Duvet Cover",
     "<p>Made from <strong>100% European flax</strong> linen.</p><ul><li>200x230cm</li><li>Oeko&#8209;Tex &amp; "
     "GOTS</li></ul>", "Aurora", "Bedding", "new, sale", "Queen", "LD-Q", "129.00", "159.00", "https://x/i.jpg"],
    ["linen-duvet", "", "", "", "", "", "King", "LD-K", "149.00", "179.00", ""],  # a variant row: no title
    ["oak-stool", "Oak Stool", "Solid oak", "Aurora", "Furniture", "", "Default Title", "", "49.00", "", ""],
]


def write_rows(path, rows, encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_shopify_export_maps_its_own_column_names(tmp_path):
    # Before: only Title and Type were read; the description, the price, the SKU and the vendor were ignored.
    feed = read_feed(write_rows(tmp_path / "products_export_1.csv", SHOPIFY))
    assert feed.mapping["description"] == "Body (HTML)" and feed.mapping["brand"] == "Vendor"
    # the handle names the product on every export (a variant's SKU is often empty), so a re-run resumes by it
    assert feed.mapping["id"] == "Handle"
    duvet, stool = feed.products
    assert duvet.id == "linen-duvet" and stool.id == "oak-stool"
    # Variant Price sells, Compare At Price is what it was: the offer reads as a sale only when there is one
    assert duvet.offer_text("en") == "sale 129.00 (was 159.00)" and stool.offer_text("en") == "price 49.00"
    # the duvet's King variant row (same handle, no title) is one summary note, not "row 3: no title" per variant
    assert feed.skipped == ["rows without a title under the id of a product above (its variants, as Shopify "
                            "exports them): 1, read as that product"]


def test_html_in_a_description_is_read_as_its_text(tmp_path):
    feed = read_feed(write_rows(tmp_path / "products_export_1.csv", SHOPIFY))
    description = feed.products[0].description
    assert "<" not in description and "&amp;" not in description
    assert description.splitlines() == ["Made from 100% European flax linen.", "200x230cm", "Oeko\u2011Tex & GOTS"]
    assert plain_text("size < 2 m & light") == "size < 2 m & light"  # no markup: left as written
    assert plain_text("Linen &amp; cotton, 50&#8239;cm") == "Linen & cotton, 50\u202fcm"


def test_html_list_of_features_splits_into_selling_points(tmp_path):
    path = write_rows(tmp_path / "f.csv", [["id", "title", "features"],
                                           ["1", "Mug", "<ul><li>350 ml</li><li>dishwasher safe</li></ul>"]])
    assert read_feed(path).products[0].attributes == ["350 ml", "dishwasher safe"]


def test_a_feed_cell_excel_would_run_is_text_in_the_sheet_and_reads_back_as_written(tmp_path, cfg, brand, numbered):
    from assistant.adcopy import AdCopyGenerator
    from assistant.adcopy.export import import_rows
    from assistant.adcopy.feed_run import read_assets, run_feed
    from assistant.llm import FakeBackend

    title = '=HYPERLINK("http://evil.example","Aurora linen")'
    feed = read_feed(write_rows(tmp_path / "f.csv", [["id", "title", "description"],
                                                     ["-5", title, "Aurora linen, soft and breathable"]]))
    out = tmp_path / "assets.csv"
    good = numbered("Aurora linen, soft and breathable", "Aurora, soft linen")
    run_feed(AdCopyGenerator(FakeBackend([], default=good), cfg, brand), feed, "wechat_moments", out, progress=False)
    raw = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    # Before: the cell was written as it came, and Excel ran it on opening the review sheet.
    assert raw[0]["title"] == "'" + title and raw[0]["row_id"] == "'-5"
    rows = read_assets(out)
    assert rows[0]["title"] == title and rows[0]["row_id"] == "-5"
    # the reviewer approves in Excel; a re-run keeps the approval (the apostrophe is no edit of theirs)
    raw[0]["approved"] = "yes"
    with out.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(raw[0]))
        w.writeheader()
        w.writerows(raw)
    again = run_feed(AdCopyGenerator(FakeBackend([], default=good), cfg, brand), feed, "wechat_moments", out,
                     progress=False)
    assert again.lost == [] and read_assets(out)[0]["approved"] == "yes"
    # the plain import file is opened in Excel too: the feed's cells are text there, the ad text as written
    _, plain, _ = import_rows(read_assets(out), "wechat_moments")
    assert plain[0]["title"] == "'" + title and not plain[0]["text"].startswith("'")


@pytest.mark.parametrize("header", [
    ["row_id", "title", "url", "language", "channel", "variant", "headline", "description", "approved"],
    ["Campaign Name", "Ad Set Name", "Ad Name", "Body", "Title", "Link Description", "Link"],
    ["Campaign", "Ad group", "Ad type", "Headline 1", "Description 1", "Final URL"],
])
def test_a_sheet_this_tool_wrote_is_refused_as_a_feed(tmp_path, header):
    # Before: a review sheet uploaded again was read as products (each asset a product, its ad text the facts)
    # and copy was written on copy.
    path = write_rows(tmp_path / "assets.csv", [header, ["x"] * len(header)])
    with pytest.raises(InputError, match="not a product feed"):
        read_feed(path)


def test_a_reviewers_own_column_stays_out_of_the_plain_import_file(fake_env, capsys):
    from assistant.adcopy.__main__ import main
    from assistant.cli_support import run_cli

    sheet = write_rows(fake_env / "assets.csv", [
        ["row_id", "title", "url", "language", "channel", "variant", "text", "score", "fixes", "check", "notes",
         "approved", "internal comment"],
        ["A1", "Linen cover", "https://shop.example/a1", "en", "weibo", "1", "Washed linen, soft from night one.",
         "0.8", "", "", "", "yes", "client hates this one, ask Li"]])
    assert run_cli(main, ["export", "--input", str(sheet), "--output", str(fake_env / "weibo.csv")]) == 0
    rows = list(csv.DictReader((fake_env / "weibo.csv").open(encoding="utf-8-sig")))
    # Before: the reviewer's column went into the file sent on with the copy.
    assert list(rows[0]) == ["row_id", "title", "url", "channel", "language", "variant", "text"]


def test_approved_assets_past_what_an_rsa_holds_are_named_not_dropped_unseen():
    from assistant.adcopy.export import import_rows

    assets = [{"row_id": "A1", "title": "Linen cover", "url": "https://shop.example/a1", "channel": "google_rsa",
               "variant": str(i), "headline": f"Linen Cover No {i}", "description": f"Washed linen, set {i}."}
              for i in range(1, 19)]
    _, rows, notes = import_rows(assets, "google_rsa")
    assert rows[0]["Headline 15"] == "Linen Cover No 15" and rows[0]["Description 4"] == "Washed linen, set 4."
    # Before: 3 approved headlines and 14 descriptions were left out of the import without a word.
    assert notes == ["A1: an RSA holds 15 headlines and 4 descriptions; left out 3 headlines past the first 15 and "
                     "14 descriptions past the first 4 approved (approve fewer to choose which)"]


def test_a_url_typed_into_any_asset_row_of_a_product_is_its_final_url():
    from assistant.adcopy.export import import_rows

    assets = [{"row_id": "A1", "title": "Linen cover", "url": url, "channel": "google_rsa", "variant": str(i),
               "headline": f"Linen Cover No {i}", "description": f"Washed linen, set {i}."}
              for i, url in enumerate(["", "https://shop.example/a1", ""], 1)]
    _, rows, notes = import_rows(assets, "google_rsa")
    # Before: only the first asset row's url was read; the ad had no Final URL and Google Ads Editor refused it.
    assert rows[0]["Final URL"] == "https://shop.example/a1" and not any("no URL" in n for n in notes)


def test_meta_rows_of_a_product_share_the_url_typed_into_one_of_them():
    from assistant.adcopy.export import import_rows

    assets = [{"row_id": "A1", "title": "Linen cover", "url": url, "channel": "meta_feed", "variant": str(i),
               "primary_text": "Washed linen.", "headline": "Linen cover", "description": "Soft"}
              for i, url in enumerate(["", "https://shop.example/a1"], 1)]
    _, rows, notes = import_rows(assets + [{**assets[0], "row_id": "B2"}], "meta_feed")
    assert [r["Link"] for r in rows] == ["https://shop.example/a1", "https://shop.example/a1", ""]
    assert notes == ["B2-1: no URL; Meta needs a link for every ad (fill the sheet's url column, or add one)"]


def test_a_headline_row_added_by_hand_without_its_channel_is_exported(fake_env, capsys):
    from assistant.adcopy.__main__ import main
    from assistant.cli_support import run_cli

    header = ["row_id", "title", "url", "language", "channel", "variant", "headline", "description", "approved"]
    rows = [["A1", "Linen cover", "https://shop.example/a1", "en", "google_rsa", str(i), f"Linen Cover in {c}",
             f"Washed linen in {c}, soft from night one.", "yes"] for i, c in ((1, "Sand"), (2, "Grey"))]
    # the note asked for a third headline; the reviewer wrote it into a row of its own, channel left empty
    rows.append(["A1", "", "", "", "", "3", "Aurora Washed Linen", "", "yes"])
    sheet = write_rows(fake_env / "assets.csv", [header, *rows])
    assert run_cli(main, ["export", "--input", str(sheet), "--output", str(fake_env / "ads.csv")]) == 0
    ad = next(csv.DictReader((fake_env / "ads.csv").open(encoding="utf-8")))
    # Before: "the sheet mixes channels (google_rsa, )", and nothing was exported.
    assert ad["Headline 3"] == "Aurora Washed Linen" and "Google needs" not in capsys.readouterr().err
    blank = write_rows(fake_env / "blank.csv", [header, ["A1", "x", "", "", "", "1", "Linen", "", "yes"]])
    assert run_cli(main, ["export", "--input", str(blank), "--output", str(fake_env / "b.csv")]) == 2
    assert "names its channel" in capsys.readouterr().err


def test_products_whose_ids_excel_rounded_to_one_are_not_merged_into_one_ad():
    from assistant.adcopy.export import import_rows

    def asset(title, url, i):
        return {"row_id": "6.12346E+11", "title": title, "url": url, "channel": "google_rsa", "variant": str(i),
                "headline": f"{title} {i}", "description": f"{title}, washed and soft, set {i}."}

    # Taobao ids 612345678901 and 612346000002, saved by Excel: both "6.12346E+11"
    assets = [asset("Linen cover", "https://shop.example/a", i) for i in (1, 2, 3)]
    assets += [asset("Oak stool", "https://shop.example/b", i) for i in (1, 2, 3)]
    _, rows, notes = import_rows(assets, "google_rsa")
    # Before: one ad with both products' headlines, under the linen cover's URL.
    assert [(r["Ad group"], r["Final URL"], r["Headline 1"]) for r in rows] == [
        ("Linen cover", "https://shop.example/a", "Linen cover 1"), ("Oak stool", "https://shop.example/b", "Oak stool 1")]
    assert any("Excel rounded the long numeric ids" in n for n in notes)
    # an id of our own with a title a reviewer corrected in one row stays one product
    fixed = [{**a, "row_id": "A1"} for a in assets[:3]]
    fixed[0]["title"] = "Linen duvet cover"
    assert len(import_rows(fixed, "google_rsa")[1]) == 1
    # so does a shop's code that only looks like an exponent: Excel writes "E+", and "5E10" is no number it rounded
    # (before, the plus was optional and such a product was split in two ads by its corrected title)
    assert len(import_rows([{**a, "row_id": "5E10"} for a in fixed], "google_rsa")[1]) == 1


def test_meta_rows_of_products_excel_rounded_to_one_id_keep_their_own_link():
    from assistant.adcopy.export import import_rows

    assets = [{"row_id": "6.12346E+11", "title": t, "url": u, "channel": "meta_feed", "variant": "1",
               "primary_text": "Washed linen.", "headline": t, "description": "Soft"}
              for t, u in (("Linen cover", ""), ("Oak stool", "https://shop.example/b"))]
    _, rows, _ = import_rows(assets, "meta_feed")
    assert [r["Link"] for r in rows] == ["", "https://shop.example/b"]


def test_more_rsas_in_one_ad_group_than_google_enables_is_a_note():
    from assistant.adcopy.export import google_ads_notes, google_ads_rows, import_rows
    from assistant.adcopy.generator import GenerationResult, Variant

    # four products titled alike (one per colour): one ad group, four RSAs; Google enables three
    assets = [{"row_id": f"P{p}", "title": "Linen pillow case", "url": f"https://shop.example/p{p}",
               "channel": "google_rsa", "variant": str(i), "headline": f"Linen Pillow Case {c} {p}",
               "description": f"Washed linen pillow case, soft, set {i}."}
              for p in range(4) for i, c in enumerate("ABC", 1)]
    _, rows, notes = import_rows(assets, "google_rsa")
    assert len(rows) == 4 and any("'Linen pillow case': 4 responsive search ads" in n for n in notes)
    # `generate --n 50`: 50 headlines packed into 4 ads of one ad group
    variants = [Variant({"headline": f"Linen Case {i}", "description": f"Washed linen, set {i}."}, {}, i)
                for i in range(1, 51)]
    result = GenerationResult(channel="google_rsa", variants=variants, requested=50, produced=50)
    ads = google_ads_rows(result)
    assert len(ads) == 4 and any("4 responsive search ads" in n for n in google_ads_notes(ads, "fix"))


TAOBAO_KEYS = ("title,cid,seller_cids,stuff_status,location_state,location_city,item_type,price,auction_increment,"
               "num,valid_thru,freight_payer,post_fee,ems_fee,express_fee,has_invoice,has_warranty,approve_status,"
               "has_showcase,list_time,description,cateProps,postage_id,has_discount,modified,upload_fail_msg,"
               "picture_status,auction_point,picture,video,skuProps,inputPids,inputValues,outer_id,propAlias,"
               "auto_fill,num_id,local_cid,navigation_type,user_name,syncStatus,is_lighting_consigment,is_xinpin,"
               "foodparame,features,buyareatype,global_stock_type,global_stock_country,sub_stock_type,item_size,"
               "item_weight,sell_promise,custom_design_flag,wireless_desc,barcode,sku_barcode,newprepay,subtitle")
TAOBAO_NAMES = ("宝贝名称,宝贝类目,店铺类目,新旧程度,省,城市,出售方式,宝贝价格,加价幅度,宝贝数量,有效期,运费承担,平邮,EMS,"
                "快递,发票,保修,放入仓库,橱窗推荐,开始时间,宝贝描述,宝贝属性,邮费模版ID,会员打折,修改时间,上传状态,图片状态,"
                "返点比例,新图片,视频,销售属性组合,用户输入ID串,用户输入名-值对,商家编码,销售属性别名,代充类型,数字ID,本地ID,"
                "宝贝分类,用户名称,宝贝状态,闪电发货,新品,食品专项,尺码库,采购地,库存类型,国家地区,库存计数,物流体积,物流重量,"
                "退换货承诺,定制工具,无线详情,商品条形码,sku 条形码,7天退货,宝贝卖点")


def test_a_taobao_assistant_export_is_read_by_its_chinese_column_names(tmp_path):
    names = TAOBAO_NAMES.split(",")
    item = dict.fromkeys(names, "")
    item.update({"宝贝名称": "水洗亚麻四件套", "宝贝价格": "299.00", "宝贝描述": "<p>100%亚麻，<b>水洗</b>工艺</p>",
                 "保修": "1", "商家编码": "LS-01", "数字ID": "612345678901", "尺码库": "mysize_tp:-1",
                 "宝贝卖点": "透气；亲肤"})
    path = tmp_path / "淘宝助理.csv"
    path.write_bytes(("version 1.00\n" + TAOBAO_KEYS + "\n" + TAOBAO_NAMES + "\n"
                      + ",".join(f'"{item[n]}"' for n in names) + "\n").encode("gb18030"))
    # Before: "no title column in 淘宝助理.csv … (columns: version 1.00)", and --map could not help.
    feed = read_feed(path)
    (product,) = feed.products
    assert (product.id, product.title, product.price) == ("LS-01", "水洗亚麻四件套", "299.00")
    assert product.description == "100%亚麻，水洗工艺" and product.attributes == ["透气", "亲肤"]
    assert product.specs == {}  # 保修 "1" is a flag, not "质保：1"; the size chart is no selling point


def test_a_feed_whose_first_column_is_named_version_is_no_taobao_export(tmp_path):
    # A plain feed with a "version" column first lost its two first lines: a product row became the header
    path = tmp_path / "feed.csv"
    path.write_text("version,title,price,material\n3,Duvet cover,59,Cotton\n4,Pillowcase,19,Linen\n", encoding="utf-8")
    assert [p.title for p in read_feed(path).products] == ["Duvet cover", "Pillowcase"]


def test_values_that_look_like_flags_are_facts_outside_a_taobao_export(tmp_path):
    # "size: 1", "returns: Yes" were dropped as yes/no flags in every feed: facts the copy and the check lost
    path = tmp_path / "feed.csv"
    path.write_text("id,title,size,returns,warranty\nA1,Storage box,1,Yes,2 years\n", encoding="utf-8")
    (product,) = read_feed(path).products
    assert {"1", "Yes", "2 years"} <= set(product.specs.values())
