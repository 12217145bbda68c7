"""Reading a user's CSV safely (encoding, size, columns, dates) and writing an analysis to a folder.

Every analysis returns an `AnalysisResult` (tables, matplotlib figures, a Markdown summary, notes); the CLI,
the report, the chat and the app tab all show or save that same object.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.numbers import clean_numbers, numeric_feature_columns, to_numeric_frame  # noqa: F401
from assistant.errors import InputError

log = logging.getLogger(__name__)

# Names of the simplified-Chinese code pages that GB 18030, their superset, reads whole.
_GB_ENCODINGS = ("gb18030", "gbk", "gb2312", "cp936")


@dataclass
class Table:
    """A loaded CSV plus what was done to it on the way in (shown to the user as notes)."""

    df: pd.DataFrame
    path: str
    encoding: str = "utf-8"
    total_rows: int = 0  # rows in the file (estimated when sampled)
    notes: list[str] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        return self.total_rows > len(self.df)


@dataclass
class AnalysisResult:
    """What one analysis produced; `save()` writes CSV tables, PNG plots and summary.md."""

    name: str
    summary: str  # Markdown
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> matplotlib Figure
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # headline numbers (bench, chat, report)

    def markdown(self) -> str:
        parts = [self.summary.rstrip()]
        if self.notes:
            parts.append("**Notes**\n\n" + "\n".join(f"- {n}" for n in self.notes))
        return "\n\n".join(parts) + "\n"

    def save(self, outdir: str | Path, option: str = "--output") -> dict[str, Path]:
        """Every file written, by file name ("sentiment_trend.csv", "sentiment_trend.png", "sentiment_summary.md"):
        keyed by table or figure name, the trend table and the trend plot took one entry and the count was short."""
        from assistant.outputs import output_folder, writing

        # A file where the folder should be, or a folder that cannot be written: one line naming `option`.
        out = output_folder(outdir, option)
        written: dict[str, Path] = {}
        for name, df in self.tables.items():
            p = out / f"{self.name}_{name}.csv"
            with writing(p, option):
                # utf-8-sig so Excel on Windows opens Chinese text correctly.
                df.to_csv(p, index=False, encoding="utf-8-sig")
            written[p.name] = p
        for name, fig in self.figures.items():
            p = out / f"{self.name}_{name}.png"
            # One "Glyph … missing" warning per Chinese character flooded stderr; one note says it instead.
            with writing(p, option), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fig.savefig(p, dpi=110, bbox_inches="tight")
            written[p.name] = p
            for w in caught:
                if "missing from font" not in str(w.message):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if any("missing from font" in str(w.message) for w in caught):
                from assistant.analytics.plots import NO_CJK_FONT_NOTE

                if NO_CJK_FONT_NOTE not in self.notes:
                    self.notes.append(NO_CJK_FONT_NOTE)
        p = out / f"{self.name}_summary.md"
        md = self.markdown()
        if self.figures:
            md += "\n" + "\n".join(f"![{n}]({self.name}_{n}.png)" for n in self.figures) + "\n"
        with writing(p, option):
            p.write_text(md, encoding="utf-8")
        written[p.name] = p
        return written

    def close(self) -> None:
        import matplotlib.pyplot as plt

        for fig in self.figures.values():
            plt.close(fig)


def detect_encoding(path: Path, sample_bytes: int = 1 << 20) -> str:
    """The encoding `decode_bytes` (the CLIs' and the knowledge base's one guess) reads the file's first MB as:
    UTF-8 (BOM or not), UTF-16 with its BOM, GB 18030 / Big5 for Chinese, Windows-1252, else charset_normalizer's."""
    from assistant.cli_support import UTF16_BOMS, decode_bytes

    with open(path, "rb") as fh:
        head = fh.read(sample_bytes)
    if len(head) == sample_bytes and not head.startswith(UTF16_BOMS):
        # A multi-byte character may be cut at the end of the sample: judge whole lines only.
        head = head[:head.rfind(b"\n") + 1] or head
    found = decode_bytes(head)
    enc = (found[1] if found else "").lower().replace("-", "").replace("_", "")
    if enc in _GB_ENCODINGS:
        return "gb18030"
    if found is not None and enc:
        return found[1]
    raise InputError(f"cannot tell the text encoding of {path.name}: save it as UTF-8 (Excel: 'CSV UTF-8') and retry")


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            n += block.count(b"\n")
    return n


