"""A second shop, scaffolded with `init` and filled with its own documents, is served with no demo-shop text
on any customer-facing path: chat answers, declines, canned replies, hand-off, widget and UI pages, API errors."""

from __future__ import annotations

import json

import pytest

from tests.fakes import Pred

DEMO_WORDS = ("aurora", "极光", "aurorahome")




class Keywords:
    """Stand-in intent/sentiment classifiers: the first keyword that matches wins."""

    threshold = 0.5

    def __init__(self, rules: dict[str, str], default: str):
        self.rules, self.default = rules, default

    def predict(self, texts):
        out = []
        for t in texts:
            label = next((lab for kw, lab in self.rules.items() if kw in t.lower()), self.default)
            low = label == "?"
            out.append(Pred("out_of_scope" if low else label, 0.3 if low else 0.9,
                            {"negative": 0.95 if label == "negative" else 0.05}, low))
        return out


@pytest.fixture
def bike_shop(tmp_path, monkeypatch):
    from assistant.__main__ import main

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "bikes"
    assert main(["init", str(folder), "--name", "Spoke & Chain", "--name-zh", "辐条单车", "--email",
                 "help@spoke.example", "--language", "en", "--description", "an online bike shop"]) == 0
    knowledge = folder / "knowledge"
    (knowledge / "policies" / "warranty.md").write_text(
        "# Warranty\n\nEvery frame has a 5-year warranty. Components are covered for 2 years.\n", encoding="utf-8")
    (knowledge / "policies" / "returns.zh.md").write_text(
        "# 退货\n\n未骑行的自行车可在签收后 14 天内退货。\n", encoding="utf-8")
    return folder


def test_a_scaffolded_shop_never_shows_the_demo_shop(bike_shop, tmp_path):
    from fastapi.testclient import TestClient

    from app import build_demo
    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.router import Router, RouterConfig
    from assistant.runtime import Runtime
    from assistant.web.auth import Authenticator
    from assistant.web.server import create_app

    settings = load_config(bike_shop / "config.yaml", env={}, overrides={
        "llm": {"backend": "fake"},
        "knowledge_base": {"embedder": "fake", "abstain_threshold": 0.3, "evidence_threshold": 0.5},
        "app": {"client_rate_limit_per_minute": 0, "api_rate_limit_per_minute": 0}})
    router = Router(RouterConfig(),
                    Keywords({"human": "human_agent", "hello": "greeting", "zebra": "out_of_scope",
                              "hmm": "?"}, "product_question"),
                    Keywords({"awful": "negative"}, "positive"))
    # The fake model answers with the question back, so only the pipeline's own texts and checks speak.
    runtime = Runtime(settings, backend=FakeBackend(), components={"router": router})
    auth = Authenticator.from_config(settings.app)
    client = TestClient(create_app(runtime, build_demo(runtime, auth), auth))
    seen: list[str] = []

    def ask(*turns: str) -> dict:
        messages = [{"role": "user", "content": t} for t in turns]
        r = client.post("/v1/chat/completions", json={"model": "support", "messages": messages})
        seen.append(r.text)
        return r.json()

    warranty = ask("How long is the frame warranty?")
    assert "5" in warranty["choices"][0]["message"]["content"]  # the shop's own fact, from its own documents
    ask("Do you sell skateboards?")  # nothing in the documents: an honest decline
    ask("hello!")  # small talk
    ask("what's the weather tomorrow")  # off-topic: the guardrails' polite refusal
    ask("hmm")  # clarify
    handed = ask("I want a human please")
    assert handed["handoff"] is True
    assert "Spoke & Chain" in ask("do you like zebras?")["choices"][0]["message"]["content"]  # fallback
    ask("退货政策是什么？")  # Chinese texts too
    seen.append(client.post("/v1/chat/completions", json={"model": "nope", "messages": []}).text)  # API error
    for path in ("/widget", "/widget/example", "/"):
        page = client.get(path)
        assert page.status_code == 200, path
        seen.append(page.text)
    widget = client.post("/widget/api/chat", json={"message": "How long is the frame warranty?"})
    seen.append(widget.text)
    sid = json.loads(widget.text.split("\n\n")[0][6:])["session_id"]
    seen.append(client.post("/widget/api/handoff", json={"session_id": sid}).text)
    ticket_view = runtime.handoff.queue()
    seen += [json.dumps(t.as_dict(), ensure_ascii=False) for t in ticket_view]
    assert ticket_view, "the hand-off opened a ticket"

    everything = "\n".join(seen).lower()
    found = [w for w in DEMO_WORDS if w in everything]
    assert not found, f"demo shop text on a customer path: {found}"
    assert "spoke &amp; chain" in everything or "spoke & chain" in everything
