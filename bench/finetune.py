"""Fine-tuning figures, measured side by side in one run on the embedded SmolLM2-135M (CPU).

1. Training tokens/s of our trainer (packing, assistant-only loss) vs a naive peft + transformers loop
   (each example padded to max_seq_len, no packing): same model, data, batch size and optimizer steps.
   Peak RSS of each, measured in its own forked process.
2. LoRA (r=8) vs AdaLoRA (init_r=12 → average r=8, the same final rank budget): eval loss, rank pattern.
3. Generation tok/s of the exported GGUF LoRA on llama.cpp vs the transformers + peft adapter path.

`.venv/bin/python bench/finetune.py [--quick]`; `run(quick) -> dict` for `python -m bench`.
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


def _config(method: str, steps: int, **kw):
    from finetune.config import FinetuneConfig

    return FinetuneConfig(method=method, max_steps=steps, batch_size=2, max_seq_len=256, target_modules=TARGETS,
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
    cfg = _config("lora", steps)
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

    cfg = _config("lora", steps)
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
    ctx = mp.get_context("fork")  # inherits the imports; each child's RSS peak is its own
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(steps, q))
    p.start()
    result = q.get()
    p.join()
    return result


def _method_run(method: str, steps: int, workdir: Path) -> dict:
    from finetune.evaluate import eval_loss
    from finetune.export import export_gguf_lora
    from finetune.methods import adalora_ranks, is_adalora
    from finetune.trainer import train_adapter

    cfg = _config(method, steps)
    model, tok, model_id, _, train_rows, eval_rows = _data(cfg)
    before = eval_loss(model, eval_rows, 2, tok.pad_token_id, True)
    state = train_adapter(model, tok, cfg, train_rows, eval_rows, workdir / method, progress=False)
    out = {"eval_loss_before": round(before, 4), "eval_loss_after": round(state.history.eval[-1][1], 4),
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


def _generation_speed(model, tok, gguf: str, n_tokens: int) -> dict:
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
    llm = Llama(model_path=str(smollm2_path()), lora_path=gguf, n_ctx=512, verbose=False, n_threads=2)
    llm.reset()  # no prompt-cache hits in the timing
    t0 = time.perf_counter()
    res = llm.create_chat_completion(messages=msgs, max_tokens=n_tokens, temperature=0.0)
    cpp_s = time.perf_counter() - t0
    cpp_new = res["usage"]["completion_tokens"]
    return {"transformers_adapter_tok_s": round(hf_new / hf_s, 1), "llamacpp_gguf_lora_tok_s": round(cpp_new / cpp_s, 1),
            "llamacpp_vs_transformers": round((cpp_new / cpp_s) / (hf_new / hf_s), 2)}


def _say(label: str, value) -> None:
    print(f"{label}: {json.dumps(value)}", flush=True)  # figures as they come: a long run can be cut short


def run(quick: bool = False, threads: int = 0) -> dict:
    import torch  # imported before forking, so the children start warm

    if threads:
        torch.set_num_threads(threads)
    steps = 3 if quick else 6
    # A B B A: the shared machine's load drifts; this order cancels a linear drift between the two loops.
    runs: dict[str, list[dict]] = {"naive": [], "ours": []}
    for name in ("naive", "ours", "ours", "naive"):
        runs[name].append(_in_child(_naive if name == "naive" else _ours, steps))
        _say(name, runs[name][-1])
    figures: dict = {"steps_per_run": steps, "runs_each": 2, "batch_rows": 2, "max_seq_len": 256,
                     "model": "smollm2-135m"}
    for name, rs in runs.items():
        tokens, computed = sum(r["tokens"] for r in rs), sum(r["computed"] for r in rs)
        figures[f"{name}_tokens_per_s"] = round(tokens / sum(r["seconds"] for r in rs), 1)
        figures[f"{name}_real_token_share"] = round(tokens / computed, 3)
        figures[f"{name}_peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in rs))
    figures["train_speedup_vs_naive"] = round(figures["ours_tokens_per_s"] / figures["naive_tokens_per_s"], 2)
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    with tempfile.TemporaryDirectory() as tmp:
        lora = _method_run("lora", steps * 2, Path(tmp))
        _say("lora", {k: v for k, v in lora.items() if not k.startswith("_")})
        ada = _method_run("adalora", steps * 2, Path(tmp))
        _say("adalora", {k: v for k, v in ada.items() if not k.startswith("_")})
        figures["generation"] = _generation_speed(lora["_model"], lora["_tok"], lora["gguf"], 48 if not quick else 24)
        _say("generation", figures["generation"])
    for name, r in (("lora", lora), ("adalora", ada)):
        figures[name] = {k: v for k, v in r.items() if not k.startswith("_") and k != "gguf"}
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and tokens")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = p.parse_args()
    figures = run(quick=args.quick, threads=args.threads)
    print(json.dumps(figures, indent=2))
    print(f"\ntraining tokens/s: ours {figures['ours_tokens_per_s']} vs naive {figures['naive_tokens_per_s']} "
          f"= {figures['train_speedup_vs_naive']}x (goal >= 1.3x)")
    g = figures["generation"]
    print(f"generation: llama.cpp GGUF LoRA {g['llamacpp_gguf_lora_tok_s']} tok/s vs transformers adapter "
          f"{g['transformers_adapter_tok_s']} tok/s = {g['llamacpp_vs_transformers']}x")
    print(f"eval loss after {figures['lora']['eval_loss_after']} (LoRA) vs {figures['adalora']['eval_loss_after']} "
          f"(AdaLoRA, same final rank budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
