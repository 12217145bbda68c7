"""The curated FAQ table approved gap answers go to (`insights.faq_file`): read as the knowledge base reads it,
rewritten atomically with the new rows. An admin may open and save it in Excel, so it is read in whatever
encoding and separator Excel left it, and written back so Excel shows its Chinese. After publishing, what the
knowledge base answers the published questions with is checked (answered_elsewhere)."""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

from assistant.errors import InputError
from knowledge_base.faq_tables import TABLE_COLUMN_NAMES

log = logging.getLogger(__name__)
ASKED_WHILE_WAITING = 200  # newest gap questions looked up again when a proposal is published (~20 ms each)

TABLE_COLUMNS = ["id", "question", "answer", "lang"]
_COLUMN_NAMES = {name: field for field, names in TABLE_COLUMN_NAMES.items() for name in names}


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    """(header, rows as {column: cell}) of the curated table as the knowledge base reads it: an admin may have
    saved it from Excel, in GBK or UTF-16, with ';' between cells. Read as plain UTF-8 with commas, a GBK table
    stopped every publish with a UnicodeDecodeError and a ';' table was rewritten as empty rows. A table whose
    id, question or answer column cannot be found is refused: rewriting it would lose its answers."""
    from assistant.errors import IngestError
    from assistant.tables import csv_rows, sniff_delimiter
    from knowledge_base.loaders import decode_text

    try:
        text = decode_text(path, path.read_bytes())
        records = [r for r in csv_rows(text, sniff_delimiter(text), path.name) if any(c.strip() for c in r)]
    except (IngestError, InputError, OSError) as exc:
        raise InputError(f"the FAQ table {path} cannot be read, so nothing was added to it: {exc}") from None
    if not records:
        return list(TABLE_COLUMNS), []
    header = [h.strip().lstrip("\ufeff") for h in records[0]]
    # the names the knowledge base's loader accepts (knowledge_base.faq_tables.load_table), first one of each wins
    names, taken = [], set()
    for h in header:
        standard = _COLUMN_NAMES.get(h.lower())
        name = standard if standard and standard not in taken else h
        # "问题,question" both name the question: the second keeps its cells under a name of its own (as one key, its
        # cells had replaced the first column's and the rewrite wrote the column twice)
        suffix = 2
        while name in taken:
            name, suffix = f"{h} ({suffix})", suffix + 1
        names.append(name)
        taken.add(name)
    missing = [c for c in ("question", "answer") if c not in names]
    if missing:
        raise InputError(f"the FAQ table {path} has no {' or '.join(missing)} column (its header: "
                         f"{', '.join(header)}), so nothing was added to it: restore the header id, question, answer, "
                         "lang")
    # an admin's own columns (notes, tags) are kept as they are
    return names, [dict(zip(names, r + [""] * (len(names) - len(r)), strict=False)) for r in records[1:]]


def append_rows(path: Path, rows: list[dict]) -> None:
    """Add rows (id, question, answer, lang) to a curated FAQ CSV, atomically: readers see the old or the new
    table, never half of one. A row with an id already there replaces it. Written as UTF-8 with a byte-order
    mark, so Excel shows its Chinese answers as text rather than mojibake."""
    from assistant.outputs import writing

    # insights.faq_file in a folder the app may not write (a read-only install): one line naming it, not a traceback
    with writing(path, "insights.faq_file"):
        path.parent.mkdir(parents=True, exist_ok=True)
    header, existing = read_table(path) if path.exists() else (list(TABLE_COLUMNS), [])
    ids = {r["id"] for r in rows}
    table = [r for r in existing if r.get("id") not in ids] + rows
    fields = header + [c for c in TABLE_COLUMNS if c not in header]
    tmp = path.with_name(f".{path.name}.tmp")
    with writing(path, "insights.faq_file"):
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore", restval="")
            writer.writeheader()
            writer.writerows(table)
        os.replace(tmp, path)


def answered_elsewhere(runtime, proposal) -> list[str]:
    """Plain-words notes on the published questions the knowledge base still answers from another row. A row of
    the shop's own FAQ asking the very same question can outrank the new one (an admin publishes "2-4 days" over a
    contradiction flag, and customers are still told "3-5 days"): publishing must not claim what it did not do."""
    from assistant.config import resolve_path

    kb = runtime.kb
    if kb is None or proposal.status != "published":
        return []
    table = resolve_path(runtime.settings.insights.faq_file).name
    notes = []
    for r in proposal.rows:
        try:
            cites = kb.lookup(r["question"], r["lang"]).citations
        except Exception as exc:  # noqa: BLE001 - the check only costs its note, never the publishing
            log.warning("cannot check what answers %r now: %s", r["question"], exc)
            continue
        if not cites or _cites_proposal(cites, proposal.id, table):
            continue
        other = cites[0]
        notes.append(f"'{r['question']}' is still answered from {other.row_id or other.title} in "
                     f"{Path(other.source).name}, not from this answer: edit or delete that row")
    return notes


def _cites_proposal(cites, proposal_id: int, table: str) -> bool:
    from assistant.insights.faq import _proposal_of

    return any(_proposal_of(c.row_id) == str(proposal_id) and Path(c.source).name == table for c in cites)


def asked_while_waiting(runtime, proposal, limit: int = ASKED_WHILE_WAITING) -> list[int]:
    """The gap questions asked since the proposal was made that the knowledge base now answers with it. The
    proposal names the questions of its group when it was made; the customers who asked the same while it waited
    for review stayed on the gap list after publishing, as if the answer had not worked. A phrasing the reviewer
    left unticked stays a gap: they judged this answer does not suit it."""
    from assistant.config import resolve_path
    from assistant.insights.gaps import open_candidates
    from assistant.insights.phrasings import unticked_turns
    from knowledge_base.text import normalize_question

    kb = runtime.kb
    if kb is None:
        return []
    table = resolve_path(runtime.settings.insights.faq_file).name
    unticked = {normalize_question(v["question"]) for v in proposal.variants if not v.get("keep", True)}
    skip = set(proposal.turn_ids) | unticked_turns(proposal.variants)
    found = []
    try:
        cands = open_candidates(runtime)
        cands = cands[cands.time >= proposal.created_at].iloc[-limit:]
        for turn, question, lang in zip(cands.turn_id, cands.question, cands.language, strict=True):
            if int(turn) in skip or normalize_question(question) in unticked:
                continue
            if _cites_proposal(kb.lookup(question, lang or None).citations, proposal.id, table):
                found.append(int(turn))
    except Exception as exc:  # noqa: BLE001 - they only stay on the gap list, as before
        log.warning("cannot check the questions asked while proposal %s waited: %s", proposal.id, exc)
    return found
