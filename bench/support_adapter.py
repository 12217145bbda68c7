"""The `support` adapter side by side with the bare model, through llama.cpp as the app serves it, on held-out
grounded-answer pairs (`python -m finetune support-data --heldout-output FILE`: facts the adapter never saw).

    .venv/bin/python -m bench.support_adapter --data data/support/heldout.jsonl [--adapter FILE.gguf] [--limit N]

Each pair's prompt (the knowledge base's own: answer_prompt + evidence + question) goes to the base and to the
base + adapter, alternating which goes first so a drifting load evens out; greedy decoding. Per system:
- fact accuracy: answerable pairs whose every figure in the reference answer is in the output (not NOT_FOUND);
- yes/no polarity: the reference's yes or no (first word) matched;
- NOT_FOUND precision / recall against the pairs made unanswerable;
- passes the number check: outputs (other than NOT_FOUND) stating no figure or code outside the evidence, as
  `knowledge_base.grounding.unsupported` decides before an answer is sent;
- sent as drafted: what `Answerer.finish` would send unchanged (no NOT_FOUND, no echo, no unsupported figure);
- context copied: the output starts with the evidence's "Title > Heading:" label;
- median seconds per answer, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_NO = re.compile(r"^\s*(no\b|not\b|不|没有|无法)", re.IGNORECASE)
_YES = re.compile(r"^\s*(yes\b|可以|是的|能|有|会)", re.IGNORECASE)


def load_avg() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def is_not_found(text: str) -> bool:
    return "NOT_FOUND" in text.upper().replace(" ", "_")


def score(row: dict, output: str) -> dict:
    """One output against its pair's reference answer and evidence."""
    from knowledge_base.answer import clean_answer, echoes
    from knowledge_base.grounding import numbers_in, unsupported

    system, question, reference = (m["content"] for m in row["messages"])
    facts = system.split("\n\n", 1)[1] if "\n\n" in system else system
    labels = [line[2:].split(": ", 1)[0] for line in facts.splitlines()[1:] if ": " in line]
    said_nf, gold_nf = is_not_found(output), reference == "NOT_FOUND"
    text = clean_answer(output)
    problems = [] if said_nf else unsupported(text, [facts], question)
    out = {"not_found": said_nf, "gold_not_found": gold_nf, "number_check": not said_nf and not problems,
           "sent_as_drafted": bool(text) and not said_nf and not problems and not echoes(text, question),
           "context_copied": any(label and text.startswith((label + ":", label + "：")) for label in labels)}
    if not gold_nf:
        wanted = numbers_in(reference)
        out["fact"] = (not said_nf and wanted <= numbers_in(output)) if wanted else None
        if row.get("kind") == "yes_no":
            out["polarity"] = not said_nf and bool(_NO.match(reference)) == bool(_NO.match(output)) and (
                bool(_NO.match(output)) or bool(_YES.match(output)))
    return out


def summarize(scored: list[dict], seconds: list[float]) -> dict:
    def rate(values):
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 3) if values else None

    pos = [s for s in scored if not s["gold_not_found"]]
    said = [s for s in scored if s["not_found"]]
    gold = [s for s in scored if s["gold_not_found"]]
    answered = [s for s in scored if not s["not_found"]]
    return {
        "pairs": len(scored), "answerable": len(pos), "unanswerable": len(gold),
        "fact_accuracy": rate([s.get("fact") for s in pos]),
        "fact_pairs": sum(s.get("fact") is not None for s in pos),
        "yes_no_polarity": rate([s.get("polarity") for s in pos if "polarity" in s]),
        "not_found_precision": rate([s["gold_not_found"] for s in said]),
        "not_found_recall": rate([s["not_found"] for s in gold]),
        "answerable_said_not_found": rate([s["not_found"] for s in pos]),
        "number_check_pass": rate([s["number_check"] for s in answered]),
        "sent_as_drafted_answerable": rate([s["sent_as_drafted"] for s in pos]),
        "context_copied": rate([s["context_copied"] for s in answered]),
        "median_s": round(statistics.median(seconds), 2) if seconds else None,
    }


