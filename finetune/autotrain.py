"""Background training of the shipped task adapters on first run (`python -m finetune autotrain`).

`bash dev.sh run` starts it detached at nice 19 and starts the app at once. Per task (`adcopy`, then `support`) it
builds the training data from the configured shop, trains a LoRA for the base model the app serves (QLoRA on
CUDA), resuming from the last good checkpoint after any kill, and hands the adapter to the gate
(`finetune.gate.evaluate_and_promote`), which serves it only if it wins. Progress is one JSON file per task
(`read_status`), shown by `python -m finetune list` and the Admin tab. A fingerprint of data + config
makes a second start after success do nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import REPO_ROOT, resolve_path
from assistant.errors import AssistantError, ConfigError
from finetune.autotrain_status import (  # noqa: F401 - the job's status API, also used from here
    ACTIVE,
    DONE,
    PHASES,
    TaskStatus,
    _minutes,
    _now,
    _read_json,
    _status_file,
    _write_json,
    log_path,
    read_status,
    status_lines,
    work_dir,
)
from finetune.config import METHODS, TASKS, FinetuneConfig

log = logging.getLogger(__name__)

ENV_OFF = "SHOP_ASSISTANT_AUTOTRAIN"  # "0" keeps `dev.sh run` from starting the job
# Optimizer steps per task. qwen2.5-0.5b on one thread, while the chat answers, takes about 29 s an adcopy step (two
# packed rows of 512 tokens) and 15 s a support step (one row); measured (bench/RESULTS.md), 14 adcopy steps are
# served after 11 min and 30 support steps after 22 min in all (10 tied the bare model at its gate).
DEFAULT_STEPS = {"support": 30, "adcopy": 14}
# Packed rows of 512 tokens per optimizer step. One row halves a step's time against two; a 30-step support adapter
# trained on one row a step took its gate just as far (answerable 0.36 -> 0.43).
DEFAULT_BATCH = {"support": 1, "adcopy": 2}
FORMAT = 1  # bump when the training recipe changes in a way the config does not show: every task retrains

YIELD_MODES = ("freeze", "layers")


@dataclass
class AutotrainConfig:
    enabled: bool = field(default=True, metadata={"help": f"`dev.sh run` starts the job (env {ENV_OFF}=0: off)"})
    tasks: list[str] = field(default_factory=lambda: ["adcopy", "support"],
                            metadata={"help": "adapters to train, in order"})
    base_model: str = field(default="", metadata={"help": "'' = llm.model, the base the app serves"})
    method: str = field(default="auto", metadata={"help": "auto = qlora when CUDA is visible, else lora"})
    steps: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STEPS),
                                  metadata={"help": "optimizer steps per task"})
    batch_size: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BATCH),
                                       metadata={"help": "packed rows of 512 tokens per optimizer step, per task"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads; 0 = all cores but one (at least 1)"})
    nice: int = field(default=19, metadata={"help": "process priority, 0 (normal) to 19 (lowest)"})
    checkpoint_minutes: float = field(default=2.0, metadata={"help": "most training lost to a kill; 0 = every step"})
    eval_fraction: float = field(default=0.04, metadata={"help": "share of the examples held out for eval loss"})
    heldout_fraction: float = field(default=0.12, metadata={"help": "support: share of facts kept out of training "
                                                                    "(written to heldout.jsonl for the gate)"})
    yield_to_chat: bool = field(default=True, metadata={"help": "pause training and the gate while the app is "
                                                               "answering (assistant/activity.py)"})
    yield_by: str = field(default="freeze", metadata={"help": "freeze = SIGSTOP the job at once (finetune/"
                                                              "chat_freeze.py); layers = wait between layers"})
    resume_after_s: float = field(default=0.5, metadata={"help": "seconds of quiet in the app before the job "
                                                                 "carries on"})
    max_failures: int = field(default=3, metadata={"help": "failed attempts on the same data before giving up"})
    work_dir: str = field(default="", metadata={"help": "data, checkpoints, status, log; '' = autotrain/ next to "
                                                        "finetune.registry"})

    def __post_init__(self):
        bad = [t for t in self.tasks if t not in TASKS]
        if bad:
            raise ConfigError(f"tasks must be among {', '.join(TASKS)}, got {bad[0]!r}")
        if self.method not in ("auto", *METHODS):
            raise ConfigError(f"method must be auto or one of {', '.join(METHODS)}, got {self.method!r}")
        for name, per_task in (("steps", self.steps), ("batch_size", self.batch_size)):
            for task, n in per_task.items():
                if task not in TASKS or int(n) < 1:
                    raise ConfigError(f"{name} must map {' / '.join(TASKS)} to a number >= 1, got {task}: {n}")
        if self.threads < 0 or not 0 <= self.nice <= 19:
            raise ConfigError(f"threads must be >= 0 and nice in [0, 19], got {self.threads}, {self.nice}")
        if self.yield_by not in YIELD_MODES:
            raise ConfigError(f"yield_by must be one of {', '.join(YIELD_MODES)}, got {self.yield_by!r}")
        if self.resume_after_s < 0:
            raise ConfigError(f"resume_after_s must be >= 0, got {self.resume_after_s:g}")
        if self.checkpoint_minutes < 0 or self.max_failures < 1:
            raise ConfigError(f"checkpoint_minutes must be >= 0 and max_failures >= 1, got "
                              f"{self.checkpoint_minutes:g}, {self.max_failures}")
        if not (0 < self.eval_fraction < 0.9 and 0 <= self.heldout_fraction < 0.9):
            raise ConfigError(f"eval_fraction must be in (0, 0.9) and heldout_fraction in [0, 0.9), got "
                              f"{self.eval_fraction:g}, {self.heldout_fraction:g}")


def say(task: str, text: str) -> None:
    """One line in the job's log (stderr, which dev.sh sends to autotrain.log)."""
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} autotrain {task}: {text}", file=sys.stderr, flush=True)


