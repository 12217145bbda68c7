"""Where the background job keeps its files and what its status says (`finetune list`, the Admin tab).

Kept apart from the job itself (finetune/autotrain.py), which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from assistant.config import resolve_path
from finetune.config import TASKS

PHASES = ("queued", "data", "training", "evaluating", "served", "rejected", "failed")
DONE = ("served", "rejected")  # the gate decided: the same data and config would decide the same again
ACTIVE = ("queued", "data", "training", "evaluating")


# --- where things are -----------------------------------------------------------------------------------
def work_dir(settings) -> Path:
    cfg = settings.autotrain
    if cfg.work_dir:
        return resolve_path(cfg.work_dir)
    return resolve_path(settings.finetune.registry).parent / "autotrain"


def log_path(settings) -> Path:
    return work_dir(settings) / "autotrain.log"


def _status_file(settings, task: str) -> Path:
    return work_dir(settings) / task / "status.json"


def _write_json(path: Path, data: dict) -> None:
    """Atomic: a reader (the Admin tab) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def _alive(pid) -> bool:
    """Whether the process that wrote a status runs (finetune.chat_freeze.alive); False for a missing pid."""
    from finetune.chat_freeze import alive  # light: no torch

    try:
        return alive(int(pid))
    except (TypeError, ValueError):
        return False


# --- status: what the Admin tab and `finetune list` show -------------------------------------------------
def read_status(settings) -> dict:
    """The background job's progress per task (phase, step, total, loss, eta_s, ...); {} when none ran.

    `running` says whether the process that wrote it is still alive: a status left in an active phase by a
    killed job reads as stopped, to be resumed on the next start."""
    from assistant.activity import activity_file
    from finetune.chat_freeze import read_state  # light: no torch

    # A frozen job (finetune/chat_freeze.py) cannot write its status: its freezer's counts say it is paused.
    frozen = read_state(activity_file(settings))
    out = {}
    for task in TASKS:
        data = _read_json(_status_file(settings, task))
        if data:
            data["running"] = data.get("phase") in ACTIVE and _alive(data.get("pid"))
            if frozen and frozen.get("pid") == data.get("pid"):
                data["paused"] = bool(data.get("paused") or frozen.get("frozen"))
                data["paused_s"] = frozen.get("frozen_s", 0.0)
            out[task] = data
    return out


def _minutes(seconds) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def status_lines(settings) -> list[str]:
    """Lines `python -m finetune list` prints about the background job (progress, loss, ETA)."""
    lines = []
    for task, s in read_status(settings).items():
        phase, head = s.get("phase", "?"), f"autotrain {task:8}"
        loss = "".join(f", {name} {s[key]:.3f}" for name, key in (("loss", "train_loss"), ("eval loss", "eval_loss"))
                       if isinstance(s.get(key), int | float))
        progress = f"step {s.get('step') or 0}/{s.get('total') or '?'}{loss}"
        if phase in ACTIVE and not s["running"]:
            at = f" at {progress}" if phase == "training" else ""
            line = f"{head} stopped in {phase}{at} (resumes on the next start)"
        elif phase == "training":
            line = f"{head} training {progress}, ETA {_minutes(s.get('eta_s'))}"
        elif phase in DONE:
            reason = (s.get("decision") or {}).get("reason", "")
            line = f"{head} {phase} ({s.get('method', '?')}, {progress}){': ' + reason if reason else ''}"
        elif phase == "failed":
            line = f"{head} failed: {s.get('error', '?')}"
        else:
            line = f"{head} {phase}"
        if s.get("paused") and phase in ACTIVE and s["running"]:
            line += " (paused while the chat answers)"
        if s.get("message") and phase != "failed":
            line += f" [{s['message']}]"
        lines.append(line)
    return lines


class TaskStatus:
    """One task's status file, rewritten atomically on every change."""

    def __init__(self, settings, task: str, base: dict | None = None):
        self.path = _status_file(settings, task)
        self.data = {**(base or {}), "task": task}

    def update(self, **fields) -> None:
        self.data.update(fields, updated=_now(), pid=os.getpid())
        _write_json(self.path, self.data)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
