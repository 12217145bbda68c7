"""Read a shop system's order export (CSV or XLSX, one row per line item) into Orders, by a column mapping.

A mapping names, for each of our fields, the export's column (or a list of columns: the first non-empty
wins; for `shipping_address` the non-empty ones are joined). `default` expects our own field names as
headers; `shopify` reads Shopify's "Export orders" CSV; any other mapping is a YAML file of the same shape,
optionally with `status_values: {their word: our status}`. docs/orders.md lists every field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.orders.model import (
    STATUSES,
    Order,
    OrderItem,
    ReturnRecord,
    Shipment,
    clean_number,
    normalise_status,
)
from assistant.tables import looks_excel_rounded

ORDER_FIELDS = ("number", "status", "email", "phone", "placed_at", "total", "currency", "shipping_address",
                "cancelled_at", "payment_status")
#: a payment status that decides the order's status whatever its fulfilment says (as the Shopify backend reads it)
PAYMENT_DECIDES = {"refunded": "refunded", "voided": "refunded"}
ITEM_FIELDS = ("item_name", "item_quantity", "item_sku", "item_price")
SHIPMENT_FIELDS = ("carrier", "tracking_number", "shipment_status", "shipped_at", "expected_delivery",
                   "delivered_at", "tracking_url")
RETURN_FIELDS = ("return_status", "return_quantity", "return_requested_at")
FIELDS = ORDER_FIELDS + ITEM_FIELDS + SHIPMENT_FIELDS + RETURN_FIELDS

PRESETS: dict[str, dict[str, Any]] = {
    "default": {f: f for f in FIELDS},
    # Shopify admin > Orders > Export (CSV "for Excel or plain"): one row per line item, order fields on the
    # first row only. It carries no tracking numbers: those come with the Shopify backend, not the export.
    "shopify": {
        "number": "Name", "email": "Email", "phone": ["Phone", "Shipping Phone", "Billing Phone"],
        "status": "Fulfillment Status", "payment_status": "Financial Status", "placed_at": "Created at", "total": "Total", "currency": "Currency",
        "cancelled_at": "Cancelled at", "shipped_at": "Fulfilled at",
        "shipping_address": ["Shipping Address1", "Shipping Address2", "Shipping City", "Shipping Zip",
                             "Shipping Province", "Shipping Country"],
        "item_name": "Lineitem name", "item_quantity": "Lineitem quantity", "item_sku": "Lineitem sku",
        "item_price": "Lineitem price",
    },
}


@dataclass
class ImportReport:
    orders: int = 0
    items: int = 0
    shipments: int = 0
    returns: int = 0
    skipped_rows: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.orders} orders ({self.items} items, {self.shipments} shipments, {self.returns} returns)"
                f"{f'; {self.skipped_rows} rows skipped' if self.skipped_rows else ''}")
        return text + "".join(f"\n  - {p}" for p in self.problems[:10])


def load_mapping(spec: str | None) -> dict[str, Any]:
    """A preset's name, or a YAML file's path; checked against FIELDS."""
    spec = spec or "default"
    if spec in PRESETS:
        return dict(PRESETS[spec])
    from assistant.config import load_yaml_file

    data = load_yaml_file(Path(spec), "column mapping", error=InputError)
    if not isinstance(data, dict):
        raise InputError(f"{spec}: a mapping must map our field names to the export's column names")
    unknown = sorted(set(data) - set(FIELDS) - {"status_values"})
    if unknown:
        raise InputError(f"{spec}: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    values = data.get("status_values") or {}
    bad = {k: v for k, v in values.items() if v not in STATUSES}
    if bad:
        raise InputError(f"{spec}: status_values must map to one of {', '.join(STATUSES)}, got {bad}")
    return data


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, UTF-8 with BOM, or GB18030 as Chinese Excel writes it) or XLSX file."""
    from assistant.tables import read_table as read_sheet

    return read_sheet(path)[1]


def _resolver(mapping: dict[str, Any], headers: Iterable[str], source: str, strict: bool):
    lower = {h.lower(): h for h in headers}
    columns: dict[str, list[str]] = {}
    for name in FIELDS:
        wanted = mapping.get(name)
        if not wanted:
            continue
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        found = [lower[n.lower()] for n in names if n.lower() in lower]
        if found:
            columns[name] = found
        elif strict:  # a shop's own mapping names columns it expects; a preset's are optional
            raise InputError(f"{source}: column {wanted!r} (mapped to {name}) is not in the file; its columns are: "
                             f"{', '.join(list(headers)[:30])}")
    if "number" not in columns:
        expected = mapping.get("number")
        expected = [expected] if isinstance(expected, str) else list(expected or [])
        looked = f"looked for {', '.join(map(repr, expected))}; " if expected else ""
        raise InputError(f"{source}: no order-number column ({looked}map `number` to it, or pick the --mapping that "
                         f"made this file; columns: {', '.join(list(headers)[:30])})")
    if "email" not in columns and "phone" not in columns:
        raise InputError(f"{source}: neither an e-mail nor a phone column is mapped: customers could not verify")

    def get(row: dict[str, str], name: str) -> str:
        values = [row.get(c, "") for c in columns.get(name, [])]
        if name == "shipping_address":
            return ", ".join(v for v in values if v)
        return next((v for v in values if v), "")

    return get


