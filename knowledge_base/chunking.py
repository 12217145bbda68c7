"""Cut sections into retrievable chunks along paragraphs, then sentences (。！？ as well as .!?), never mid-word
unless one sentence alone is longer than a chunk; each chunk gets a content-derived id and its metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.language import answer_language
from knowledge_base.loaders import FaqRow, Section
from knowledge_base.text import TABLE_RULE, content_hash, has_header, is_table_line, table_cells

_PARA_RE = re.compile(r"\n\s*\n")
# Chinese sentence ends need no following space; Latin ones do (so "3.5 kg" and "e.g." mostly stay whole).
_SENT_RE = re.compile(r"(?<=[。！？；!?])\s*|(?<=[.])\s+")


@dataclass
class Chunk:
    id: str
    text: str  # what is embedded, indexed and shown to the LLM (heading line + body)
    metadata: dict = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return str(self.metadata.get("doc_id", self.id))


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENT_RE.split(text)) if s]


def _pieces(paragraph: str, size: int) -> list[str]:
    """A paragraph as pieces no longer than `size`: whole if it fits, else sentences, else hard cuts."""
    if len(paragraph) <= size:
        return [paragraph]
    out: list[str] = []
    for sentence in split_sentences(paragraph):
        # Step through by index: cutting the rest off again after each piece copied it each time, quadratic
        # on a multi-megabyte text with no sentence end (seconds per 8 MB, minutes per 20 MB).
        out.extend(sentence[i:i + size] for i in range(0, len(sentence), size))
    return out


def _join(a: str, b: str) -> str:
    if not a:
        return b
    # No space between Chinese sentences; a space between Latin ones.
    sep = "" if re.search(r"[\u3000-\u9fff\uff00-\uffef]$", a) else " "
    return a + sep + b


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Greedy packing of paragraphs (kept apart by a blank line) and, inside long ones, sentences."""
    chunks: list[str] = []
    current = ""
    tail: list[str] = []  # the last sentences of the previous chunk, repeated for context
    # the table the paragraphs are in (the HTML loader writes each row as a paragraph): its rows so far and header
    rows: list[str] = []
    header = ""
    for paragraph in (p.strip() for p in _PARA_RE.split(text.strip())):
        if not paragraph:
            continue
        row = _is_row(paragraph)
        if not row:
            rows, header = [], ""
        elif TABLE_RULE.match(paragraph):
            header = f"{rows[-1]}\n\n{paragraph}" if rows else ""  # the row above a rule names the columns
            rows = []
        else:
            rows.append(paragraph)
            if len(rows) == 2 and not header and has_header([table_cells(r) for r in rows]):
                header = rows[0]
        pieces = _pieces(paragraph, size)
        for i, piece in enumerate(pieces):
            glue = "\n\n" if i == 0 else ""
            candidate = (current + glue + piece) if glue and current else _join(current, piece)
            if len(candidate) <= size:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                    tail = _overlap_tail(current, overlap)
                current = _join(" ".join(tail), piece) if tail and len(" ".join(tail)) + len(piece) < size else piece
                if row and header and piece not in header.split("\n\n") and len(header) + len(piece) + 2 <= size:
                    # a table cut in two: its second part keeps the header, or its rows are figures of nothing
                    current = f"{header}\n\n{piece}"
                tail = []
    if current:
        chunks.append(current)
    return chunks


def _is_row(paragraph: str) -> bool:
    """A table row on a line of its own ("Cake | 6-inch | 198 CNY", as the HTML loader writes a row)."""
    return "\n" not in paragraph and is_table_line(paragraph)


def _overlap_tail(chunk: str, overlap: int) -> list[str]:
    if overlap <= 0:
        return []
    tail: list[str] = []
    for sentence in reversed(split_sentences(chunk)):
        if sum(len(s) for s in tail) + len(sentence) > overlap:
            break
        tail.insert(0, sentence)
    return tail


def _unique_id(source: str, text: str, seen: dict[str, int]) -> str:
    """Content-derived id: same source + same text = same id, so re-ingesting adds nothing twice."""
    base = content_hash(source + "\x00" + text, 20)
    n = seen.get(base, 0)
    seen[base] = n + 1
    # Identical passages in one file (a repeated disclaimer) still get distinct, stable ids.
    return base if n == 0 else f"{base}-{n}"


def chunk_document(source: str, title: str, sections: list[Section], size: int, overlap: int,
                   file_hash: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections:
        heading = section.heading or title
        for body in chunk_text(section.text, size, overlap):
            text = f"{heading}\n{body}" if heading else body
            meta = {
                "source": source, "title": title, "heading": heading, "kind": "doc", "doc_id": source,
                "lang": answer_language(body), "hash": content_hash(text), "file_hash": file_hash,
                "chunk_index": len(chunks),
            }
            if section.page is not None:
                meta["page"] = section.page
            chunks.append(Chunk(_unique_id(source, text, seen), text, meta))
    return chunks


def chunk_faq(source: str, rows: list[FaqRow], file_hash: str) -> list[Chunk]:
    """One chunk per FAQ row: a short question + answer is one retrievable (and citable) unit."""
    chunks = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        text = f"{row.question}\n{row.answer}"
        meta = {
            "source": source, "title": row.question, "heading": row.question, "kind": "faq",
            "doc_id": row.row_id, "row_id": row.row_id, "question": row.question, "answer": row.answer,
            "lang": row.lang or answer_language(text), "hash": content_hash(text), "file_hash": file_hash,
            "chunk_index": i,
        }
        chunks.append(Chunk(_unique_id(source + "\x00" + row.row_id, text, seen), text, meta))
    return chunks
