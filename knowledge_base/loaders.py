"""Read a shop's files into titled sections (documents) or FAQ rows (tables), with one clear error per bad file.

md/txt/html/pdf/docx become `Section`s (heading, page, text) that `chunking` cuts; CSV/XLSX FAQ tables become
`FaqRow`s, one document per row, whose id is the id column's value. Zip-based formats (docx, xlsx) are
checked for entry count and decompressed size before any parser opens them (`check_zip`: zip bombs).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IngestError, InputError
from assistant.tables import csv_rows, sniff_delimiter

DOC_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
TABLE_SUFFIXES = {".csv", ".xlsx"}
SUFFIXES = DOC_SUFFIXES | TABLE_SUFFIXES
ZIP_SUFFIXES = {".docx", ".xlsx"}
# A real docx/xlsx has tens of entries and expands a few times over; a zip bomb has thousands of entries or
# expands a thousandfold. Python's zipfile never yields more than an entry's declared size, so checking the
# declared sizes bounds what python-docx and openpyxl can be made to inflate.
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_RATIO = 5  # decompressed MB allowed per MB of knowledge_base.max_file_mb
MIN_ZIP_BUDGET_MB = 50


@dataclass
class Section:
    text: str
    heading: str = ""
    page: int | None = None


@dataclass
class FaqRow:
    row_id: str
    question: str
    answer: str
    lang: str = ""


@dataclass
class TableOptions:
    """Which columns of a CSV/XLSX FAQ table hold what; None = the conventional name if present."""

    id_column: str | None = None
    question_column: str | None = None
    answer_column: str | None = None
    lang_column: str | None = None
    explicit: set[str] = field(default_factory=set)  # columns the user named: missing = error

    @classmethod
    def from_kwargs(cls, id_column=None, question_column=None, answer_column=None, lang_column=None):
        named = {c for c in (id_column, question_column, answer_column, lang_column) if c}
        return cls(id_column, question_column, answer_column, lang_column, named)


def read_bytes(path: Path, max_mb: float) -> bytes:
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise IngestError(f"{path}: {size / 1024 / 1024:.1f} MB is over knowledge_base.max_file_mb={max_mb:g}")
    if size == 0:
        raise IngestError(f"{path}: the file is empty")
    return path.read_bytes()


def check_zip(path: Path, data: bytes, max_mb: float) -> None:
    """Refuse an archive with too many entries or too large a decompressed size before parsing it."""
    import zipfile

    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise IngestError(f"{path}: not a valid {path.suffix.lower()[1:].upper()} file ({exc})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise IngestError(f"{path}: refused: the archive holds {len(entries)} entries (limit {MAX_ZIP_ENTRIES})")
    budget_mb = max(MIN_ZIP_BUDGET_MB, MAX_ZIP_RATIO * max_mb)
    expanded = sum(max(e.file_size, 0) for e in entries)
    if expanded > budget_mb * 1024 * 1024:
        raise IngestError(f"{path}: refused: the archive expands to {expanded / 1024 / 1024:,.0f} MB "
                          f"(limit {budget_mb:g} MB; a zip bomb?)")


def decode_known(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of bytes in an encoding a Chinese or English shop's files come in: UTF-8 first (BOM or not),
    then encodings.py's guess (GB 18030 or Big5 when the bytes read as common Chinese, Windows-1252, then
    charset_normalizer); None when nothing fits. The one guess of the knowledge base, the CLIs and the analytics
    (assistant.cli_support.decode_bytes, which also reads UTF-16 with its BOM: the knowledge base does not)."""
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        from knowledge_base.encodings import decode_non_utf8

        return decode_non_utf8(data)


