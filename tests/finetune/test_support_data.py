"""`python -m finetune support-data`: grounded-answer pairs in the knowledge base's own prompt, both languages,
answers and NOT_FOUND, held-out facts kept apart, public FAQ sets optional."""

from __future__ import annotations

import csv
import json

import pytest

from assistant.shop import Shop, ShopConfig
from finetune import dataset
from finetune.support_data import QUESTIONS_FILE, Sentence, build, load_kb, spec_pair, table_pairs
from knowledge_base.answer import NOT_FOUND
from knowledge_base.grounding import numbers_in
from tests.conftest import REPO, run_module

SHOP = {"en": "Test Shop", "zh": "测试店"}
DEMO = REPO / "knowledge_base" / "demo"


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("sd")
    report = build([DEMO], out / "train.jsonl", SHOP, [QUESTIONS_FILE], heldout_output=out / "heldout.jsonl",
                   heldout_fraction=0.2)
    return report, _rows(out / "train.jsonl"), _rows(out / "heldout.jsonl")


def test_both_languages_answers_and_not_found(demo_rows):
    report, train, heldout = demo_rows
    assert report.train == len(train) and report.heldout == len(heldout) > 0
    rows = train + heldout
    for lang in ("en", "zh"):
        mine = [r for r in rows if r["lang"] == lang]
        kinds = {r["kind"] for r in mine}
        assert {"faq", "yes_no", "cross_language", "not_found", "prose", "spec"} <= kinds, (lang, kinds)
        negatives = [r for r in mine if r["messages"][-1]["content"] == NOT_FOUND]
        assert 0.15 < len(negatives) / len(mine) < 0.6
    no_answers = [r for r in rows if r["kind"] == "yes_no" and r["messages"][-1]["content"].startswith(("No", "不"))]
    assert len(no_answers) >= 10  # "no" per the evidence: the bare model tends to say yes


def test_prompt_is_the_answerers_and_answers_state_only_evidence_figures(demo_rows):
    _, train, heldout = demo_rows
    shop = Shop(ShopConfig(name=SHOP))
    for row in train + heldout:
        system, user, assistant = row["messages"]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        lang = row["lang"]
        if row["kind"] == "cross_language" and "\n\n" not in system["content"]:
            # A curated FAQ row in the other language: the Answerer asks for a translation of the row.
            assert "Translate" in system["content"] and assistant["content"] != NOT_FOUND
            assert not numbers_in(assistant["content"]) - numbers_in(user["content"])
            continue
        prompt, facts = system["content"].split("\n\n", 1)
        assert prompt == shop.text("answer_prompt", lang)
        heading, *lines = facts.split("\n")
        assert heading == ("资料:" if lang == "zh" else "Facts:")
        assert lines and all(line.startswith("- ") for line in lines) and len(lines) <= 3
        answer = assistant["content"]
        assert answer == NOT_FOUND or not (numbers_in(answer) - numbers_in(facts + user["content"])), row
        assert answer == NOT_FOUND or "NOT_FOUND" not in row["gold"]
        dataset.parse_record(row, "row")  # loads in the trainer as is


def test_held_out_facts_never_reach_the_training_file(demo_rows):
    _, train, heldout = demo_rows
    assert not {r["group"] for r in train} & {r["group"] for r in heldout}


def test_the_prompt_comes_from_the_product_answerer(tmp_path):
    """Rendering goes through knowledge_base.answer.Answerer.messages: a changed prompt changes the rows."""
    from knowledge_base.answer import Answerer

    calls = []
    original = Answerer.messages

    def spy(self, lookup, question, history=()):
        calls.append(question)
        return original(self, lookup, question, history)

    Answerer.messages = spy
    try:
        build([DEMO / "products"], tmp_path / "t.jsonl", SHOP)
    finally:
        Answerer.messages = original
    assert calls and len(calls) == len(_rows(tmp_path / "t.jsonl"))


