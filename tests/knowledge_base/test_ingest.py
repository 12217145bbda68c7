"""Ingest is idempotent, incremental, crash-safe, and reports bad files in one line without stopping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from assistant.errors import NotFoundError, StorageError
from knowledge_base import KnowledgeBase, KnowledgeBaseConfig

from .conftest import minimal_pdf, write


def _ids(kb):
    return [cid for cid, _, _ in kb.store.iter_all(documents=False)]


def test_reingest_adds_nothing_and_changed_files_replace_their_chunks(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "a.md", "# Returns\nWithin 30 days.\n\n## Refunds\nIn 5 business days.")
    write(docs / "faq.csv", "id,question,answer\nq1,Do you ship abroad?,No.\nq2,Gift wrap?,Yes for 10 yuan.\n")
    kb = make_kb()
    first = kb.ingest([docs], progress=False)
    assert first.ok and first.chunks_added == 4
    again = kb.ingest([docs], progress=False)
    assert again.chunks_added == 0 and {f.status for f in again.files} == {"unchanged"}
    assert kb.store.count() == 4

    write(docs / "a.md", "# Returns\nWithin 14 days.\n\n## Refunds\nIn 5 business days.")
    changed = kb.ingest([docs], progress=False)
    (a,) = [f for f in changed.files if f.source.endswith("a.md")]
    assert (a.status, a.added, a.removed) == ("updated", 1, 1)
    texts = [t for _, t, _ in kb.store.iter_all()]
    assert any("14 days" in t for t in texts) and not any("30 days" in t for t in texts)
    assert kb.store.count() == 4


def test_sync_removes_deleted_files_only_under_the_given_folder(make_kb, tmp_path):
    write(tmp_path / "docs" / "keep.md", "Keep this page.")
    gone = write(tmp_path / "docs" / "sub" / "gone.txt", "This file will be deleted.")
    other = write(tmp_path / "elsewhere.txt", "Ingested from another folder.")
    kb = make_kb()
    kb.ingest([tmp_path / "docs", other], progress=False)
    assert kb.store.count() == 3
    gone.unlink()
    report = kb.sync([tmp_path / "docs"], progress=False)
    assert [f.status for f in report.files if f.status == "removed"] == ["removed"]
    sources = {d["source"] for d in kb.documents()}
    assert not any(s.endswith("gone.txt") for s in sources)
    assert any(s.endswith("elsewhere.txt") for s in sources) and any(s.endswith("keep.md") for s in sources)


def test_bad_files_get_one_line_each_and_the_rest_is_ingested(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "good.md", "# Warranty\nTwo years on furniture.")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf")
    write(docs / "nocols.csv", "foo,bar\n1,2\n")
    with open(docs / "huge.txt", "wb") as fh:  # 50 MB, sparse: costs no disk
        fh.truncate(50 * 1024 * 1024)
    (docs / "ok.pdf").write_bytes(minimal_pdf(["Lamp manual page"]))
    kb = make_kb(max_file_mb=20)
    report = kb.ingest([docs, tmp_path / "missing.md"], progress=False)
    errors = {os.path.basename(f.source): f.error for f in report.errors}
    assert set(errors) == {"empty.txt", "binary.txt", "broken.pdf", "nocols.csv", "huge.txt", "missing.md"}
    for name, line in errors.items():
        assert name in line and "\n" not in line
    assert "max_file_mb=20" in errors["huge.txt"] and "missing column" in errors["nocols.csv"]
    assert "PDF" in errors["broken.pdf"] and "binary" in errors["binary.txt"] and "empty" in errors["empty.txt"]
    # nothing half-written: only the two good files are in the store
    assert sorted(d["source"].rsplit("/", 1)[-1] for d in kb.documents()) == ["good.md", "ok.pdf"]


def test_unknown_collection_and_unreachable_server_are_named(fake_embedder, tmp_path):
    kb = KnowledgeBase.from_config(KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="nope"),
                                   fake_embedder)
    with pytest.raises(NotFoundError, match="collection 'nope' not found"):
        kb.search("anything")
    with pytest.raises(StorageError, match=r"knowledge_base.chroma_host.*127.0.0.1:9"):
        KnowledgeBase.from_config(KnowledgeBaseConfig(chroma_host="127.0.0.1", chroma_port=9), fake_embedder)


CHILD = textwrap.dedent("""
    import sys, time
    from knowledge_base import KnowledgeBase, KnowledgeBaseConfig
    from knowledge_base.embeddings import FakeEmbedder

    class Slow(FakeEmbedder):
        def embed_documents(self, texts):
            print("batch", flush=True)   # the parent kills us after a few of these
            time.sleep(0.15)
            return super().embed_documents(texts)

    cfg = KnowledgeBaseConfig(db_path=sys.argv[1], collection="crash", batch_size=5)
    KnowledgeBase.from_config(cfg, Slow()).ingest([sys.argv[2]], progress=False)
    print("done", flush=True)
""")


def test_kill_9_during_ingest_then_rerun_gives_exactly_the_right_chunks(fake_embedder, tmp_path):
    docs = tmp_path / "docs"
    for i in range(6):
        write(docs / f"page{i}.md", "\n\n".join(f"## Part {j}\nPage {i} paragraph {j} about item {i * 10 + j}."
                                                 for j in range(8)))
    db = tmp_path / "db"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(docs)], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    batches = 0
    for line in proc.stdout:
        batches += line.startswith("batch")
        if batches == 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    cfg = KnowledgeBaseConfig(db_path=str(db), collection="crash", batch_size=5)
    kb = KnowledgeBase.from_config(cfg, fake_embedder)
    partial = kb.store.count() if kb.store.exists() else 0
    assert partial < 48
    kb.ingest([docs], progress=False)
    reference = KnowledgeBase.from_config(KnowledgeBaseConfig(db_path=str(tmp_path / "ref"), collection="crash"),
                                          fake_embedder)
    reference.ingest([docs], progress=False)
    ids = _ids(kb)
    assert len(ids) == len(set(ids)) == reference.store.count() == 48
    assert sorted(ids) == sorted(_ids(reference))
    texts = [t for _, t, _ in kb.store.iter_all()]
    assert len(texts) == len(set(texts))
