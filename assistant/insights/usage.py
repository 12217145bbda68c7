"""How often each chunk and each document was retrieved for a customer's question and cited in an answer,
and which were never used.

*Cited* comes straight from the answers' citations. *Retrieved* is what the knowledge-base lookup searched
for the question: the chat records it with each answer. Turns recorded without it are worked out once, on first
use, by the same calls the lookup makes (`faq_match`, then `context_passages`) and stored with the turn. That is
exact while the knowledge base is unchanged between the answer and the report (bench/gaps.py checks equality
against a replay); a question first counted after documents changed is counted against the documents as they are
then.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Actions after which the chat ran no knowledge-base lookup.
NO_LOOKUP = ("refuse",)


@dataclass
class Usage:
    chunks: object  # DataFrame: chunk_id, source, title, kind, row_id, retrieved, cited
    # DataFrame: source, title, kind, chunks, retrieved (questions that retrieved any of its chunks), cited
    # (answers that cited it), chunks_never_used
    documents: object
    never_used: object  # chunks neither retrieved nor cited
    questions: int  # recorded questions counted


def retrieved_for(kb, searched: str) -> list[str]:
    """The chunk ids the lookup for `searched` works from: the matched FAQ row, else the searched passages."""
    faq = kb.faq_match(searched)
    if faq is not None:
        return [_faq_chunk(kb, faq.source, faq.row_id) or faq.row_id]
    return [h.chunk_id for h in kb.context_passages(searched)]


def lookup_chunks(kb, lookup) -> list[str]:
    """The chunk ids `lookup` works from: its matched FAQ row when it holds no passages, else its passages."""
    if lookup.faq is not None and not lookup.hits:
        return [_faq_chunk(kb, lookup.faq.source, lookup.faq.row_id) or lookup.faq.row_id]
    return [h.chunk_id for h in lookup.hits]


def _faq_chunk(kb, source: str, row_id: str) -> str | None:
    index = getattr(kb, "_insights_faq_index", None)
    if index is None or (source, row_id) not in index:
        index = {(str(m.get("source", "")), str(m.get("row_id", ""))): cid
                 for cid, _, m in kb.store.iter_all(documents=False) if m.get("kind") == "faq"}
        kb._insights_faq_index = index  # rebuilt when a row is missing (a new FAQ table was ingested)
    return index.get((source, row_id))


def fill_retrieved(runtime, turns, progress: bool = True) -> int:
    """Work out and store `retrieved` for recorded turns that lack it; returns how many were filled."""
    from tqdm import tqdm

    from assistant.insights.records import store_retrieved

    kb = shop_kb(runtime)
    if kb is None or not len(turns):
        return 0
    todo = turns[turns.retrieved.isna() & (turns.searched != "") & ~turns.action.isin(NO_LOOKUP)]
    if not len(todo):
        return 0
    found: dict[int, list[str]] = {}
    for turn_id, searched in tqdm(list(zip(todo.id, todo.searched, strict=True)), desc="retrieval per question",
                                  disable=not progress or len(todo) < 20, unit="q"):
        try:
            found[int(turn_id)] = retrieved_for(kb, searched)
        except Exception as exc:  # noqa: BLE001 - one failed search leaves that turn for the next report
            log.warning("could not work out what was retrieved for turn %s: %s", turn_id, exc)
    store_retrieved(runtime, found)
    for turn_id, ids in found.items():
        turns.loc[turns.id == turn_id, "retrieved"] = json.dumps(ids)
    return len(found)


def count(turns, chunks: list[dict]) -> Usage:
    """Usage from recorded turns and the knowledge base's chunk list ([{chunk_id, source, title, kind, row_id}])."""
    import pandas as pd

    retrieved: dict[str, int] = {}
    cited: dict[str, int] = {}
    by_row = {(c["source"], c["row_id"]): c["chunk_id"] for c in chunks if c.get("row_id")}
    questions = 0
    per_turn: list[tuple[set[str], set[str]]] = []  # (chunks retrieved, chunks cited) of each turn
    pairs = zip(turns.retrieved, turns.cited, strict=True) if len(turns) else []
    for raw_retrieved, raw_cited in pairs:
        got: set[str] = set()
        if isinstance(raw_retrieved, str):  # None / NaN: not worked out (no lookup ran for that message)
            questions += 1
            got = set(json.loads(raw_retrieved))
            for cid in got:
                retrieved[cid] = retrieved.get(cid, 0) + 1
        said = {_cited_chunk(c, by_row) for c in json.loads(raw_cited or "[]")}
        for c in said:
            cited[c] = cited.get(c, 0) + 1
        per_turn.append((got, said))
    table = pd.DataFrame(chunks, columns=["chunk_id", "source", "title", "kind", "row_id"])
    known = set(table.chunk_id)
    gone = sorted((set(retrieved) | set(cited)) - known)  # used then, deleted since: still counted
    if gone:
        table = pd.concat([table, pd.DataFrame([{"chunk_id": c, "source": "(deleted)", "title": "", "kind": "",
                                                 "row_id": ""} for c in gone])], ignore_index=True)
    table["retrieved"] = table.chunk_id.map(retrieved).fillna(0).astype(int)
    table["cited"] = table.chunk_id.map(cited).fillna(0).astype(int)
    table = table.sort_values(["cited", "retrieved", "source"], ascending=[False, False, True], kind="stable")
    unused = table[(table.retrieved == 0) & (table.cited == 0)]
    docs = table.groupby("source", sort=False).agg(
        title=("title", "first"), kind=("kind", "first"), chunks=("chunk_id", "count"))
    # A document's figures count questions, not its chunks' hits: one question that retrieved five passages of the
    # FAQ table is one question (summed, the FAQ table showed 23 retrievals for 14 of 24 questions).
    source_of = dict(zip(table.chunk_id, table.source, strict=True))
    docs["retrieved"] = docs.index.map(Counter(s for got, _ in per_turn for s in {source_of[c] for c in got}))
    docs["cited"] = docs.index.map(Counter(s for _, said in per_turn for s in {source_of[c] for c in said if c}))
    docs[["retrieved", "cited"]] = docs[["retrieved", "cited"]].fillna(0).astype(int)
    docs["chunks_never_used"] = unused.groupby("source").chunk_id.count().reindex(docs.index).fillna(0).astype(int)
    docs.loc[docs.kind == "faq", "title"] = "(FAQ table)"
    docs = docs.sort_values(["cited", "retrieved"], ascending=False, kind="stable").reset_index()
    return Usage(table.reset_index(drop=True), docs, unused.reset_index(drop=True), questions)


