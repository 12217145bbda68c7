"""Learning from unpaired thumbs (finetune/kto.py): KTO through TRL on our PeftModel, SFT-only on our loop."""

from __future__ import annotations

import pytest
import torch

from assistant.errors import ConfigError
from finetune.kto import Judged, KTOConfig, encode_judged, logp_margin, train_on_feedback, undesirable_weight


def _items(n: int = 8) -> list[Judged]:
    out = []
    for i in range(n):
        prompt = [{"role": "system", "content": "Write one headline."}, {"role": "user", "content": f"headline {i}"}]
        out += [Judged(prompt, "yes good", True, str(i)), Judged(prompt, "no bad", False, str(i))]
    return out


def _wrapped(model):
    from finetune.config import FinetuneConfig
    from finetune.methods import wrap

    return wrap(model, FinetuneConfig(r=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "o_proj", "up_proj",
                                                                             "down_proj"]), 10)


def test_config_is_checked():
    with pytest.raises(ConfigError, match="batch_size must be >= 2 for kto"):
        KTOConfig(batch_size=1)
    KTOConfig(objective="sft", batch_size=1)
    with pytest.raises(ConfigError, match="objective"):
        KTOConfig(objective="dpo")
    with pytest.raises(ConfigError, match="beta"):
        KTOConfig(beta=0)


def test_class_balance_follows_the_kto_paper():
    assert undesirable_weight(KTOConfig(), [True] * 6 + [False] * 2) == 3.0  # λ_U·n_U = λ_D·n_D
    assert undesirable_weight(KTOConfig(undesirable_weight=0.5), [True, False]) == 0.5
    assert undesirable_weight(KTOConfig(), [True, True]) == 1.0


def test_prompt_and_completion_come_from_the_training_template(tiny_tokenizer):
    from finetune.dataset import encode

    item = _items(1)[0]
    [enc] = encode_judged(tiny_tokenizer, [item], 256)
    ids, labels = encode(tiny_tokenizer, item.messages)
    assert enc.prompt_ids + enc.completion_ids == ids
    assert labels[len(enc.prompt_ids) - 1] == -100 and labels[len(enc.prompt_ids)] == ids[len(enc.prompt_ids)]
    assert tiny_tokenizer.decode(enc.completion_ids) == "yes good<|im_end|>\n"


def test_trl_tokenises_exactly_as_our_training_does(tiny_model, tiny_tokenizer, tmp_path):
    """TRL's KTOTrainer tokenises its own dataset: it must see the ids `finetune.dataset.encode` makes (the ids
    tested against llama.cpp's serving prompt)."""
    trl = pytest.importorskip("trl")
    from datasets import Dataset

    items = _items(3)
    rows = [{"prompt": i.prompt, "completion": [{"role": "assistant", "content": i.completion}],
             "label": i.desirable} for i in items]
    args = trl.KTOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, report_to="none", bf16=False,
                         gradient_checkpointing=False, use_cpu=True)
    trainer = trl.KTOTrainer(model=_wrapped(tiny_model), args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=tiny_tokenizer)
    ours = encode_judged(tiny_tokenizer, items, 256)
    for theirs, mine in zip(trainer.train_dataset, ours, strict=True):
        assert theirs["prompt_ids"] == mine.prompt_ids and theirs["completion_ids"] == mine.completion_ids


def _first_loss(model, tok, items) -> list[float]:
    seen = []
    train_on_feedback(model, tok, items, KTOConfig(max_steps=2, batch_size=8, learning_rate=1e-3),
                      progress=lambda s, n, loss: seen.append(loss))
    return seen


def test_kto_reference_is_the_model_as_training_starts(tiny_model, tiny_tokenizer, tmp_path):
    """Policy = reference at step 1: every example costs 1 - σ(0) = 0.5 (balanced classes) — for a new LoRA
    (reference: the adapter disabled) and for a served adapter being continued (reference: that adapter)."""
    pytest.importorskip("trl")
    from peft import PeftModel

    from tests.finetune.conftest import make_tiny_model

    model = _wrapped(tiny_model)
    assert _first_loss(model, tiny_tokenizer, _items())[0] == pytest.approx(0.5, abs=1e-5)
    train_on_feedback(model, tiny_tokenizer, _items(), KTOConfig(objective="sft", max_steps=10, batch_size=8,
                                                                 learning_rate=3e-2))
    served = tmp_path / "served"
    model.save_pretrained(served)  # now a trained adapter, far from the base
    resumed = PeftModel.from_pretrained(make_tiny_model(tiny_tokenizer), str(served), is_trainable=True)
    with resumed.disable_adapter():  # the continued adapter is far from the base: a base reference would not be 0.5
        base_margin = logp_margin(resumed, tiny_tokenizer, _items())
    assert logp_margin(resumed, tiny_tokenizer, _items())["desirable"] - base_margin["desirable"] > 0.05
    assert _first_loss(resumed, tiny_tokenizer, _items())[0] == pytest.approx(0.5, abs=1e-5)
    assert list(resumed.peft_config) == ["default"]  # the reference copy is gone before saving
    assert any(p.requires_grad for n, p in resumed.named_parameters() if "lora_" in n)


@pytest.mark.parametrize("objective", ["kto", "sft"])
def test_training_moves_only_the_adapter_and_learns_the_thumbs(tiny_model, tiny_tokenizer, objective):
    if objective == "kto":
        pytest.importorskip("trl")
    model = _wrapped(tiny_model)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    lora = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    before = logp_margin(model, tiny_tokenizer, _items())
    hist = train_on_feedback(model, tiny_tokenizer, _items(), KTOConfig(objective=objective, max_steps=15, batch_size=8,
                                                                         learning_rate=2e-2, beta=1.0))
    after = logp_margin(model, tiny_tokenizer, _items())
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert any(not torch.equal(p, lora[n]) for n, p in model.named_parameters() if n in lora)
    assert hist.examples == (16 if objective == "kto" else 8) and hist.steps == 15  # sft never sees a thumbs-down
    assert len(hist.losses) == 15
    assert after["desirable"] > before["desirable"]


def test_kto_separates_liked_from_disliked_more_than_sft_at_the_same_budget(tiny_tokenizer):
    """Same model, steps, batch size and rate: only KTO uses the thumbs-down, so only it lowers the disliked text."""
    pytest.importorskip("trl")
    from tests.finetune.conftest import make_tiny_model

    got = {}
    for objective in ("sft", "kto"):
        model = _wrapped(make_tiny_model(tiny_tokenizer))
        before = logp_margin(model, tiny_tokenizer, _items())
        train_on_feedback(model, tiny_tokenizer, _items(), KTOConfig(objective=objective, max_steps=15, batch_size=8,
                                                                     learning_rate=2e-2, beta=1.0))
        got[objective] = (before, logp_margin(model, tiny_tokenizer, _items()))
    kto_before, kto_after = got["kto"]
    assert kto_after["undesirable"] < kto_before["undesirable"]
    assert kto_after["margin"] > got["sft"][1]["margin"]
