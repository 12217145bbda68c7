"""The same content ingested from a second path is skipped with a note naming both paths, never stored twice
(duplicate hits, usage split between copies); re-ingesting one path still replaces it as before."""

from __future__ import annotations

import pytest

from knowledge_base.__main__ import main

from .conftest import write

RETURNS = "# Returns\nWithin 30 days of delivery.\n\n## Refunds\nIn 5 business days to your card.\n"


def _sources(kb) -> list[str]:
    return [d["source"] for d in kb.documents()]


def _status(report, name: str) -> str:
    (f,) = [f for f in report.files if f.source.endswith(name)]
    return f.status


def test_a_copy_in_another_folder_is_skipped_with_a_note_naming_both(make_kb, tmp_path):
    a = write(tmp_path / "shop" / "a" / "returns.md", RETURNS)
    b = write(tmp_path / "shop" / "b" / "returns.md", RETURNS)
    kb = make_kb()
    report = kb.ingest([tmp_path / "shop"], progress=False)
    assert report.ok and report.chunks_added == 2 and kb.store.count() == 2
    assert _status(report, "a/returns.md") == "added" and _status(report, "b/returns.md") == "skipped"
    note = f"skipped {b.resolve().as_posix()}: same content as {a.resolve().as_posix()}"
    assert report.warnings == [note] and note in report.summary() and "1 skipped" in report.summary()
    assert _sources(kb) == [a.resolve().as_posix()]
    texts = [h.text for h in kb.search("refunds card", k=5)]
    assert len(texts) == len(set(texts))  # no hit twice

    again = kb.ingest([b], progress=False)  # the copy alone, in a later run
    assert _status(again, "b/returns.md") == "skipped" and kb.store.count() == 2


def test_a_copy_goes_in_once_the_file_it_copies_is_gone_from_disk(make_kb, tmp_path):
    a = write(tmp_path / "shop" / "a.md", RETURNS)
    write(tmp_path / "shop" / "sub" / "b.md", RETURNS)
    kb = make_kb()
    kb.ingest([tmp_path / "shop"], progress=False)
    a.unlink()  # `ingest` keeps a's chunks (only `sync` removes deleted files): the copy is all that is left
    report = kb.ingest([tmp_path / "shop"], progress=False)
    assert _status(report, "sub/b.md") == "added" and not report.warnings


def test_reingesting_the_same_path_still_replaces_it_and_a_changed_copy_goes_in(make_kb, tmp_path):
    a = write(tmp_path / "a" / "returns.md", RETURNS)
    b = write(tmp_path / "b" / "returns.md", RETURNS)
    kb = make_kb()
    kb.ingest([a, b], progress=False)
    write(a, RETURNS.replace("30 days", "14 days"))
    report = kb.ingest([a], progress=False)
    assert _status(report, "a/returns.md") == "updated" and not report.warnings
    assert kb.ingest([a], progress=False).files[0].status == "unchanged"
    # b now differs from what the store holds: no longer a copy, so it goes in.
    report = kb.ingest([b], progress=False)
    assert _status(report, "b/returns.md") == "added" and len(_sources(kb)) == 2


def test_a_stored_file_that_becomes_a_copy_loses_its_stale_chunks(make_kb, tmp_path):
    a = write(tmp_path / "a" / "returns.md", RETURNS)
    b = write(tmp_path / "b" / "returns.md", "# Returns\nWithin 60 days (old policy).\n")
    kb = make_kb()
    kb.ingest([a, b], progress=False)
    write(b, RETURNS)
    report = kb.ingest([b], progress=False)
    (f,) = report.files
    assert (f.status, f.removed) == ("skipped", 1) and report.ok
    assert _sources(kb) == [a.resolve().as_posix()]
    assert not any("60 days" in t for _, t, _ in kb.store.iter_all())


