"""Adapter registry (per task and backend), base-model checks, GGUF LoRA export, the train pipeline."""

from __future__ import annotations

import json

import pytest
import torch

from assistant.errors import ModelLoadError, NotFoundError
from assistant.llm import LLMConfig
from assistant.llm import adapter_registry as reg


def test_register_get_and_pick_per_backend(tmp_path):
    path = tmp_path / "registry.json"
    folder = tmp_path / "support"
    folder.mkdir()
    reg.register_adapter("support", folder, "smollm2-135m", "adalora", {"eval_loss_after": 1.2}, registry=path)
    reg.register_adapter("adcopy", tmp_path / "adcopy", "qwen2.5-0.5b", "lora", registry=path)
    rec = reg.get_adapter("support", registry=path)
    assert rec.path == str(folder.resolve()) and rec.method == "adalora" and rec.metrics["eval_loss_after"] == 1.2
    assert rec.created.endswith("+00:00")
    # registered is not served: the gate (finetune/gate.py) promotes; tests/finetune/test_gate.py has the rest
    assert reg.adapters_for("transformers", "smollm2-135m", path) == {}
    reg.promote("support", folder, "smollm2-135m", path)
    assert reg.adapters_for("transformers", "smollm2-135m", path) == {"support": str(folder.resolve())}
    assert reg.adapters_for("llamacpp", "smollm2-135m", path) == {}  # no GGUF yet: not servable there
    assert reg.set_gguf(folder, folder / "adapter.gguf", registry=path).gguf.endswith("adapter.gguf")
    assert reg.adapters_for("llamacpp", "smollm2-135m", path) == {"support": str(folder / "adapter.gguf")}
    assert reg.adapters_for("openai", "smollm2-135m", path) == {"support": "support"}
    # re-training into the same folder replaces its record (and it stays served)
    reg.register_adapter("support", folder, "smollm2-135m", "lora", registry=path)
    assert [r.method for r in reg.list_adapters(path) if r.task == "support"] == ["lora"]
    assert reg.served_adapter("support", "smollm2-135m", path).method == "lora"
    with pytest.raises(NotFoundError, match="no adapter registered for task 'support' on base 'qwen"):
        reg.get_adapter("support", "qwen2.5-0.5b", registry=path)


def test_registered_adapters_fill_llm_config_but_explicit_config_wins(tmp_path):
    path = tmp_path / "registry.json"
    reg.register_adapter("support", tmp_path / "s", "smollm2-135m", "lora", gguf=tmp_path / "s.gguf", registry=path)
    reg.register_adapter("adcopy", tmp_path / "a", "smollm2-135m", "lora", gguf=tmp_path / "a.gguf", registry=path)
    for task, folder in (("support", "s"), ("adcopy", "a")):
        reg.promote(task, tmp_path / folder, "smollm2-135m", path)
    cfg = LLMConfig(backend="llamacpp", model="smollm2-135m", adapters={"adcopy": "/mine.gguf"})
    out = reg.with_registered_adapters(cfg, registry=path)
    assert out.adapters == {"support": str(tmp_path / "s.gguf"), "adcopy": "/mine.gguf"}
    assert cfg.adapters == {"adcopy": "/mine.gguf"}  # the input is not modified


def test_unreadable_registry_is_a_storage_error(tmp_path):
    from assistant.errors import StorageError

    (tmp_path / "r.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StorageError, match="unreadable"):
        reg.list_adapters(tmp_path / "r.json")


def test_adapter_trained_on_another_base_is_refused(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "qwen2.5-0.5b"}))
    with pytest.raises(ModelLoadError, match="trained on 'qwen2.5-0.5b'"):
        reg.check_adapter_base(tmp_path, "smollm2-135m")
    reg.check_adapter_base(tmp_path, "qwen2.5-0.5b")
    # an adapter trained upstream on the hub model fits the embedded profile of that model
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct"}))
    reg.check_adapter_base(tmp_path, "smollm2-135m")
    # peft's own record when the base came from our plain-HF cache copy of the embedded model
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/home/user/.cache/shop-assistant/hf/smollm2-135m"}))
    reg.check_adapter_base(tmp_path, "smollm2-135m")
    with pytest.raises(ModelLoadError):
        reg.check_adapter_base(tmp_path, "qwen2.5-0.5b")