def test_spec_lines_and_tables_become_questions():
    sentences = load_kb([DEMO / "products" / "nordlys-oak-dining-table.md", DEMO / "policies" / "warranty.zh.md"])
    weight = next(s for s in sentences if s.text.startswith("Weight:"))
    pair = spec_pair(weight, SHOP)
    assert pair.question == "What is the weight of the Nordlys Oak Dining Table?"
    assert "38 kg" in pair.answer
    assert spec_pair(Sentence(weight.evidence, "g", "en"), SHOP) is not None
    table = {p.question: p.answer for p in table_pairs(sentences, SHOP)}
    assert table["床垫的保修期是多久？"] == "床垫的保修期是10 年。"


def _write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_shared_faq_sets_are_optional(tmp_path, caplog):
    shared = tmp_path / "shared"
    _write_csv(shared / "stackfaq" / "faq_corpus.csv", ["faq_id", "question", "answer", "all_answers"],
               [["sf1", "How do I undo a git commit?", "Run git reset HEAD~1 to undo the last commit.", "[]"]])
    _write_csv(shared / "stackfaq" / "dev_queries.csv", ["query", "faq_id"], [["revert my last commit", "sf1"]])
    _write_csv(shared / "afqmc" / "train_pairs.csv", ["idx", "sentence1", "sentence2", "label"],
               [["1", "花呗怎么开通分期付款", "借呗还款日是哪一天", "0"]])
    rows = _rows(tmp_path / "t.jsonl") if build([DEMO], tmp_path / "t.jsonl", SHOP, shared_data=shared) else []
    assert any(r["kind"] == "paraphrase" and r["messages"][1]["content"] == "revert my last commit" for r in rows)
    assert any(r["source"] == "afqmc" and r["messages"][-1]["content"] == NOT_FOUND for r in rows)
    build([DEMO], tmp_path / "u.jsonl", SHOP, shared_data=tmp_path / "absent")
    assert "no shared data" in caplog.text
    assert _rows(tmp_path / "u.jsonl")


def test_cli_help_and_a_tiny_run(tmp_path):
    out = run_module("finetune", "support-data", "--help")
    assert out.returncode == 0
    for flag in ("--output", "--kb-folder", "--shared-data", "--heldout-output", "--questions"):
        assert flag in out.stdout
    assert "support-data" in run_module("finetune", "--help").stdout
    target = tmp_path / "pairs.jsonl"
    done = run_module("finetune", "support-data", "--kb-folder", str(DEMO / "products"), "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert "training rows" in done.stdout and _rows(target)
    bad = run_module("finetune", "support-data", "--output", str(target), "--kb-folder", str(tmp_path / "none"))
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_two_command_recipe_trains_a_support_adapter(tmp_path):
    """support-data then train, as docs/finetune.md says, on SmolLM2 (English rows, 2 steps): the adapter
    learns from the pairs (eval loss falls) and is registered for `support`."""
    from assistant.cli_support import run_cli
    from assistant.llm.adapter_registry import get_adapter
    from finetune.__main__ import main

    pairs, registry = tmp_path / "pairs.jsonl", tmp_path / "registry.json"
    assert main(["support-data", "--kb-folder", str(DEMO / "policies"), "--kb-folder", str(DEMO / "faq.csv"),
                 "--output", str(pairs)]) == 0
    english = tmp_path / "en.jsonl"
    english.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows(pairs)
                               if r["lang"] == "en"), encoding="utf-8")
    code = run_cli(main, ["train", "--base-model", "smollm2-135m", "--task", "support", "--data", str(english),
                          "--output", str(tmp_path / "adapter"), "--max-steps", "2", "--max-seq-len", "256",
                          "--learning-rate", "0.002", "--target-modules", "q_proj,v_proj", "--num-samples", "0",
                          "--metric-examples", "0", "--export-gguf", "false", "--registry", str(registry),
                          "--no-progress"])
    assert code == 0
    record = get_adapter("support", "smollm2-135m", registry)
    assert record.metrics["eval_loss_after"] < record.metrics["eval_loss_before"]
