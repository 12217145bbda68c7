"""Spreadsheets people upload: a CSV (UTF-8 with or without BOM, or GB18030 as Chinese Excel writes it; comma,
semicolon or tab) or the first sheet of an .xlsx, read into a header and rows of stripped strings. The ad-copy feed,
the ad linter, the A/B data and the order import read their tables here, so every one of them takes the same files
and says the same one line about a broken one."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from assistant.cli_support import read_text_lines
from assistant.errors import InputError

MAX_ROWS = 100_000


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV (UTF-8 with or without BOM, or GB18030; , ; or tab) or an XLSX's first sheet."""
    header, rows, _ = read_numbered_table(path)
    return header, rows


def read_numbered_table(path: str | Path) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """read_table, and each row's number as the spreadsheet shows it (the header's is 1; blank rows are skipped
    but counted), so a message about a row points where the person looks."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a file: pass a .csv or .xlsx file")
    if not p.is_file():
        raise InputError(f"file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError:
            raise InputError("reading .xlsx needs openpyxl (pip install openpyxl), or save the feed as CSV") from None
        try:
            sheet = openpyxl.load_workbook(p, read_only=True, data_only=True).worksheets[0]
            values = [[cell_text(c) for c in row] for row in sheet.iter_rows()]
        except Exception as exc:  # noqa: BLE001 - a broken workbook is the user's file, one clear line
            raise InputError(f"{p.name} is not a valid .xlsx workbook ({type(exc).__name__}: {exc}); "
                             "save it from Excel as .xlsx or CSV") from None
    elif suffix in (".csv", ".tsv", ".txt"):
        text = "\n".join(read_text_lines(p, "file", fallback="gb18030"))
        values = csv_rows(text, sniff_delimiter(text), p.name)
    else:
        raise InputError(f"expected a .csv or .xlsx file (.tsv and .txt: tab- or comma-separated), got {p.name!r}")
    numbered = [(n, r) for n, r in enumerate(values, 1) if any(str(c).strip() for c in r)]
    if not numbered:
        raise InputError(f"{p.name} is empty")
    header = [str(h).strip() for h in numbered[0][1]]
    if len(numbered) - 1 > MAX_ROWS:
        raise InputError(f"{p.name} has {len(numbered) - 1} rows; split it into feeds of at most {MAX_ROWS}")
    rows = [{h: (str(r[i]).strip() if i < len(r) else "") for i, h in enumerate(header) if h} for _, r in numbered[1:]]
    return header, rows, [n for n, _ in numbered[1:]]


# A currency symbol in a number format: "$#,##0.00", "[$¥-804]#,##0", "#,##0.00 [$€-407]", "￥#,##0"
_CURRENCY = re.compile(r"\[\$([^\-\]]+)[^\]]*\]|([$¥￥€£])")


def cell_text(cell) -> str:
    """A spreadsheet cell as the person sees it: "20%" for 0.2 formatted as a percentage, "$99.90" for a currency
    format, "3" for 3.0, a date as YYYY-MM-DD. The stored number alone ("0.2", "99.9") would turn an offer quoted as
    "20% off" into one no product row supports."""
    value = getattr(cell, "value", cell)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, dt.date)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    fmt = str(getattr(cell, "number_format", "") or "General").split(";")[0]
    decimals = len(m.group(1)) if (m := re.search(r"\.([0#]+)", fmt)) else 0
    if "%" in fmt:
        return f"{value * 100:.{decimals}f}%"
    grouping = "," if re.search(r"[#0],[#0]", fmt) else ""
    if fmt != "General" and re.search(r"[0#]", fmt):
        number = f"{value:{grouping}.{decimals}f}"
    elif float(value).is_integer():
        number = str(int(value))
    else:
        number = repr(float(value)) if isinstance(value, float) else str(value)
    if (m := _CURRENCY.search(fmt)) is None:
        return number
    symbol = m.group(1) or m.group(2)
    return f"{number} {symbol}" if fmt.index(m.group(0)) > fmt.find("0") >= 0 else f"{symbol}{number}"


def sniff_delimiter(text: str) -> str:
    """The cell separator of CSV `text`, from its header line: ',' or, as Excel saves in many European locales and as
    tab-separated exports do, ';' or a tab."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return max(",;\t", key=first.count) if first else ","


def csv_rows(text: str, delimiter: str, name: str) -> list[list[str]]:
    """The records of a CSV; a stray quote is an error naming the line it opens on. The lenient default would
    read on to the next quote (or the end of the file) and make the rows in between one field of one product."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            rows.append(next(reader))
        except StopIteration:
            return rows
        except csv.Error as exc:
            hint = ("; an unbalanced \" quote starts there: close or remove it (a quote inside a field needs the "
                    "whole field quoted and the quote doubled)") if "'\"'" in str(exc) or "end of data" in str(exc) \
                else ""
            raise InputError(f"{name} line {start}: malformed CSV ({exc}){hint}") from None


# A long number as Excel shows it in a General cell, and writes it so into a CSV: one digit, a fraction (a comma in
# locales that write one), E, a plus and the exponent. 612345678901 becomes "6.12346E+11". The plus is required:
# Excel always writes it, and a shop's own code such as "5E10" is no number Excel rounded. A minus sign is allowed:
# "-6.12346E+11" lost its digits all the same, and taken as an id it would merge whatever rounded alike (no negative
# number is an id anyway). Any case: Python writes a float of 17 digits or more as "1.2345678901234568e+17".
_EXCEL_ROUNDED = re.compile(r"-?[0-9](?:[.,][0-9]+)?E\+[0-9]+", re.IGNORECASE)


def looks_excel_rounded(text) -> bool:
    """Whether a cell holds a number Excel shortened to scientific notation ("6.12346E+11"): its digits are lost,
    so it identifies no product, order or phone, and two such cells that read alike may be different ones."""
    return isinstance(text, str) and _EXCEL_ROUNDED.fullmatch(text.strip()) is not None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame):
    """A copy of `frame` whose text cells cannot run as formulas when its CSV is opened in Excel: a customer's
    message "=HYPERLINK(…)" in a report is text. Such a cell (= + - @, tab or CR first) gets a leading apostrophe,
    as Excel itself writes one; numbers are left alone. For reports people open, never for a channel's import file
    (an ad headline "-20% today" must stay as written)."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = frame.copy()
    for name in out.columns:
        if is_object_dtype(out[name]) or is_string_dtype(out[name]):
            out[name] = out[name].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out
