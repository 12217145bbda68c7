"""Prompt snapshots, side by side: the dev answer shop through the app's real path with `llm.prompt_snapshots` off
(llama-cpp-python's own cache only: the last prompt) and on (a KV snapshot per recent system prompt), in one run.
`python -m bench.prompt_snapshots [--quick]` (or `python -m bench --only prompt_snapshots`).

The chat's second model serves several tasks in turn (reading the evidence YES/NO, comparing FAQ questions,
translating a question, translating an answer), each under its own system prompt. Without snapshots every switch
evaluates the next task's system prompt again. The answers must stay the same (quality figures equal, up to the
rounding of a prefix evaluated in another batch); the seconds per answer are what changes.
"""

from __future__ import annotations

import argparse
import json
import sys

GOALS = {"ours.median_s": "lower than off", "ours.answerable_accuracy": "= off", "ours.decline_rate": "= off"}
BASELINE = "the same questions, same process and run, with llm.prompt_snapshots: 0 (llama-cpp-python's own cache)"
HEADLINES = [
    ("dev answer shop: median seconds per answer, prompt snapshots on vs off", "ours.median_s", "off.median_s",
     "lower"),
    ("dev answer shop: p95 seconds per answer, prompt snapshots on vs off", "ours.p95_s", "off.p95_s", "lower"),
    ("dev answer shop: answerable questions right, prompt snapshots on vs off", "ours.answerable_accuracy",
     "off.answerable_accuracy", "1.00x"),
]
FIGURES = ("answerable_accuracy", "decline_rate", "invented_answers", "wrong_answers", "median_s", "p95_s")


def run(quick: bool = True, snapshots: int = 4) -> dict:
    from bench.answers import QUICK_IDS, run_shop

    ids = set(QUICK_IDS) if quick else None
    result: dict = {"questions": "12 quick dev questions" if quick else "every dev question", "snapshots": snapshots}
    answers: dict[str, list] = {}
    for name, n in (("off", 0), ("ours", snapshots)):
        shop = run_shop("dev", ids, no_docs=False, overrides={"llm": {"prompt_snapshots": n}}, quiet=True)
        result[name] = {k: shop["ours"][k] for k in FIGURES}
        answers[name] = shop.get("failing_ids", {})
        result["load_avg_" + name] = f"{shop['load_avg_before']} -> {shop['load_avg_after']}"
    result["same_failing_questions"] = answers["off"] == answers["ours"]
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prompt_snapshots", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 dev questions instead of all of them")
    parser.add_argument("--snapshots", type=int, default=4, help="llm.prompt_snapshots for the 'on' side")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick, args.snapshots), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
