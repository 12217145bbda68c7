"""Copywriter studio handlers on FakeBackend: variants table with limit counters and scores, feedback, CSV, A/B."""

from __future__ import annotations

import pandas as pd
import pytest

from assistant.errors import InputError
from assistant.web import copywriter

HEADLINES = ["Aurora Linen, Softer Nights", "Aurora Home Linen Bedding", "Sleep Cool in Aurora Linen",
             "Aurora Washed Linen Covers", "Linen by Aurora Home"]
DESCRIPTIONS = ["Stonewashed linen that gets softer with every wash. Free returns for 30 days.",
                "Breathable European flax for warm nights. Order today, delivered in 2-4 days.",
                "Calm colours, honest linen and free 30-day returns from Aurora Home.",
                "A duvet cover that feels lived-in from night one. See the colours online.",
                "Made of washed linen, sized for real beds. Aurora Home ships in 2 days."]


def numbered(items):
    return "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1)) + "\n"


def make_variants(runtime, n=3):
    runtime.backend.queue(numbered(HEADLINES), numbered(DESCRIPTIONS))
    return copywriter.generate(runtime, "agent", "Washed linen duvet cover", "soft, breathable", "", "warm", "",
                               "linen", "", "google_rsa", "en", n)


def test_generate_shows_ranked_variants_with_counters_scores_and_csv(fake_runtime):
    table, status, state, csv = make_variants(fake_runtime)
    assert len(table) == 3 and list(table["rank"]) == [1, 2, 3]
    assert {"headline", "headline length", "description", "score total"} <= set(table.columns)
    used, limit = table["headline length"].iloc[0].split("/")
    assert int(used) == len(table["headline"].iloc[0]) and int(limit) == 30
    assert "3 of 3" in status and len(state["variants"]) == 3
    assert pd.read_csv(csv, encoding="utf-8-sig")["headline"].tolist() == table["headline"].tolist()


def test_thumbs_and_inline_edits_are_stored(fake_runtime):
    table, _, state, _ = make_variants(fake_runtime)
    assert "👍 saved for variant 2" in copywriter.feedback(fake_runtime, 1, "agent", state, table, 2)
    edited = table.copy()
    edited.loc[0, "headline"] = "Aurora Linen for Calm Nights"
    assert "with your edit" in copywriter.feedback(fake_runtime, -1, "admin", state, edited, 1)
    message, state, _ = copywriter.save_edits(fake_runtime, "agent", state, edited)
    assert "Saved 1 edited variant" in message and state["variants"][0]["headline"] == "Aurora Linen for Calm Nights"
    rows = copywriter.feedback_store(fake_runtime).rows()
    assert [r.rating for r in rows] == [1, -1, 0] and rows[1].edited_json and rows[2].edited_json
    with pytest.raises(InputError):
        copywriter.feedback(fake_runtime, 1, "agent", state, table, 9)
    with pytest.raises(InputError):
        copywriter.feedback(fake_runtime, 1, "agent", None, None, 1)


def test_bad_briefs_and_ab_calculator(fake_runtime):
    with pytest.raises(InputError):
        copywriter.generate(fake_runtime, "agent", "", "", "", "", "", "", "", "google_rsa", "auto", 3)
    result = copywriter.ab_test(1000, 50, 1000, 90)
    assert "winner: B" in result
    with pytest.raises(InputError):
        copywriter.ab_test(1000, 50, 1000, 2000)


def test_the_studio_needs_a_staff_login(fake_runtime):
    """It drives the LLM for minutes and writes training feedback: no anonymous use, checked on the server."""
    fake_runtime.backend.queue(numbered(HEADLINES), numbered(DESCRIPTIONS))
    for role in (None, "", "customer"):
        with pytest.raises(InputError, match="log in"):
            copywriter.generate(fake_runtime, role, "Linen duvet", "", "", "", "", "", "", "google_rsa", "en", 3)
        with pytest.raises(InputError, match="log in"):
            copywriter.feedback(fake_runtime, 1, role, {"brief": {}, "variants": [{"headline": "x"}]}, None, 1)
        with pytest.raises(InputError, match="log in"):
            copywriter.save_edits(fake_runtime, role, {"brief": {}, "variants": [{"headline": "x"}]}, None)
    assert fake_runtime.backend.calls == []  # nothing reached the model
