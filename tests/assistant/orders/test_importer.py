"""Importing an order export (CSV / XLSX, our columns, Shopify's export, a YAML mapping) and the CLI."""

from __future__ import annotations

import re

import pytest

from assistant.errors import InputError
from assistant.orders.embedded import EmbeddedOrders
from assistant.orders.importer import import_file
from tests.conftest import run_module

SHOPIFY_EXPORT = (
    "Name,Email,Financial Status,Fulfillment Status,Fulfilled at,Currency,Total,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Shipping Address1,Shipping City,Shipping Zip,Shipping Phone,Phone,"
    "Cancelled at\n"
    "#1001,bob@example.com,paid,fulfilled,2026-11-11 09:00:00 -0500,USD,598.94,2026-11-10 11:00:00 -0500,1,"
    "IPod Nano - 8gb - green,199.00,IPOD2008GREEN,Chestnut Street 92,Louisville,40202,+1(502)-459-2181,,\n"
    "#1001,,,,,,,,2,IPod Nano - 8gb - red,199.00,IPOD2008RED,,,,,,\n"
    "#1002,amy@example.com,paid,,,USD,20.00,2026-11-12 10:00:00 -0500,1,Mug,20.00,MUG,1 Main St,Dayton,45402,,"
    "555-0100,2026-11-12 12:00:00 -0500\n")


def test_our_own_columns(tmp_path, engine, orders):
    from bench.orders import DATA

    store = EmbeddedOrders(engine)
    report = import_file(store, DATA / "orders.csv")
    assert (report.orders, report.items, report.shipments, report.returns) == (11, 16, 7, 1)
    got = store.find("#100234")
    assert got.status == "shipped" and got.email == "anna.lee@example.com"
    assert [i.name for i in got.items] == ["Linen duvet cover", "Oak side table"]
    assert got.shipments[0].tracking_number == "SF1234567890" and got.shipments[0].expected_delivery == "2026-11-08"
    assert store.find("100241").returns[0].status == "refunded"
    assert store.count() == 11 and store.find("999999") is None
    import_file(store, DATA / "orders.csv")  # again: replaced, not doubled
    assert store.count() == 11 and len(store.find("100234").items) == 2


def test_shopify_export_preset(tmp_path, engine):
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY_EXPORT, encoding="utf-8-sig")
    store = EmbeddedOrders(engine)
    report = import_file(store, path, "shopify")
    assert report.orders == 2
    first, second = store.find("1001"), store.find("1002")
    assert first.status == "shipped" and len(first.items) == 2 and first.items[1].quantity == 2
    assert first.phone == "+1(502)-459-2181" and "Louisville" in first.shipping_address
    assert second.status == "cancelled" and second.phone == "555-0100"


