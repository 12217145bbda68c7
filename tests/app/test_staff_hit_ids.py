"""The hit-test's `id` column: each hit's own id, as `python -m knowledge_base search` shows it."""

from __future__ import annotations

from assistant.web import staff

WARRANTY = ("# Warranty\n\n" + "Every Aurora lamp has a two-year warranty covering the dimmer and the cable. " * 12
            + "\n\n# Repairs\n\n" + "Aurora lamp repairs after the warranty cost a flat fee plus the parts. " * 12)


def test_two_chunks_of_one_document_show_two_ids(fake_runtime, tmp_path):
    doc = tmp_path / "warranty.md"
    doc.write_text(WARRANTY, encoding="utf-8")
    *_, (log, _) = staff.ingest_files(fake_runtime, "admin", [str(doc)])
    assert "✅ warranty.md" in log

    hits, _ = staff.kb_search(fake_runtime, "agent", "Aurora lamp warranty repairs", 10)
    assert list(hits.columns) == list(staff.KB_HIT_COLUMNS)
    mine = hits[hits["source"].str.contains("warranty.md")]
    assert len(mine) >= 2 and mine["id"].is_unique  # a document's chunks share its path, not their ids
    assert all(i and i != s for i, s in zip(mine["id"], mine["source"], strict=True))
