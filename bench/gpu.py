"""GPU figures (CUDA only): QLoRA vs 16-bit LoRA on a 7B-class model, measured side by side in one run.

Nothing may be downloaded, so by default the base is a **Qwen2.5-7B-shaped model with random weights** (the
published Qwen2.5-7B-Instruct config, the embedded Qwen2.5's tokenizer: the same vocabulary). Peak memory and
training tokens/s depend on the shapes, not on the values, so those figures hold for the real 7B; its losses
do not (random weights), so none are reported. `--base DIR` takes a real Hugging Face folder instead.

1. qlora (ours): the `finetune` path: nf4 + double quant + bf16 compute base (`get_quantization_config`),
   `prepare_model_for_kbit_training` (gradient checkpointing), LoRA r=8 on q/k/v/o, packed demo dialogues.
   qlora_bf16: the same with `qlora_fp32_upcast: false` (embeddings, head and norms left bf16, not fp32).
2. lora16 (baseline): the same LoRA, trainer, data and steps on the bf16 base, gradient checkpointing on too.
Each runs in its own process; peak = `torch.cuda.max_memory_allocated` over loading and training.

3. autotrain: the background job (`finetune autotrain`'s tasks, shipped steps, the demo shop's data) on a random
   model of the embedded Qwen2.5-0.5B's shape, seconds per task to a servable adapter.gguf (its gate is not run:
   it needs llama.cpp and the embedded model).

`python bench/gpu.py [--quick] [--base DIR] [--tokenizer DIR]`; `run(quick) -> dict` for `python -m bench`.
`python bench/gpu.py random-base --shape smollm2-135m|qwen2.5-0.5b|qwen2.5-7b --tokenizer DIR --output DIR` writes a
random-weight base of that shape (the gpu tests use one on a machine without the embedded models:
SHOP_ASSISTANT_GPU_BASE=DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
VARIANTS = ("qlora", "qlora_bf16", "lora16")
# Published configs (architecture only); the weights are drawn at random by `random_base`.
SHAPES = {
    "qwen2.5-7b": {
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584,
        "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
        "vocab_size": 152064, "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151645,
        "sliding_window": None, "use_sliding_window": False,
    },
    # the embedded Qwen2.5-0.5B as the background job loads it (converted from its GGUF: the head is not tied)
    "qwen2.5-0.5b": {
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864,
        "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
        "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
        "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151645, "pad_token_id": 151643,
        "sliding_window": None, "use_sliding_window": False,
    },
    "smollm2-135m": {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
        "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
        "vocab_size": 49152, "max_position_embeddings": 8192, "rope_theta": 100000.0, "rms_norm_eps": 1e-5,
        "tie_word_embeddings": True, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
    },
}
BASELINE = ("16-bit LoRA: the same LoRA config, trainer, data and steps on the bf16 base (gradient checkpointing "
            "on in both), same run, each variant in its own process")
HEADLINES = [
    ("GPU memory MB of the loaded 7B-shape weights, QLoRA (bf16 embeddings/head) vs 16-bit",
     "qlora_bf16.weights_loaded_mb", "lora16.weights_loaded_mb", "reported (4-bit: about a third)"),
    ("peak GPU memory MB training a 7B shape (4 x 1024 tokens/step), QLoRA vs 16-bit LoRA", "qlora.peak_allocated_mb",
     "lora16.peak_allocated_mb", "reported (activations and 152k-vocabulary logits dominate at this batch)"),
    ("training real tokens/s on a 7B shape, QLoRA vs 16-bit LoRA", "qlora.tokens_per_s", "lora16.tokens_per_s",
     "reported (4-bit dequantisation costs speed)"),
    ("peak GPU memory MB, QLoRA with bf16 embeddings/head vs peft's fp32 upcast", "qlora_bf16.peak_allocated_mb",
     "qlora.peak_allocated_mb", "reported (lower is better)"),
    ("training tokens/s, QLoRA with bf16 embeddings/head vs peft's fp32 upcast", "qlora_bf16.tokens_per_s",
     "qlora.tokens_per_s", "reported (higher is better)"),
]
GOALS = {"weights_loaded_mb": "4-bit about a third of bf16", "peak_allocated_mb": "reported"}


def random_base(shape: str, tokenizer: str, output: str | Path) -> Path:
    """Write a random-weight model of a published shape (bf16 safetensors) with a real tokenizer beside it."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if shape not in SHAPES:
        raise SystemExit(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    output = Path(output)
    if (output / "config.json").exists():
        return output  # made earlier: the weights are random anyway
    spec = dict(SHAPES[shape])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # drawing 7.6 B numbers: the GPU is fast
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    tmp = output.with_name(output.name + ".tmp")
    model.save_pretrained(tmp, max_shard_size="4GB")
    AutoTokenizer.from_pretrained(tokenizer).save_pretrained(tmp)
    del model
    tmp.rename(output)
    return output


def _variant(name: str, base: str, steps: int, batch: int, seq: int) -> dict:
    """One training run in this process (a fresh one per variant, so the peak is its own)."""
    import torch

    from finetune.config import FinetuneConfig
    from finetune.data import demo_path
    from finetune.methods import enable_checkpointing, load_base
    from finetune.pipeline import prepare_data
    from finetune.trainer import train_adapter

    cfg = FinetuneConfig(method="lora" if name == "lora16" else "qlora", base_model=base, device="cuda",
                         max_steps=steps, batch_size=batch, max_seq_len=seq, target_modules=TARGETS,
                         lora_dropout=0.0, eval_every=steps, export_gguf=False, register=False,
                         qlora_fp32_upcast=name != "qlora_bf16")
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    model, tok, _ = load_base(cfg)
    if name == "lora16":  # what prepare_model_for_kbit_training switches on for QLoRA, minus the 4-bit
        enable_checkpointing(model)
    torch.cuda.synchronize()
    load_s, loaded = time.perf_counter() - t0, torch.cuda.memory_allocated()
    train_rows, eval_rows, _ = prepare_data(cfg, demo_path("support"), tok)
    with tempfile.TemporaryDirectory() as out:
        state = train_adapter(model, tok, cfg, train_rows, eval_rows[:batch], Path(out), progress=False)
    torch.cuda.synchronize()
    mb = 2 ** 20
    return {"load_s": round(load_s, 1), "weights_loaded_mb": round(loaded / mb),
            "peak_allocated_mb": round(torch.cuda.max_memory_allocated() / mb),
            "peak_reserved_mb": round(torch.cuda.max_memory_reserved() / mb),
            "tokens_per_s": round(state.history.tokens_per_s), "steps": steps, "tokens_per_step": batch * seq,
            "trainable_params": state.trainable, "total_params": state.total_params}


def measure(base: str, steps: int, batch: int, seq: int) -> dict:
    # the base model's name, not where it happens to sit on the machine that measured it
    out: dict = {"base": Path(base).name or base, "device": _device_name()}
    for name in VARIANTS:
        cmd = [sys.executable, __file__, "variant", name, "--base", base, "--steps", str(steps), "--batch",
               str(batch), "--seq", str(seq)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            out[name] = {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name}: {out[name]}", file=sys.stderr, flush=True)
    b = out.get("lora16", {})
    for name in ("qlora", "qlora_bf16"):
        q = out.get(name, {})
        if "peak_allocated_mb" in q and "peak_allocated_mb" in b:
            out[f"peak_memory_ratio_{name}_vs_lora16"] = round(q["peak_allocated_mb"] / b["peak_allocated_mb"], 3)
            out[f"tokens_per_s_ratio_{name}_vs_lora16"] = round(q["tokens_per_s"] / b["tokens_per_s"], 3)
    return out


def _autotrain(base: str, steps: int = 0) -> dict:
    """The background job itself (`finetune autotrain`'s train_task: the demo shop's data, the shipped steps and
    batches) on this machine, each task from its data to a servable adapter.gguf, wall time per task.

    The gate is not run: it serves the candidate through llama.cpp on the embedded model, which a bare GPU
    machine does not have; it is stubbed to reject, so nothing is served or registered."""
    from assistant.config import load_config
    from finetune import autotrain, gate

    def no_gate(task, candidate, settings, pause=None):
        return gate.Decision(task, str(candidate), False, "gate not run on this machine", {})

    gate.evaluate_and_promote = no_gate
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_config(overrides={"autotrain": {"base_model": base, "work_dir": f"{tmp}/work"},
                                          "finetune": {"registry": f"{tmp}/registry.json"}})
        for task in settings.autotrain.tasks:
            t0 = time.perf_counter()
            phase = autotrain.train_task(settings, task, max_steps=steps)
            s = autotrain.read_status(settings)[task]
            gguf = Path(s.get("candidate") or tmp, "adapter.gguf")
            out[task] = {"s_to_trained": round(time.perf_counter() - t0, 1), "method": s.get("method"),
                         "steps": s.get("step"), "s_per_step": s.get("s_per_step"), "adapter_gguf": gguf.exists(),
                         "error": s.get("error") if phase == "failed" else None}
    return out


def _device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"


def default_tokenizer() -> str:
    """The embedded Qwen2.5's tokenizer, saved once as a plain folder (same vocabulary as the 7B)."""
    from assistant.llm.embedded import default_cache_dir
    from assistant.llm.hf_loading import import_transformers, resolve_model_source

    target = default_cache_dir() / "bench" / "qwen2.5-tokenizer"
    if not (target / "tokenizer.json").exists():
        _, transformers = import_transformers()
        folder, gguf_file, _ = resolve_model_source("qwen2.5-0.5b")
        transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file).save_pretrained(target)
    return str(target)


def run(quick: bool = False, base: str = "", tokenizer: str = "") -> dict:
    """`base`/`tokenizer` default to BENCH_GPU_BASE / BENCH_GPU_TOKENIZER (a GPU machine without our install)."""
    import torch

    base = base or os.environ.get("BENCH_GPU_BASE", "")
    tokenizer = tokenizer or os.environ.get("BENCH_GPU_TOKENIZER", "")
    if not torch.cuda.is_available():
        return {"error": "no CUDA device: the GPU figures are measured on a GPU machine"}
    from assistant.llm.embedded import default_cache_dir

    folder = default_cache_dir() / "bench"
    tokenizer = tokenizer or default_tokenizer()
    # First the background job as `dev.sh run` starts it on a GPU machine, on the served model's shape.
    small = random_base("qwen2.5-0.5b", tokenizer, folder / "qwen2.5-0.5b-random")
    job = autotrain_job(str(small), steps=2 if quick else 0)
    weights = f"real ({base})"
    if not base:
        base = str(random_base("qwen2.5-7b", tokenizer, folder / "qwen2.5-7b-random"))
        weights = "random, in the shapes of Qwen2.5-7B-Instruct (memory and speed hold; losses would not)"
    steps, batch, seq = (4, 2, 512) if quick else (12, 4, 1024)
    return {"weights": weights, **measure(base, steps, batch, seq), "autotrain_qwen2.5-0.5b_shape": job}


def autotrain_job(base: str, steps: int = 0) -> dict:
    """`_autotrain` in its own process (the job's figures, or the error it ended with)."""
    cmd = [sys.executable, __file__, "autotrain", "--base", base, "--steps", str(steps)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    job = json.loads(proc.stdout.strip().splitlines()[-1])
    job["s_to_both_trained"] = round(time.perf_counter() - t0, 1)  # the process's start and loading included
    print(f"autotrain: {job}", file=sys.stderr, flush=True)
    return job


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench/gpu.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd")
    rb = sub.add_parser("random-base", help="write a random-weight base model of a published shape")
    rb.add_argument("--shape", choices=sorted(SHAPES), required=True)
    rb.add_argument("--tokenizer", required=True, help="a folder with the tokenizer to ship beside it")
    rb.add_argument("--output", required=True)
    v = sub.add_parser("variant", help="(internal) one measured training run, JSON on the last line")
    v.add_argument("name", choices=VARIANTS)
    for flag in ("--steps", "--batch", "--seq"):
        v.add_argument(flag, type=int, required=True)
    v.add_argument("--base", required=True)
    at = sub.add_parser("autotrain", help="time the background job's tasks on this machine, JSON on the last line")
    at.add_argument("--base", required=True, help="the base model folder (e.g. a random qwen2.5-0.5b shape)")
    at.add_argument("--steps", type=int, default=0, help="steps per task (default: the shipped autotrain.steps)")
    p.add_argument("--quick", action="store_true", help="4 steps of 2 x 512 tokens instead of 12 of 4 x 1024")
    p.add_argument("--base", default="", help="a real HF model folder (default: a random-weight 7B shape)")
    p.add_argument("--tokenizer", default="", help="tokenizer folder for the random 7B (default: embedded Qwen2.5)")
    a = p.parse_args(argv)
    if a.cmd == "random-base":
        print(random_base(a.shape, a.tokenizer, a.output))
    elif a.cmd == "variant":
        print(json.dumps(_variant(a.name, a.base, a.steps, a.batch, a.seq)))
    elif a.cmd == "autotrain":
        print(json.dumps(_autotrain(a.base, a.steps)))
    else:
        print(json.dumps(run(a.quick, a.base, a.tokenizer), indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