def test_a_renamed_copy_without_headings_is_a_copy_but_other_headings_are_not(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "docs" / "care.txt", "Wipe the grinder with a dry cloth.")
    write(tmp_path / "docs" / "care (copy).txt", "Wipe the grinder with a dry cloth.")
    write(tmp_path / "docs" / "product-a.md", "# Product A warranty\nTwo years, parts and labour.")
    write(tmp_path / "docs" / "product-b.md", "# Product B warranty\nTwo years, parts and labour.")
    report = kb.ingest([tmp_path / "docs"], progress=False)
    skipped = [f.source.rsplit("/", 1)[-1] for f in report.files if f.status == "skipped"]
    assert skipped == ["care.txt"]  # sorted: "care (copy).txt" came first and is kept
    assert {s.rsplit("/", 1)[-1] for s in _sources(kb)} == {"care (copy).txt", "product-a.md", "product-b.md"}


def test_a_copy_of_a_file_whose_heading_is_its_name_is_a_copy(make_kb, tmp_path):
    # "配送说明.md" opens with "# 配送说明": its own name, blanked for it but not for "配送说明-copy.md" (stored twice)
    text = "# 配送说明\n\n江浙沪 1–2 天送达，其他地区 2–4 天。\n"
    write(tmp_path / "policies" / "配送说明.md", text)
    write(tmp_path / "backup" / "配送说明-copy.md", text)
    kb = make_kb()
    report = kb.ingest([tmp_path], progress=False)
    assert [f.status for f in report.files].count("skipped") == 1 and len(_sources(kb)) == 1


def test_a_copied_faq_table_is_skipped_but_other_row_ids_are_not_a_copy(make_kb, tmp_path):
    rows = "id,question,answer\nq1,Do you ship abroad?,No.\nq2,Gift wrap?,Yes for 10 yuan.\n"
    write(tmp_path / "a" / "faq.csv", rows)
    write(tmp_path / "b" / "faq.csv", rows)
    write(tmp_path / "c" / "faq.csv", rows.replace("q1,", "ship-1,"))
    kb = make_kb()
    report = kb.ingest([tmp_path / "a", tmp_path / "b", tmp_path / "c"], progress=False)
    assert [_status(report, f"{d}/faq.csv") for d in "abc"] == ["added", "skipped", "added"]
    assert kb.store.count() == 4


def test_sync_keeps_a_file_moved_within_the_folder(make_kb, tmp_path):
    old = write(tmp_path / "docs" / "old" / "returns.md", RETURNS)
    kb = make_kb()
    kb.sync([tmp_path / "docs"], progress=False)
    new = write(tmp_path / "docs" / "policies" / "returns.md", RETURNS)
    old.unlink()
    report = kb.sync([tmp_path / "docs"], progress=False)
    assert report.ok and _status(report, "policies/returns.md") == "added", report.summary()
    assert _sources(kb) == [new.resolve().as_posix()] and kb.store.count() == 2


def test_sync_with_a_backup_copy_present_keeps_one(make_kb, tmp_path):
    write(tmp_path / "docs" / "returns.md", RETURNS)
    write(tmp_path / "docs" / "backup" / "returns.md", RETURNS)
    kb = make_kb()
    first = kb.sync([tmp_path / "docs"], progress=False)
    again = kb.sync([tmp_path / "docs"], progress=False)
    assert len(_sources(kb)) == 1 and kb.store.count() == 2
    assert [f.status for f in again.files].count("skipped") == 1 and again.warnings == first.warnings


@pytest.fixture
def fake_env(monkeypatch):
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_BASE__EMBEDDER", "fake")


def test_cli_prints_the_note_and_exits_zero(fake_env, tmp_path, capsys):
    write(tmp_path / "shop" / "a" / "returns.md", RETURNS)
    write(tmp_path / "shop" / "b" / "returns.md", RETURNS)
    db = ["--db", str(tmp_path / "db"), "--collection", "shop"]
    assert main(["ingest", str(tmp_path / "shop"), *db]) == 0
    out = capsys.readouterr()
    assert "b/returns.md: same content as" in out.out and out.out.rstrip().endswith("a/returns.md")
    assert "Traceback" not in out.err
    assert main(["list", *db]) == 0 and "1 document(s)" in capsys.readouterr().out
