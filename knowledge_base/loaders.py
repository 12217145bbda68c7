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

from assistant.errors import IngestError

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


# A setext heading's underline ("Returns" over "======="; pandoc writes levels 1 and 2 this way)
_MD_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_MD_NOT_TITLE = re.compile(r"^\s*([-*+>|]|\d+[.)]\s|```)")  # a list item, quote, table row or fence is no title


def load_markdown(text: str) -> list[Section]:
    out = _SectionBuilder("\n")
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _MD_HEADING.match(line)
        under = None if in_code else _MD_UNDERLINE.match(line)
        body = out.body
        if m:
            out.heading(len(m.group(1)), m.group(2))
        elif (under and body and body[-1].strip() and not _MD_NOT_TITLE.match(body[-1])
              and (len(body) == 1 or not body[-2].strip())):  # a one-line paragraph over the rule
            title = body.pop()
            out.heading(1 if under.group(1)[0] == "=" else 2, title)
        else:
            out.add(line)
    return out.flush()


def load_plain(text: str) -> list[Section]:
    text = text.strip()
    return [Section(text)] if text else []


_HTML_BLOCKS = {"p", "li", "td", "th", "pre", "dt", "dd"}  # each read whole, as one paragraph
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Tags that sit inside a line of text; any other tag (div, section, table, ul, ...) starts and ends a paragraph.
# Controls of a saved shop page ("Add to cart", a size menu): no passage, and skipped by the walk below only (a
# <p> is read whole, as it always was)
_HTML_CONTROLS = {"button", "select", "textarea", "svg", "iframe", "dialog"}
_HTML_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd",
                "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"}


def _html_row(out: _SectionBuilder, tr) -> None:
    """A table row as one line ("Weight: 350 g"): a cell alone would lose what its value is of."""
    found = tr.find_all(["th", "td"], recursive=False)
    cells = [c for c in (c.get_text(" ", strip=True) for c in found) if c]
    if len(cells) > 1 and all(c.name == "th" for c in found):
        # a row of column names: a rule under it says so (the evidence leaves it out, later rows name it)
        out.add(f"| {' | '.join(cells)} |")
        out.add("|" + "---|" * len(cells))
    elif cells:
        out.add(": ".join(cells) if len(cells) == 2 else " | ".join(cells))


def _html_walk(node, out: _SectionBuilder, loose: list[str]) -> None:
    """Paragraphs of `node` in document order. Text outside block tags (a site builder's <div>Weight: 38 kg<br>…
    </div>) is kept too, a line per <br> or block: read only from <p>, <li> and table cells, such a page lost its
    facts without a word whenever one <p> elsewhere gave it some text."""
    from bs4.element import NavigableString, Tag

    def flush() -> None:
        line = " ".join("".join(loose).split())
        if line:
            out.add(line)
        loose.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a comment, doctype or CDATA
                loose.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _HTML_CONTROLS:
            continue
        name = child.name
        if name in _HTML_INLINE:
            _html_walk(child, out, loose)
            continue
        flush()
        if name in _HTML_HEADINGS:
            out.heading(int(name[1]), child.get_text(" ", strip=True))
        elif name == "tr":
            _html_row(out, child)
        elif name in _HTML_BLOCKS:
            text = child.get_text(" ", strip=True)
            out.add(("- " + text) if name == "li" and text else text)
        elif name != "br":
            _html_walk(child, out, loose)
            flush()


def load_html(text: str) -> tuple[list[Section], str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title is not None:
        soup.title.decompose()  # the page's name, not a passage (a page without <body> walks its <head> too)
    out = _SectionBuilder("\n\n")
    root = soup.body or soup
    loose: list[str] = []
    _html_walk(root, out, loose)
    if loose:
        out.add(" ".join("".join(loose).split()))
    sections = out.flush()
    if not sections:  # pages without block tags: keep the visible text
        sections = load_plain(root.get_text("\n", strip=True))
    return sections, title


# What Word's "print to PDF" puts in a PDF's title ("Microsoft Word - 退货政策.docx"): every passage of the PDF is
# headed and cited by its title, so a customer read the application's name and the file's.
_PDF_APP_TITLE = re.compile(r"^\s*Microsoft (?:Office )?(?:Word|PowerPoint|Excel)\s*-\s*", re.I)
_PDF_FILE_SUFFIX = re.compile(r"\.(?:docx?|pptx?|xlsx?|odt|pages|rtf|txt)\s*$", re.I)
_PDF_NO_TITLE = re.compile(r"^(?:untitled.*|document\d*|文档\d*|无标题.*)$", re.I)


def pdf_title(raw: str) -> str:
    """A PDF's title as a reader would name the document; "" (the file's name is used) when it names none."""
    title = _PDF_FILE_SUFFIX.sub("", _PDF_APP_TITLE.sub("", raw)).strip()
    return "" if _PDF_NO_TITLE.match(title) else title


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
            title = pdf_title(str(reader.metadata.title))
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
    from docx.table import Table

    check_zip(path, data, max_mb)

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"{path}: cannot read the DOCX ({type(exc).__name__}: {exc})") from None
    out = _SectionBuilder("\n\n")
    # Paragraphs and tables in the order they are written: read after all the prose, every table was filed under
    # the last heading, and a catalogue's spec tables all read as the last product's.
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:  # one line per row; a merged cell is listed once per grid column it spans
                unique = list({id(c._tc): c for c in row.cells}.values())
                cells = [c.text.strip() for c in unique if c.text.strip()]
                if cells:
                    out.add(" | ".join(cells))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        m = re.match(r"Heading (\d)", style) or (re.match(r"(Title)", style))
        if m and block.text.strip():
            out.heading(1 if m.group(1) == "Title" else int(m.group(1)), block.text)
        elif block.text.strip():
            out.add(block.text.strip())
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


def first_few(items: list, shown: int) -> str:
    """`items` listed up to `shown` of them, then how many more: one line however many were skipped."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(map(str, items[:shown])) + more