# --- one instance only -----------------------------------------------------------------------------------
class AlreadyRunning(AssistantError):
    """Another autotrain holds the lock."""


@contextlib.contextmanager
def single_instance(path: Path):
    """An fcntl lock the kernel drops when its process dies, however it dies: a dead job's lock is free."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        exc = AlreadyRunning(f"another autotrain is running (pid {holder})")
        exc.holder = int(holder) if holder.isdigit() else 0
        raise exc from None
    try:
        stale = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if stale.isdigit() and int(stale) != os.getpid():
            say("-", f"took over the lock of pid {stale}, which is gone")
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the flock


# --- what to train ----------------------------------------------------------------------------------------
def choose_method(cfg: AutotrainConfig) -> str:
    """QLoRA (bnb 4-bit) where CUDA is: the same job, a fraction of the memory; LoRA on CPUs."""
    if cfg.method != "auto":
        return cfg.method
    from assistant.llm.quantization import cuda_available

    return "qlora" if cuda_available() else "lora"


def torch_threads(cfg: AutotrainConfig) -> int:
    """All cores but one: the app's llama.cpp keeps a core, since spinning threads collapse when oversubscribed."""
    if cfg.threads:
        return cfg.threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
    return max(1, cores - 1)


def task_config(settings, task: str, max_steps: int = 0) -> FinetuneConfig:
    """The shop's `finetune` section, pointed at the served base and sized for a background run."""
    a = settings.autotrain
    method = choose_method(a)
    steps = max_steps or int(a.steps.get(task, DEFAULT_STEPS[task]))
    values = {**dataclasses.asdict(settings.finetune), "base_model": a.base_model or settings.llm.model, "task": task,
              "method": method, "max_steps": steps, "eval_every": steps,  # evals at the start and the end only:
              "eval_fraction": a.eval_fraction, "num_threads": torch_threads(a), "register": False,
              "batch_size": int(a.batch_size.get(task, DEFAULT_BATCH[task])),
              "export_gguf": True, "device": "cuda" if method == "qlora" else "auto",
              # on 2 cores one pass over the eval rows costs about a step and a half, and the gate does the real
              # evaluation; two before/after samples in the report are enough here too.
              "num_samples": 2, "metric_examples": 2, "sample_max_tokens": 32,
              "save_every": 1 if a.checkpoint_minutes == 0 else steps + 1,
              "save_every_minutes": a.checkpoint_minutes}
    return FinetuneConfig(**values)


