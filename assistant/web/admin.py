"""Admin handlers beyond documents: task adapters (list, activate), fine-tune runs with live loss, training and
serving (background training progress, served adapter per task, gate decisions, rollback, retrain from
feedback), and the conversation analytics (intent mix, sentiment trend, handoff rate, CSAT from thumbs) as plots.

A fine-tune or retrain runs as `python -m finetune ...` in a child process: training is heavy (torch) and must
not block or crash the server; its output is streamed (and the progress bar parsed for the live loss curve).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import REPO_ROOT, resolve_path
from assistant.errors import InputError, NotFoundError
from assistant.web.staff import _frame, import_problem, md_text, require

log = logging.getLogger(__name__)

TASKS = ("support", "adcopy")
LOSS = re.compile(r"(\d+)/(\d+) \[[^\]]*loss=([0-9.]+)")
EVAL = re.compile(r"step (\d+)/(\d+): train loss ([0-9.]+), eval loss ([0-9.]+)")


# --- adapters ------------------------------------------------------------------------------------------
def _registry(runtime):
    """The registry the runtime serves from (finetune.registry); None = the default one."""
    return getattr(getattr(runtime.settings, "finetune", None), "registry", None)


def _registered(runtime=None) -> list:
    try:
        from assistant.llm.adapter_registry import list_adapters

        return list_adapters(_registry(runtime) if runtime is not None else None)
    except Exception as exc:  # noqa: BLE001 - an unreadable registry shows as empty, with a log line
        log.warning("adapter registry unavailable: %s", exc)
        return []


def adapter_table(runtime, role):
    require(role, "admin")
    active = dict(runtime.llm_config.adapters)  # configured and served: what the runtime answers with
    rows, listed = [], set()
    for r in _registered(runtime):
        try:
            value = r.for_backend(runtime.settings.llm.backend)
        except Exception:  # noqa: BLE001 - e.g. no GGUF export for llama.cpp yet
            value = r.path
        state = "active" if active.get(r.task) == value else "registered"
        listed.add((r.task, value))
        rows.append([r.task, value, state, r.method, r.created])
    rows = [[task, path, "active", "", ""] for task, path in active.items() if (task, path) not in listed] + rows
    return _frame(rows, ["task", "adapter", "state", "method", "created"])


def _not_an_adapter(path: Path) -> str:
    """Why `path` is no LoRA adapter the backends load ('' when it looks like one): a GGUF file (llama.cpp), or a
    folder holding adapter.gguf or a peft adapter (adapter_config.json)."""
    if path.is_dir():
        if (path / "adapter.gguf").is_file() or (path / "adapter_config.json").is_file():
            return ""
        return "this folder holds no adapter.gguf and no adapter_config.json (export it with python -m finetune export)"
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return "" if magic == b"GGUF" else "not a GGUF adapter file (export it with python -m finetune export)"


def activate_adapter(runtime, role, task: str, path: str):
    """Point a task at an adapter (a registered one by task, or a path); '' = back to the base model.

    The backend and chat are rebuilt on the next request with the new adapter set: the model reloads once.
    """
    require(role, "admin")
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}")
    path = (path or "").strip()
    # Only the admin's own choices are explicit: copying what the registry serves now would pin it, and later
    # promotions and rollbacks would be ignored until a restart.
    adapters = dict(runtime.settings.llm.adapters)
    if not path:
        adapters[task] = ""  # the base model, over whatever the registry serves for this task
        msg = f"`{task}` now uses the base model."
    else:
        candidate = resolve_path(path)
        if candidate.exists() and (problem := _not_an_adapter(candidate)):
            raise InputError(f"{path}: {problem}")  # "/etc/passwd" had been activated for every customer's answer
        if not candidate.exists():
            matches = [r for r in _registered(runtime) if r.task == task and path in (r.path, r.gguf, r.name)]
            if not matches:
                raise NotFoundError(f"no adapter file or folder {path!r} and no registered {task} adapter by that name")
            candidate = Path(matches[-1].for_backend(runtime.settings.llm.backend))
        adapters[task] = str(candidate)
        msg = f"`{task}` now uses `{candidate}` (the model reloads on the next request)."
    _serve_explicit(runtime, adapters)
    return msg, adapter_table(runtime, role)


def _serve_explicit(runtime, adapters: dict[str, str]) -> None:
    """Make `adapters` the explicit `llm.adapters` (they win over the registry) from the next request on."""
    reload = getattr(runtime, "set_adapters", None)
    if reload is not None:
        reload(adapters)
    else:
        # Runtime builds backend and chat lazily: dropping them makes the next request rebuild both with the
        # new adapter set (requests in flight finish on the old model, which they still hold).
        with runtime._lock:
            runtime.settings.llm.adapters = adapters
            runtime._backend = None
            getattr(runtime, "_objects", {}).pop("chat", None)
    runtime.forget("adcopy_generator")  # it holds the old backend too


# --- fine-tuning ---------------------------------------------------------------------------------------
def finetune_problem() -> str | None:
    return import_problem("finetune")


def finetune_command(runtime, task: str, data: Path, steps: int, output: Path) -> list[str]:
    cmd = [sys.executable, "-m", "finetune", "train", "--data", str(data), "--output", str(output),
           "--task", task, "--max-steps", str(steps)]
    if runtime.settings.config_file:
        cmd += ["--config", str(runtime.settings.config_file)]
    return cmd


def finetune_run(runtime, role, task, data, steps):
    """Start a run and stream (loss curve, log) while it trains; the adapter lands in the registry."""
    require(role, "admin")
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}")
    path = Path(getattr(data, "name", data)) if data else None
    if path is None or not path.exists():
        raise InputError("upload a JSONL training file first (alpaca, sharegpt or OpenAI messages)")
    if path.suffix.lower() != ".jsonl":
        raise InputError(f"training data must be a .jsonl file, got {path.name}")
    steps = int(steps or 0)
    if not 1 <= steps <= 10_000:
        raise InputError("max steps must be between 1 and 10000")
    output = resolve_path(f"data/adapters/{task}-{time.strftime('%Y%m%d-%H%M%S')}")
    cmd = finetune_command(runtime, task, path, steps, output)
    log.info("fine-tune: %s", " ".join(cmd))
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, bufsize=1)
    points: list[tuple[int, float, str]] = []
    lines: list[str] = []
    buf = ""
    while True:
        chunk = proc.stdout.read(256)
        if not chunk:
            break
        buf += chunk
        *done, buf = re.split(r"[\r\n]", buf)
        changed = False
        for line in filter(None, (x.strip() for x in done)):
            # A bar update and an eval line may share one line (no newline between them): check both.
            bar, ev = LOSS.search(line), EVAL.search(line)
            if bar and (not points or points[-1][0] != int(bar[1]) or points[-1][2] != "train"):
                points.append((int(bar[1]), float(bar[3]), "train"))
                changed = True
            if ev:
                points.append((int(ev[1]), float(ev[4]), "eval"))
                lines.append(ev[0])
                changed = True
            if not bar and not ev:
                lines.append(line)
        if changed:
            yield _curve(points), _log(lines, f"⏳ training {task}…")
    code = proc.wait()
    verdict = (f"✅ done: adapter in `{output}` (registered for `{task}`, not served yet: `python -m finetune gate "
               f"--task {task} --adapter {output}` serves it if it beats the served one, or Activate it in Adapters)"
               if code == 0
               else f"❌ the run failed (exit code {code}); see the log below")
    yield _curve(points), _log(lines, verdict)


# --- training and serving: background training, served adapters, gate decisions, rollback, retrain ----------
SERVED_HEADERS = ["task", "served adapter", "since (UTC)", "by", "can roll back to", "answering here"]
DECISION_HEADERS = ["time (UTC)", "task", "decision", "adapter", "compared with", "why", "figures (served → candidate)",
                    "s"]
_FIGURES = {"support": ("answerable_accuracy", "decline_rate", "invented_rate", "seconds", "tokens"),
            "adcopy": ("item_yield", "compliant_share", "produced_share", "seconds", "tokens")}


def training_status(runtime) -> str:
    """The background job's progress per task (finetune.autotrain.read_status), as Markdown."""
    try:
        from finetune.autotrain import read_status

        status = read_status(runtime.settings) or {}
    except Exception as exc:  # noqa: BLE001 - the panel still shows serving and decisions
        return f"Background training status unavailable ({type(exc).__name__}: {exc})."
    if not status:
        return "No background training has run yet."
    cols = ["phase", "step", "loss", "eval loss", "ETA", "updated (UTC)", "note"]
    lines = ["| task | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for task, st in sorted(status.items()):
        st = st if isinstance(st, dict) else {"phase": str(st)}
        decision = st.get("decision")
        note = (decision.get("reason", "") if isinstance(decision, dict) else decision) or st.get("error") \
            or st.get("message") or ""
        eta = st.get("eta_s")
        step = f"{st.get('step', 0)}/{st['total']}" if st.get("total") else str(st.get("step") or "")
        phase = st.get("phase", "")
        if st.get("paused") and st.get("running") and phase in ("training", "evaluating"):
            phase += " (paused: the chat is answering)"
        cells = [md_text(phase), md_text(step), _num(st.get("loss", st.get("train_loss"))),
                 _num(st.get("eval_loss")),
                 (f"{eta / 60:.0f} min" if eta >= 60 else f"{eta:.0f} s") if isinstance(eta, int | float) else "",
                 md_text(str(st.get("updated") or "").replace("+00:00", "")), md_text(note)]
        lines.append(f"| {md_text(task)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _num(x) -> str:
    return f"{x:.3f}" if isinstance(x, int | float) else ""


def _served_frame(runtime):
    from assistant.llm.adapter_registry import serving_state

    here = dict(runtime.llm_config.adapters)
    rows = [[s.task, s.path or "(base model)", s.since.replace("+00:00", ""), s.by,
             ", ".join(Path(p).name if p else "base model" for p in s.previous) or "-", here.get(s.task, "base model")]
            for s in serving_state(_registry(runtime))]
    return _frame(rows, SERVED_HEADERS)


def _figures(task: str, figures: dict) -> str:
    sides = (figures.get("served") or {}, figures.get("candidate") or {})
    return ", ".join(f"{k} {sides[0].get(k)} → {sides[1].get(k)}" for k in _FIGURES.get(task, ()) if k in sides[1])


def _decisions_frame(runtime, limit: int = 20):
    from finetune.gate import read_decisions

    rows = []
    for d in read_decisions(runtime.settings, limit):
        verdict = "rollback" if d.get("kind") == "rollback" else ("promoted" if d.get("promoted") else "rejected")
        rows.append([str(d.get("time", "")).replace("+00:00", ""), d.get("task", ""), verdict,
                     d.get("candidate") or "(base model)", d.get("served") or "(base model)", d.get("reason", ""),
                     _figures(d.get("task", ""), d.get("figures") or {}), d.get("seconds", "")])
    return _frame(rows, DECISION_HEADERS)


def serving_view(runtime, role):
    """(background training Markdown, served adapter per task, recent gate decisions with their figures)."""
    require(role, "admin")
    return training_status(runtime), _served_frame(runtime), _decisions_frame(runtime)


def rollback_adapter(runtime, role, task: str):
    """Serve the task's previous adapter again (recorded with the decisions); the app swaps on the next request."""
    require(role, "admin")
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}")
    from finetune.gate import rollback_task

    decision = rollback_task(task, runtime.settings)
    explicit = dict(runtime.settings.llm.adapters)
    if task in explicit:  # an adapter chosen by hand here (or in llm.adapters) would go on winning over the registry
        explicit.pop(task)
        _serve_explicit(runtime, explicit)
    now, was = (f"`{p.replace('`', chr(39))}`" if p else "the base model" for p in (decision.candidate, decision.served))
    msg = (f"✅ `{task}` rolled back to {now} (from {was}). New requests use it; answers under way finish as "
           "they started.")
    if decision.skipped:  # served before, but their files were deleted since
        msg += " Skipped (files gone): " + ", ".join(f"`{p.replace('`', chr(39))}`" for p in decision.skipped) + "."
    return msg, *serving_view(runtime, role)[1:]


def retrain_command(runtime, task: str) -> list[str]:
    cmd = [sys.executable, "-m", "finetune", "retrain", "--task", task]
    if runtime.settings.config_file:
        cmd += ["--config", str(runtime.settings.config_file)]
    return cmd


def retrain_run(runtime, role, task: str):
    """`python -m finetune retrain --task T` in a child process, its log streamed; a failure is its one line."""
    require(role, "admin")
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}")
    cmd = retrain_command(runtime, task)
    log.info("retrain: %s", " ".join(cmd))
    # Bytes, not text: text mode would split at every \r, and a progress bar rewrites its line with \r.
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    yield _log(lines, f"⏳ retraining `{task}` from feedback…")
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n").split("\r")[-1].strip()  # the bar's last state
        if line:
            lines.append(line)
            yield _log(lines, f"⏳ retraining `{task}` from feedback…")
    code = proc.wait()
    if code == 0:
        yield _log(lines, f"✅ retrain of `{task}` done; the gate's decision is in the table above (Refresh)")
    else:
        why = lines[-1].replace("`", "'") if lines else f"exit code {code}"  # the verb's one-line error
        yield _log(lines, f"❌ the retrain failed: `{why}`")


