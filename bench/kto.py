"""KTO vs SFT-only on ad-copy feedback: does learning from thumbs-down as well make better copy on new briefs?

A feedback set stands in for copywriters: the base model writes Google headlines for English product briefs
(bench/data/adcopy_feed/products.csv), and an automatic labeler gives each a thumb (see `label`); a text it
can repair mechanically (drop an invented fact, fix the lint, cut to the limit) also gets the repair as the
copywriter's edit. Briefs are split: training briefs' feedback trains, held-out briefs measure. Same base,
same LoRA, same batches, steps and learning rate for both arms (finetune/kto.py): SFT-only learns the liked
and edited texts, KTO learns those and pushes away from the disliked ones. Figures on held-out briefs only:
the share of fresh generations the labeler approves, and the log-probability margin liked − disliked of
their labelled texts. SmolLM2-135M (English only, so English briefs): generations from llama.cpp as served
(the shipped Q4 GGUF, each arm's adapter exported to a GGUF LoRA), training and log-probabilities through
transformers. Quality only, no timings (the machine is shared).

    python bench/kto.py [--quick] [--regenerate] [--steps N] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = REPO / "bench" / "data" / "kto"
FEEDBACK = DATA / "feedback.jsonl"
PRODUCTS = REPO / "bench" / "data" / "adcopy_feed" / "products.csv"
MODEL = "smollm2-135m"
CHANNEL, FIELD = "google_rsa", "headline"

BASELINE = "SFT-only on the same liked + edited texts (same base, LoRA, batches, steps, learning rate)"
GOALS = {"approved_share": "KTO above SFT-only", "margin": "KTO above SFT-only"}
HEADLINES = [
    ("held-out briefs: generations the labeler approves (share), KTO vs SFT-only",
     "heldout.kto.approved_share", "heldout.sft.approved_share", "KTO above SFT-only"),
    ("held-out briefs: log-prob margin liked − disliked (nats/token), KTO vs SFT-only",
     "heldout.kto.margin", "heldout.sft.margin", "KTO above SFT-only"),
]


# --- the labeler ------------------------------------------------------------------------------------------------
class Labeler:
    """Thumbs-up when a headline is within the channel's limit, in English, not repetitive and not an echo of
    the prompt (assistant.adcopy.checks.problems), lint-clean (assistant.adcopy.lint) and states no fact the
    brief does not (assistant.adcopy.facts). Deterministic: the same text always gets the same thumb."""

    def __init__(self):
        from assistant.adcopy.channels import get_channel
        from assistant.adcopy.facts import FactChecker
        from assistant.adcopy.lint import Linter

        self.spec = get_channel(CHANNEL).field(FIELD)
        self.checker, self.linter = FactChecker(), Linter()

    def reasons(self, text: str, brief) -> list[str]:
        from assistant.adcopy.checks import problems

        if not text.strip():
            return ["empty"]
        out = problems(text, self.spec, "en", [], [])
        out += [f"lint {v.rule}" for v in self.linter.check(text, "en", CHANNEL, FIELD)]
        out += [f"unsupported {c.kind}" for c in self.checker.unsupported(text, self.checker.sources(*brief.facts()))]
        return out

    def edit(self, text: str, brief) -> str:
        """What a copywriter would keep: the invented facts dropped, the lint fixed, cut to the limit; '' if
        no mechanical repair passes."""
        from assistant.adcopy.checks import shortenings

        fixed, _ = self.checker.repair(text, self.checker.sources(*brief.facts()))
        if fixed:
            lint = self.linter.rewrite(fixed, "en", CHANNEL, FIELD)
            fixed = fixed if lint.ok else (lint.rewrite or "")
        cuts = shortenings(fixed, self.spec, "en", []) if fixed else []
        best = next((c for c in cuts if not self.reasons(c, brief)), "")
        return best if best != text else ""


def briefs(n: int, seed: int = 7):
    from assistant.adcopy.feed import read_feed

    products = [p for p in read_feed(PRODUCTS).products if p.language == "en"]
    random.Random(seed).shuffle(products)
    return [(p.id, p.brief(CHANNEL, n=1)) for p in products[:n]]


def prompt_for(brief) -> list[dict]:
    from assistant.adcopy.channels import get_channel
    from assistant.adcopy.prompts import generation_messages

    return [m.as_dict() for m in generation_messages(brief, get_channel(CHANNEL), FIELD, 1, None, [])]


def llama(adapter_gguf: str | None = None, threads: int = 1):
    from llama_cpp import Llama

    from assistant.llm.embedded import smollm2_path

    return Llama(model_path=str(smollm2_path()), lora_path=adapter_gguf, n_ctx=1024, n_threads=threads,
                 verbose=False, seed=0)


def sample(cpp, prompts: list[list[dict]], k: int, seed: int, temperature: float, max_new: int = 24):
    """k completions per prompt from llama.cpp (greedy when temperature is 0), the first parsed item of each;
    the prompt is evaluated once per brief (llama.cpp keeps it cached between the k draws)."""
    from assistant.adcopy.prompts import parse_items

    out = []
    for i, msgs in enumerate(prompts):
        items = []
        for j in range(k):
            reply = cpp.create_chat_completion(messages=msgs, max_tokens=max_new, temperature=temperature,
                                               top_p=0.95, seed=seed + 100 * i + j)["choices"][0]["message"]["content"]
            items.append((parse_items(reply) or [""])[0])
        out.append(items)
    return out


def build_feedback(cpp, n_briefs: int, per_brief: int, heldout_share: float) -> list[dict]:
    """Generate, label and split (by brief); written to bench/data/kto/feedback.jsonl for the next run."""
    labeler = Labeler()
    chosen = briefs(n_briefs)
    n_test = max(2, round(n_briefs * heldout_share))
    rows = []
    texts = sample(cpp, [prompt_for(b) for _, b in chosen], per_brief, seed=1000, temperature=1.0)
    for i, ((pid, brief), items) in enumerate(zip(chosen, texts, strict=True)):
        split = "heldout" if i < n_test else "train"
        for text in dict.fromkeys(t for t in items if t):
            why = labeler.reasons(text, brief)
            edit = labeler.edit(text, brief) if why else ""
            rows.append({"brief": pid, "split": split, "prompt": prompt_for(brief), "text": text,
                         "thumb": "down" if why else "up", "reasons": why, "edited": edit})
    DATA.mkdir(parents=True, exist_ok=True)
    FEEDBACK.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def judged(rows: list[dict], split: str):
    """Feedback rows as KTO examples, as `python -m finetune retrain` builds them from the store."""
    from finetune.kto import Judged

    out = []
    for r in rows:
        if r["split"] != split:
            continue
        out.append(Judged(r["prompt"], f"1. {r['text']}", r["thumb"] == "up", r["brief"]))
        if r["edited"]:
            out.append(Judged(r["prompt"], f"1. {r['edited']}", True, r["brief"]))
    return out


def evaluate(cpp, model, tok, rows: list[dict], test_briefs, k: int, margin_items: int) -> dict:
    from finetune.kto import logp_margin

    labeler = Labeler()
    prompts = [prompt_for(b) for _, b in test_briefs]
    drawn = sample(cpp, prompts, k, seed=5000, temperature=0.7)
    greedy = sample(cpp, prompts, 1, seed=0, temperature=0.0)
    ok = [not labeler.reasons(t, b) for (_, b), ts in zip(test_briefs, drawn, strict=True) for t in ts]
    ok_greedy = [not labeler.reasons(ts[0], b) for (_, b), ts in zip(test_briefs, greedy, strict=True)]
    held = judged(rows, "heldout")
    held = [j for j in held if j.desirable][: margin_items // 2] + [j for j in held if not j.desirable][: margin_items // 2]
    m = logp_margin(model, tok, held)
    return {"approved_share": round(sum(ok) / len(ok), 4),
            "approved_greedy_share": round(sum(ok_greedy) / len(ok_greedy), 4), "generations": len(ok),
            "margin": m["margin"], "logp_liked": m["desirable"], "logp_disliked": m["undesirable"],
            "margin_texts": m["n_desirable"] + m["n_undesirable"], "greedy_examples": [ts[0] for ts in greedy[:3]]}


def run(quick: bool = True, steps: int = 0, regenerate: bool = False, threads: int = 0) -> dict:
    import tempfile

    import torch

    from assistant.llm.hf_loading import load_causal_lm
    from finetune.config import FinetuneConfig
    from finetune.export import export_gguf_lora
    from finetune.kto import KTOConfig, train_on_feedback
    from finetune.methods import wrap

    torch.set_num_threads(threads or 1)
    started = time.time()
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    n_briefs, per_brief, k, batch = (24, 4, 2, 4) if quick else (48, 6, 4, 8)
    steps = steps or (8 if quick else 30)
    rows = [json.loads(line) for line in FEEDBACK.read_text(encoding="utf-8").splitlines()] \
        if FEEDBACK.exists() and not regenerate else build_feedback(llama(threads=threads or 1), n_briefs, per_brief, 0.33)
    by_id = dict(briefs(200))
    test_briefs = [(pid, by_id[pid]) for pid in dict.fromkeys(r["brief"] for r in rows if r["split"] == "heldout")]
    train = judged(rows, "train")
    tr = [r for r in rows if r["split"] == "train"]
    result = {"model": MODEL, "feedback": {
        "train_briefs": len({r["brief"] for r in tr}), "heldout_briefs": len(test_briefs), "train_texts": len(tr),
        "thumbs_up": sum(r["thumb"] == "up" for r in tr), "edits": sum(bool(r["edited"]) for r in tr),
        "thumbs_down": sum(r["thumb"] == "down" for r in tr),
        "base_samples_approved_share": round(sum(r["thumb"] == "up" for r in rows) / max(len(rows), 1), 4)},
        "budget": {"steps": steps, "batch_size": batch, "learning_rate": 5e-4, "lora_r": 8, "beta": 0.1},
        "heldout": {}}
    margin_items = 16 if quick else 64
    model, tok, model_id = load_causal_lm(MODEL, device="cpu")
    result["heldout"]["base"] = evaluate(llama(threads=threads or 1), model, tok, rows, test_briefs, k, margin_items)
    lora = FinetuneConfig(method="lora", r=8, lora_alpha=16, lora_dropout=0.0, seed=0, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        for arm in ("sft", "kto"):
            base, tok, model_id = load_causal_lm(MODEL, device="cpu")
            torch.manual_seed(0)
            peft_model = wrap(base, lora, steps)
            hist = train_on_feedback(peft_model, tok, train, KTOConfig(objective=arm, max_steps=steps, batch_size=batch,
                                                                       learning_rate=5e-4, seed=0))
            gguf = export_gguf_lora(peft_model, Path(tmp) / f"{arm}.gguf", model_id, modelfile=False)
            res = evaluate(llama(str(gguf), threads or 1), peft_model, tok, rows, test_briefs, k, margin_items)
            res.update(final_loss=round(hist.losses[-1][1], 4), examples_trained_on=hist.examples)
            result["heldout"][arm] = res
    result["load_average"] = f"{load_before} before, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} after"
    result["wall_s"] = round(time.time() - started)
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="24 briefs (8 held out), 2 samples + greedy each, 8 steps of 4")
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps per arm (default 30, quick 8)")
    ap.add_argument("--regenerate", action="store_true", help="write a new feedback set (bench/data/kto/feedback.jsonl)")
    ap.add_argument("--threads", type=int, default=1, help="torch and llama.cpp threads (1 suits a busy machine)")
    ap.add_argument("--json", metavar="OUT.json", help="also write the figures here")
    args = ap.parse_args(argv)
    figures = run(quick=args.quick, steps=args.steps, regenerate=args.regenerate, threads=args.threads)
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    print(text)
    h = figures["heldout"]
    print("\n| held-out briefs | base | SFT-only | KTO |\n|---|---|---|---|")
    for key in ("approved_share", "approved_greedy_share", "margin"):
        print(f"| {key} | {h['base'][key]} | {h['sft'][key]} | {h['kto'][key]} |")
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
