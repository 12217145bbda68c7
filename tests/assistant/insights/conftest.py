"""A real runtime (chat pipeline, knowledge base, store, handoff) on fakes: FakeBackend, the hashed-words
fake embedder and keyword classifiers for the router; a tiny bilingual shop FAQ. Nothing heavy loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import Pred

FAQ = """id,question,answer,lang
ship-cost,How much does shipping cost?,Standard shipping costs ¥15 and is free from ¥199.,en
ship-cost-zh,运费是多少？,标准运费15元，满199元包邮。,zh
returns,How long do I have to return an item?,You can return items within 30 days of delivery.,en
returns-zh,多久内可以退货？,收货后30天内可以退货。,zh
"""




class KeywordIntents:
    threshold = 0.5

    def predict(self, texts):
        out = []
        for t in texts:
            low = t.lower()
            if "human" in low or "人工" in t:
                out.append(Pred("human_agent", 0.95, {}))
            elif low.strip() in ("hi", "hello", "thanks", "thank you"):
                out.append(Pred("greeting", 0.95, {}))
            elif "?" in t or "？" in t or len(t) > 12:
                out.append(Pred("shipping" if ("ship" in low or "运" in t) else "product_question", 0.9, {}))
            else:
                out.append(Pred("out_of_scope", 0.3, {}, True))
        return out


class CalmSentiment:
    threshold = 0.5

    def predict(self, texts):
        return [Pred("neutral", 0.9, {"neutral": 0.9, "negative": 0.05}) for _ in texts]


def insights_settings(tmp: Path, **sections):
    from assistant.config import load_config

    overrides = {
        "llm": {"backend": "fake"},
        "storage": {"url": f"sqlite:///{tmp}/app.db"},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp / "kb"), "collection": "insights-test",
                           "abstain_threshold": 0.6, "faq_threshold": 0.99,
                           "contact_rows": False},  # the knowledge base holds exactly the test's FAQ
        "app": {"ingest_demo_kb": False, "client_rate_limit_per_minute": 0, "handoffs_per_client_per_hour": 0,
                "votes_per_client_per_minute": 0},
        "chat": {"rate_limit_per_minute": 0, "use_guardrails": False, "cross_language_retry": False},
        "insights": {"faq_file": str(tmp / "uploads" / "gap_answers.csv"), "group_similarity": 0.5},
    }
    from assistant.scaffold import SHOP_DATA_PATHS

    for (section, key), path in SHOP_DATA_PATHS.items():  # uploads, translations...: never the project's data/
        overrides.setdefault(section, {}).setdefault(key, str(tmp / path))
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(env={}, overrides=overrides)


def make_runtime(tmp: Path, **sections):
    from assistant.llm import FakeBackend
    from assistant.router import Router
    from assistant.runtime import Runtime

    settings = insights_settings(tmp, **sections)
    runtime = Runtime(settings, backend=FakeBackend(),
                      components={"router": Router(settings.router, KeywordIntents(), CalmSentiment())})
    faq = tmp / "shop" / "faq.csv"
    faq.parent.mkdir(parents=True, exist_ok=True)
    faq.write_text(FAQ, encoding="utf-8")
    report = runtime.kb.ingest([faq], progress=False)
    assert report.ok, report.summary()
    return runtime


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    return make_runtime(tmp_path)


def ask(runtime, text: str, session_id: str | None = None, channel: str = "ui"):
    """One customer message through the app's real path (assistant.web.customer); returns the Reply."""
    from assistant.web.customer import stream_answer

    events = list(stream_answer(runtime, session_id, text, channel))
    return events[-1].reply, events[-1].session_id