def build_data(settings, task: str, out: Path) -> Path | None:
    """Write `task`'s training rows to `out`, exactly as its documented command does; returns the held-out
    file when one is written."""
    if task == "adcopy":
        from assistant.adcopy.brand import brand_for
        from assistant.adcopy.training_data import write_training_data

        write_training_data(out, brand=brand_for(settings))  # the shop's own brand, never the demo's
        return None
    from finetune.support_data import QUESTIONS_FILE, build

    kb = settings.knowledge_base
    demo = resolve_path(kb.demo_path)
    sources = [demo] + [p for f in kb.faq_files if (p := resolve_path(f)) and p.exists() and p != demo]
    # The hand-written questions are about the demo shop's documents: only used with them.
    questions = [QUESTIONS_FILE] if demo.resolve() == (REPO_ROOT / "knowledge_base" / "demo").resolve() else []
    heldout = out.with_name("heldout.jsonl") if settings.autotrain.heldout_fraction > 0 else None
    report = build(sources, out, settings.shop.name, questions, None, heldout, settings.autotrain.heldout_fraction)
    say(task, report.summary().splitlines()[0] if report.summary() else "data built")
    return heldout


def fingerprint(data: Path, cfg: FinetuneConfig, base_id: str) -> str:
    """What decides the adapter: data, base, recipe. Threads, paths and checkpoint timing do not."""
    ignore = {"num_threads", "registry", "cache_dir", "register", "device", "save_every", "save_every_minutes",
              "base_model"}
    recipe = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ignore}
    h = hashlib.sha256(json.dumps({"format": FORMAT, "base": base_id, "recipe": recipe}, sort_keys=True).encode())
    h.update(data.read_bytes())
    return h.hexdigest()[:16]


def trained(candidate: Path) -> bool:
    """Training, export and clean-up all finished (run_train removes the checkpoints last)."""
    from finetune.trainer import has_checkpoint

    return (candidate / "finetune_meta.json").exists() and (candidate / "adapter.gguf").exists() \
        and not has_checkpoint(candidate)


# --- the job ------------------------------------------------------------------------------------------------
def _progress_writer(status: TaskStatus, task: str):
    last_line = [0.0]

    def on_progress(p) -> None:
        done_here = p.step - p.resumed_from
        per_step = p.session_seconds / done_here if done_here > 0 else None
        fields = {"step": p.step, "total": p.total, "train_loss": p.train_loss, "eval_loss": p.eval_loss,
                  "resumed_from": p.resumed_from, "s_per_step": round(per_step, 2) if per_step else None,
                  "eta_s": round(per_step * (p.total - p.step)) if per_step else None}
        if p.notes and p.notes != status.data.get("notes"):
            for note in p.notes[len(status.data.get("notes") or []):]:
                say(task, note)
            fields.update(notes=p.notes, message="; ".join(p.notes))
        if p.step >= p.total:
            fields.update(phase="evaluating", eta_s=None)
        status.update(**fields)
        if time.monotonic() - last_line[0] >= 60 or p.step >= p.total:
            last_line[0] = time.monotonic()
            loss = f", loss {p.train_loss:.3f}" if p.train_loss is not None else ""
            say(task, f"step {p.step}/{p.total}{loss}, ETA {_minutes(fields['eta_s'])}")

    return on_progress