def _cited_chunk(citation: dict, by_row: dict) -> str:
    """A verbatim FAQ answer cites its row id; everything else cites the chunk id."""
    row_id = citation.get("row_id")
    if row_id and citation.get("chunk_id") == row_id:
        return by_row.get((citation.get("source", ""), row_id), row_id)
    return citation.get("chunk_id") or ""


def kb_chunks(kb) -> list[dict]:
    return [{"chunk_id": cid, "source": str(m.get("source", "")), "title": str(m.get("title", "")),
             "kind": str(m.get("kind", "doc")), "row_id": str(m.get("row_id", "") or "")}
            for cid, _, m in kb.store.iter_all(documents=False)]


def shop_kb(runtime):
    """The shop's knowledge base, or None before anything was ingested: a report on a new shop counts no
    documents instead of failing (the reports never create the store)."""
    from assistant.errors import NotFoundError

    try:
        kb = runtime.kb
        if kb is not None:
            kb.store.collection()  # the store opens lazily: a missing collection shows on first use
        return kb
    except NotFoundError as exc:
        log.info("no knowledge base to count documents in: %s", exc)
        return None


def compute(runtime, progress: bool = True) -> Usage:
    from assistant.insights.records import turns_frame

    kb = shop_kb(runtime)
    turns = turns_frame(runtime)
    fill_retrieved(runtime, turns, progress)
    return count(turns, kb_chunks(kb) if kb is not None else [])


def export_csv(usage: Usage, folder) -> list:
    from pathlib import Path

    from assistant.tables import spreadsheet_safe

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("documents", "chunks", "never_used"):
        path = folder / f"usage_{name}.csv"
        spreadsheet_safe(getattr(usage, name)).to_csv(path, index=False, encoding="utf-8-sig")
        paths.append(path)
    return paths
