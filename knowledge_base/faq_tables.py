"""FAQ tables (CSV/XLSX, one question and answer a row) read into `FaqRow`s, one document per row whose id is the
id column's value: the columns found by their names (TABLE_COLUMN_NAMES, or the ones a TableOptions names), the
language column read as zh/en, blank and repeated rows named in notes."""

from __future__ import annotations

import io
from pathlib import Path

from assistant.errors import IngestError, InputError
from assistant.tables import csv_rows, sniff_delimiter
from knowledge_base.loaders import FaqRow, TableOptions, check_zip, decode_text, first_few, read_bytes


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


# The column names an FAQ table may use for each field, preferred first (a curated table rewritten by the gap
# report reads its header with the same names: assistant.insights.faq_table)
TABLE_COLUMN_NAMES = {"question": ("question", "q", "问题"), "answer": ("answer", "a", "答案", "回答"),
                      "id": ("id", "faq_id", "row_id"), "lang": ("lang", "language")}


# How a language column names the shop's two languages (what Excel exports and people type). The rows' language is
# compared with the customer's ("zh" or "en") for every FAQ match: stored as "EN" or "zh-CN", no row ever matched.
_LANGUAGE_NAMES = {"zh": {"zh", "cn", "chs", "cht", "chinese", "中文", "汉语", "漢語", "简体中文", "繁體中文", "繁体中文",
                          "简体", "繁體", "繁体", "中"},
                   "en": {"en", "eng", "english", "英文", "英语", "英語", "英"}}


def row_language(value: str) -> str | None:
    """"zh" or "en" for a language cell ("EN", "zh-CN", "zh_Hant", "English", "中文"), "" for an empty one, None for
    a language the shop does not answer in (or a typo)."""
    v = value.strip().lower().replace("_", "-")
    if not v:
        return ""
    return next((code for code, names in _LANGUAGE_NAMES.items() if v in names or v.split("-")[0] in names), None)


def _pick(header: list[str], wanted: str | None, fallbacks: tuple[str, ...]) -> str | None:
    if wanted:
        return wanted if wanted in header else None
    lower = {h.lower().strip(): h for h in header}
    return next((lower[f] for f in fallbacks if f in lower), None)


def _same_question_notes(path: Path, rows: list[FaqRow], row_numbers: list[int]) -> list[str]:
    """One line per question that rows answer differently (a row added for a new answer while the old one stayed):
    the customer got whichever of them the search ranked first."""
    from knowledge_base.text import normalize_question

    by_question: dict[str, list[tuple[int, FaqRow]]] = {}
    for n, row in zip(row_numbers, rows, strict=True):
        by_question.setdefault(normalize_question(row.question), []).append((n, row))
    return [f"{path}: rows {first_few([n for n, _ in same], 10)} ask the same question ({same[0][1].question!r}) "
            "with different answers: a customer gets one of them; keep one"
            for same in by_question.values() if len({r.answer for _, r in same}) > 1]


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
    numbers: list[int] = []  # each row's number in the file
    skipped: list[int] = []
    unknown_lang: list[int] = []
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
        lang = row_language(rec.get(lang_col, "")) if lang_col else ""
        if lang is None:  # read from the text instead, as for a row with no language
            unknown_lang.append(row_no)
        rows.append(FaqRow(row_id, q, a, lang or ""))
        numbers.append(row_no)
    if not rows:
        raise IngestError(f"{path}: no row has both a question ({q_col}) and an answer ({a_col})")
    if notes is None:
        return rows
    if overflowed:
        notes.append(f"{path}: row{'s' if len(overflowed) > 1 else ''} {first_few(overflowed, 10)} had more cells than "
                     f"the header (an unquoted comma?); the extra text was kept in the answer column, {a_col!r}: "
                     "check it, or put such a cell in double quotes")
    notes.extend(_same_question_notes(path, rows, numbers))
    if unknown_lang:
        notes.append(f"{path}: row{'s' if len(unknown_lang) > 1 else ''} {first_few(unknown_lang, 10)}: the "
                     f"{lang_col!r} column is neither zh nor en; the language was read from the text")
    if skipped:
        notes.append(f"{path}: skipped row{'s' if len(skipped) > 1 else ''} {first_few(skipped, 10)} "
                     "(no question or no answer)")
    return rows
