"""Our `llamacpp` backend vs raw `llama_cpp.Llama` on the same GGUF, same prompts, same settings, one run.

Prints tokens/s of each, their ratio (goal >= 0.95: our layer must cost almost nothing) and time-to-first-
token p50; also the transformers backend's tok/s on the same model for reference.

`builds`: the portable llama.cpp build that dev.sh installs (AVX2, no AMX) side by side with the other builds
found in the wheel cache (`SHOP_ASSISTANT_LLAMA_CPU=native|avx512|portable bash dev.sh llama-wheel` makes them), each
in its own child process on the default Qwen2.5-0.5B, alternating, with the start-up probe's cost.
Usage: python bench/generation.py [--model smollm2-135m|qwen2.5-0.5b] [--rounds N] [--quick] [--builds-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BASELINE = "raw llama_cpp.Llama on the same GGUF, same prompts and settings (greedy), alternating order"
GOALS = {"ratio_ours_vs_raw": ">= 0.95"}
HEADLINES = [
    ("generation tok/s, our llamacpp backend vs raw llama.cpp", "ours_tok_s", "raw_tok_s", ">= 0.95x"),
    ("qwen generation tok/s, portable build vs native build", "builds.portable.gen_tok_s",
     "builds.native.gen_tok_s", "cost of portability, reported"),
    ("qwen prompt tok/s, portable build vs native build", "builds.portable.prompt_tok_s",
     "builds.native.prompt_tok_s", "reported"),
    ("start-up probe (s), child process vs in-process model load", "builds.probe_s", "builds.load_s", "a few s"),
    ("time to first token p50 (s), ours vs raw", "ours_ttft_p50_s", "raw_ttft_p50_s", "~1x"),
    ("llama.cpp tok/s vs transformers on the same model", "ours_tok_s", "transformers_tok_s", "~9x"),
]

PROMPTS = [
    "What are your opening hours?",
    "How long does shipping to Berlin take, and what does it cost?",
    "I want to return a lamp I bought two weeks ago. What should I do?",
    "Write one friendly sentence thanking a customer for their order.",
]
SYSTEM = "You are a helpful customer-service assistant of an online home-goods shop. Answer briefly."


def _timed(stream_fn, reset_fn) -> tuple[float, float, str]:
    reset_fn()  # llama.cpp reuses its prompt cache between calls: measure cold prompts, not cache hits
    t0 = time.perf_counter()
    first = None
    text = []
    for piece in stream_fn():
        if first is None:
            first = time.perf_counter() - t0
        text.append(piece)
    return first or 0.0, time.perf_counter() - t0, "".join(text)


def run(quick: bool = False, model: str = "smollm2-135m", rounds: int | None = None, with_transformers: bool = True) -> dict:
    import llama_cpp

    from assistant.llm import LLMConfig, Message, build_backend

    rounds = rounds or (1 if quick else 3)
    max_tokens = 48 if quick else 96
    cfg = LLMConfig(backend="llamacpp", model=model, n_ctx=2048, max_tokens=max_tokens, temperature=0.0)
    ours = build_backend(cfg)
    raw = llama_cpp.Llama(model_path=str(ours.model_path), n_ctx=2048, n_threads=cfg.threads, seed=cfg.seed,
                          verbose=False)

    def raw_stream(prompt):
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        for chunk in raw.create_chat_completion(messages=msgs, max_tokens=max_tokens, temperature=0.0,
                                                top_p=cfg.top_p, seed=cfg.seed, stream=True):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece

    def ours_stream(prompt):
        return ours.stream([Message("system", SYSTEM), Message("user", prompt)])

    stats = {"ours": {"ttft": [], "tokens": 0, "seconds": 0.0}, "raw": {"ttft": [], "tokens": 0, "seconds": 0.0}}
    for _ in range(rounds):
        for prompt in PROMPTS:
            # Alternate the order so neither side always runs on a warmer machine.
            for side in (("raw", "ours") if _ % 2 == 0 else ("ours", "raw")):
                fn = (lambda p=prompt: raw_stream(p)) if side == "raw" else (lambda p=prompt: ours_stream(p))
                reset = raw.reset if side == "raw" else ours.llama.reset
                ttft, total, text = _timed(fn, reset)
                s = stats[side]
                s["ttft"].append(ttft)
                s["tokens"] += len(raw.tokenize(text.encode(), add_bos=False))
                s["seconds"] += total
    result = {"model": model, "rounds": rounds, "max_tokens": max_tokens}
    for side, s in stats.items():
        result[f"{side}_tok_s"] = s["tokens"] / s["seconds"]
        result[f"{side}_ttft_p50_s"] = statistics.median(s["ttft"])
    result["ratio_ours_vs_raw"] = result["ours_tok_s"] / result["raw_tok_s"]
    result["ttft_ratio_ours_vs_raw"] = result["ours_ttft_p50_s"] / result["raw_ttft_p50_s"]

    if with_transformers:
        tf = build_backend(LLMConfig(backend="transformers", model=model, max_tokens=32, temperature=0.0))
        t0 = time.perf_counter()
        text = tf.generate([Message("system", SYSTEM), Message("user", PROMPTS[0])])
        secs = time.perf_counter() - t0
        result["transformers_tok_s"] = tf.count_tokens(text) / secs
        result["llamacpp_vs_transformers"] = result["ours_tok_s"] / result["transformers_tok_s"]
    ours.llama.close() if hasattr(ours.llama, "close") else None
    result["builds"] = compare_builds(rounds=1 if quick else 3)
    return result


CHILD = r"""
import json, sys, time
import llama_cpp
path, rounds = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=path, n_ctx=2048, n_threads=2, seed=42, verbose=False)
prompt = ("Shop information: " + "Returns are accepted within 30 days of delivery if the item is unused. " * 24
          + "\nQuestion: how long do I have to return an item?\nAnswer:")
