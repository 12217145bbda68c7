"""Exports (JSON, CSV, Google Ads Editor), feedback -> fine-tuning rows, and the segment e-mail."""

from __future__ import annotations

import csv
import json

import pytest

from assistant.adcopy import Brief, FeedbackStore, generate_email, write_result
from assistant.adcopy.export import GOOGLE_ADS_COLUMNS, google_ads_rows
from assistant.adcopy.generator import GenerationResult, Variant
from assistant.errors import InputError
from assistant.storage import get_engine


def rsa_result(n_heads: int) -> GenerationResult:
    variants = [Variant({"headline": f"Aurora head {i}", "description": f"Aurora linen, line {i % 5}.",
                         "path1": "linen", "path2": "sheets"}, {"fit": 1.0, "total": 0.9 - i / 100}, i + 1)
                for i in range(n_heads)]
    return GenerationResult("google_rsa", variants, n_heads, n_heads)


def test_json_has_the_cli_contract_shape(tmp_path):
    (path,) = write_result(rsa_result(2), tmp_path / "out.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["channel"] == "google_rsa"
    assert data["variants"][0]["fields"]["headline"] == "Aurora head 0"
    assert data["variants"][0]["scores"]["fit"] == 1.0


def test_csv_one_row_per_variant_plus_google_ads_editor_file(tmp_path):
    paths = write_result(rsa_result(17), tmp_path / "out.csv")
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8-sig")))
    assert len(rows) == 17 and rows[0]["headline"] == "Aurora head 0" and rows[0]["rank"] == "1"
    assert paths[1].name == "out.google_ads.csv"
    ads = list(csv.DictReader(paths[1].open(encoding="utf-8")))
    assert list(ads[0]) == GOOGLE_ADS_COLUMNS
    assert len(ads) == 2  # 17 headlines -> one ad of 15 and one of 2
    assert ads[0]["Headline 15"] == "Aurora head 14" and ads[1]["Headline 1"] == "Aurora head 15"
    assert ads[0]["Description 4"] and not ads[0].get("Description 5")
    assert ads[0]["Path 1"] == "linen" and ads[0]["Ad type"] == "Responsive search ad"
    with pytest.raises(InputError, match="google_rsa"):
        google_ads_rows(GenerationResult("weibo", [], 1, 0))
    with pytest.raises(InputError, match=".csv or .json"):
        write_result(rsa_result(1), tmp_path / "out.xlsx")


def test_feedback_becomes_sft_rows_and_preference_pairs(tmp_path):
    store = FeedbackStore(get_engine(url=f"sqlite:///{tmp_path / 'fb.db'}"))
    brief = Brief(product="linen sheets", channel="google_rsa", n=3, language="en")
    store.record(brief, {"headline": "Aurora linen sheets"}, rating="up", generation_id="g1")
    store.record(brief, {"headline": "Linen. Buy."}, rating="down", generation_id="g1")
    store.record(brief, {"headline": "Aurora sheets"}, edited="Aurora cool linen sheets", generation_id="g1")
    with pytest.raises(InputError, match="rating"):
        store.record(brief, {"headline": "x"}, rating="meh")
    with pytest.raises(InputError, match="needs a rating"):
        store.record(brief, {"headline": "x"})
    counts = store.export(tmp_path / "sft.jsonl")
    sft = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = [json.loads(line) for line in (tmp_path / "sft.pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert counts["sft"] == 2 and counts["feedback"] == 3
    assert {r["output"] for r in sft} == {"1. Aurora linen sheets", "1. Aurora cool linen sheets"}
    assert all(set(r) == {"instruction", "input", "output"} and "headline" in r["instruction"] for r in sft)
    chosen_rejected = {(p["chosen"], p["rejected"]) for p in pairs}
    assert ("1. Aurora cool linen sheets", "1. Aurora sheets") in chosen_rejected  # the edit beats its original
    assert ("1. Aurora linen sheets", "1. Linen. Buy.") in chosen_rejected  # liked beats disliked
    assert all(p["prompt"] == p["instruction"] for p in pairs)


def test_feedback_that_breaks_a_rule_or_states_new_facts_trains_nothing(tmp_path):
    """A person's edit or 👍 is not checked when it is made: an ad-law word, an over-long text, a price the brief
    never stated or a derived path field must not become an example the next adapter learns from."""
    from assistant.adcopy.brand import parse_brand

    store = FeedbackStore(get_engine(url=f"sqlite:///{tmp_path / 'fb.db'}"))
    brief = Brief(product="白瓷盖碗", channel="weibo", n=1, language="zh")
    store.record(brief, {"text": "白瓷盖碗，釉面温润"}, edited="全网最低价！最好的白瓷盖碗", generation_id="g1")
    store.record(brief, {"text": "白瓷盖碗，68元，满99元包邮"}, rating="up", generation_id="g1")
    store.record(brief, {"text": "白瓷盖碗，30天无理由退换"}, rating="up", generation_id="g1")  # the brand's fact
    store.record(brief, {"text": "白瓷盖碗，釉面温润，适合泡绿茶"}, rating="up", generation_id="g1")
    rsa = Brief(product="linen sheets", channel="google_rsa", n=1, language="en")
    store.record(rsa, {"path1": "Linen", "headline": "Aurora Linen Sheets For Every Bedroom In Your Home"},
                 rating="up", generation_id="g2")
    brand = parse_brand({"name": "Aurora", "facts": {"zh": ["30天无理由退换"]}})
    counts = store.export(tmp_path / "sft.jsonl", brand=brand)
    outputs = [json.loads(line)["output"] for line in (tmp_path / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
    assert outputs == ["1. 白瓷盖碗，30天无理由退换", "1. 白瓷盖碗，釉面温润，适合泡绿茶"]
    assert counts["left_out"] == {"breaks a lint rule": 1, "states a fact the brief does not": 1,
                                  "derived field": 1, "over the limit": 1}
    pairs = (tmp_path / "sft.pairs.jsonl").read_text(encoding="utf-8")
    assert "全网最低价" not in pairs  # not the chosen side of a pair either


def test_generate_email_for_a_segment(make_gen, numbered):
    gen, backend = make_gen(
        numbered("Your linen, softer", "Linen for cooler nights"),
        numbered("Aurora linen sheets are back, in calm colours you know.",
                 "From Aurora: the linen you liked last winter, now lighter."),
        numbered("Shop linen", "See the colours"),
        "Hi there,\n\nThe Aurora linen sheets you asked about are back.\n\nWarm regards, Aurora Home",
    )
    draft = generate_email(None, "customers who bought bedding last winter", "linen sheets", "en",
                           generator=gen, candidates=2)
    assert draft.subject in ("Your linen, softer", "Linen for cooler nights")
    assert "Aurora" in draft.preheader and draft.cta in ("Shop linen", "See the colours")
    assert draft.body.startswith("Hi there") and "customers who bought bedding" in backend.calls[-1]["messages"][-1].content
    assert len(draft.alternatives) == 1
    with pytest.raises(InputError, match="segment"):
        generate_email(None, " ", "linen", generator=gen)