def run(data: Path, adapter: str, model: str, limit: int = 0, threads: int = 0, max_tokens: int = 96) -> dict:
    from assistant.llm import build_backend
    from assistant.llm.base import Message
    from assistant.llm.config import LLMConfig

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[:limit] if limit else rows
    backend = build_backend(LLMConfig(backend="llamacpp", model=model, temperature=0.0, max_tokens=max_tokens,
                                      n_threads=threads, adapters={"support": adapter}, startup_probe=False))
    systems = {"bare": None, "adapter": "support"}
    outputs: dict[str, list[str]] = {s: [] for s in systems}
    seconds: dict[str, list[float]] = {s: [] for s in systems}
    load_before, started = load_avg(), time.perf_counter()
    for i, row in enumerate(rows):
        msgs = [Message(m["role"], m["content"]) for m in row["messages"][:-1]]
        order = list(systems) if i % 2 == 0 else list(reversed(systems))
        for name in order:
            t = time.perf_counter()
            outputs[name].append(backend.generate(msgs, adapter=systems[name]).strip())
            seconds[name].append(time.perf_counter() - t)
        print(f"  {i + 1}/{len(rows)} {row.get('lang')} {row.get('kind')}: bare {seconds['bare'][-1]:.1f} s, "
              f"adapter {seconds['adapter'][-1]:.1f} s", file=sys.stderr, flush=True)
    result: dict = {"data": str(data), "model": model, "adapter": adapter, "pairs": len(rows),
                    "load_avg_before": load_before, "load_avg_after": load_avg(),
                    "wall_s": round(time.perf_counter() - started, 1)}
    details = []
    for name in systems:
        scored = [score(r, o) for r, o in zip(rows, outputs[name], strict=True)]
        result[name] = summarize(scored, seconds[name])
        for lang in ("en", "zh"):
            idx = [k for k, r in enumerate(rows) if r.get("lang") == lang]
            result[name][lang] = summarize([scored[k] for k in idx], [seconds[name][k] for k in idx])
        details.append(scored)
    result["rows"] = [{"question": r["messages"][1]["content"], "reference": r["messages"][2]["content"],
                       "kind": r.get("kind"), "lang": r.get("lang"), "bare": outputs["bare"][k],
                       "adapter": outputs["adapter"][k]} for k, r in enumerate(rows)]
    return result


def render(result: dict) -> str:
    keys = ["fact_accuracy", "yes_no_polarity", "not_found_precision", "not_found_recall",
            "answerable_said_not_found", "number_check_pass", "sent_as_drafted_answerable", "context_copied",
            "median_s"]
    lines = [f"{result['pairs']} held-out pairs, model {result['model']}, load average {result['load_avg_before']}"
             f" -> {result['load_avg_after']}, {result['wall_s']} s",
             f"{'':28}{'bare':>10}{'adapter':>10}{'bare en':>10}{'adpt en':>10}{'bare zh':>10}{'adpt zh':>10}"]
    for k in keys:
        cells = [result["bare"][k], result["adapter"][k], result["bare"]["en"][k], result["adapter"]["en"][k],
                 result["bare"]["zh"][k], result["adapter"]["zh"][k]]
        lines.append(f"{k:28}" + "".join(f"{str(c):>10}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.support_adapter", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/support/heldout.jsonl", help="held-out pairs (JSONL)")
    parser.add_argument("--adapter", help="GGUF LoRA (default: the registered support adapter of --model)")
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--registry", help="adapter registry (default: finetune.registry)")
    parser.add_argument("--limit", type=int, default=0, help="first N pairs only")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0 = all cores)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure and output here")
    args = parser.parse_args(argv)
    adapter = args.adapter
    if not adapter:
        from assistant.llm.adapter_registry import base_model_id, get_adapter

        adapter = get_adapter("support", base_model_id(args.model), args.registry).gguf
    result = run(REPO / args.data if not Path(args.data).is_absolute() else Path(args.data), adapter, args.model,
                 args.limit, args.threads)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
