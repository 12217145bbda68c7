"""/v1 access control: API keys (stored hashed) and the per-client rate limit, in OpenAI's error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.config import load_config
from assistant.errors import ConfigError, RateLimitError
from assistant.llm import FakeBackend
from assistant.rate_limit import RateLimiter
from assistant.web.auth import api_key_allowed, hash_api_key, new_api_key
from tests.app.conftest import FakeRuntime, app_settings


def _client(tmp_path, **app_overrides) -> TestClient:
    from assistant.web.server import create_app

    settings = app_settings(tmp_path)
    settings = load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "storage": {"url": settings.storage.url},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb")},
        "app": {"ingest_demo_kb": False, **app_overrides}})
    return TestClient(create_app(FakeRuntime(settings, FakeBackend(default="hello"))))


def _ask(client, key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/v1/chat/completions", headers=headers,
                       json={"model": "base", "messages": [{"role": "user", "content": "hi"}]})


def test_new_api_key_hash_round_trip():
    key, hashed = new_api_key()
    assert hashed == hash_api_key(key) and hashed.startswith("sha256:") and key not in hashed
    assert api_key_allowed(key, [hashed])
    assert not api_key_allowed(key + "x", [hashed]) and not api_key_allowed(None, [hashed])
    assert api_key_allowed(None, [])  # no keys configured: open


def test_keys_are_required_once_configured(tmp_path):
    key, hashed = new_api_key()
    client = _client(tmp_path, api_keys=[hashed])
    for bad in (None, "sk-wrong", hashed):  # the stored hash itself is not a key
        r = _ask(client, bad)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models").status_code == 401
    ok = _ask(client, key)
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "hello"
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_rate_limit_per_client_answers_429_then_recovers(tmp_path):
    a, ha = new_api_key()
    b, hb = new_api_key()
    client = _client(tmp_path, api_keys=[ha, hb], api_rate_limit_per_minute=3)
    assert [_ask(client, a).status_code for _ in range(3)] == [200, 200, 200]
    r = _ask(client, a)
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    assert "at most 3 a minute" in r.json()["error"]["message"] and "requests" in r.json()["error"]["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 61  # what OpenAI's clients wait before they retry
    assert _ask(client, b).status_code == 200  # another client has its own budget
    assert client.get("/healthz").status_code == 200  # the server is still up


def test_limiter_window_slides_and_forgets_old_keys():
    lim = RateLimiter(2, max_keys=2)
    lim.check("a", now=0.0)
    lim.check("a", now=1.0)
    with pytest.raises(RateLimitError, match="wait"):
        lim.check("a", now=30.0)
    lim.check("a", now=61.5)  # the first event left the window
    lim.check("b", now=62.0)
    lim.check("c", now=62.0)  # "a" is the least recently seen: forgotten, bounded memory
    assert set(lim._windows) == {"b", "c"}
    RateLimiter(0).check("x")  # 0 = no limit


def test_config_refuses_a_clear_text_key():
    with pytest.raises(ConfigError, match=r"app\.api_keys\[0\] must be 'sha256:HEX'"):
        load_config(env={}, overrides={"app": {"api_keys": ["sk-shop-plaintext"]}})
    with pytest.raises(ConfigError, match="api_rate_limit_per_minute must be >= 0"):
        load_config(env={}, overrides={"app": {"api_rate_limit_per_minute": -1}})


def test_oversized_bodies_get_413_streamed_or_declared(tmp_path):
    client = _client(tmp_path, max_request_kb=4)
    big = {"model": "base", "messages": [{"role": "user", "content": "x" * 3000}] * 3}  # ~9 KB
    r = client.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"x" * 1024

    r = client.post("/widget/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _ask(client).status_code == 200  # small requests still work