XLSX_SUFFIXES = (".xlsx", ".xlsm")


def _load_xlsx(p: Path, cfg: AnalyticsConfig, usecols: list[str] | None) -> Table:
    """The workbook's sheet with the most data (the first on a tie); sampled like a big CSV. Exports often open
    with a cover or notes sheet ("说明", "Summary") before the data, which alone was read."""
    try:
        sheets = pd.read_excel(p, sheet_name=None, usecols=usecols, engine="openpyxl")
    except ImportError:
        raise InputError("reading .xlsx needs openpyxl (pip install openpyxl), or save the sheet as CSV") from None
    except ValueError as exc:
        if usecols and "usecols" in str(exc).lower():
            raise InputError(f"{p.name}: {exc}") from None
        raise InputError(f"{p.name} is not a valid .xlsx workbook ({exc}); save it from Excel as .xlsx or CSV") from None
    except Exception as exc:  # noqa: BLE001 - zipfile/openpyxl raise many types for one cause: a broken file
        raise InputError(f"{p.name} is not a valid .xlsx workbook ({type(exc).__name__}); "
                         "save it from Excel as .xlsx or CSV") from None
    sheets = {name: d.dropna(how="all") for name, d in sheets.items()}
    sizes = {name: int(d.notna().sum().sum()) for name, d in sheets.items()}  # filled cells
    if not sheets or not max(sizes.values()):
        raise InputError(f"{p.name}: its sheets have no data rows")
    sheet = max(sizes, key=sizes.get)  # max keeps the first of equals
    df = sheets[sheet]
    df.columns = [str(c).strip() for c in df.columns]
    notes, total = [], len(df)
    with_data = [name for name, n in sizes.items() if n]
    if len(with_data) > 1:
        notes.append(f"{p.name} has {len(with_data)} sheets with data ({', '.join(map(str, with_data))}): analysed "
                     f"{sheet!r}, the largest; save another sheet on its own to analyse it")
    if total > cfg.max_rows:
        df = df.sample(cfg.max_rows, random_state=cfg.seed).sort_index().reset_index(drop=True)
        notes.append(f"{p.name} has {total:,} rows: analysed a uniform random sample of {len(df):,} "
                     f"(seed {cfg.seed}); counts are of the sample, shares and rates are estimates")
    return Table(df=df, path=str(p), encoding="xlsx", total_rows=total, notes=notes)