def _curve(points):
    return _frame([[s, loss, kind] for s, loss, kind in points], ["step", "loss", "series"])


def _log(lines: list[str], headline: str) -> str:
    tail = "\n".join(lines[-15:])
    return f"{headline}\n\n```\n{tail}\n```" if tail else headline


# --- conversation analytics ----------------------------------------------------------------------------
def analytics_view(runtime, role):
    """(summary markdown, intent-mix, sentiment-trend, handoff-rate, CSAT figures) from recorded events."""
    require(role, "admin")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from assistant.web.events import events_frame, summary

    stats, df = summary(runtime), events_frame(runtime)
    answers = df[df.kind == "answer"]
    votes = df[df.kind == "vote"]

    def fig(title):
        f, ax = plt.subplots(figsize=(5.5, 3.2), dpi=100)
        ax.set_title(title)
        return f, ax

    f1, ax = fig("Intent mix")
    mix = stats["intent_mix"]
    ax.barh(list(mix)[::-1], list(mix.values())[::-1], color="#2f6f5e") if mix else ax.text(0.3, 0.5, "no data")
    f2, ax = fig("Sentiment by day (share of messages)")
    if len(answers):
        daily = answers.assign(day=answers["time"].dt.floor("D")).pivot_table(
            index="day", columns="sentiment", values="session_id", aggfunc="count", fill_value=0)
        (daily.div(daily.sum(axis=1), axis=0)).plot(ax=ax, marker="o")
    else:
        ax.text(0.3, 0.5, "no data")
    f3, ax = fig("Handoff rate by day")
    if len(answers):
        rate = answers.assign(day=answers["time"].dt.floor("D")).groupby("day").handoff.mean()
        rate.plot(ax=ax, marker="o", color="#b42318")
        ax.set_ylim(0, 1)
    else:
        ax.text(0.3, 0.5, "no data")
    f4, ax = fig("CSAT from thumbs (share 👍)".replace(" 👍", " up"))
    if len(votes):
        csat = votes.assign(day=votes["time"].dt.floor("D")).groupby("day").vote.apply(lambda v: (v > 0).mean())
        csat.plot(ax=ax, marker="o", color="#1565c0")
        ax.set_ylim(0, 1)
    else:
        ax.text(0.3, 0.5, "no votes yet")
    for f in (f1, f2, f3, f4):
        f.tight_layout()
    pct = lambda x: "–" if x is None else f"{x:.0%}"  # noqa: E731
    text = (f"**{stats['messages']}** answered messages in **{stats['sessions']}** sessions · handoff rate "
            f"**{pct(stats['handoff_rate'])}** · CSAT **{pct(stats['csat'])}** "
            f"({stats['thumbs_up']} 👍 / {stats['thumbs_down']} 👎) · languages {stats['language_mix'] or '–'}")
    return text, f1, f2, f3, f4


# --- marketing analytics over a shop's CSV -------------------------------------------------------------
def marketing_analysis(runtime, role, file, analysis: str):
    """Upload a CSV or .xlsx (reviews, orders, customers, campaigns): the matching `assistant.analytics` analysis,
    its summary and up to two of its plots."""
    require(role, "admin")
    from assistant.analytics import detect_kind, load_csv, run_analysis
    from assistant.analytics.io import XLSX_SUFFIXES
    from assistant.analytics.report import default_analysis

    path = Path(getattr(file, "name", file)) if file else None
    if path is None or not path.exists():
        raise InputError("upload a CSV or .xlsx file first")
    if path.suffix.lower() not in (".csv", *XLSX_SUFFIXES):
        raise InputError(f"analytics reads .csv and .xlsx files, got {path.name}")
    cfg = runtime.settings.analytics
    table = load_csv(path, cfg)
    name = default_analysis(detect_kind(table.df)) if analysis in (None, "", "auto") else analysis
    result = run_analysis(name, table, cfg, backend=None, settings=runtime.settings)
    figures = list(result.figures.values())[:2]
    figures += [None] * (2 - len(figures))
    return f"#### {name}\n\n{result.markdown()}", *figures
