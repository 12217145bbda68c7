"""Gated hot swap: a candidate adapter is served only when it beats the served one on its task's evaluation.

`evaluate_and_promote(task, candidate_dir, settings)` measures the candidate beside what is served now (the
bare base model when nothing is) in one run (finetune/gate_eval.py), promotes it in the adapter registry only
when it wins by the configured margins, and appends the decision with its figures to decisions.jsonl next to
the registry, promoted or not. The running app follows the registry between requests; `rollback` serves the
previous adapter again and is recorded the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError, ConfigError, InputError

log = logging.getLogger(__name__)

TASKS = ("support", "adcopy")
STYLES = ("extract", "phrase")


@dataclass
class GateConfig:
    enabled: bool = field(default=True, metadata={
        "help": "false: a candidate is served as soon as it is offered, without an evaluation (still recorded)"})
    support_questions: int = field(default=16, metadata={
        "help": "dev-shop questions asked per side, spread over every kind (0 = all 82); 16 take a few minutes "
                "on 2 cores"})
    support_answer_style: str = field(default="phrase", metadata={
        "help": "answer style during the support evaluation: phrase (the model writes every answer, so the "
                "adapters differ) or extract (the model only translates; most answers would not depend on it)"})
    support_accuracy_margin: float = field(default=0.05, metadata={
        "help": "answerable accuracy the candidate must gain to win (it may never decline less or invent more)"})
    support_speed_margin: float = field(default=0.10, metadata={
        "help": "at equal accuracy, the candidate wins when it takes this share less time and writes this share "
                "fewer tokens"})
    adcopy_briefs: int = field(default=4, metadata={"help": "demo briefs generated per side (0 = every usable one)"})
    adcopy_variants: int = field(default=3, metadata={"help": "variants asked for per brief"})
    adcopy_yield_margin: float = field(default=0.05, metadata={
        "help": "share of usable first-pass items the candidate must gain to win (never less compliant)"})
    adcopy_speed_margin: float = field(default=0.10, metadata={
        "help": "at equal yield, the candidate wins when it takes this share less time and writes this share "
                "fewer tokens"})
    threads: int = field(default=1, metadata={
        "help": "llama.cpp threads for the evaluation; 0 = llm.n_threads. One by default: it runs in the background "
                "beside the app serving customers, and on busy cores extra threads mostly spin"})
    keep_previous: int = field(default=5, metadata={"help": "earlier served adapters remembered per task for rollback"})

    def __post_init__(self):
        if self.support_answer_style not in STYLES:
            raise ConfigError(f"support_answer_style must be one of {', '.join(STYLES)}, "
                              f"got {self.support_answer_style!r}")
        for name in ("support_questions", "adcopy_briefs", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("adcopy_variants", "keep_previous"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("support_accuracy_margin", "adcopy_yield_margin"):
            if not 0.0 < getattr(self, name) <= 1.0:  # 0 would let noise count as "better"
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name):g}")
        for name in ("support_speed_margin", "adcopy_speed_margin"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name):g}")


@dataclass
class Decision:
    task: str
    candidate: str  # the adapter folder judged (a rollback: the folder served again; "" = the base model)
    promoted: bool
    reason: str
    figures: dict
    served: str = ""  # what it was compared with, or rolled back from ("" = the bare base model)
    kind: str = "gate"  # gate | rollback
    base_model: str = ""
    time: str = ""  # ISO 8601, UTC
    seconds: float = 0.0  # the evaluation's wall time
    skipped: list[str] = field(default_factory=list)  # a rollback: earlier adapters passed over, their files gone

    def summary(self) -> str:
        if self.kind == "rollback":
            line = f"{self.task}: rolled back to {self.candidate or 'the base model'} (from {self.served or 'base'})"
            return line + (f"; skipped {_skipped(self.skipped)}" if self.skipped else "")
        verdict = "promoted" if self.promoted else "kept the served adapter"
        return f"{self.task}: {verdict}: {self.reason}"


def _skipped(folders: list[str]) -> str:
    return ", ".join(folders) + " (files gone)"


# --------------------------------------------------------------------------------------------- decisions
def _margin_ok(gain: float, margin: float) -> bool:
    return gain >= margin - 1e-9  # rates are rounded to 3 places


def _faster(served: dict, cand: dict, margin: float) -> bool:
    """Shorter by the margin in seconds AND in generated tokens. On a shared 2-core machine the seconds of two
    identical adapters differ by more than 10 % (measured); two LoRAs of one rank cost the same per token, so an
    adapter is really faster only when it writes less: the tokens keep load noise from winning."""
    return (cand["seconds"] <= served["seconds"] * (1 - margin)
            and cand.get("tokens", 0) <= served.get("tokens", 0) * (1 - margin))


def _speed(served: dict, cand: dict) -> str:
    return (f"{served['seconds']:.0f} s -> {cand['seconds']:.0f} s, {served.get('tokens', 0)} -> "
            f"{cand.get('tokens', 0)} tokens")


def decide_support(served: dict, cand: dict, cfg: GateConfig) -> tuple[bool, str]:
    """Never worse on declines or invented facts; then better accuracy by the margin, or equal and faster."""
    worse = []
    if (cand["decline_rate"] or 0) < (served["decline_rate"] or 0):
        worse.append(f"declines {cand['decline_rate']:.2f} < {served['decline_rate']:.2f}")
    if cand["invented_rate"] > served["invented_rate"]:
        worse.append(f"invented facts {cand['invented_rate']:.2f} > {served['invented_rate']:.2f}")
    if worse:
        return False, "worse on " + "; ".join(worse)
    acc_s, acc_c = served["answerable_accuracy"] or 0.0, cand["answerable_accuracy"] or 0.0
    speed = _speed(served, cand)
    if _margin_ok(acc_c - acc_s, cfg.support_accuracy_margin):
        return True, f"answerable accuracy {acc_s:.2f} -> {acc_c:.2f} (margin {cfg.support_accuracy_margin:g})"
    if abs(acc_c - acc_s) < 1e-9 and _faster(served, cand, cfg.support_speed_margin):
        return True, f"same accuracy {acc_c:.2f}, faster: {speed}"
    return False, (f"not better: answerable accuracy {acc_s:.2f} -> {acc_c:.2f} (needs +{cfg.support_accuracy_margin:g}),"
                   f" {speed} (needs {cfg.support_speed_margin:.0%} faster at equal accuracy)")


def decide_adcopy(served: dict, cand: dict, cfg: GateConfig) -> tuple[bool, str]:
    """At least as compliant and as many variants; then a better first-pass yield by the margin, or equal and
    faster."""
    def val(d, k):
        return d[k] if d[k] is not None else 0.0

    worse = [f"{k} {val(cand, k):.2f} < {val(served, k):.2f}" for k in ("compliant_share", "produced_share")
             if val(cand, k) < val(served, k)]
    if worse:
        return False, "worse on " + "; ".join(worse)
    y_s, y_c = val(served, "item_yield"), val(cand, "item_yield")
    speed = _speed(served, cand)
    if _margin_ok(y_c - y_s, cfg.adcopy_yield_margin):
        return True, f"usable first-pass items {y_s:.2f} -> {y_c:.2f} (margin {cfg.adcopy_yield_margin:g})"
    if y_c >= y_s - 1e-9 and _faster(served, cand, cfg.adcopy_speed_margin):
        return True, f"same yield {y_c:.2f}, faster: {speed}"
    return False, (f"not better: usable first-pass items {y_s:.2f} -> {y_c:.2f} (needs +{cfg.adcopy_yield_margin:g}), "
                   f"{speed} (needs {cfg.adcopy_speed_margin:.0%} faster at equal yield)")


DECIDE = {"support": decide_support, "adcopy": decide_adcopy}


# --------------------------------------------------------------------------------------------- the gate
def gate_config(settings) -> GateConfig:
    found = getattr(settings, "gate", None) if "gate" in getattr(settings, "sections", {}) else None
    return found if isinstance(found, GateConfig) else GateConfig()


def registry_of(settings) -> Path:
    from assistant.config import resolve_path
    from assistant.llm.adapter_registry import DEFAULT_REGISTRY

    ft = settings.sections.get("finetune") if hasattr(settings, "sections") else None
    return resolve_path(getattr(ft, "registry", "") or DEFAULT_REGISTRY)


def decisions_path(settings) -> Path:
    return registry_of(settings).with_name("decisions.jsonl")


def record(decision: Decision, settings) -> None:
    path = decisions_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:  # one short append per line: concurrent writers do not interleave
        fh.write(json.dumps(dataclasses.asdict(decision), ensure_ascii=False) + "\n")


def read_decisions(settings, limit: int = 20) -> list[dict]:
    """The latest decisions, newest first (a damaged line is skipped)."""
    path = decisions_path(settings)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[::-1]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        if len(out) >= limit:
            break
    return out


@contextmanager
def _one_gate_at_a_time(registry: Path):
    """Two trainings finishing together are evaluated one after the other: each against what is served then,
    and two llama.cpp evaluations on the same cores would only slow each other down."""
    from assistant.llm.adapter_registry import file_lock

    with file_lock(registry.with_name("gate.lock")):
        yield


def _base_id(settings) -> str:
    from assistant.llm.adapter_registry import base_model_id

    return base_model_id(settings.llm.model, settings.llm.cache_dir)


def _ensure_registered(task: str, folder: Path, gguf: Path, base: str, registry: Path):
    """The candidate's registry record; a folder trained but not registered (or copied in) is registered here."""
    from assistant.llm.adapter_registry import adapter_base, list_adapters, register_adapter

    found = next((r for r in list_adapters(registry) if r.path == str(folder)), None)
    if found is not None:
        if found.task != task:
            raise InputError(f"{folder} is registered for task {found.task!r}, not {task!r}")
        return found
    meta_file = folder / "finetune_meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
    return register_adapter(task, folder, adapter_base(gguf) or base, meta.get("method", "lora"),
                            meta.get("metrics") or {}, gguf, registry=registry)