def _separator(p: Path, encoding: str) -> str:
    """The header's field separator: ',' unless ';' (Excel in Germany, France…), a tab (Excel's "Unicode text",
    TSV exports) or '|' splits it into more fields. Read with ',' such a file was one column and every
    analysis said a column was missing."""
    with open(p, encoding=encoding, errors="replace", newline="") as fh:
        header = re.sub(r'"[^"]*"', "", fh.readline())  # a quoted name may hold any of them
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def load_csv(path: str | Path, cfg: AnalyticsConfig | None = None, usecols: list[str] | None = None) -> Table:
    """Read a CSV (or an .xlsx's largest sheet) into a DataFrame: encoding detected, big files streamed and
    sampled with a note."""
    cfg = cfg or AnalyticsConfig()
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a file: pass a .csv or .xlsx file (report takes folders)")
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name} is empty")
    if p.suffix.lower() in XLSX_SUFFIXES:
        return _load_xlsx(p, cfg, usecols)
    if p.suffix.lower() == ".xls":
        raise InputError(f"{p.name} is an old Excel .xls file: save it as .xlsx or CSV UTF-8 and retry")
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):  # a renamed workbook (or any zip): no encoding will make it a CSV
        raise InputError(f"{p.name} is a zip/Excel file, not a CSV: name it .xlsx or save it as CSV UTF-8")
    if b"\0" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 (Excel 'Unicode text') has NULs
        # The wording starts as detect_encoding's did, which scripts may match; the cause is now named.
        raise InputError(f"cannot tell the text encoding of {p.name}: it contains NUL bytes, so it looks like a "
                         "binary file, not a CSV (UTF-16 needs its BOM)")
    encoding = detect_encoding(p)
    notes: list[str] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"{p.name} is not UTF-8: decoded as {encoding}")
    approx = _count_lines(p) - 1
    read_kw: dict[str, Any] = dict(encoding=encoding, usecols=usecols, skipinitialspace=True, sep=_separator(p, encoding))
    try:
        if approx <= cfg.max_rows:
            df = pd.read_csv(p, **read_kw)
            total = len(df)
        else:
            # Stream: a uniform, seeded sample of every chunk keeps shares and trends unbiased.
            frac = cfg.max_rows / approx
            parts, total = [], 0
            for i, chunk in enumerate(pd.read_csv(p, chunksize=cfg.chunk_rows, **read_kw)):
                total += len(chunk)
                parts.append(chunk.sample(frac=min(1.0, frac), random_state=cfg.seed + i))
            df = pd.concat(parts, ignore_index=True)
            notes.append(f"{p.name} has {total:,} rows: analysed a uniform random sample of {len(df):,} "
                         f"(seed {cfg.seed}); counts are of the sample, shares and rates are estimates")
    except UnicodeDecodeError:
        raise InputError(f"{p.name} is not valid {encoding}: save it as UTF-8 and retry") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{p.name} is not a well-formed CSV: {str(exc).splitlines()[0]}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{p.name} has no columns") from None
    except ValueError as exc:  # usecols naming a missing column
        raise InputError(f"{p.name}: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise InputError(f"{p.name} has a header but no rows")
    return Table(df=df, path=str(p), encoding=encoding, total_rows=total, notes=notes)


def require_column(df: pd.DataFrame, name: str, what: str, source: str = "the CSV") -> str:
    if name not in df.columns:
        cols = ", ".join(map(str, df.columns[:20]))
        raise InputError(f"no {what} column {name!r} in {source} (columns: {cols})")
    return name


def find_column(df: pd.DataFrame, given: str | None, patterns: tuple[str, ...], what: str,
                required: bool = True) -> str | None:
    """The column the user named, else the first whose name matches one of `patterns` (regexes)."""
    if given:
        return require_column(df, given, what)
    # Exports write names with spaces and dots ("Campaign name", "Created at", "Impr."): matched as
    # campaign_name, created_at, impr. A column left empty in every row is no candidate (Shopify's
    # "Customer ID" is blank when buyers check out as guests).
    names = {col: (name, re.sub(r"[\s.]+", "_", name).strip("_"))
             for col in df.columns if not df[col].isna().all() for name in [str(col).strip().lower()]}
    for pat in patterns:
        for col, spellings in names.items():
            if any(re.fullmatch(pat, n) for n in spellings):
                return col
    if required:
        cols = ", ".join(map(str, df.columns[:20]))
        raise InputError(f"cannot find a {what} column (columns: {cols}): name it with --{what.replace(' ', '-')}-column")
    return None


TEXT_PATTERNS = (r"review|text|comment|content|message|body|feedback|tweet|sentence|评论|评价|内容|文本|留言",
                 r".*(review|text|comment|content|评论|评价|内容).*")
DATE_PATTERNS = (r"date|time|day|datetime|timestamp|created_at|order_date|ts|日期|时间|下单时间|created|reporting_starts"
                 r"|date_start",
                 r".*(date|time|日期|时间).*")
CUSTOMER_PATTERNS = (r"customer_id|customer|user_id|user|client_id|member_id|用户id|客户id|会员id|用户|客户",
                     r".*(customer|user|client|客户|用户).*",
                     r"e[-_]?mail|customer_email|buyer_email|邮箱")  # Shopify names the buyer by e-mail
AMOUNT_PATTERNS = (r"amount|revenue|total|price|order_value|sales|gmv|金额|销售额|实付金额|价格",
                   r".*(amount|revenue|total|金额).*")


def _looks_numeric_not_dates(s: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    nums = s.dropna()
    return not (len(nums) and (nums % 1 == 0).all() and nums.between(19000101, 21001231).all())


def find_date_column(df: pd.DataFrame, given: str | None = None) -> str | None:
    """The date column the user named, else the first date-like name that does not hold plain numbers
    ("time_on_site" in seconds is not a date; parse_dates would refuse it)."""
    if given:
        return require_column(df, given, "date")
    return find_column(df.loc[:, [c for c in df.columns if not _looks_numeric_not_dates(df[c])]], None,
                       DATE_PATTERNS, "date", required=False)


def holds_words(s: pd.Series) -> bool:
    """Whether a column holds text, not numbers or ids ("review_id", "text_len", "comment_count" name one)."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    values = s.dropna().astype(str).str.strip()
    values = values[values != ""]
    return bool(len(values)) and pd.to_numeric(values.head(200), errors="coerce").isna().mean() > 0.5


def find_text_column(df: pd.DataFrame, given: str | None = None) -> str:
    if given:
        return require_column(df, given, "text")
    col = find_column(df.loc[:, [c for c in df.columns if holds_words(df[c])]], None, TEXT_PATTERNS, "text",
                      required=False)
    if col is not None:
        return col
    # No telling name: the column of words (not numbers or ids) with the longest values is the text
    obj = [c for c in df.columns if (df[c].dtype == object or str(df[c].dtype).startswith("str")) and holds_words(df[c])]
    if not obj:
        raise InputError("no text column in the CSV (a review, comment or message column): name it with --text-column")
    return max(obj, key=lambda c: df[c].astype(str).str.len().mean())


def drop_empty_texts(table: Table, col: str, notes: list[str]) -> Table:
    """Rows that have text in `col`: a blank review would be scored 'neutral' and dilute every share."""
    text = table.df[col]
    empty = text.isna() | text.astype(str).str.strip().isin(("", "nan", "None"))
    if empty.all():
        raise InputError(f"text column {col!r} is empty in every row: name the column with the reviews "
                         "with --text-column")
    if not empty.any():
        return table
    notes.append(f"{int(empty.sum()):,} rows with no text in {col!r} were left out")
    return Table(table.df[~empty].reset_index(drop=True), table.path, table.encoding, table.total_rows, table.notes)


# A time followed by a UTC offset or zone: "10:23:45 -0500", "07:00:00+08:00", "12:00Z", "09:30 UTC".
_UTC_OFFSET = r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|(?:UTC|GMT)?\s*[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$"


BLANK = "(blank)"  # the group of rows whose group cell is empty


def blank_cells(s: pd.Series) -> pd.Series:
    """Where a label column is empty (missing, or spaces only): rows groupby would silently drop."""
    return s.isna() | s.astype(str).str.strip().eq("")


def group_labels(s: pd.Series) -> tuple[pd.Series, int]:
    """A group column's values as text, an empty cell as the (blank) group: (labels, how many were blank). Grouping
    the column as it is dropped those rows from the per-group table while the totals kept them."""
    blank = blank_cells(s)
    return s.astype(object).where(~blank, BLANK).astype(str).str.strip(), int(blank.sum())


# ISO 8601 week dates: 2026-W05 (that week's Monday) and 2026-W05-3 (its Wednesday), as weekly exports write them
_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{2})(?:-?([1-7]))?\s*$", re.I)


def _iso_week_dates(text: pd.Series) -> pd.Series:
    """`text` with every ISO week date written as its day (YYYY-MM-DD); other values as they are."""
    def day(value):
        m = _ISO_WEEK.match(value) if isinstance(value, str) else None
        if not m:
            return value
        try:
            return datetime.strptime(f"{m[1]}-W{m[2]}-{m[3] or 1}", "%G-W%V-%u").strftime("%Y-%m-%d")
        except ValueError:  # week 54: no such week, left unparsable
            return value
    return text.map(day, na_action="ignore")


def parse_dates(df: pd.DataFrame, col: str, notes: list[str]) -> pd.Series:
    """Dates of `col`; a few bad values are dropped with a note, mostly-bad raises a one-line error."""
    raw = df[col]
    if _looks_numeric_not_dates(raw):
        # pandas reads plain numbers as nanoseconds since 1970: a rating or an ID would become "dates".
        example = raw.dropna().head(1).tolist() or ["(empty)"]
        raise InputError(f"column {col!r} holds numbers, not dates (e.g. {example[0]!r}): "
                         "name the date column with --date-column")
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        raw = raw.dropna().astype("int64").astype(str).reindex(raw.index)  # 20260105 = yyyymmdd
    dayfirst = False
    if not pd.api.types.is_datetime64_any_dtype(raw):
        text = raw.astype("string")
        if text.str.match(_ISO_WEEK, na=False).any():
            text = _iso_week_dates(text.astype(object)).astype("string")
        # 2026年5月1日 (how Chinese Excel shows a date) as 2026-5-1
        text = text.str.replace(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]", r"\1-\2-\3", regex=True)
        # "2026/5/3 下午 03:05:00" (Chinese Windows) was unparsable: 上午/下午 are AM/PM before the time
        text = text.str.replace(r"上午\s*(\d{1,2}:\d{2}(?::\d{2})?)", r"\1 AM", regex=True)
        text = text.str.replace(r"下午\s*(\d{1,2}:\d{2}(?::\d{2})?)", r"\1 PM", regex=True)
        # 28/05/2026 says the column is day first; read every row so ("01/05/2026" is 1 May, not 5 January).
        # Dots are written day first (03.05.2026 in Germany, Russia…) even when no day is above 12.
        parts = text.str.extract(r"^\s*(\d{1,2})([/.-])(\d{1,2})[/.-]\d{2,4}\b")
        first, second = parts[0].astype("float"), parts[2].astype("float")
        dotted = parts[1].eq(".").sum() > parts[1].isin(["/", "-"]).sum()
        dayfirst = bool(((first > 12).any() or dotted) and not (second > 12).any())
        # A UTC offset after the time ("10:23:45 -0500" in Shopify, "+08:00" in ISO) is dropped: each row keeps
        # its local clock time, so a review posted at 07:00 in Shanghai stays on its local day (not the day
        # before in UTC), and an export that crosses a DST change (-0500 and -0400) no longer stops pandas.
        local = text.str.replace(_UTC_OFFSET, r"\1", regex=True)
        offset = (local != text).fillna(False)
        if offset.any():
            text = local
            notes.append(f"{int(offset.sum()):,} dates in {col!r} carry a UTC offset: read as each row's local time")
        raw = text.where(raw.notna())
    with warnings.catch_warnings():  # "could not infer format": the check below says it better
        warnings.simplefilter("ignore", UserWarning)
        dates = pd.to_datetime(raw, errors="coerce", dayfirst=dayfirst)
        if dates.isna().mean() > 0.2:
            dates = pd.to_datetime(raw, errors="coerce", format="mixed", dayfirst=dayfirst)
    bad = dates.isna() & raw.notna()
    if dates.notna().sum() == 0 or bad.mean() > 0.5:
        example = raw[bad].astype(str).head(1).tolist() or raw.astype(str).head(1).tolist()
        raise InputError(f"column {col!r} does not hold dates ({bad.mean():.0%} unparsable, e.g. {example[0]!r})")
    if bad.any():
        notes.append(f"{int(bad.sum()):,} rows with unparsable dates in {col!r} were left out of the time series")
    if getattr(dates.dt, "tz", None) is not None:  # local clock time, as for offsets written in the text
        dates = dates.dt.tz_localize(None)
    return dates


def guessed_dates(df: pd.DataFrame, col: str, given: bool, notes: list[str]) -> pd.Series | None:
    """parse_dates for an optional time series: a column the user named must hold dates (InputError); one only
    guessed by its name ("time_slot" = morning/evening) is skipped with a note instead of stopping the analysis."""
    if given:
        return parse_dates(df, col, notes)
    try:
        return parse_dates(df, col, notes)
    except InputError as exc:
        notes.append(f"{exc}: the time series is skipped (name the date column with --date-column)")
        return None


def small_data_threads(n_rows: int, threshold: int = 50_000):
    """Single-threaded OpenMP/BLAS for small fits: on a busy 2-core box, OpenMP workers spin-waiting for
    each other made a 600-row boosting fit 3-6x slower (wall and CPU) than one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if n_rows < threshold else None)
