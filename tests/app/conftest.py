"""Fixtures for the app: a runtime on FakeBackend whose chat cites a tiny in-memory shop FAQ, and the whole
app (UI + widget + API) served by uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chat import ChatService, ReplyStream
from assistant.citations import Citation
from assistant.llm import FakeBackend
from assistant.runtime import Runtime

# The shop facts the fake pipeline cites: a question mentioning a key word gets that entry as a source.
FAQ = {
    "return": Citation(source="kb/returns.md", title="Returns policy", snippet="Returns are free within 30 days.",
                       chunk_id="returns-1", score=0.91),
    "退货": Citation(source="kb/returns_zh.md", title="退货政策", snippet="30 天内免费退货。", chunk_id="returns-zh-1",
                   score=0.88),
    "delivery": Citation(source="kb/shipping.md", title="Delivery times", snippet="Delivery takes 2-4 working days.",
                         chunk_id="ship-1", score=0.83),
}


class CitingChat(ChatService):
    """The real ChatService (sessions, history, streaming) plus citations from FAQ, like the KB stage adds."""

    def respond(self, text, session=None) -> ReplyStream:
        inner = super().respond(text, session)

        def finish(answer):
            reply = inner.reply  # complete once the inner stream is exhausted
            reply.citations = [c for key, c in FAQ.items() if key in text.lower()]
            reply.route = {"action": "kb_answer" if reply.citations else "small_talk", "reasons": ["test"]}
            return reply

        return ReplyStream(iter(inner), finish)


class FakeRuntime(Runtime):
    """A Runtime whose chat is CitingChat on the given FakeBackend (other components build lazily as usual)."""

    def __init__(self, settings, backend):
        from assistant.shop import Shop

        chat = CitingChat(backend, settings.chat, shop=Shop.from_config(settings.shop),
                          max_message_chars=settings.app.max_message_chars)
        super().__init__(settings, backend=backend, components={"chat": chat})


def app_settings(tmp: Path):
    """Fake LLM, fake embeddings, n-gram ad-copy scoring and every store under `tmp`: nothing heavy loads."""
    from assistant.config import load_config
    from assistant.scaffold import SHOP_DATA_PATHS

    overrides: dict = {
        "llm": {"backend": "fake"},
        "storage": {"url": f"sqlite:///{tmp}/app.db"},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp / "kb")},
        "adcopy": {"embedder": "ngram", "sentiment": False},
        # every test client is 127.0.0.1, i.e. one client: the per-client limits have their own tests
        "app": {"ingest_demo_kb": False, "api_rate_limit_per_minute": 0, "client_rate_limit_per_minute": 0,
                "handoffs_per_client_per_hour": 0, "votes_per_client_per_minute": 0},
    }
    for (section, key), path in SHOP_DATA_PATHS.items():  # uploads, gap answers...: never the project's data/
        overrides.setdefault(section, {})[key] = str(tmp / path)
    return load_config(env={}, overrides=overrides)


@pytest.fixture
def fake_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    return FakeRuntime(app_settings(tmp_path), FakeBackend())


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The whole app (Gradio UI mounted) on FakeBackend, served once for every API and browser test."""
    import os

    os.environ["SHOP_ASSISTANT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    from app import CSS, build_demo
    from assistant.web.auth import Authenticator
    from assistant.web.server import BackgroundServer, create_app

    settings = app_settings(tmp_path_factory.mktemp("app"))
    backend = FakeBackend()
    runtime = FakeRuntime(settings, backend)
    auth = Authenticator.from_config(settings.app)
    with BackgroundServer(create_app(runtime, build_demo(runtime, auth), auth, css=CSS)) as server:
        server.runtime, server.backend = runtime, backend
        yield server
