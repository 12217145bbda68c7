"""LoRA / AdaLoRA steps on a tiny random Llama: adapters move, the base stays frozen, ranks get pruned."""

from __future__ import annotations

import pytest
import torch

from assistant.errors import ConfigError, ModelLoadError
from finetune import dataset
from finetune.config import FinetuneConfig
from finetune.methods import adalora_ranks, adalora_schedule, get_peft_config, load_base
from finetune.trainer import plan_steps, train_adapter

QA = [("hours?", "9:00 to 21:00 every day"), ("free shipping?", "over 49 USD"), ("returns?", "within 30 days"),
      ("warranty?", "2 years on everything"), ("human?", "I will connect you"), ("hello", "Welcome to Aurora!")]


def rows_for(tok, cfg):
    encoded = [dataset.encode(tok, [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
               for q, a in QA]
    return dataset.pack(encoded[:4], cfg.max_seq_len), dataset.pack(encoded[4:], cfg.max_seq_len)


def snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_lora_step_moves_the_adapter_and_freezes_the_base(tiny_model, tiny_tokenizer, tiny_cfg, tmp_path):
    train_rows, eval_rows = rows_for(tiny_tokenizer, tiny_cfg)
    base_before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    state = train_adapter(tiny_model, tiny_tokenizer, tiny_cfg, train_rows, eval_rows, tmp_path, progress=False)
    model = state.model
    moved = [n for n, p in model.named_parameters() if "lora_B" in n and p.abs().sum() > 0]
    assert moved, "lora_B starts at zero and must have been updated"
    for name, p in model.get_base_model().named_parameters():
        if "lora_" not in name:
            clean = name.replace(".base_layer", "")
            assert not p.requires_grad
            torch.testing.assert_close(p, base_before[clean], rtol=0, atol=0)
    assert 0 < state.trainable < state.total_params / 10
    assert state.history.eval[-1][1] < state.history.eval[0][1]  # it learned the 4 training answers a bit
    assert len(state.history.train) == tiny_cfg.max_steps and state.history.tokens > 0


def test_adalora_prunes_ranks_only_through_update_and_allocate(tiny_model, tiny_tokenizer, tiny_cfg, tmp_path):
    cfg = FinetuneConfig(**{**tiny_cfg.__dict__, "method": "adalora", "max_steps": 10})
    train_rows, eval_rows = rows_for(tiny_tokenizer, cfg)
    state = train_adapter(tiny_model, tiny_tokenizer, cfg, train_rows, eval_rows, tmp_path, progress=False)
    peft_cfg = state.model.peft_config["default"]
    assert peft_cfg.total_step == 10 and peft_cfg.tinit == 1 and peft_cfg.tfinal == 2
    ranks = adalora_ranks(state.model)
    assert len(ranks) == 2 * len(cfg.target_modules)
    assert sum(ranks.values()) == cfg.r * len(ranks)  # the final budget: average rank = target r
    assert min(ranks.values()) < cfg.adalora_init_r  # some layers lost rank
    assert peft_cfg.rank_pattern  # recorded, so the saved adapter is resized to it


def test_without_update_and_allocate_adalora_keeps_every_rank(tiny_model, tiny_tokenizer, tiny_cfg, tmp_path,
                                                              monkeypatch):
    from peft.tuners.adalora import AdaLoraModel

    monkeypatch.setattr(AdaLoraModel, "update_and_allocate", lambda self, step: None)
    cfg = FinetuneConfig(**{**tiny_cfg.__dict__, "method": "adalora", "max_steps": 10})
    train_rows, eval_rows = rows_for(tiny_tokenizer, cfg)
    state = train_adapter(tiny_model, tiny_tokenizer, cfg, train_rows, eval_rows, tmp_path, progress=False)
    assert set(adalora_ranks(state.model).values()) == {cfg.adalora_init_r}


def test_resume_from_checkpoint_reproduces_the_uninterrupted_run(tiny_tokenizer, tiny_cfg, tmp_path):
    from tests.finetune.conftest import make_tiny_model

    cfg = FinetuneConfig(**{**tiny_cfg.__dict__, "max_steps": 4, "save_every": 2, "lora_dropout": 0.1})
    train_rows, eval_rows = rows_for(tiny_tokenizer, cfg)
    full = train_adapter(make_tiny_model(tiny_tokenizer), tiny_tokenizer, cfg, train_rows, eval_rows, tmp_path,
                         progress=False)
    assert (tmp_path / "checkpoint" / "state.pt").exists()
    resumed = train_adapter(make_tiny_model(tiny_tokenizer), tiny_tokenizer, cfg, train_rows, eval_rows, tmp_path,
                            resume=True, progress=False)
    assert [s for s, _ in resumed.history.train] == [1, 2, 3, 4]
    a = {n: p for n, p in full.model.named_parameters() if p.requires_grad}
    b = {n: p for n, p in resumed.model.named_parameters() if p.requires_grad}
    for name in a:
        torch.testing.assert_close(a[name], b[name])


@pytest.mark.parametrize("change", [{"r": 4}, {"target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}])
def test_resuming_with_another_adapter_shape_is_one_clear_error(tiny_tokenizer, tiny_cfg, tmp_path, change):
    """A checkpoint written before recipes were recorded, resumed with another rank or more layers: an InputError
    naming the checkpoint, not torch's size-mismatch or optimizer-group traceback."""
    from assistant.errors import InputError
    from tests.finetune.conftest import make_tiny_model

    cfg = FinetuneConfig(**{**tiny_cfg.__dict__, "max_steps": 4, "save_every": 2, "target_modules": ["q_proj"]})
    train_rows, eval_rows = rows_for(tiny_tokenizer, cfg)
    train_adapter(make_tiny_model(tiny_tokenizer), tiny_tokenizer, cfg, train_rows, eval_rows, tmp_path, progress=False)
    other = FinetuneConfig(**{**cfg.__dict__, **change})
    with pytest.raises(InputError, match="does not match this adapter config"):
        train_adapter(make_tiny_model(tiny_tokenizer), tiny_tokenizer, other, train_rows, eval_rows, tmp_path,
                      resume=True, progress=False)


def test_a_misspelt_target_module_is_refused_even_beside_a_right_one(tiny_model):
    """peft trains q_proj alone for `q_proj,v_prj` without a word; the run would not be the one asked for."""
    from finetune.methods import wrap

    with pytest.raises(ConfigError, match=r"v_prj matches no layer of this model \(its linear layers: down_proj, "):
        wrap(tiny_model, FinetuneConfig(target_modules=["q_proj", "v_prj"]), 4)
    assert wrap(tiny_model, FinetuneConfig(target_modules=["q_proj", "self_attn.v_proj"]), 4) is not None


def test_get_peft_config_is_the_one_factory():
    from peft import AdaLoraConfig, LoraConfig

    lora = get_peft_config(FinetuneConfig(r=4, lora_alpha=8, target_modules=["q_proj"]))
    assert isinstance(lora, LoraConfig) and lora.r == 4 and lora.lora_alpha == 8
    assert set(lora.target_modules) == {"q_proj"}
    ada = get_peft_config(FinetuneConfig(method="adalora", r=4, adalora_init_r=8), total_steps=100)
    assert isinstance(ada, AdaLoraConfig)
    assert (ada.total_step, ada.tinit, ada.tfinal, ada.init_r, ada.target_r) == (100, 10, 20, 8, 4)
    assert isinstance(get_peft_config(FinetuneConfig(method="qlora")), LoraConfig)
    with pytest.raises(ConfigError, match="total_steps"):
        get_peft_config(FinetuneConfig(method="adalora"))
    with pytest.raises(ConfigError, match="budgeting phase"):
        adalora_schedule(FinetuneConfig(method="adalora"), 1)


def test_steps_come_from_epochs_unless_max_steps_is_set():
    assert plan_steps(FinetuneConfig(num_epochs=2, batch_size=2), n_rows=10) == 10
    assert plan_steps(FinetuneConfig(num_epochs=2, batch_size=2, gradient_accumulation_steps=5), 10) == 2
    assert plan_steps(FinetuneConfig(max_steps=7), 10) == 7


@pytest.mark.parametrize("bad, match", [
    ({"method": "prefix"}, "method must be one of"), ({"r": 0}, "r must be >= 1"),
    ({"method": "adalora", "adalora_init_r": 4, "r": 8}, "adalora_init_r must be >= r"),
    ({"eval_fraction": 0}, "eval_fraction"),
    ({"adalora_tinit": 0.5, "adalora_tfinal": 0.5}, "budgeting phase"), ({"task": "poetry"}, "task must be"),
])
def test_config_validation_names_the_field(bad, match):
    with pytest.raises(ConfigError, match=match):
        FinetuneConfig(**bad)


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_a_lora_rank_above_adaloras_starting_rank_is_accepted(method):
    """`train --r 16` (or `r: 16` in a shop's YAML) is a LoRA setting: AdaLoRA's init_r (12) must not refuse it."""
    cfg = FinetuneConfig(method=method, r=16)
    assert get_peft_config(cfg).r == 16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_qlora_without_cuda_stops_with_a_clear_message():
    with pytest.raises(ModelLoadError, match="needs a CUDA GPU"):
        load_base(FinetuneConfig(method="qlora"))


@pytest.mark.gpu
@pytest.mark.parametrize("upcast", [True, False])
def test_qlora_trains_a_4bit_base_on_cuda(tmp_path, gpu_base_model, upcast):
    from finetune.data import demo_path
    from finetune.pipeline import prepare_data

    cfg = FinetuneConfig(method="qlora", max_steps=3, batch_size=2, device="cuda", base_model=gpu_base_model,
                         qlora_fp32_upcast=upcast)
    model, tok, _ = load_base(cfg)
    assert any("4bit" in type(m).__name__ for m in model.modules())
    assert (model.get_input_embeddings().weight.dtype == torch.float32) == upcast
    train_rows, eval_rows, _ = prepare_data(cfg, demo_path("support"), tok)
    state = train_adapter(model, tok, cfg, train_rows[:4], eval_rows[:2], tmp_path, progress=False)
    assert any(p.abs().sum() > 0 for n, p in state.model.named_parameters() if "lora_B" in n)


def test_learned_token_loss_equals_the_models_own_loss_and_gradients(tiny_model, tiny_tokenizer, tiny_cfg):
    """The LM head applied at the learned positions only: the same loss and the same adapter gradients as the
    model's full-sequence loss, on packed rows of several dialogues (two rows, padded to one width)."""
    from finetune.evaluate import learned_logits, learned_token_loss
    from finetune.methods import wrap

    encoded = [dataset.encode(tiny_tokenizer, [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
               for q, a in QA]
    rows = dataset.pack(encoded, 60)  # several rows of unequal length: padding must stay unlearned
    assert len(rows) >= 2 and len({len(r.input_ids) for r in rows}) > 1
    model = wrap(tiny_model, tiny_cfg, 6)
    for p in model.parameters():
        if p.requires_grad:  # lora_B starts at zero: move it so the adapter shapes the logits
            torch.nn.init.normal_(p, std=0.1)
    model.eval()  # no dropout: both passes see the same network
    batch = dataset.collate(rows[:2], tiny_tokenizer.pad_token_id, True)
    grads = []
    for compute in (lambda: model(**batch, use_cache=False).loss, lambda: learned_token_loss(model, batch)):
        model.zero_grad()
        loss = compute()
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        torch.testing.assert_close(a, b)
    logits, targets = learned_logits(model, batch)
    learned = sum(sum(lab != dataset.IGNORE for lab in r.labels) for r in rows[:2])
    assert logits.shape[0] == len(targets) == learned  # the head saw nothing but the learned positions
