"""Background adapter training (`python -m finetune autotrain`, what `dev.sh run` starts), side by side in one run:

1. the chat's reply latency (p50/p95, whole reply and first token) through the app's real path
   (`runtime.chat.respond`, as bench/app.py sends messages) while the job trains, against the same messages
   with nothing training (baseline: measured before the job starts and again after it ends, same runtime);
2. minutes from the job's start to each task's adapter trained and decided by the gate (served or rejected),
   and to both served; seconds per optimizer step per task as the job measured them.

The job is started exactly as dev.sh starts it (nice 19, its own session, one core left to the app) into a
temporary work folder and registry, so the bench never touches the shop's own adapters. Customers are
simulated one message every `--gap` seconds (a busy small shop), not back to back.

    .venv/bin/python -m bench.autotrain [--quick] [--model qwen2.5-0.5b] [--max-steps N] [--gap S]

The full run trains with the configured step budgets (autotrain.steps) on the served model: about 20-25
minutes on 2 cores, plus the gate's evaluations. `--quick` trains smollm2-135m for 2 steps per task, asks the
gate for its smallest evaluation and sends short answers: a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.app import message_memo  # noqa: E402 - after the repository is on the path

QUESTIONS = [
    "How long does delivery take?", "Can I return a lamp I bought last week?", "Do you ship to Canada?",
    "What is your refund policy?", "Is the linen duvet cover machine washable?", "How do I track my order?",
    "你们的退货政策是什么？", "运费是多少？",
]
BASELINE = "the same messages through the same runtime with nothing training (before and after the job), same run"
GOALS = {"ratio_p50": "<= 1.5", "ratio_p95": "<= 2", "minutes_to_both_served": "<= 25 on 2 cores"}
HEADLINES = [
    ("chat reply p50 (s) while the adapters train vs idle", "chat_training.p50_s", "chat_idle.p50_s", "<= 1.5x"),
    ("chat reply p95 (s) while the adapters train vs idle", "chat_training.p95_s", "chat_idle.p95_s", "<= 2x"),
    ("minutes from start to both adapters served", "minutes_to_both_served", None, "<= 25 on 2 cores"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(xs: list[float]) -> dict:
    if not xs:
        return {"p50_s": None, "p95_s": None, "n": 0}
    return {"p50_s": round(statistics.median(xs), 3), "p95_s": round(pct(xs, 0.95), 3), "n": len(xs)}


def ask(runtime, question: str) -> tuple[float, float]:
    """(seconds to the first non-blank piece, seconds to the whole reply) for one new customer session."""
    llama = getattr(runtime.backend, "llama", None)
    if llama is not None:
        llama.reset()  # llama.cpp's prompt cache would turn repeats into cache hits
    start = time.perf_counter()
    first = None
    for piece in runtime.chat.respond(question, runtime.chat.sessions.get()):
        if first is None and piece.strip():
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return (first if first is not None else total), total


def chat_round(runtime, n: int, offset: int = 0) -> list[tuple[float, float]]:
    new_message = message_memo(runtime)  # the messages repeat: each is sent as new, idle and while training alike
    out = []
    for i in range(n):
        new_message()
        out.append(ask(runtime, QUESTIONS[(offset + i) % len(QUESTIONS)]))
    return out


def job_phase(statuses: dict[str, dict]) -> str:
    """What the job is doing when a message arrives: its task in progress and that task's phase ("support
    training"; "... step 0" while the base loads, before the first step), else "between tasks"."""
    for task, s in sorted(statuses.items()):
        phase = s.get("phase")
        if phase not in ("queued", "served", "rejected", "failed"):
            return f"{task} {phase}" + (" step 0" if phase == "training" and not s.get("step") else "")
    return "between tasks"


def job_log_tail(text: str, work: Path, lines: int = 12) -> list[str]:
    """The job's own last lines (steps, decisions), not llama.cpp's loading chatter; the run's temporary folder is
    written <work>: the results speak of the job, not of the machine it ran on."""
    return [line.replace(str(work), "<work>") for line in text.splitlines() if " autotrain " in line][-lines:]


def start_job(work: Path, model: str, max_steps: int, quick: bool) -> tuple[subprocess.Popen, Path]:
    """The job as dev.sh starts it, pointed at a temporary registry (its work folder sits next to it)."""
    env = {**os.environ, "ASSISTANT_FINETUNE__REGISTRY": str(work / "registry.json"), "ASSISTANT_LLM__MODEL": model}
    if quick:  # the gate's smallest evaluation: proves the path, decides nothing worth reading
        env.update(ASSISTANT_GATE__SUPPORT_QUESTIONS="4", ASSISTANT_GATE__ADCOPY_BRIEFS="1",
                   ASSISTANT_GATE__ADCOPY_VARIANTS="1")
    cmd = ["nice", "-n", "19", sys.executable, "-m", "finetune", "autotrain"]
    if max_steps:
        cmd += ["--max-steps", str(max_steps)]
    log = work / "autotrain.log"
    with log.open("w", encoding="utf-8") as fh:
        job = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
                               start_new_session=True)
    return job, log


def read_statuses(work: Path) -> dict[str, dict]:
    out = {}
    for f in (work / "autotrain").glob("*/status.json"):
        try:
            out[f.parent.name] = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # written atomically; a missing file just means not yet
    return out


