"""The planted-claim sets the ad-copy bench scores: each file on disk is scored, and each is well formed (a row of
the feed, a kind, a clean asset and the same asset with one planted claim). Structure only: no figures."""

from __future__ import annotations

import yaml

from bench.adcopy import FEED_DIR, PLANTED_SETS, planted_claims


def test_every_planted_set_on_disk_is_scored_and_well_formed():
    on_disk = {p.stem for p in FEED_DIR.glob("planted_claims*.yaml")}
    assert on_disk == set(PLANTED_SETS)
    rows = {line.split(",", 1)[0] for line in (FEED_DIR / "products.csv").read_text(encoding="utf-8").splitlines()[1:]}
    for name in PLANTED_SETS:
        if name.endswith("heldout"):  # held-out data is scored by the bench only, not read by tests
            continue
        pairs = yaml.safe_load((FEED_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        for pair in pairs:
            assert pair["row"] in rows and isinstance(pair["kind"], str) and pair["kind"], (name, pair)
            assert pair["clean"].strip() and pair["planted"].strip() and pair["clean"] != pair["planted"], (name, pair)


def test_the_scoring_counts_hits_and_false_alarms_per_set(tmp_path, monkeypatch):
    """A stand-in checker that flags only the word 'invented': recall and false alarms follow from it."""
    (tmp_path / "products.csv").write_text((FEED_DIR / "products.csv").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "planted_claims_x.yaml").write_text(
        "- {row: EN001, kind: feature, clean: 'linen cover', planted: 'linen cover, invented'}\n"
        "- {row: EN002, kind: origin, clean: 'towel, invented', planted: 'towel, made up'}\n", encoding="utf-8")
    monkeypatch.setattr("bench.adcopy.FEED_DIR", tmp_path)
    monkeypatch.setattr("bench.adcopy.generated_copy_flags", lambda checker, products: {})

    class Flags:
        def sources(self, *texts):
            return texts

        def unsupported(self, text, sources):
            return ["invented"] if "invented" in text else []

        def novel_words(self, text, sources):
            return []

    out = planted_claims(Flags(), names=("planted_claims_x",))["planted_claims_x"]
    assert (out["recall_pct"], out["false_alarm_pct"]) == (50.0, 50.0)
    assert out["missed"] == ["towel, made up"] and out["false_alarms"] == ["towel, invented"]


def test_labelled_generated_items_are_well_formed_and_scored_per_language():
    """The model's own first-pass items, labelled blind: each names a feed row and its channel, its labels are
    substrings of its text; the scoring counts an item as found/false alarm by whether the checker flags it."""
    from bench.adcopy_generated import LABELS, score

    rows = {line.split(",", 1)[0] for line in (FEED_DIR / "products.csv").read_text(encoding="utf-8").splitlines()[1:]}
    items = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    assert len(items) >= 100
    for item in items:
        assert item["row"] in rows and item["channel"] and item["text"].strip(), item
        assert all(span in item["text"] for span in item["unsupported"]), item

    class Flags:  # flags only the word "invented"
        def sources(self, *texts):
            return texts

        def unsupported(self, text, sources):
            return ["invented"] if "invented" in text else []

    got = score([{"row": "EN001", "channel": "sms", "text": "linen, invented", "unsupported": ["invented"]},
                 {"row": "EN002", "channel": "sms", "text": "towel, invented", "unsupported": []},
                 {"row": "EN002", "channel": "sms", "text": "towel", "unsupported": []},
                 {"row": "ZH001", "channel": "weibo", "text": "亚麻，made up", "unsupported": ["made up"]}], Flags())
    assert got["en"]["recall_pct"] == 100.0 and got["en"]["false_alarm_pct"] == 50.0
    assert got["zh"]["recall_pct"] == 0.0 and got["zh"]["false_alarm_pct"] is None
    assert got["all"]["items"] == 4 and len(got["missed"]) == 1 and len(got["false_alarms"]) == 1
