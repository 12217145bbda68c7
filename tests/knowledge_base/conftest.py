"""Fixtures for the knowledge base: the deterministic fake embedder, throw-away stores, a shared demo KB."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase, KnowledgeBaseConfig
from knowledge_base.embeddings import FakeEmbedder

DEMO = Path(__file__).resolve().parents[2] / "knowledge_base" / "demo"


@pytest.fixture(scope="session")
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def make_kb(tmp_path, fake_embedder):
    """make_kb(**config) -> a KnowledgeBase on the fake embedder in a fresh folder."""
    def make(**changes) -> KnowledgeBase:
        cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="test", **changes)
        return KnowledgeBase.from_config(cfg, fake_embedder)
    return make


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory, fake_embedder) -> KnowledgeBase:
    """The demo shop ingested once per session (fake embedder; FAQ exact matches and BM25 still real)."""
    cfg = KnowledgeBaseConfig(db_path=str(tmp_path_factory.mktemp("demo") / "db"), collection="demo")
    kb = KnowledgeBase.from_config(cfg, fake_embedder)
    report = kb.ingest([DEMO], progress=False)
    assert report.ok, [f.error for f in report.errors]
    return kb


def with_config(kb: KnowledgeBase, **changes) -> KnowledgeBase:
    """The same store with other `knowledge_base` settings (no re-ingest)."""
    return KnowledgeBase(dataclasses.replace(kb.cfg, **changes), kb.embedder, kb.store)


def with_thresholds(kb: KnowledgeBase, abstain: float, faq: float, style: str = "extract") -> KnowledgeBase:
    """The same store with other trust thresholds and answer style (no re-ingest)."""
    return with_config(kb, abstain_threshold=abstain, faq_threshold=faq, answer_style=style)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (pypdf extracts it)."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objs)} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objs)} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def faq_matching_anything(make_kb, tmp_path: Path, faq_rows: str, shipping: str) -> KnowledgeBase:
    """A knowledge base of FAQ rows (`faq_id,question,answer` lines) and a shipping page, where any row is "the same
    question" as the customer's (faq threshold 0): what a row must say is then the only check left."""
    kb = make_kb()
    write(tmp_path / "docs" / "faq.csv", "faq_id,question,answer\n" + faq_rows)
    write(tmp_path / "docs" / "shipping.md", f"# Shipping\n\n{shipping}\n")
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    return with_thresholds(kb, abstain=0.0, faq=0.0)

