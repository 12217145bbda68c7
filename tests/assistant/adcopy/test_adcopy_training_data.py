"""The shipped headline lists become adcopy-adapter training rows in the generator's own prompt format."""

from __future__ import annotations

import json

import pytest
import yaml

from assistant.adcopy import get_channel, load_brand
from assistant.adcopy.checks import problems
from assistant.adcopy.prompts import parse_items
from assistant.adcopy.training_data import HEADLINE_LISTS, headline_rows, load_headline_lists
from assistant.errors import InputError
from tests.conftest import run_module


def test_every_shipped_row_is_a_generator_prompt_with_k_valid_headlines():
    rows = headline_rows()
    brand, spec = load_brand(), get_channel("google_rsa").field("headline")
    languages = set()
    for row in rows:
        system, user, reply = (m["content"] for m in row["messages"])
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        lang = "zh" if "只用简体中文写" in system else "en"
        languages.add(lang)
        asked = [line for line in user.splitlines() if line[:2] in {f"{i}." for i in range(1, 9)}]
        items = parse_items(reply)
        assert len(asked) == len(items) == 8
        for item in items:
            assert not problems(item, spec, lang, brand.banned(lang), brand.required(lang)), item
    assert languages == {"zh", "en"} and len(rows) >= 160


def test_no_bench_brief_product_is_in_the_training_lists():
    briefs = yaml.safe_load((HEADLINE_LISTS.parent / "demo_briefs.yaml").read_text(encoding="utf-8"))
    bench = {b["product"].lower() for b in (briefs["briefs"] if isinstance(briefs, dict) else briefs)}
    trained = {p["product"].lower() for p in load_headline_lists()}
    assert not bench & trained
    assert not any("四件套" in p or "duvet cover" in p for p in trained)  # the 15-headline bench's product


def _write(tmp_path, products) -> str:
    path = tmp_path / "lists.yaml"
    path.write_text(yaml.safe_dump({"products": products}, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_missing_angle_or_an_overlong_headline_is_named(tmp_path):
    good = {p["product"]: p for p in load_headline_lists() if p["language"] == "en" and not p.get("offer")}
    product = dict(next(iter(good.values())))
    lines = dict(product["headlines"])
    del lines["mood"]
    with pytest.raises(InputError, match="no headline for angle.*mood"):
        headline_rows(_write(tmp_path, [{**product, "headlines": lines}]))
    lines = {**product["headlines"], "detail": "Aurora " + "x" * 40}
    with pytest.raises(InputError, match="detail headline"):
        headline_rows(_write(tmp_path, [{**product, "headlines": lines}]))


def test_cli_writes_rows_that_finetune_reads_with_feedback_appended(tmp_path):
    from finetune.dataset import load_jsonl

    feedback = tmp_path / "fb.jsonl"
    feedback.write_text(json.dumps({"instruction": "Write 1 ad headline", "input": "", "output": "1. Aurora, hi"})
                        + "\n", encoding="utf-8")
    out = run_module("assistant.adcopy", "training-data", "--output", str(tmp_path / "rows.jsonl"),
                     "--feedback", str(feedback))
    assert out.returncode == 0, out.stderr
    assert "python -m finetune train --task adcopy" in out.stdout
    examples = load_jsonl(tmp_path / "rows.jsonl")
    assert len(examples) == len(headline_rows()) + 1
    missing = run_module("assistant.adcopy", "training-data", "--output", str(tmp_path / "x.jsonl"),
                         "--feedback", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and missing.stderr.strip().startswith("InputError: cannot read feedback rows")


def test_another_shops_rows_name_its_own_brand_never_the_demos():
    # every new shop's ad-copy adapter had been trained on "你是极光家居的广告文案…" and "选极光"
    import json

    from assistant.adcopy.brand import parse_brand
    from assistant.adcopy.training_data import headline_rows

    tea = parse_brand({"name": "云叶茶庄", "names": {"zh": "云叶茶庄", "en": "Leafy"}}, source="test")
    text = json.dumps(headline_rows(brand=tea), ensure_ascii=False)
    assert "极光" not in text and "Aurora" not in text
    assert "选云叶茶庄" in text and "Leafy" in text