def decode_text(path: Path, data: bytes) -> str:
    """`decode_known`, with binary data (UTF-16 included: NUL bytes) refused, not guessed at."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark (Windows' "Unicode" text): certain
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(f"{path}: starts as UTF-16 text but cannot be decoded as UTF-16") from None
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path}: looks like a binary file, not text (NUL bytes)")
    found = decode_known(data)
    if found is None:
        raise IngestError(f"{path}: cannot decode the text (not UTF-8 and no known encoding fits)")
    text = found[0]
    # Control characters other than whitespace mean it was never text.
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:8192]) // 100):
        raise IngestError(f"{path}: looks like a binary file, not text (control characters)")
    return text


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class _SectionBuilder:
    """Collects body text under the current heading path ("Returns > Refunds") as documents are walked."""

    def __init__(self, joiner: str):
        self.joiner = joiner
        self.sections: list[Section] = []
        self.stack: list[str] = []
        self.body: list[str] = []

    def heading(self, level: int, text: str) -> None:
        self.flush()
        self.stack[:] = self.stack[: level - 1] + [""] * max(0, level - 1 - len(self.stack)) + [text.strip()]

    def add(self, text: str) -> None:
        self.body.append(text)

    def flush(self) -> list[Section]:
        # Markdown keeps its blank lines (they mark paragraphs); HTML/DOCX blocks are joined by one.
        content = self.joiner.join(b for b in self.body if b or self.joiner == "\n").strip()
        if content:
            self.sections.append(Section(content, " > ".join(h for h in self.stack if h)))
        self.body.clear()
        return self.sections


# Front matter of static-site and notes exports (Jekyll/Hugo/Obsidian): `---` YAML or `+++` TOML at the very top.
_FRONT_MATTER = re.compile(r"\A\ufeff?(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title\s*[:=]\s*(.+?)\s*$", re.M)


def split_front_matter(text: str) -> tuple[str, str]:
    """(the text without its front matter, the front matter's title or ""): metadata is no passage a customer
    should be answered with."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, ""
    title = _FRONT_TITLE.search(m.group(2))
    return text[m.end():], (title.group(1).strip().strip("'\"") if title else "")


def load_markdown(text: str) -> list[Section]:
    out = _SectionBuilder("\n")
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _MD_HEADING.match(line)
        if m:
            out.heading(len(m.group(1)), m.group(2))
        else:
            out.add(line)
    return out.flush()


def load_plain(text: str) -> list[Section]:
    text = text.strip()
    return [Section(text)] if text else []


_HTML_BLOCKS = ["p", "li", "td", "th", "pre", "dt", "dd"]


def load_html(text: str) -> tuple[list[Section], str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    out = _SectionBuilder("\n\n")
    root = soup.body or soup
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "td", "th", "pre", "dt", "dd"]):
        if el.name[0] == "h" and el.name[1:].isdigit():
            out.heading(int(el.name[1]), el.get_text(" ", strip=True))
        elif el.name == "tr":
            # A table row is one line ("Weight: 350 g"): a cell alone would lose what its value is of.
            found = el.find_all(["th", "td"], recursive=False)
            cells = [c for c in (c.get_text(" ", strip=True) for c in found) if c]
            if len(cells) > 1 and all(c.name == "th" for c in found):
                # a row of column names: a rule under it says so (the evidence leaves it out, later rows name it)
                out.add(f"| {' | '.join(cells)} |")
                out.add("|" + "---|" * len(cells))
            elif cells:
                out.add(": ".join(cells) if len(cells) == 2 else " | ".join(cells))
        elif el.name in ("td", "th") and el.find_parent("tr") is not None:
            continue  # already in its row's line
        elif not el.find_parent(_HTML_BLOCKS):  # a <p> inside an <li> is already in the <li>'s text
            text_el = el.get_text(" ", strip=True)
            out.add(("- " + text_el) if el.name == "li" and text_el else text_el)
    sections = out.flush()
    if not sections:  # pages without block tags: keep the visible text
        sections = load_plain(root.get_text("\n", strip=True))
    return sections, title


def load_pdf(path: Path, data: bytes) -> tuple[list[Section], str]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs its repairs ("EOF marker not found") at WARNING; a PDF it cannot read becomes our one
    # IngestError line, and one it can read needs no comment.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        title = ""
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title)
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            if text:
                sections.append(Section(text, page=number))
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"{path}: cannot read the PDF ({type(exc).__name__}: {exc})") from None
    return sections, title


def load_docx(path: Path, data: bytes, max_mb: float = 20) -> list[Section]:
    import zipfile

    import docx

    check_zip(path, data, max_mb)

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"{path}: cannot read the DOCX ({type(exc).__name__}: {exc})") from None
    out = _SectionBuilder("\n\n")
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        m = re.match(r"Heading (\d)", style) or (re.match(r"(Title)", style))
        if m and para.text.strip():
            out.heading(1 if m.group(1) == "Title" else int(m.group(1)), para.text)
        elif para.text.strip():
            out.add(para.text.strip())
    for table in document.tables:  # tables after the prose, one line per row
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                out.add(" | ".join(cells))
    return out.flush()


def load_document(path: Path, max_mb: float) -> tuple[list[Section], str]:
    """Sections and a document title for md/txt/html/pdf/docx."""
    suffix = path.suffix.lower()
    data = read_bytes(path, max_mb)
    title = ""
    if suffix == ".pdf":
        sections, title = load_pdf(path, data)
    elif suffix == ".docx":
        sections = load_docx(path, data, max_mb)
    else:
        text = decode_text(path, data)
        if suffix in (".html", ".htm"):
            sections, title = load_html(text)
        elif suffix in (".md", ".markdown"):
            text, title = split_front_matter(text)
            sections = load_markdown(text)
        else:
            sections = load_plain(text)
    if not sections:
        raise IngestError(f"{path}: no text found in the file")
    if not title:
        first = next((s.heading for s in sections if s.heading), "")
        title = first.split(" > ")[0] if first else path.stem
    return sections, title