def run(quick: bool = True, model: str | None = None, max_steps: int | None = None, gap: float | None = None,
        idle_messages: int | None = None) -> dict:
    from assistant.config import load_config
    from assistant.runtime import Runtime
    from finetune.chat_freeze import read_state

    model = model or ("smollm2-135m" if quick else load_config().llm.model)
    max_steps = (2 if quick else 0) if max_steps is None else max_steps
    gap = (2.0 if quick else 10.0) if gap is None else gap
    n_idle = idle_messages or (4 if quick else 10)
    with tempfile.TemporaryDirectory(prefix="bench-autotrain-") as tmp:
        work = Path(tmp)
        # The app and the job share the registry (the app serves what the gate promotes) and so the work folder
        # where the app marks its activity for the job to step aside (autotrain.yield_to_chat).
        settings = load_config(overrides={
            "llm": {"model": model, "temperature": 0.0, "max_tokens": 32 if quick else 256},
            "app": {"client_rate_limit_per_minute": 0}, "finetune": {"registry": str(work / "registry.json")}})
        runtime = Runtime(settings)
        ask(runtime, "hello")  # load the model, the classifiers and the knowledge base before timing anything
        idle = chat_round(runtime, n_idle)
        t0 = time.perf_counter()
        job, log = start_job(work, model, max_steps, quick)
        busy: list[tuple[float, float]] = []
        first_seen: dict[str, dict[str, float]] = {}

        def note_phases() -> dict[str, dict]:
            """When each task was first seen in each phase (to within one message and one gap)."""
            statuses = read_statuses(work)
            for task, s in statuses.items():
                first_seen.setdefault(task, {}).setdefault(s.get("phase", "?"), round(time.perf_counter() - t0, 1))
            return statuses

        i = 0
        phases: list[str] = []  # the job's phase at each message: which part of the job slows the chat
        new_message = message_memo(runtime)
        while job.poll() is None:
            phases.append(job_phase(read_statuses(work)))
            new_message()
            busy.append(ask(runtime, QUESTIONS[i % len(QUESTIONS)]))
            i += 1
            note_phases()
            time.sleep(gap)
        wall = time.perf_counter() - t0
        statuses = note_phases()
        log_tail = job_log_tail(log.read_text(encoding="utf-8", errors="replace"), work)
        frozen = read_state(work / "autotrain" / "chat_active")  # the freezer's counts (yield_by: freeze)
        idle += chat_round(runtime, n_idle, offset=n_idle)  # after: idle on both sides of the job
    decided = {t: seen.get("served", seen.get("rejected")) for t, seen in first_seen.items()}
    trained = {t: seen.get("evaluating", decided[t]) for t, seen in first_seen.items()}
    served = [first_seen[t]["served"] for t, s in statuses.items() if s.get("phase") == "served"]
    idle_total, busy_total = [t for _, t in idle], [t for _, t in busy]
    result = {
        "model": model, "max_steps": max_steps or "autotrain.steps", "gap_s": gap, "job_exit_code": job.returncode,
        "job_wall_s": round(wall, 1),
        "phases": {t: s.get("phase") for t, s in statuses.items()},
        "errors": {t: s.get("error") for t, s in statuses.items() if s.get("error")},
        "steps": {t: s.get("total") for t, s in statuses.items()},
        "s_per_step": {t: s.get("s_per_step") for t, s in statuses.items()},
        "threads": {t: s.get("threads") for t, s in statuses.items()},
        "yield_to_chat": settings.autotrain.yield_to_chat,
        "paused_s": {t: s.get("paused_s") for t, s in statuses.items()},
        "yield_by": settings.autotrain.yield_by if settings.autotrain.yield_to_chat else None,
        "frozen": frozen,
        "gate": {t: (s.get("decision") or {}).get("reason") for t, s in statuses.items()},
        "s_to_trained": trained, "s_to_decided": decided,
        "minutes_to_both_served": round(max(served) / 60, 2) if len(served) == 2 else None,
        "chat_idle": stats(idle_total), "chat_training": stats(busy_total),
        "chat_by_job_phase": {p: stats([t for q, (_, t) in zip(phases, busy, strict=True) if q == p])
                              for p in dict.fromkeys(phases)},
        "ttft_idle": stats([t for t, _ in idle]), "ttft_training": stats([t for t, _ in busy]),
        "load_average": "/".join(f"{x:.1f}" for x in os.getloadavg()),
        "log_tail": log_tail,
    }
    for q in ("p50", "p95"):
        a, b = result["chat_training"][f"{q}_s"], result["chat_idle"][f"{q}_s"]
        result[f"ratio_{q}"] = round(a / b, 2) if a and b else None
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smollm2-135m, 2 steps per task, short answers")
    parser.add_argument("--model", help="base model to serve and train (default: llm.model; smollm2-135m with --quick)")
    parser.add_argument("--max-steps", type=int, help="steps per task (default: autotrain.steps; 2 with --quick)")
    parser.add_argument("--gap", type=float, help="seconds between customer messages (default 10; 2 with --quick)")
    parser.add_argument("--idle-messages", type=int, help="messages before and after the job (default 10; 4 quick)")
    args = parser.parse_args(argv)
    r = run(args.quick, args.model, args.max_steps, args.gap, args.idle_messages)
    print(json.dumps(r, indent=2, ensure_ascii=False))
    print(f"\nchat reply p50 {r['chat_training']['p50_s']} s while training vs {r['chat_idle']['p50_s']} s idle "
          f"(x{r['ratio_p50']}), p95 {r['chat_training']['p95_s']} vs {r['chat_idle']['p95_s']} s (x{r['ratio_p95']}); "
          f"job {r['job_wall_s']} s, phases {r['phases']}, s/step {r['s_per_step']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
