"""Fine-tuning figures, measured side by side in one run on the embedded SmolLM2-135M (CPU).

1. throughput: real (non-padding) training tokens/s of our trainer (packing, assistant-only loss) vs a naive
   peft + transformers loop (every example padded to max_seq_len = 512, no packing): same model, data, batch
   size and optimizer steps, run A B B A in forked processes (each one's peak RSS is its own).
2. methods: LoRA (r=8) vs AdaLoRA (init_r=12 → average r=8, the same final rank budget): eval loss, ranks.
3. generation: tok/s of the exported GGUF LoRA on llama.cpp vs the transformers + peft adapter path.

`.venv/bin/python bench/finetune.py [--quick] [--threads N] [--parts throughput,methods,generation]
[--adapter DIR]`; `run(quick) -> dict` for `python -m bench`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
THROUGHPUT_SEQ = 512  # the default max_seq_len: what a user's run pads to (naive) or packs into (ours)
METHODS_SEQ = 256  # shorter rows for the LoRA vs AdaLoRA runs, so both fit in a few minutes
PARTS = ("throughput", "methods", "generation")
BASELINE = ("a naive peft + transformers loop (every example padded to max_seq_len, no packing) for training; the "
            "transformers + peft adapter path for generation; same model, data and steps, same run")
HEADLINES = [
    ("training real tokens/s, ours vs naive loop", "throughput.ours_tokens_per_s", "throughput.naive_tokens_per_s",
     ">= 1.3x"),
    ("training peak RSS MB, ours vs naive", "throughput.ours_peak_rss_mb", "throughput.naive_peak_rss_mb", "reported"),
    ("eval loss after, AdaLoRA vs LoRA (same final rank budget)", "methods.adalora.eval_loss_after",
     "methods.lora.eval_loss_after", "reported"),
    ("generation tok/s, GGUF LoRA on llama.cpp vs transformers adapter", "generation.llamacpp_gguf_lora_tok_s",
     "generation.transformers_adapter_tok_s", "reported (llama.cpp faster)"),
]


def _config(method: str, steps: int, seq: int = METHODS_SEQ, **kw):
    from finetune.config import FinetuneConfig

    return FinetuneConfig(method=method, max_steps=steps, batch_size=2, max_seq_len=seq, target_modules=TARGETS,
                          lora_dropout=0.0, eval_every=steps, device="cpu", **kw)


def _data(cfg):
    from assistant.llm.hf_loading import load_causal_lm
    from finetune.data import demo_path
    from finetune.pipeline import prepare_data, read_examples

    model, tok, model_id = load_causal_lm(cfg.base_model, "", None, "cpu")
    train_ex, eval_ex = read_examples(cfg, demo_path("support"))
    train_rows, eval_rows, _ = prepare_data(cfg, None, tok, (train_ex, eval_ex))
    return model, tok, model_id, train_ex, train_rows, eval_rows


def _ours(steps: int, out) -> None:
    cfg = _config("lora", steps, THROUGHPUT_SEQ)
    model, tok, _, _, train_rows, eval_rows = _data(cfg)
    from finetune.trainer import micro_batch, train_adapter

    state = train_adapter(model, tok, cfg, train_rows, eval_rows[:1], Path(tempfile.mkdtemp()), progress=False)
    # positions the model computed (rows × the batch's widest row): what padding would waste
    computed = sum(len(b) * max(len(r.input_ids) for r in b)
                   for b in (micro_batch(train_rows, cfg, i) for i in range(steps)))
    out.put({"tokens": state.history.tokens, "computed": computed,
             "seconds": state.history.seconds - state.history.eval_seconds,
             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _naive(steps: int, out) -> None:
    """What a first attempt looks like: tokenizer(padding='max_length'), loss on every real token."""
    import torch
    from peft import LoraConfig, get_peft_model

    cfg = _config("lora", steps, THROUGHPUT_SEQ)
    model, tok, _, train_ex, _, _ = _data(cfg)
    model = get_peft_model(model, LoraConfig(r=cfg.r, lora_alpha=cfg.lora_alpha, target_modules=TARGETS,
                                             task_type="CAUSAL_LM"))
    texts = [tok.apply_chat_template(e.messages, tokenize=False) for e in train_ex]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    model.train()
    tokens, computed, t0 = 0, 0, time.perf_counter()
    for step in range(steps):
        chunk = [texts[(step * cfg.batch_size + j) % len(texts)] for j in range(cfg.batch_size)]
        enc = tok(chunk, padding="max_length", truncation=True, max_length=cfg.max_seq_len, return_tensors="pt")
        assert enc["input_ids"].shape[1] == cfg.max_seq_len  # really padded to max length, as the issue says
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        tokens += int(enc["attention_mask"].sum())  # real tokens only, like ours
        computed += enc["input_ids"].numel()
    out.put({"tokens": tokens, "computed": computed, "seconds": time.perf_counter() - t0,
             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _in_child(fn, steps: int) -> dict:
    # spawn, not fork: under `python -m bench` the classifiers bench has already started torch's OpenMP
    # threads, and a forked child deadlocks on their locks (seen 2026-11-29). Each child's RSS peak is its own.
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(steps, q))
    p.start()
    result = q.get()
    p.join()
    return result


def _method_run(method: str, steps: int, workdir: Path) -> dict:
    from finetune.export import export_gguf_lora
    from finetune.methods import adalora_ranks, is_adalora
    from finetune.trainer import train_adapter

    cfg = _config(method, steps)
    model, tok, model_id, _, train_rows, eval_rows = _data(cfg)
    state = train_adapter(model, tok, cfg, train_rows, eval_rows, workdir / method, progress=False)
    out = {"eval_loss_before": round(state.history.eval[0][1], 4), "eval_loss_after": round(state.history.eval[-1][1], 4),
           "trainable_params": state.trainable, "tokens_per_s": round(state.history.tokens_per_s, 1)}
    if is_adalora(state.model):
        ranks = adalora_ranks(state.model)
        by_module: dict[str, list[int]] = {}
        for name, r in ranks.items():
            by_module.setdefault(name.rsplit(".", 1)[-1], []).append(r)
        out["rank_total"] = sum(ranks.values())
        out["mean_rank_per_module"] = {m: round(sum(v) / len(v), 2) for m, v in by_module.items()}
        out["rank_min_max"] = [min(ranks.values()), max(ranks.values())]
    out["gguf"] = str(export_gguf_lora(state.model, workdir / f"{method}.gguf", model_id))
    out["_model"], out["_tok"] = state.model, tok
    return out


def _generation_speed(model, tok, gguf: str, n_tokens: int, threads: int) -> dict:
    import torch
    from llama_cpp import Llama

    from assistant.llm.embedded import smollm2_path

    msgs = [{"role": "user", "content": "Do you offer free shipping?"}]
    enc = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        out = model.generate(**enc, max_new_tokens=n_tokens, min_new_tokens=n_tokens, do_sample=False)
        hf_s = time.perf_counter() - t0
    hf_new = out.shape[1] - enc["input_ids"].shape[1]
    llm = Llama(model_path=str(smollm2_path()), lora_path=gguf, n_ctx=512, verbose=False, n_threads=threads)
    llm.reset()  # no prompt-cache hits in the timing
    t0 = time.perf_counter()
    res = llm.create_chat_completion(messages=msgs, max_tokens=n_tokens, temperature=0.0)
    cpp_s = time.perf_counter() - t0
    cpp_new = res["usage"]["completion_tokens"]
    return {"transformers_adapter_tok_s": round(hf_new / hf_s, 1), "llamacpp_gguf_lora_tok_s": round(cpp_new / cpp_s, 1),
            "llamacpp_vs_transformers": round((cpp_new / cpp_s) / (hf_new / hf_s), 2)}


def _say(label: str, value) -> None:
    print(f"{label}: {json.dumps(value)}", flush=True)  # figures as they come: a long run can be cut short


def _throughput(steps: int) -> dict:
    # A B B A: the shared machine's load drifts; this order cancels a linear drift between the two loops.
    runs: dict[str, list[dict]] = {"naive": [], "ours": []}
    for name in ("naive", "ours", "ours", "naive"):
        runs[name].append(_in_child(_naive if name == "naive" else _ours, steps))
        _say(name, runs[name][-1])
    figures: dict = {"steps_per_run": steps, "runs_each": 2, "batch_rows": 2, "max_seq_len": THROUGHPUT_SEQ}
    for name, rs in runs.items():
        tokens, computed = sum(r["tokens"] for r in rs), sum(r["computed"] for r in rs)
        figures[f"{name}_tokens_per_s"] = round(tokens / sum(r["seconds"] for r in rs), 1)
        figures[f"{name}_real_token_share"] = round(tokens / computed, 3)
        figures[f"{name}_peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in rs))
    figures["train_speedup_vs_naive"] = round(figures["ours_tokens_per_s"] / figures["naive_tokens_per_s"], 2)
    return figures


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_") and k != "gguf"}


def run(quick: bool = False, threads: int = 0, parts: tuple[str, ...] = PARTS, adapter: str = "") -> dict:
    """Figures of the chosen parts; `adapter` (a trained folder with adapter.gguf) times generation on it
    instead of the LoRA trained by the `methods` part."""
    import torch  # imported before forking, so the children start warm

    if threads:
        torch.set_num_threads(threads)
    figures: dict = {"model": "smollm2-135m", "torch_threads": torch.get_num_threads()}
    if "throughput" in parts:
        figures["throughput"] = _throughput(2 if quick else 4)
    model = tok = gguf = None
    with tempfile.TemporaryDirectory() as tmp:
        if "methods" in parts:
            steps = 8 if quick else 16
            figures["methods"] = {"steps": steps, "max_seq_len": METHODS_SEQ}
            for method in ("lora", "adalora"):
                r = _method_run(method, steps, Path(tmp))
                figures["methods"][method] = _public(r)
                _say(method, figures["methods"][method])
                if method == "lora":
                    model, tok, gguf = r["_model"], r["_tok"], r["gguf"]
        if "generation" in parts:
            if adapter:
                from finetune.export import load_adapter

                model, tok, _ = load_adapter(adapter)
                gguf = str(Path(adapter) / "adapter.gguf")
            if model is None:
                raise SystemExit("generation needs the methods part or --adapter DIR")
            figures["generation"] = _generation_speed(model, tok, gguf, 24 if quick else 48, torch.get_num_threads())
            _say("generation", figures["generation"])
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and tokens")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--adapter", default="", metavar="DIR", help="time generation on this trained adapter folder")
    args = p.parse_args()
    parts = tuple(x for x in args.parts.split(",") if x)
    if set(parts) - set(PARTS):
        p.error(f"--parts: unknown {sorted(set(parts) - set(PARTS))}")
    figures = run(quick=args.quick, threads=args.threads, parts=parts, adapter=args.adapter)
    print(json.dumps(figures, indent=2))
    if "throughput" in figures:
        t = figures["throughput"]
        print(f"\ntraining tokens/s (real tokens): ours {t['ours_tokens_per_s']} vs naive {t['naive_tokens_per_s']} "
              f"= {t['train_speedup_vs_naive']}x (goal >= 1.3x)")
    if "generation" in figures:
        g = figures["generation"]
        print(f"generation: llama.cpp GGUF LoRA {g['llamacpp_gguf_lora_tok_s']} tok/s vs transformers adapter "
              f"{g['transformers_adapter_tok_s']} tok/s = {g['llamacpp_vs_transformers']}x")
    if "methods" in figures:
        m = figures["methods"]
        print(f"eval loss after {m['lora']['eval_loss_after']} (LoRA) vs {m['adalora']['eval_loss_after']} "
              f"(AdaLoRA, same final rank budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