def orders_from_rows(rows: list[dict[str, str]], mapping: dict[str, Any], source: str = "the file",
                     strict: bool = False) -> tuple[list[Order], ImportReport]:
    """Rows with the same order number make one order: order fields from the first row that has them, one item
    per row with an item name, one shipment per distinct tracking number, a return where a row says so."""
    report = ImportReport()
    if not rows:
        raise InputError(f"{source}: no rows")
    get = _resolver(mapping, rows[0].keys(), source, strict)
    status_values = {str(k).strip().lower(): v for k, v in (mapping.get("status_values") or {}).items()}
    orders: dict[str, Order] = {}
    for i, row in enumerate(rows, 2):  # row 1 is the header
        number = clean_number(_spreadsheet_digits(get(row, "number")))
        if not number:
            report.skipped_rows += 1
            report.problems.append(f"row {i}: no order number")
            continue
        if looks_excel_rounded(number):
            # Excel shows a long order number (a marketplace's 18 digits) as 1.23457E+17: its digits are gone, no
            # customer can type it, and every order that shortens alike would become one order, customers mixed
            report.skipped_rows += 1
            report.problems.append(f"row {i}: order number {get(row, 'number')!r} was saved in scientific notation, "
                                   "which loses its digits (format the column as text and export again)")
            continue
        order = orders.setdefault(number, Order(number=number))
        for name in ("email", "phone", "placed_at", "total", "currency", "shipping_address"):
            if not getattr(order, name) and get(row, name):
                setattr(order, name, _spreadsheet_digits(get(row, name)) if name == "phone" else get(row, name))
                if name == "phone" and looks_excel_rounded(order.phone):
                    report.problems.append(f"row {i}: phone {order.phone!r} was saved in scientific notation, which "
                                           "loses its last digits: customers cannot verify with it (format the "
                                           "column as text and export again)")
                if name in ("placed_at", "total") and not re.search(r"\d", get(row, name)):
                    # quoted to the customer as stored: say so now, not when a customer reads "abc"
                    report.problems.append(f"row {i}: {name} {get(row, name)!r} holds no number (stored as written)")
        raw = get(row, "status")
        if raw and not order.status_text:
            order.status_text = raw
            order.status = status_values.get(raw.lower()) or normalise_status(raw)
            if order.status == "unknown":
                report.problems.append(f"row {i}: status {raw!r} is not one the assistant knows (stored as unknown; "
                                       "name it under status_values in the mapping)")
        paid = get(row, "payment_status").strip().lower()
        if paid in PAYMENT_DECIDES and order.status != "cancelled":
            order.status, order.status_text = PAYMENT_DECIDES[paid], paid
        if get(row, "cancelled_at"):
            order.status, order.status_text = "cancelled", "cancelled"
        item = get(row, "item_name")
        if item:
            quantity = get(row, "item_quantity")
            if quantity and not re.fullmatch(r"\s*\d+(?:\.0*)?\s*", quantity):
                report.problems.append(f"row {i}: quantity {quantity!r} is not a whole number (taken as 1)")
            order.items.append(OrderItem(item, _quantity(quantity), get(row, "item_sku"), get(row, "item_price")))
        tracking = get(row, "tracking_number")
        shipped = get(row, "shipped_at")
        if (tracking or shipped) and not any(s.tracking_number == tracking and (tracking or s.shipped_at == shipped)
                                             for s in order.shipments):
            order.shipments.append(Shipment(get(row, "carrier"), tracking, get(row, "shipment_status"), shipped,
                                            get(row, "expected_delivery"), get(row, "delivered_at"),
                                            get(row, "tracking_url")))
        if get(row, "return_status"):
            order.returns.append(ReturnRecord(item or "(whole order)", _quantity(get(row, "return_quantity")),
                                              get(row, "return_status"), get(row, "return_requested_at")))
    for order in orders.values():
        if order.status == "unknown" and not order.status_text:
            order.status = ("delivered" if order.delivered_at else "shipped" if order.shipments else "processing")
        elif order.status in ("shipped", "partially_shipped") and order.delivered_at:
            order.status = "delivered"
        if not (order.email or order.phone):
            report.problems.append(f"order {order.number}: no e-mail or phone, so nobody can verify it")
    report.orders = len(orders)
    report.items = sum(len(o.items) for o in orders.values())
    report.shipments = sum(len(o.shipments) for o in orders.values())
    report.returns = sum(len(o.returns) for o in orders.values())
    return list(orders.values()), report


_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.0+)?|\d+\.0+")


def _spreadsheet_digits(text: str) -> str:
    """A number a spreadsheet displayed with its format ("100,302", "13812348888.00") as the digits typed."""
    value = (text or "").strip()
    return re.sub(r"\.0+$", "", value).replace(",", "") if _GROUPED.fullmatch(value) else text


def _quantity(text: str) -> int:
    try:
        return max(1, int(float(text)))
    except (TypeError, ValueError):
        return 1


def import_file(store, path: str | Path, mapping: str | None = None) -> ImportReport:
    """Read `path` with `mapping` (a preset or a YAML file) and store the orders in `store` (EmbeddedOrders)."""
    path = Path(path)
    strict = bool(mapping) and mapping not in PRESETS
    orders, report = orders_from_rows(read_table(path), load_mapping(mapping), path.name, strict)
    store.save(orders)
    return report