def _prepare(settings, task: str, cfg: FinetuneConfig) -> tuple[Path, str]:
    """Build the data into the task folder, fingerprint it; returns (candidate folder, fingerprint)."""
    from assistant.llm.adapter_registry import base_model_id
    from finetune.trainer import remove_checkpoints

    folder = work_dir(settings) / task
    incoming = folder / ".incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    build_data(settings, task, incoming / "train.jsonl")
    fp = fingerprint(incoming / "train.jsonl", cfg, base_model_id(cfg.base_model, cfg.cache_dir))
    candidate = folder / fp
    if not (candidate / "train.jsonl").exists():
        candidate.mkdir(parents=True, exist_ok=True)
        for f in incoming.iterdir():
            os.replace(f, candidate / f.name)
    shutil.rmtree(incoming, ignore_errors=True)
    for other in folder.iterdir():  # runs whose data or recipe changed will never resume: free their space
        if other.is_dir() and other != candidate and not other.name.startswith("."):
            remove_checkpoints(other)
    return candidate, fp


def train_task(settings, task: str, restart: bool = False, max_steps: int = 0) -> str:
    """Bring one task's adapter up to date; returns the phase it ends in (never raises for a task's failure)."""
    from finetune import gate
    from finetune.pipeline import run_train
    from finetune.trainer import has_checkpoint, remove_checkpoints
    from finetune.yield_to_chat import waiter_for

    prev = _read_json(_status_file(settings, task))
    status = TaskStatus(settings, task, prev)
    waiter = waiter_for(settings, lambda paused, total: status.update(paused=paused, paused_s=round(total, 1)))
    pause = waiter.wait if waiter is not None else None
    try:
        cfg = task_config(settings, task, max_steps)
        if prev.get("phase") not in DONE:
            status.update(phase="data", started=_now(), step=0, total=cfg.max_steps, base_model=cfg.base_model,
                          method=cfg.method)
        candidate, fp = _prepare(settings, task, cfg)
        same = prev.get("fingerprint") == fp
        if same and prev.get("phase") in DONE and not restart:
            say(task, f"up to date ({prev['phase']}, data and config unchanged): nothing to do")
            return prev["phase"]
        failures = prev.get("failures", 0) if same and not restart else 0
        if failures >= settings.autotrain.max_failures:
            say(task, f"gave up after {failures} failures on this data (last: {prev.get('error')}); "
                      "`python -m finetune autotrain --restart` tries again")
            return "failed"
        if restart and not trained(candidate):
            remove_checkpoints(candidate)
        status.data = dict(task=task, phase="training", base_model=cfg.base_model, method=cfg.method, fingerprint=fp,
                           candidate=str(candidate), started=_now(), step=0, total=cfg.max_steps, train_loss=None,
                           eval_loss=None, eta_s=None, s_per_step=None, resumed_from=0, threads=cfg.num_threads,
                           message="", notes=[], decision=None, error=None, failures=failures, paused=False,
                           paused_s=0.0,
                           log=str(log_path(settings)))
        status.update()
        if trained(candidate):  # never retrained in place: the gate may serve this very folder
            say(task, f"adapter already trained in {candidate}: straight to the gate")
        else:
            resume = has_checkpoint(candidate)
            say(task, f"{'resuming' if resume else 'training'} {cfg.method} on {cfg.base_model}, {cfg.max_steps} "
                      f"steps, {cfg.num_threads} thread(s) -> {candidate}")
            run_train(cfg, candidate / "train.jsonl", candidate, resume=resume, progress=False,
                      on_progress=_progress_writer(status, task), pause=pause)
            if not (candidate / "adapter.gguf").exists():
                raise AssistantError("no adapter.gguf was written (see the log above): llama.cpp cannot serve it")
        status.update(phase="evaluating", eta_s=None)
        say(task, "trained; the gate evaluates it against the served adapter")
        decision = gate.evaluate_and_promote(task, candidate, settings, pause=pause)
        phase = "served" if decision.promoted else "rejected"
        status.update(phase=phase, decision=dataclasses.asdict(decision))
        say(task, f"{phase}: {decision.reason}")
        return phase
    except Exception as exc:  # noqa: BLE001 - one task's failure is recorded; the next task still runs
        detail = " ".join(str(exc).split())[:300]
        text = exc.one_line() if isinstance(exc, AssistantError) else \
            f"{type(exc).__name__}{': ' + detail if detail else ''}"
        log.debug("autotrain %s failed", task, exc_info=True)  # the traceback with -v; one line otherwise
        status.update(phase="failed", error=text, eta_s=None, failures=status.data.get("failures", 0) + 1)
        say(task, f"failed: {text}")
        return "failed"


