"""bench/reader_weights.py on made-up readings: the decision per question, the fit and the shop-against-shop report."""

from __future__ import annotations

from bench import reader_weights as rw
from knowledge_base.reading_weights import FEATURES


def item(decline: bool, odds: list[float], states: int | None) -> dict:
    sentences = []
    for rank, o in enumerate(odds):
        f = dict.fromkeys(FEATURES, 0.0)
        f.update(log_odds=o, rank=float(rank))
        sentences.append({"text": f"s{rank}", "states": rank == states, "log_odds": o, "features": f})
    return {"id": "q", "kind": "unanswerable" if decline else "prose_fact", "question": "?", "decline": decline,
            "sentences": sentences}


def shop() -> list[dict]:
    # answers far down the ranking with a sure YES, near misses at the top with a hesitant one
    return ([item(False, [0.3, -3, -3, 4.0, -3], 3) for _ in range(6)]
            + [item(False, [4.0, -3, -3, -3, -3], 0) for _ in range(6)]
            + [item(True, [0.3, -3, -3, -3, -3], None) for _ in range(6)])


def test_decide_takes_the_first_sentence_that_counts():
    r = rw.decide(shop(), lambda s: s["log_odds"] > 0)
    # the hesitant YES at the top answers wrongly and answers the unanswerables
    assert r == {"answered_right": 6, "answerable": 12, "declined": 0, "unanswerable": 6}


def test_weighed_reading_fitted_on_one_shop_beats_the_plain_yes_on_the_other():
    report = rw.measure({"dev": shop(), "dev2": shop()})
    for test in ("dev", "dev2"):
        base, weighed = report[test]["baseline"], report[test]["weighed_0.4"]
        assert base["answered_right_share"] == 0.5 and base["declined_share"] == 0.0
        assert weighed["answered_right_share"] == 1.0 and weighed["declined_share"] == 1.0
    weights = rw.fit(shop(), 0.4, ["dev"])
    assert weights.weights["log_odds"] > 0 and weights.fitted_on == ["dev"]