def test_gguf_lora_export_reproduces_each_layer_update(tiny_model, tmp_path):
    """Read the file back: llama.cpp names, (r×in, out×r) shapes, alpha = r, and B @ A == peft's delta."""
    import gguf
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import _permute, export_gguf_lora
    from finetune.methods import get_peft_config

    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj", "v_proj"])))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_()
    out = export_gguf_lora(model, tmp_path / "a.gguf", "tiny-test")
    reader = gguf.GGUFReader(str(out))
    assert reader.get_field("general.type").contents() == "adapter"
    assert reader.get_field("adapter.type").contents() == "lora"
    assert reader.get_field("general.architecture").contents() == "llama"
    assert reg.adapter_base(out) == "tiny-test"
    tensors = {t.name: torch.from_numpy(t.data.copy()) for t in reader.tensors}
    assert len(tensors) == 2 * 2 * 2  # 2 layers × (q, v) × (a, b)
    rank = int(reader.get_field("adapter.lora.alpha").contents())
    layer = model.base_model.model.model.layers[1]
    for name, module, permute in (("attn_q", layer.self_attn.q_proj, True), ("attn_v", layer.self_attn.v_proj, False)):
        a, b = tensors[f"blk.1.{name}.weight.lora_a"], tensors[f"blk.1.{name}.weight.lora_b"]
        assert a.shape == (rank, 32) and b.shape[1] == rank
        expected = module.get_delta_weight("default")
        if permute:  # llama.cpp's rotary layout for q/k rows
            expected = _permute(expected, 4)
        torch.testing.assert_close(b @ a, expected, atol=1e-5, rtol=1e-4)


def test_train_pipeline_writes_report_adapter_gguf_and_registry(tiny_model, tiny_tokenizer, tiny_cfg, tmp_path,
                                                                monkeypatch):
    from finetune import pipeline
    from finetune.config import FinetuneConfig
    from tests.finetune.conftest import write_jsonl

    rows = [{"messages": [{"role": "user", "content": f"q{i}?"}, {"role": "assistant", "content": f"a{i % 3} ok"}],
             "gold": [f"a{i % 3}"]} for i in range(12)]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    monkeypatch.setattr(pipeline, "load_base", lambda cfg: (tiny_model, tiny_tokenizer, "tiny-test"))
    cfg = FinetuneConfig(**{**tiny_cfg.__dict__, "method": "adalora", "max_steps": 8,
                            "registry": str(tmp_path / "reg.json"), "eval_fraction": 0.25})
    result = pipeline.run_train(cfg, data, tmp_path / "out", progress=False)
    out = tmp_path / "out"
    for name in ("adapter_config.json", "adapter_model.safetensors", "finetune_meta.json", "report.md",
                 "loss_curves.png", "rank_report.png", "adapter.gguf"):
        assert (out / name).exists(), name
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## AdaLoRA rank report" in report and "| prompt | reference | before | after |" in report
    assert result.metrics["eval_loss_after"] < result.metrics["eval_loss_before"]
    rec = reg.get_adapter("support", "tiny-test", registry=tmp_path / "reg.json")
    assert rec.gguf == str(out / "adapter.gguf") and rec.method == "adalora"
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == "tiny-test"


def test_a_sample_cut_inside_a_chinese_character_ends_cleanly(tiny_model, tiny_tokenizer, monkeypatch):
    """The last new token may be half of a character's bytes (SmolLM2 writes Chinese in byte tokens): the report's
    sample ends at the last whole character, not with U+FFFD."""
    import torch

    from finetune.dataset import Example
    from finetune.evaluate import generate

    new_ids = tiny_tokenizer("晚上十点", add_special_tokens=False)["input_ids"][:-1]  # one token per byte: 点 cut

    def fake_generate(input_ids, **_):
        return torch.cat([input_ids, torch.tensor([new_ids] * len(input_ids))], dim=1)

    monkeypatch.setattr(tiny_model, "generate", fake_generate)
    ex = Example([{"role": "user", "content": "晚上十点还有人吗？"}, {"role": "assistant", "content": "有。"}])
    [sample] = generate(tiny_model, tiny_tokenizer, [ex], max_new_tokens=len(new_ids))
    assert sample.answer == "晚上十"


def test_task_metrics():
    from finetune.dataset import Example
    from finetune.evaluate import Generated, task_metric

    ex = Example([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], gold=["30 days"])
    name, score, n = task_metric("support", [Generated(ex, "q", "Within 30  Days."), Generated(ex, "q", "soon")])
    assert (score, n) == (0.5, 1 + 1) and "gold fact" in name
    ad = Example([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], channel="sms", max_chars=10)
    _, score, n = task_metric("adcopy", [Generated(ad, "q", "short"), Generated(ad, "q", "far too long a text")])
    assert (score, n) == (0.5, 2)