def _table_rows(path: Path, data: bytes, max_mb: float = 20) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (row 1, cells stripped) and (row number in the file, cells as written) for each non-blank row
    under it."""
    if path.suffix.lower() == ".xlsx":
        import zipfile

        from openpyxl import load_workbook

        check_zip(path, data, max_mb)

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            rows = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
        except (zipfile.BadZipFile, KeyError, ValueError, IndexError, OSError) as exc:
            raise IngestError(f"{path}: cannot read the XLSX ({type(exc).__name__}: {exc})") from None
    else:
        try:
            # The spreadsheet reader's strict parse: the lenient one read a stray quote on to the end of the file,
            # and the table then seemed to have no complete row at all.
            text = decode_text(path, data)
            rows = list(csv_rows(text, sniff_delimiter(text), str(path)))
        except InputError as exc:  # one bad file, not a bad batch: the ingest reports it and goes on
            raise IngestError(str(exc)) from None
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise IngestError(f"{path}: the table has no rows")
    (_, header), body = numbered[0], numbered[1:]
    if not body:
        raise IngestError(f"{path}: the table has a header ({', '.join(h for h in header if h.strip())}) but no rows")
    return [h.strip() for h in header], body


def _records(header: list[str], body: list[tuple[int, list[str]]], widen: str | None
             ) -> tuple[list[tuple[int, dict[str, str]]], list[int]]:
    """(row number, header -> stripped cell) per row, and the numbers of the rows with more cells than the header:
    their extra cells belong to the column `widen` (an unquoted comma in a CSV answer cut it in two, and the rest of
    the answer was silently lost), joined back with the comma that cut them."""
    width, at = len(header), header.index(widen) if widen in header else len(header) - 1
    records, overflowed = [], []
    for n, cells in body:
        extra = len(cells) - width
        if extra > 0 and any(c.strip() for c in cells[width:]):
            overflowed.append(n)
            cells = cells[:at] + [",".join(cells[at:at + extra + 1])] + cells[at + extra + 1:]
        cells = [c.strip() for c in cells[:width]]
        records.append((n, dict(zip(header, cells + [""] * (width - len(cells)), strict=False))))
    return records, overflowed


def first_few(items: list, shown: int) -> str:
    """`items` listed up to `shown` of them, then how many more: one line however many were skipped."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(map(str, items[:shown])) + more


# The column names an FAQ table may use for each field, preferred first (a curated table rewritten by the gap
# report reads its header with the same names: assistant.insights.faq_table)
TABLE_COLUMN_NAMES = {"question": ("question", "q", "问题"), "answer": ("answer", "a", "答案", "回答"),
                      "id": ("id", "faq_id", "row_id"), "lang": ("lang", "language")}


def _pick(header: list[str], wanted: str | None, fallbacks: tuple[str, ...]) -> str | None:
    if wanted:
        return wanted if wanted in header else None
    lower = {h.lower().strip(): h for h in header}
    return next((lower[f] for f in fallbacks if f in lower), None)


def load_table(path: Path, max_mb: float, opts: TableOptions, notes: list[str] | None = None) -> list[FaqRow]:
    """FAQ rows from a CSV/XLSX table; the named columns must exist. Rows with no question or no answer are
    skipped, and `notes` (when given) gets one line naming them, so a half-filled table is not taken as whole."""
    header, body = _table_rows(path, read_bytes(path, max_mb), max_mb)
    q_col = _pick(header, opts.question_column, TABLE_COLUMN_NAMES["question"])
    a_col = _pick(header, opts.answer_column, TABLE_COLUMN_NAMES["answer"])
    id_col = _pick(header, opts.id_column, TABLE_COLUMN_NAMES["id"])
    lang_col = _pick(header, opts.lang_column, TABLE_COLUMN_NAMES["lang"])
    missing = [n for n, col, req in (
        (opts.question_column or "question", q_col, True),
        (opts.answer_column or "answer", a_col, True),
        (opts.id_column, id_col, bool(opts.id_column)),
        (opts.lang_column, lang_col, bool(opts.lang_column)),
    ) if req and col is None]
    if missing:
        raise IngestError(f"{path}: missing column(s) {', '.join(missing)} (the table has: {', '.join(header)})")
    records, overflowed = _records(header, body, a_col)
    rows: list[FaqRow] = []
    skipped: list[int] = []
    seen: set[str] = set()
    # `row{n}` ids count non-blank rows only (they are stored: kept as they were); messages use the file's own row
    # numbers, which is where a person looks.
    for n, (row_no, rec) in enumerate(records, start=2):
        q, a = rec.get(q_col, "").strip(), rec.get(a_col, "").strip()
        if not q or not a:
            skipped.append(row_no)
            continue
        row_id = (rec.get(id_col, "").strip() if id_col else "") or f"row{n}"
        if row_id in seen:
            raise IngestError(f"{path}: duplicate id {row_id!r} in column {id_col}")
        seen.add(row_id)
        rows.append(FaqRow(row_id, q, a, rec.get(lang_col, "").strip() if lang_col else ""))
    if not rows:
        raise IngestError(f"{path}: no row has both a question ({q_col}) and an answer ({a_col})")
    if overflowed and notes is not None:
        notes.append(f"{path}: row{'s' if len(overflowed) > 1 else ''} {first_few(overflowed, 10)} had more cells than "
                     f"the header (an unquoted comma?); the extra text was kept in the answer column, {a_col!r}: "
                     "check it, or put such a cell in double quotes")
    if skipped and notes is not None:
        notes.append(f"{path}: skipped row{'s' if len(skipped) > 1 else ''} {first_few(skipped, 10)} "
                     "(no question or no answer)")
    return rows
