"""QLoRA end to end on CUDA (`gpu` marker), and the GPU bench's pieces that can be checked without one.

On a GPU machine without our install's embedded models, SHOP_ASSISTANT_GPU_BASE names an HF folder to train on
(`bench/gpu.py random-base` writes one); everything else is the product's own code path.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import run_module

TINY_SHAPE = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
              "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 2048, "tie_word_embeddings": False}


def _yaml(tmp_path, base: str, **extra) -> str:
    keys = {"base_model": base, "registry": str(tmp_path / "registry.json"), "num_samples": 2,
            "metric_examples": 4, "sample_max_tokens": 8, "max_seq_len": 512, **extra}
    path = tmp_path / "ft.yaml"
    path.write_text("finetune:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in keys.items()), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("shape, billions", [("qwen2.5-7b", 7.6156), ("qwen2.5-0.5b", 0.6302), ("smollm2-135m", 0.1345)])
def test_gpu_bench_shapes_are_the_published_models(shape, billions):
    from transformers import AutoConfig, AutoModelForCausalLM

    from bench.gpu import SHAPES

    spec = dict(SHAPES[shape])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    assert sum(p.numel() for p in model.parameters()) / 1e9 == pytest.approx(billions, abs=2e-4)


def test_gpu_bench_without_cuda_says_so():
    from bench.gpu import run

    if torch.cuda.is_available():
        pytest.skip("checks the answer without CUDA")
    assert "no CUDA" in run(quick=True)["error"]


def test_a_random_base_folder_trains_through_the_cli(tmp_path, tiny_tokenizer, demo_slice, monkeypatch):
    """The path the gpu tests take on a bare GPU machine (an HF folder as base), here with LoRA on the CPU."""
    from bench import gpu

    tiny_tokenizer.save_pretrained(tmp_path / "tok")
    monkeypatch.setitem(gpu.SHAPES, "tiny", {**TINY_SHAPE, "vocab_size": len(tiny_tokenizer),
                                             "eos_token_id": tiny_tokenizer.eos_token_id,
                                             "pad_token_id": tiny_tokenizer.pad_token_id})
    base = gpu.random_base("tiny", str(tmp_path / "tok"), tmp_path / "base")
    assert (base / "config.json").exists() and (base / "tokenizer.json").exists()
    out = run_module("finetune", "train", "--method", "lora", "--data", str(demo_slice), "--output",
                     str(tmp_path / "adapter"), "--max-steps", "2", "--no-progress",
                     "--config", _yaml(tmp_path, str(base), export_gguf=False, device="cpu", max_seq_len=1024))
    assert out.returncode == 0, out.stderr[-2000:]
    meta = json.loads((tmp_path / "adapter" / "finetune_meta.json").read_text(encoding="utf-8"))
    assert meta["base_model"] == str(base.resolve()) and meta["method"] == "lora"


@pytest.mark.gpu
def test_qlora_cli_trains_evaluates_exports_and_serves_on_a_4bit_base(tmp_path, gpu_base_model):
    from assistant.llm import LLMConfig, Message, build_backend
    from finetune.data import demo_path

    adapter, config = tmp_path / "adapter", _yaml(tmp_path, gpu_base_model, export_gguf=False)
    out = run_module("finetune", "train", "--method", "qlora", "--data", str(demo_path("support")), "--output",
                     str(adapter), "--max-steps", "8", "--no-progress", "--config", config)
    assert out.returncode == 0, out.stderr[-2000:]
    meta = json.loads((adapter / "finetune_meta.json").read_text(encoding="utf-8"))
    assert meta["method"] == "qlora"
    assert meta["metrics"]["eval_loss_after"] < meta["metrics"]["eval_loss_before"]
    assert "eval loss" in (adapter / "report.md").read_text(encoding="utf-8").lower()
    registry = json.loads((tmp_path / "registry.json").read_text(encoding="utf-8"))
    assert "qlora" in json.dumps(registry)

    scored = run_module("finetune", "eval", "--adapter", str(adapter), "--data", str(demo_path("support")),
                        "--config", config)
    assert scored.returncode == 0, scored.stderr[-2000:]
    figures = json.loads(scored.stdout[scored.stdout.index("{"):])
    assert figures["eval_loss"] < figures["eval_loss_base"]

    merged = run_module("finetune", "export", "--adapter", str(adapter), "--format", "merged", "--output",
                        str(tmp_path / "merged"), "--config", config)
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert (tmp_path / "merged" / "config.json").exists()

    backend = build_backend(LLMConfig(backend="transformers", model=gpu_base_model, load_in_4bit=True,
                                      max_tokens=6, temperature=0.0))
    backend.load_adapter("support", str(adapter))
    msgs = [Message("user", "How long do I have to return an item?")]
    assert isinstance(backend.generate(msgs, adapter="support"), str)
    ids = backend.tokenizer("Returns are accepted within 30 days.", return_tensors="pt").to(backend.model.device)
    with torch.no_grad():
        backend.model.set_adapter("support")
        tuned = backend.model(**ids).logits
        with backend.model.disable_adapter():
            plain = backend.model(**ids).logits
    assert not torch.allclose(tuned, plain), "the trained adapter must change the 4-bit model's output"


@pytest.mark.gpu
def test_gpu_bench_measures_qlora_against_16bit_lora(gpu_base_model):
    from bench.gpu import measure

    res = measure(gpu_base_model, steps=2, batch=2, seq=256)
    q, b = res["qlora"], res["lora16"]
    assert "error" not in q and "error" not in b, res
    assert q["weights_loaded_mb"] < b["weights_loaded_mb"]
    assert res["qlora_bf16"]["weights_loaded_mb"] < q["weights_loaded_mb"]  # no fp32 copies of the embeddings
    assert q["tokens_per_s"] > 0 and b["tokens_per_s"] > 0