def _off_reason(settings) -> str | None:
    reasons = ((os.environ.get(ENV_OFF, "1").strip() == "0", f"{ENV_OFF}=0"),
               (not settings.autotrain.enabled, "autotrain.enabled is false"),
               (not settings.autotrain.tasks, "autotrain.tasks is empty"))
    return next((why for off, why in reasons if off), None)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune autotrain`."""
    p.description = ("Train the shipped task adapters for the served base model, one after the other, at low "
                     "priority; resumes from the last good checkpoint; a second run after success does nothing. "
                     "Progress: `python -m finetune list`.")
    p.add_argument("--task", action="append", choices=TASKS, help="only this task (repeatable; default: autotrain.tasks)")
    p.add_argument("--restart", action="store_true",
                   help="forget the last decision and failures and drop the checkpoints: an unfinished run "
                        "trains again from step 0, a finished one goes to the gate again")
    p.add_argument("--max-steps", type=int, default=0, metavar="N", help="steps per task instead of autotrain.steps")
    p.add_argument("--check", action="store_true",
                   help="print the log file and exit 0 if `dev.sh run` should start the job, else the reason, exit 1")


def run(args: argparse.Namespace, settings) -> int:
    """`python -m finetune autotrain ...`; returns the exit code."""
    cfg = settings.autotrain
    if args.check:
        reason = _off_reason(settings)
        print(reason or log_path(settings))
        return 1 if reason else 0
    if args.max_steps < 0:
        raise ConfigError(f"--max-steps must be >= 0, got {args.max_steps}")
    tasks = args.task or cfg.tasks
    from assistant.activity import activity_file  # light: no torch
    from finetune.chat_freeze import freezes, start_freezer, thaw_if_orphaned
    from finetune.yield_to_chat import lower_priority

    freezer = None
    if freezes(settings):  # before the priority drops: the freezer must not inherit it
        freezer = start_freezer(os.getpid(), activity_file(settings), cfg.resume_after_s)
    priority = lower_priority(cfg.nice)
    threads = torch_threads(cfg)
    # Before torch is imported: its OpenMP pool and the tokenizers' threads must not take the app's core.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    say("-", f"pid {os.getpid()}, {priority}, {threads} torch thread(s), tasks: {', '.join(tasks)}"
             + (f"; frozen while the app answers (freezer pid {freezer.pid})" if freezer else ""))
    try:
        with single_instance(work_dir(settings) / "autotrain.lock"):
            for task in tasks:
                prev = _read_json(_status_file(settings, task))
                if prev.get("phase") not in DONE or args.restart:
                    TaskStatus(settings, task, prev).update(phase="queued", eta_s=None)
            results = {task: train_task(settings, task, args.restart, args.max_steps) for task in tasks}
    except AlreadyRunning as exc:
        say("-", f"{exc}: nothing to do")
        if exc.holder and thaw_if_orphaned(exc.holder, activity_file(settings)):
            say("-", f"pid {exc.holder} was stopped with no freezer of its own alive: it goes on now")
        return 0
    finally:
        if freezer is not None:  # it thaws nothing now (this process runs) and exits
            freezer.terminate()
            try:
                freezer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                freezer.kill()
    say("-", "finished: " + ", ".join(f"{t} {p}" for t, p in results.items()))
    return 1 if "failed" in results.values() else 0
