"""Data formats, malformed-line errors, chat-template masking, packing and PII redaction."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from finetune import dataset
from finetune.data import demo_path
from tests.finetune.conftest import write_jsonl


def test_three_formats_parse_to_the_same_conversation(tmp_path):
    rows = [
        {"instruction": "Hours?", "input": "", "output": "9:00-21:00", "system": "S"},
        {"conversations": [{"from": "human", "value": "Hours?"}, {"from": "gpt", "value": "9:00-21:00"}], "system": "S"},
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hours?"},
                      {"role": "assistant", "content": "9:00-21:00"}], "gold": "9:00"},
    ]
    examples = dataset.load_jsonl(write_jsonl(tmp_path / "d.jsonl", rows))
    assert [e.messages for e in examples] == [examples[0].messages] * 3
    assert examples[2].gold == ["9:00"] and examples[2].line == 3


def test_alpaca_input_is_appended_to_the_instruction():
    ex = dataset.parse_record({"instruction": "Write copy", "input": "oak table", "output": "x"}, "t")
    assert ex.messages[0] == {"role": "user", "content": "Write copy\n\noak table"}


@pytest.mark.parametrize("line, message", [
    ('{"instruction": "x"}', "no 'output'"),
    ('{"messages": [{"role": "robot", "content": "hi"}]}', "role"),
    ('{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}', "last turn"),
    ('{"text": "plain"}', "unknown format"),
    ('{"instruction": "q", "output": "a", "gold": 3}', "gold"),
    ('{"instruction": "q", "output": "a"', "not valid JSON"),
    ('[1, 2]', "JSON object"),
])
def test_malformed_line_names_its_line_number(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "ok", "output": "fine"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"bad\.jsonl line 3: .*{message}"):
        dataset.load_jsonl(path)


def test_missing_and_empty_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        dataset.load_jsonl(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="no examples"):
        dataset.load_jsonl(tmp_path / "empty.jsonl")


def test_shipped_demo_data_parses_and_is_bilingual():
    for task in ("support", "adcopy"):
        examples = dataset.load_jsonl(demo_path(task))
        text = " ".join(m["content"] for e in examples for m in e.messages)
        assert len(examples) >= 20
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text) and "Aurora Home" in text
    support = dataset.load_jsonl(demo_path("support"))
    assert sum(bool(e.gold) for e in support) >= 50
    # every gold fact is in its own reference answer, or the metric would be unfair
    assert all(any(g.lower() in e.messages[-1]["content"].lower() for g in e.gold) for e in support if e.gold)
    for e in dataset.load_jsonl(demo_path("adcopy")):
        assert len(e.messages[-1]["content"]) <= e.max_chars


def test_shipped_support_facts_are_the_knowledge_bases():
    """An adapter must not learn policies that contradict the KB the chat cites (e.g. another free-shipping
    threshold): every figure in a gold fact appears verbatim in knowledge_base/demo."""
    import re
    from pathlib import Path

    kb_dir = Path(__file__).resolve().parents[2] / "knowledge_base" / "demo"
    kb = " ".join(p.read_text(encoding="utf-8") for p in kb_dir.rglob("*") if p.is_file())
    figures = {g for e in dataset.load_jsonl(demo_path("support")) for g in e.gold if re.search(r"\d", g)}
    assert len(figures) >= 30
    assert sorted(g for g in figures if g not in kb) == []


def test_only_assistant_tokens_carry_loss(tiny_tokenizer):
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hours?"},
            {"role": "assistant", "content": "9 to 21"}, {"role": "user", "content": "sunday?"},
            {"role": "assistant", "content": "yes"}]
    ids, labels = dataset.encode(tiny_tokenizer, msgs)
    assert len(ids) == len(labels)
    learned = tiny_tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab != dataset.IGNORE])
    assert learned == "9 to 21<|im_end|>\nyes<|im_end|>\n"
    assert tiny_tokenizer.decode(ids) == tiny_tokenizer.apply_chat_template(msgs, tokenize=False)


def test_packing_fills_rows_without_losing_tokens_and_restarts_positions():
    encoded = [([7] * n, [dataset.IGNORE] * (n // 2) + [7] * (n - n // 2)) for n in (50, 40, 30, 20, 90, 60)]
    rows = dataset.pack(encoded, 100)
    assert all(len(r.input_ids) <= 100 for r in rows)
    assert sum(len(r.input_ids) for r in rows) == 290
    assert len(rows) == 3  # 290 tokens need at least 3 rows of 100
    for r in rows:
        starts = [i for i, p in enumerate(r.position_ids) if p == 0]
        assert len(starts) == r.n_examples
        assert all(r.labels[i] == dataset.IGNORE for i in starts)
    assert len(dataset.pack(encoded, 100, packing=False)) == 6


def test_packed_rows_do_not_attend_across_examples(tiny_model, tiny_tokenizer):
    """An example's logits are the same alone and packed after another one (block-diagonal attention)."""
    import torch

    a = dataset.encode(tiny_tokenizer, [{"role": "user", "content": "first question"},
                                        {"role": "assistant", "content": "first answer"}])
    b = dataset.encode(tiny_tokenizer, [{"role": "user", "content": "second"},
                                        {"role": "assistant", "content": "reply"}])
    (row,) = dataset.pack([a, b], 256)
    assert row.input_ids == a[0] + b[0]  # longest first
    batch = {k: v for k, v in dataset.collate([row], 0, True).items() if k != "labels"}
    tiny_model.eval()
    with torch.no_grad():
        packed = tiny_model(**batch, use_cache=False).logits
        alone = [tiny_model(input_ids=torch.tensor([ids])).logits for ids, _ in (a, b)]
    torch.testing.assert_close(packed[:, : len(a[0])], alone[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(packed[:, len(a[0]):], alone[1], atol=1e-4, rtol=1e-4)


def test_split_is_seeded_and_keeps_an_eval_example():
    examples = [dataset.Example([{"role": "assistant", "content": str(i)}]) for i in range(10)]
    t1, e1 = dataset.split(examples, 0.2, seed=1)
    t2, e2 = dataset.split(examples, 0.2, seed=1)
    assert [e.messages for e in e1] == [e.messages for e in e2] and len(e1) == 2 and len(t1) == 8
    with pytest.raises(InputError):
        dataset.split(examples[:1], 0.2, seed=1)


def test_pii_is_redacted_before_training():
    examples = [dataset.Example([{"role": "user", "content": "I am anna.li@example.com, call +1 415 555 0100"},
                                 {"role": "assistant", "content": "Orders over 49 USD ship free."}])]
    changed = dataset.redact_examples(examples)
    text = examples[0].messages[0]["content"]
    assert changed == 1
    assert "anna.li@example.com" not in text and "555 0100" not in text
    assert examples[0].messages[1]["content"] == "Orders over 49 USD ship free."  # prices survive


def test_lines_end_at_newlines_only_and_bad_bytes_name_their_line(tmp_path):
    # json.dumps(ensure_ascii=False) writes U+2028 raw inside a string: still one JSONL line, one example.
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "a\u2028b", "output": "c"}\n', encoding="utf-8")
    assert len(dataset.load_jsonl(path)) == 1
    path.write_bytes(b'{"instruction": "a", "output": "b"}\n{"instruction": "\xd6\xd0", "output": "c"}\n')
    with pytest.raises(InputError, match=r"not UTF-8 .*line 2"):
        dataset.load_jsonl(path)
