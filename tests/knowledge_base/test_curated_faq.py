"""Curated FAQ answers without the vector store: the in-memory fallback, and the chat using it when Chroma is down."""

from __future__ import annotations

from assistant.chat import ChatService
from assistant.errors import StorageError
from assistant.llm import FakeBackend
from knowledge_base.curated_faq import CuratedFaq
from tests.knowledge_base.conftest import DEMO


def test_matches_curated_questions_only_in_their_language():
    faq = CuratedFaq.from_files([DEMO / "faq.csv"])
    assert len(faq) > 10
    hit = faq.match("how long does delivery take")  # case and punctuation do not matter
    assert hit is not None and hit.row_id == "en-ship-time" and hit.score == 1.0 and "business days" in hit.answer
    near = faq.match("How long does delivery take to Beijing?")
    assert near is not None and near.row_id == "en-ship-time" and 0.75 <= near.score < 1.0
    zh = faq.match("发货后多久能收到")
    assert zh is not None and zh.row_id == "zh-ship-time"
    assert faq.match("Can I pay for a sofa with bitcoin on Mars?") is None  # loosely related: no guess
    assert faq.match("") is None


def test_unreadable_table_is_skipped_not_fatal(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    faq = CuratedFaq.from_files([bad, DEMO / "faq.csv"])
    assert faq.match("How long does delivery take?") is not None


class DownKB:
    """A knowledge base whose vector store went away after start."""

    def lookup(self, question, language=None, earlier_questions=(), **_):
        raise StorageError("cannot reach the Chroma server at 127.0.0.1:9")


def test_chat_answers_curated_faq_while_chroma_is_down_and_degrades_otherwise():
    backend = FakeBackend(default="LLM WAS CALLED")
    chat = ChatService(backend, kb=DownKB(), curated_faq=CuratedFaq.from_files([DEMO / "faq.csv"]))
    session = chat.sessions.get()
    stream = chat.respond("How long does delivery take?", session)
    text = "".join(stream)
    assert "business days" in text and stream.reply.citations[0].source == "faq.csv"
    other = chat.respond("Is the walnut desk scratch resistant?", session)
    assert "".join(other) == chat.shop.text("failed", "en")  # not curated: the polite degraded path, no guess
    assert backend.calls == []


def test_chat_without_a_kb_at_all_still_answers_curated_faq():
    chat = ChatService(FakeBackend(default="from the LLM"), kb=None,
                       curated_faq=CuratedFaq.from_files([DEMO / "faq.csv"]))
    assert "business days" in "".join(chat.respond("How long does delivery take?"))
    assert "".join(chat.respond("Tell me a joke")) == "from the LLM"


def test_runtime_with_an_unreachable_chroma_server_still_answers_the_demo_faq(tmp_path, monkeypatch):
    from assistant.config import load_config
    from assistant.runtime import Runtime

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    settings = load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "storage": {"url": f"sqlite:///{tmp_path}/s.db"},
        "knowledge_base": {"embedder": "fake", "chroma_host": "127.0.0.1", "chroma_port": 9},
        "chat": {"use_router": False}})
    runtime = Runtime(settings)
    reply = runtime.chat.respond("怎么联系极光家居？")
    assert "support@aurorahome.example" in "".join(reply)
    assert "knowledge_base" in runtime.degraded and "127.0.0.1:9" in runtime.degraded["knowledge_base"]