def test_xlsx_and_a_yaml_mapping(tmp_path, engine):
    import pandas as pd

    frame = pd.DataFrame([{"订单编号": "A-77", "邮箱": "li@example.cn", "状态": "已发货", "商品": "台灯", "数量": "2",
                           "快递公司": "顺丰", "运单号": "SF1", "发货日期": "2026-11-01"}])
    frame.to_excel(tmp_path / "export.xlsx", index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("number: 订单编号\nemail: 邮箱\nstatus: 状态\nitem_name: 商品\nitem_quantity: 数量\n"
                       "carrier: 快递公司\ntracking_number: 运单号\nshipped_at: 发货日期\n"
                       "status_values: {已发货: shipped}\n", encoding="utf-8")
    store = EmbeddedOrders(engine)
    import_file(store, tmp_path / "export.xlsx", str(mapping))
    got = store.find("a-77")
    assert got.number == "A-77" and got.status == "shipped" and got.items[0].quantity == 2
    assert got.shipments[0].carrier == "顺丰"


@pytest.mark.parametrize("content, mapping, message", [
    ("email\nx@y.z\n", None, "no order-number column"),
    ("number,status\n1,paid\n", None, "neither an e-mail nor a phone"),
    ("Order,Mail\n1,x@y.z\n", "number: Order\nemail: Email\n", "column 'Email' (mapped to email) is not in the file"),
    ("number,email\n1,x@y.z\n", "nummer: Order\n", "unknown field 'nummer'"),
])
def test_mistakes_are_one_clear_line(tmp_path, engine, content, mapping, message):
    path = tmp_path / "e.csv"
    path.write_text(content, encoding="utf-8")
    spec = None
    if mapping:
        spec = tmp_path / "m.yaml"
        spec.write_text(mapping, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        import_file(EmbeddedOrders(engine), path, str(spec) if spec else None)


def test_unreadable_files(tmp_path, engine):
    (tmp_path / "e.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"expected a \.csv or \.xlsx file .*got 'e\.json'"):
        import_file(EmbeddedOrders(engine), tmp_path / "e.json")
    with pytest.raises(InputError, match="file not found"):
        import_file(EmbeddedOrders(engine), tmp_path / "gone.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="broken.xlsx is not a valid .xlsx workbook"):
        import_file(EmbeddedOrders(engine), tmp_path / "broken.xlsx")
    (tmp_path / "quote.csv").write_text('order_id,email\n1,"a@b.c\n', encoding="utf-8")
    with pytest.raises(InputError, match="quote.csv line 2: malformed CSV"):
        import_file(EmbeddedOrders(engine), tmp_path / "quote.csv")


def test_cli(tmp_path):
    from bench.orders import DATA

    env = {"ASSISTANT_STORAGE__URL": f"sqlite:///{tmp_path}/cli.db"}
    assert run_module("assistant.orders", "--help").returncode == 0
    done = run_module("assistant.orders", "import", str(DATA / "orders.csv"), env=env)
    assert done.returncode == 0 and "imported 11 orders" in done.stdout
    shown = run_module("assistant.orders", "show", "#100236", env=env)
    assert shown.returncode == 0 and "SF9876543210" in shown.stdout
    missing = run_module("assistant.orders", "show", "1", env=env)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("NotFoundError: no order 1")
    assert "11 orders stored" in run_module("assistant.orders", "check", env=env).stdout
    off = run_module("assistant.orders", "check", env={**env, "ASSISTANT_ORDERS__ENABLED": "false"})
    assert off.returncode == 1 and "orders.enabled is false" in off.stdout
    no_token = run_module("assistant.orders", "check", env={**env, "ASSISTANT_ORDERS__BACKEND": "shopify",
                                                              "ASSISTANT_ORDERS__SHOPIFY_STORE": "https://x.example",
                                                              "SHOPIFY_ACCESS_TOKEN": ""})
    assert no_token.returncode == 2 and "SHOPIFY_ACCESS_TOKEN is not set" in no_token.stderr
    assert len(no_token.stderr.strip().splitlines()) == 1


def test_values_the_assistant_would_quote_wrongly_are_reported(tmp_path, engine):
    # stored as typed and quoted to customers: an unknown status, a quantity "x", a total "abc" were not mentioned
    path = tmp_path / "o.csv"
    path.write_text("number,email,status,total,placed_at,item_name,item_quantity\n"
                    "5004,a@x.cn,weird-status,99,2026-05-01,Mug,2\n"
                    "5006,b@x.cn,shipped,abc,not-a-date,Lamp,x\n", encoding="utf-8")
    report = import_file(EmbeddedOrders(engine), path)
    said = " ".join(report.problems)
    assert "status 'weird-status'" in said and "quantity 'x'" in said
    assert "total 'abc'" in said and "placed_at 'not-a-date'" in said
    with pytest.raises(InputError, match="looked for 'Name'"):
        import_file(EmbeddedOrders(engine), path, "shopify")


def test_a_refunded_or_restocked_shopify_order_is_not_one_being_prepared(tmp_path, engine):
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY_EXPORT.replace("#1001,bob@example.com,paid,fulfilled", "#1001,bob@example.com,refunded,"
                                           "fulfilled").replace("amy@example.com,paid,,,", "amy@example.com,paid,"
                                                                "restocked,,")
                    .replace("2026-11-12 12:00:00 -0500\n", "\n"), encoding="utf-8")
    store = EmbeddedOrders(engine)
    report = import_file(store, path, "shopify")
    assert store.find("1001").status == "refunded" and store.find("1002").status == "cancelled"
    assert not [p for p in report.problems if "status" in p]


def test_numbers_a_spreadsheet_formatted_are_stored_as_typed_and_lost_digits_are_reported(tmp_path, engine):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["number", "email", "phone", "status"])
    sheet.append([100302, "a@example.com", 13812348888, "paid"])
    sheet["A2"].number_format, sheet["C2"].number_format = "#,##0", "0.00"
    book.save(tmp_path / "orders.xlsx")
    store = EmbeddedOrders(engine)
    import_file(store, tmp_path / "orders.xlsx")
    got = store.find("100302")
    assert got is not None and got.phone == "13812348888"
    (tmp_path / "orders.csv").write_text("number,email,phone\n100303,,1.38123E+10\n", encoding="utf-8")
    report = import_file(store, tmp_path / "orders.csv")
    assert any("scientific notation" in p for p in report.problems)


def test_an_order_number_excel_shortened_to_scientific_notation_is_skipped_not_merged(tmp_path, engine):
    """Two marketplace orders shown by Excel as 1.23457E+17 became one order, one customer's items on the other's."""
    path = tmp_path / "orders.csv"
    path.write_text("number,email,item_name\n1.23457E+17,a@example.com,Mug\n1.23457E+17,b@example.com,Plate\n"
                    "100304,c@example.com,Cup\n", encoding="utf-8")
    store = EmbeddedOrders(engine)
    report = import_file(store, path)
    assert report.orders == 1 and report.skipped_rows == 2 and store.find("1.23457E+17") is None
    assert any("row 2: order number" in p and "scientific notation" in p for p in report.problems)
    own = tmp_path / "own.csv"  # a shop's own numbers that only look like exponents are orders
    own.write_text("number,email,item_name\n2024E0815,d@example.com,Bowl\n", encoding="utf-8")
    assert import_file(store, own).orders == 1 and store.find("2024E0815") is not None


def test_a_negative_order_number_in_scientific_notation_is_skipped_too(tmp_path, engine):
    # The check is now the ad-copy sheet's too (assistant.tables.looks_excel_rounded), which takes a minus sign:
    # before, "-1.23457E+17" passed as an order number and its two rows became one order of two customers.
    path = tmp_path / "orders.csv"
    path.write_text("number,email,phone,item_name\n-1.23457E+17,a@example.com,,Mug\n-1.23457E+17,b@example.com,,Plate\n"
                    "100305,c@example.com,1.38123e+10,Cup\n", encoding="utf-8")
    store = EmbeddedOrders(engine)
    report = import_file(store, path)
    assert report.orders == 1 and report.skipped_rows == 2 and store.find("-1.23457E+17") is None
    assert any("row 4: phone" in p and "scientific notation" in p for p in report.problems)