def evaluate_and_promote(task: str, candidate: Path, settings, *, evaluate=None, size: int | None = None,
                         progress=None, pause=None) -> Decision:
    """Evaluate `candidate` (an adapter folder with adapter.gguf) against what is served for `task`; promote
    it in the registry when it wins; record the decision and its figures either way.

    `evaluate(task, candidate_gguf, served_gguf_or_None, settings, cfg, size, progress) -> figures` is
    finetune.gate_eval.evaluate unless a test passes its own; `size` overrides the configured subset; `pause()`
    is called before each question (the background job waits there while the app answers customers)."""
    from assistant.llm.adapter_registry import promote, served_adapter

    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    folder = Path(candidate).resolve()
    gguf = folder / "adapter.gguf"
    if not folder.is_dir():  # as eval and export say it
        raise InputError(f"adapter folder not found: {folder}")
    if not gguf.is_file():
        raise InputError(f"{folder} has no adapter.gguf: export it first (python -m finetune export --adapter "
                         f"{folder} --format gguf --output {gguf})")
    cfg, registry, base = gate_config(settings), registry_of(settings), _base_id(settings)
    started = time.perf_counter()
    with _one_gate_at_a_time(registry):
        record_ = _ensure_registered(task, folder, gguf, base, registry)
        served = served_adapter(task, base, registry)
        served_path = served.path if served is not None else ""

        def decided(promoted: bool, reason: str, figures: dict | None = None) -> Decision:
            d = Decision(task, str(folder), promoted, reason, figures or {}, served_path, "gate", base,
                         dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         round(time.perf_counter() - started, 1))
            record(d, settings)
            log.info("gate: %s", d.summary())
            return d

        if record_.base_model != base:
            return decided(False, f"trained on {record_.base_model!r}; the app serves {base!r}")
        if served_path == str(folder):
            return decided(False, "already served")
        if served is not None and not served.gguf and cfg.enabled:
            return decided(False, f"the served adapter {served_path} has no GGUF export, so llama.cpp cannot compare "
                                  "the two: python -m finetune export --adapter DIR --format gguf --output "
                                  "DIR/adapter.gguf")
        if not cfg.enabled:
            promote(task, folder, base, registry, by="gate", keep=cfg.keep_previous)
            return decided(True, "served without an evaluation (gate.enabled: false)")
        if evaluate is None:
            from finetune.gate_eval import evaluate
        try:
            figures = evaluate(task, str(gguf), served.gguf if served is not None else None, settings, cfg, size,
                               progress, **({"pause": pause} if pause is not None else {}))
        except AssistantError as exc:
            return decided(False, f"evaluation failed: {exc.one_line()}")
        except (OSError, RuntimeError, ValueError) as exc:  # e.g. llama.cpp refusing the file: recorded, not lost
            return decided(False, f"evaluation failed: {type(exc).__name__}: {exc}")
        figures["load_avg"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
        promoted, reason = DECIDE[task](figures["served"], figures["candidate"], cfg)
        if promoted and promote(task, folder, base, registry, by="gate", expect=served_path,
                                keep=cfg.keep_previous) is None:
            promoted, reason = False, "another adapter was served during the evaluation; run the gate again"
        return decided(promoted, reason, figures)


def rollback_task(task: str, settings) -> Decision:
    """Serve the adapter served before the current one (or the base model) again; recorded as a decision."""
    from assistant.llm.adapter_registry import rollback

    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    base = _base_id(settings)
    # Adapters whose files were deleted are passed over (serving one would fail every answer of the task)
    was, state, skipped = rollback(task, base, registry_of(settings))
    reason = f"rolled back from {was or 'the base model'}" + (f", skipped {_skipped(skipped)}" if skipped else "")
    d = Decision(task, state.path, True, reason, {}, was, "rollback", base, state.since, skipped=skipped)
    record(d, settings)
    return d


# --------------------------------------------------------------------------------------------- CLI
def add_gate_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune gate`."""
    p.description = ("Evaluate a candidate adapter beside the served one (or the bare base model) on its task's "
                     "held-out evaluation, promote it when it wins, and record the decision (decisions.jsonl "
                     "next to the registry). The running app swaps to a promoted adapter between requests.")
    p.add_argument("--task", required=True, choices=TASKS, help="task the candidate adapter was trained for")
    p.add_argument("--adapter", required=True, metavar="DIR", help="adapter folder holding adapter.gguf")
    p.add_argument("--size", type=int, metavar="N",
                   help="questions (support) or briefs (adcopy) per side; default gate.support_questions / "
                        "gate.adcopy_briefs")
    p.add_argument("--json", action="store_true", help="print the decision with its figures as JSON")


def run_gate(args: argparse.Namespace, settings) -> int:
    from finetune.gate_eval import stderr_progress

    if args.size is not None and args.size < 1:
        raise InputError(f"--size must be >= 1, got {args.size}")
    d = evaluate_and_promote(args.task, Path(args.adapter), settings, size=args.size, progress=stderr_progress)
    if args.json:
        print(json.dumps(dataclasses.asdict(d), ensure_ascii=False, indent=1))
        return 0
    print(d.summary())
    for line in figure_lines(d.figures):
        print(line)
    print(f"({d.seconds:.0f} s; recorded in {decisions_path(settings)})")
    return 0


def figure_lines(figures: dict) -> list[str]:
    """The two sides' figures side by side."""
    if "served" not in figures:
        return []
    keys = [k for k in figures["candidate"] if not isinstance(figures["candidate"][k], dict)]
    lines = [f"{'':24}{'served':>10}{'candidate':>11}"]
    lines += [f"{k:24}{str(figures['served'].get(k, '-')):>10}{str(figures['candidate'][k]):>11}" for k in keys]
    return lines


def add_rollback_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune rollback`."""
    p.description = ("Serve the adapter of TASK that was served before the current one (the base model when there "
                     "was none). Recorded with the gate's decisions; the running app swaps between requests.")
    p.add_argument("--task", required=True, choices=TASKS, help="task whose previous adapter is served again")


def run_rollback(args: argparse.Namespace, settings) -> int:
    print(rollback_task(args.task, settings).summary())
    return 0


def decision_lines(settings, limit: int = 5) -> list[str]:
    """Lines `python -m finetune list` prints about served adapters and the latest gate decisions."""
    from assistant.llm.adapter_registry import serving_state

    try:
        state = serving_state(registry_of(settings))
    except AssistantError as exc:
        return [f"serving: {exc.one_line()}"]
    lines = [f"served   {s.task:8} {s.base_model:14} {s.path or '(base model)'}  [{s.by} {s.since}; "
             f"{len(s.previous)} to roll back to]" for s in state]
    for d in read_decisions(settings, limit):
        verdict = d["kind"] if d.get("kind") == "rollback" else ("promoted" if d.get("promoted") else "rejected")
        lines.append(f"decision {d.get('time', '')} {d.get('task', ''):8} {verdict:9} "
                     f"{d.get('candidate') or '(base model)'}: {d.get('reason', '')}")
    return lines