n_prompt = len(llm.tokenize(prompt.encode()))
out = {"prompt_s": 0.0, "gen_s": 0.0, "gen_tokens": 0, "prompt_tokens": 0}
for _ in range(rounds):
    llm.reset()
    t0 = time.perf_counter()
    llm.create_completion(prompt, max_tokens=1, temperature=0.0)
    t1 = time.perf_counter()
    llm.reset()
    r = llm.create_completion(prompt, max_tokens=64, temperature=0.0, stop=[])
    t2 = time.perf_counter()
    n = r["usage"]["completion_tokens"]
    out["prompt_s"] += t1 - t0
    out["prompt_tokens"] += n_prompt
    out["gen_s"] += max(1e-6, (t2 - t1) - (t1 - t0))
    out["gen_tokens"] += max(0, n - 1)
print(json.dumps(out))
"""


def wheel_builds() -> dict[str, Path]:
    """Build profile -> a cached llama-cpp-python wheel for it, as dev.sh keys them (flags -> folder)."""
    import os
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    found = {}
    for profile in ("portable", "avx512", "native"):
        done = subprocess.run(["bash", "dev.sh", "llama-flags"], cwd=repo, capture_output=True, text=True,
                              env={**os.environ, "SHOP_ASSISTANT_LLAMA_CPU": profile})
        lines = done.stdout.strip().splitlines()
        folder = lines[-1] if done.returncode == 0 and lines else ""
        wheels = sorted(Path(folder).glob("llama_cpp_python-*.whl")) if folder else []
        if wheels:
            found[profile] = wheels[0]
    return found


def compare_builds(model: str = "qwen2.5-0.5b", rounds: int = 3) -> dict:
    """Each cached build in a child process (PYTHONPATH = its unpacked wheel), alternating, same prompt."""
    import json
    import os
    import subprocess
    import tempfile
    import zipfile

    from assistant.llm import LLMConfig
    from assistant.llm.factory import resolve_gguf
    from assistant.llm.probe import probe_generation

    cfg = LLMConfig(backend="llamacpp", model=model)
    path = str(resolve_gguf(cfg))
    builds = wheel_builds()
    result: dict = {"model": model, "rounds": rounds, "found": sorted(builds)}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {}
        for profile, wheel in builds.items():
            zipfile.ZipFile(wheel).extractall(Path(tmp) / profile)
            dirs[profile] = Path(tmp) / profile
        totals = {p: {"prompt_s": 0.0, "gen_s": 0.0, "gen_tokens": 0, "prompt_tokens": 0} for p in dirs}
        for r in range(rounds):
            order = list(dirs) if r % 2 == 0 else list(reversed(dirs))
            for profile in order:
                env = {**os.environ, "PYTHONPATH": str(dirs[profile])}
                done = subprocess.run([sys.executable, "-c", CHILD, path, "1"], env=env, capture_output=True,
                                      text=True, timeout=600)
                if done.returncode != 0:
                    totals[profile]["error"] = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                    continue
                for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    totals[profile][k] += v
        for profile, t in totals.items():
            if "error" in t:
                result[profile] = {"error": t["error"]}
                continue
            result[profile] = {"prompt_tok_s": t["prompt_tokens"] / t["prompt_s"],
                               "gen_tok_s": t["gen_tokens"] / t["gen_s"]}
        if "portable" in result and "native" in result and "gen_tok_s" in result.get("native", {}):
            result["portable_vs_native_gen"] = result["portable"]["gen_tok_s"] / result["native"]["gen_tok_s"]
            result["portable_vs_native_prompt"] = (result["portable"]["prompt_tok_s"]
                                                   / result["native"]["prompt_tok_s"])
    # What the start-up probe costs, beside what loading the model in-process costs anyway.
    probe = probe_generation(cfg)
    result["probe_s"] = probe.seconds
    import llama_cpp

    t0 = time.perf_counter()
    llama_cpp.Llama(model_path=path, n_ctx=cfg.n_ctx, n_threads=cfg.threads, verbose=False)
    result["load_s"] = time.perf_counter() - t0
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="embedded profile or GGUF path")
    p.add_argument("--rounds", type=int, default=None, help="passes over the prompt set")
    p.add_argument("--quick", action="store_true", help="one short pass")
    p.add_argument("--no-transformers", action="store_true", help="skip the transformers reference")
    p.add_argument("--builds-only", action="store_true", help="only compare the cached llama.cpp builds")
    a = p.parse_args(argv)
    if a.builds_only:
        r = compare_builds(rounds=a.rounds or 3)
        print(json.dumps(r, indent=2))
        return 0
    r = run(a.quick, a.model, a.rounds, not a.no_transformers)
    print(f"model {r['model']}  ({r['rounds']} round(s) x {len(PROMPTS)} prompts, max_tokens {r['max_tokens']}, greedy)")
    print(f"{'':24s}{'tok/s':>10s}{'TTFT p50 (s)':>15s}")
    print(f"{'raw llama_cpp.Llama':24s}{r['raw_tok_s']:10.1f}{r['raw_ttft_p50_s']:15.3f}")
    print(f"{'ours (llamacpp backend)':24s}{r['ours_tok_s']:10.1f}{r['ours_ttft_p50_s']:15.3f}")
    print(f"ratio ours/raw tok/s: {r['ratio_ours_vs_raw']:.3f}  (goal >= 0.95)")
    print(f"ratio ours/raw TTFT:  {r['ttft_ratio_ours_vs_raw']:.3f}")
    if "transformers_tok_s" in r:
        print(f"transformers backend (reference): {r['transformers_tok_s']:.1f} tok/s "
              f"-> llama.cpp is {r['llamacpp_vs_transformers']:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
