"""`search` names each hit by its own chunk id (an FAQ row by its row id), so an agent hit-testing can tell a
document's chunks apart and hand one to `delete --id`."""

from __future__ import annotations

import pytest

from knowledge_base.__main__ import main

from .conftest import write

FAKE = {"ASSISTANT_KNOWLEDGE_BASE__EMBEDDER": "fake", "ASSISTANT_LLM__BACKEND": "fake"}
POLICY = ("# Returns\n\n## Window\nReturns are accepted within 30 days of delivery.\n\n"
          "## Condition\nReturned items must be unused and in their original packaging.\n\n"
          "## Refunds\nRefunds for returns reach your card within 5 business days.\n")


@pytest.fixture
def store(tmp_path, monkeypatch):
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)
    write(tmp_path / "shop" / "returns.md", POLICY)
    write(tmp_path / "shop" / "faq.csv", "id,question,answer\nreturn-window-faq,How long do returns take?,"
                                         "Returns are accepted within 30 days.\n")
    args = ["--db", str(tmp_path / "db"), "--collection", "shop"]
    assert main(["ingest", str(tmp_path / "shop"), *args]) == 0
    return args


def _table(capsys, *argv) -> list[str]:
    capsys.readouterr()
    assert main(["search", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def _chunk_ids(args, source_end: str) -> set[str]:
    from knowledge_base.__main__ import _kb, build_parser

    kb = _kb(build_parser().parse_args(["list", *args]))
    return {cid for cid, _, meta in kb.store.iter_all(documents=False) if str(meta["source"]).endswith(source_end)}


def test_document_hits_show_their_own_chunk_ids_and_faq_rows_their_row_id(store, capsys):
    header, *rows = _table(capsys, "returns refunds", "--k", "4", "--mode", "bm25", *store)
    assert len(rows) == 4
    ids = [row.split()[4] for row in rows]
    doc_ids = [i for i, row in zip(ids, rows, strict=True) if "returns.md:" in row]
    assert len(doc_ids) == 3 and len(set(doc_ids)) == 3  # three chunks of one path, three ids
    assert set(doc_ids) == _chunk_ids(store, "returns.md")
    assert [i for i, row in zip(ids, rows, strict=True) if "faq.csv:" in row] == ["return-window-faq"]
    # The columns stay where they were, every row's source under the header's "source / text".
    assert header.split() == ["#", "score", "vector", "bm25", "id", "source", "/", "text"]
    start = header.index("source / text")
    assert all(row[start - 2:start] == "  " and row[start] != " " for row in rows)


def test_a_shown_chunk_id_deletes_that_chunk_only(store, capsys):
    _, first, *_ = _table(capsys, "original packaging", "--k", "1", "--mode", "bm25", *store)
    assert "returns.md:" in first and "original packaging" in first
    chunk = first.split()[4]
    capsys.readouterr()
    assert main(["delete", "--id", chunk, *store]) == 0 and "deleted 1 chunk" in capsys.readouterr().out
    assert len(_chunk_ids(store, "returns.md")) == 2


def test_a_long_row_id_is_shown_whole_and_the_table_stays_aligned(tmp_path, monkeypatch, capsys):
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)
    long_id = "shipping-abroad-and-customs-duties-2024"
    faq = write(tmp_path / "faq.csv", f"id,question,answer\n{long_id},Do you ship abroad?,Yes, duties are paid.\n"
                                      "q2,Gift wrap?,Yes for 10 yuan.\n")
    args = ["--db", str(tmp_path / "db"), "--collection", "faq"]
    assert main(["ingest", str(faq), *args]) == 0
    header, *rows = _table(capsys, "ship abroad", "--k", "2", *args)
    assert long_id in [row.split()[4] for row in rows]
    start = header.index("source / text")
    assert all(row[start:].startswith(faq.resolve().as_posix() + ":") for row in rows)
    assert all(row[start - 2:start] == "  " and row[start] != " " for row in rows)
