"""Which trained adapter serves which task: a small JSON registry written by `python -m finetune`.

One record per trained adapter folder: the peft folder (transformers backend), its GGUF LoRA (llamacpp backend)
and the name an OpenAI-compatible server such as vLLM serves it under, plus task, base, method, metrics and
date. Registered is not served: per (task, base model) the `serving` part names the adapter the app answers
with ("" = the bare base model) and the ones served before it, so a rollback is one step. Only the gate
(finetune/gate.py) and a rollback change it; the running app notices the file changing and swaps in place.
An adapter is only ever loaded onto the base it was trained on: `check_adapter_base` compares the base
recorded inside the adapter (peft config or GGUF metadata) with the loaded model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import itertools
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ModelLoadError, NotFoundError, StorageError

log = logging.getLogger(__name__)

DEFAULT_REGISTRY = "data/adapters/registry.json"
#: GGUF metadata key holding the base model id of a LoRA we export
GGUF_BASE_KEY = "general.base_model.0.name"


@dataclass
class AdapterRecord:
    task: str
    path: str  # peft adapter folder (absolute)
    base_model: str  # model id as `base_model_id` computes it
    method: str
    created: str  # ISO 8601, UTC
    metrics: dict[str, float] = field(default_factory=dict)
    gguf: str = ""  # GGUF LoRA for llama.cpp ("" until exported)
    name: str = ""  # model name on an OpenAI-compatible server; "" = the task name

    def for_backend(self, backend: str) -> str:
        """What `llm.adapters[task]` must hold for this backend."""
        if backend == "llamacpp":
            if not self.gguf:
                raise NotFoundError(f"adapter {self.task!r} has no GGUF export yet: python -m finetune export "
                                    f"--adapter {self.path} --format gguf --output {self.path}/adapter.gguf")
            return self.gguf
        if backend == "openai":
            return self.name or self.task
        return self.path


def registry_path(path: str | os.PathLike | None = None) -> Path:
    from assistant.config import resolve_path

    return resolve_path(path or DEFAULT_REGISTRY)


@contextmanager
def file_lock(lock_path: Path, wait: bool = True):
    """An exclusive lock on `lock_path` (created), waited for (`wait=False`: BlockingIOError when another process
    holds it); the kernel drops it if the holder dies."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _locked(path: Path):
    """Read-modify-write under an exclusive lock: two trainings finishing together both get recorded."""
    return file_lock(path.with_suffix(".lock"))


@dataclass
class Serving:
    """What answers for `task` on `base_model`: the adapter folder `path` ("" = the bare base model)."""

    task: str
    base_model: str
    path: str
    since: str  # ISO 8601, UTC
    by: str  # gate | rollback | migration | admin
    previous: list[str] = field(default_factory=list)  # served before, newest first ("" = the base model)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _read_all(path: Path) -> tuple[list[AdapterRecord], list[Serving]]:
    if not path.exists():
        return [], []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(AdapterRecord)}
        records = [AdapterRecord(**{k: v for k, v in r.items() if k in names}) for r in raw["adapters"]]
        if "serving" not in raw:
            return records, _migrated(records)
        return records, [Serving(**s) for s in raw["serving"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"adapter registry {path} is unreadable: {exc}") from None


def _migrated(records: list[AdapterRecord]) -> list[Serving]:
    """A registry written before serving was recorded: the app then used the newest adapter per (task, base),
    so that one stays served (the upgrade changes no answer) and a rollback goes back to the base model."""
    newest: dict[tuple[str, str], AdapterRecord] = {}
    for r in records:
        key = (r.task, r.base_model)
        if key not in newest or r.created > newest[key].created:
            newest[key] = r
    return [Serving(r.task, r.base_model, r.path, _now(), "migration", [""]) for r in newest.values()]


def _read(path: Path) -> list[AdapterRecord]:
    return _read_all(path)[0]


def _write(path: Path, records: list[AdapterRecord], serving: list[Serving]) -> None:
    from assistant.outputs import replace_text

    data = {"adapters": [dataclasses.asdict(r) for r in records],
            "serving": [dataclasses.asdict(s) for s in serving]}
    replace_text(path, json.dumps(data, indent=2, ensure_ascii=False))  # the running app reads it meanwhile


def register_adapter(task: str, path: str | os.PathLike, base_model: str, method: str,
                     metrics: dict[str, float] | None = None, gguf: str | os.PathLike = "", name: str = "",
                     registry: str | os.PathLike | None = None) -> AdapterRecord:
    """Record (or replace) the adapter in folder `path`; returns the stored record. Registering serves nothing:
    the gate (`python -m finetune gate`) decides what is served. Earlier adapters of the task stay listed,
    so a rollback can go back to them."""
    reg = registry_path(registry)
    record = AdapterRecord(
        task=task, path=str(Path(path).resolve()), base_model=base_model, method=method,
        created=_now(), metrics=dict(metrics or {}),
        gguf=str(Path(gguf).resolve()) if gguf else "", name=name,
    )
    with _locked(reg):
        records, serving = _read_all(reg)
        if any(s.path == record.path for s in serving):
            log.warning("%s is served and was registered again: its files changed under the running app; train "
                        "candidates into new folders so the gate can compare them", record.path)
        records = [r for r in records if r.path != record.path]
        records.append(record)
        _write(reg, records, serving)
    return record


def set_gguf(adapter_path: str | os.PathLike, gguf: str | os.PathLike,
             registry: str | os.PathLike | None = None) -> AdapterRecord | None:
    """Attach a GGUF export to the record of the peft folder `adapter_path` (None if not registered)."""
    reg = registry_path(registry)
    target = str(Path(adapter_path).resolve())
    with _locked(reg):
        records, serving = _read_all(reg)
        hit = next((r for r in records if r.path == target), None)
        if hit is not None:
            hit.gguf = str(Path(gguf).resolve())
            _write(reg, records, serving)
    return hit


def list_adapters(registry: str | os.PathLike | None = None) -> list[AdapterRecord]:
    return sorted(_read(registry_path(registry)), key=lambda r: (r.task, r.base_model))


def get_adapter(task: str, base_model: str | None = None,
                registry: str | os.PathLike | None = None) -> AdapterRecord:
    """The newest adapter for `task` (on `base_model` when given); NotFoundError when none."""
    found = [r for r in list_adapters(registry) if r.task == task and (base_model is None or r.base_model == base_model)]
    if not found:
        on = f" on base {base_model!r}" if base_model else ""
        raise NotFoundError(f"no adapter registered for task {task!r}{on}; train one with python -m finetune train")
    # registered in the same second: the later in the file (records are appended) is the newer
    return max(enumerate(found), key=lambda pair: (pair[1].created, pair[0]))[1]


def serving_state(registry: str | os.PathLike | None = None) -> list[Serving]:
    """What is served per (task, base model); a registry from before serving was recorded reads as migrated."""
    return sorted(_read_all(registry_path(registry))[1], key=lambda s: (s.task, s.base_model))


def served_adapter(task: str, base_model: str, registry: str | os.PathLike | None = None) -> AdapterRecord | None:
    """The record served for `task` on `base_model`; None when the bare base model answers."""
    records, serving = _read_all(registry_path(registry))
    state = next((s for s in serving if s.task == task and s.base_model == base_model), None)
    if state is None or not state.path:
        return None
    return next((r for r in records if r.path == state.path), None)


def promote(task: str, path: str | os.PathLike, base_model: str, registry: str | os.PathLike | None = None,
            by: str = "gate", expect: str | None = None, keep: int = 5) -> Serving | None:
    """Serve the registered adapter in folder `path` ("" = the bare base model) for `task` on `base_model`;
    the one served until now becomes the first to roll back to (`keep` are remembered).

    `expect`: the folder the caller compared against ("" = the base model). When something else is served by
    now (another promotion or a rollback landed meanwhile), nothing changes and None is returned: a candidate
    is only ever swapped in over the adapter it beat."""
    reg = registry_path(registry)
    target = str(Path(path).resolve()) if path else ""
    with _locked(reg):
        records, serving = _read_all(reg)
        if target and not any(r.path == target and r.task == task for r in records):
            raise NotFoundError(f"{target} is not a registered {task!r} adapter; register it first")
        state = next((s for s in serving if s.task == task and s.base_model == base_model), None)
        current = state.path if state is not None else ""
        if expect is not None and current != expect:
            return None
        earlier = ([current] if current != target else []) + (state.previous if state else [])
        history = [p for p in dict.fromkeys(earlier) if p != target][:keep]
        new = Serving(task, base_model, target, _now(), by, history)
        serving = [s for s in serving if s is not state] + [new]
        _write(reg, records, serving)
    return new


def missing_files(record: AdapterRecord) -> str:
    """Why the adapter of `record` cannot be served from disk ("" when it can): a folder deleted to free space, or
    its adapter.gguf, would make every answer of its task fail."""
    if not Path(record.path).is_dir():
        return "its folder is gone"
    if record.gguf and not Path(record.gguf).is_file():
        return f"its GGUF {record.gguf} is gone"
    return ""


def rollback(task: str, base_model: str, registry: str | os.PathLike | None = None
             ) -> tuple[str, Serving, list[str]]:
    """Serve the newest adapter served before the current one whose files are still on disk (or the base model)
    again; returns (the folder that was served, the new state, the earlier folders skipped because their files are
    gone). The adapters passed over leave the history, so a second rollback goes one further back."""
    reg = registry_path(registry)
    if not reg.exists():  # nothing ever trained: said without making the registry's folder and lock file
        raise NotFoundError(f"nothing to roll back to for {task!r} on {base_model!r}: it is served by the base "
                            "model already")
    with _locked(reg):
        records, serving = _read_all(reg)
        state = next((s for s in serving if s.task == task and s.base_model == base_model), None)
        by_path = {r.path: r for r in records}
        history = [p for p in (state.previous if state else []) if p in by_path or p == ""]
        if state is None or not state.path and not history:
            raise NotFoundError(f"nothing to roll back to for {task!r} on {base_model!r}: it is served by the base "
                                "model already")
        if not history:
            raise NotFoundError(f"nothing to roll back to for {task!r} on {base_model!r}: no adapter was served "
                                "before the current one")
        # Checked here, under the lock, so the folder chosen is the one served. The base model ("") is always there.
        skipped = list(itertools.takewhile(lambda p: p and missing_files(by_path[p]), history))
        if len(skipped) == len(history):
            gone = "; ".join(f"{p} ({missing_files(by_path[p])})" for p in skipped)
            raise NotFoundError(f"nothing to roll back to for {task!r} on {base_model!r}: every adapter served "
                                f"before the current one is gone from disk ({gone}); the served one stays. Restore one, or "
                                f"serve another with `python -m finetune gate --task {task} --adapter DIR`")
        back = history[len(skipped)]
        new = Serving(task, base_model, back, _now(), "rollback", history[len(skipped) + 1:])
        _write(reg, records, [s for s in serving if s is not state] + [new])
    return state.path, new, skipped


def registry_stamp(registry: str | os.PathLike | None = None) -> tuple[int, int, int] | None:
    """Changes whenever the registry file is rewritten (each write is a new file moved into place): what a
    running app compares between requests to notice a promotion made by another process."""
    try:
        st = registry_path(registry).stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino, st.st_size


def adapters_for(backend: str, base_model: str, registry: str | os.PathLike | None = None) -> dict[str, str]:
    """task -> value for `llm.adapters`: the adapters served on this base; tasks not servable here are skipped."""
    records, serving = _read_all(registry_path(registry))
    by_path = {r.path: r for r in records}
    out: dict[str, str] = {}
    for s in serving:
        if s.base_model != base_model or not s.path:
            continue
        record = by_path.get(s.path)
        if record is None:
            log.warning("served adapter %s for %r is not registered any more; answering with the base model",
                        s.path, s.task)
            continue
        try:
            out[s.task] = record.for_backend(backend)
        except NotFoundError as exc:
            log.warning("%s", exc)
    return out


def base_model_id(model: str, cache_dir: str = "") -> str:
    """The id adapters are checked against (embedded profile name, '<stem>-<sha12>' of a GGUF, a folder)."""
    from assistant.llm.hf_loading import resolve_model_source

    return resolve_model_source(model, cache_dir)[2]


def with_registered_adapters(llm_cfg, registry: str | os.PathLike | None = None):
    """A copy of an LLMConfig whose `adapters` also holds the served ones (explicit config wins)."""
    if llm_cfg.backend == "fake":
        return llm_cfg
    found = adapters_for(llm_cfg.backend, base_model_id(llm_cfg.model, llm_cfg.cache_dir), registry)
    return dataclasses.replace(llm_cfg, adapters={**found, **llm_cfg.adapters})


def adapter_base(path: str | os.PathLike) -> str | None:
    """The base model recorded inside an adapter: peft folder or GGUF LoRA; None when it records none."""
    p = Path(path)
    if p.is_dir():
        cfg = p / "adapter_config.json"
        if not cfg.exists():
            raise ModelLoadError(f"{p} is not a peft adapter folder (no adapter_config.json)")
        return json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path") or None
    try:
        from gguf import GGUFReader
    except ImportError:  # pragma: no cover - gguf is a dependency
        return None
    try:
        f = GGUFReader(str(p)).get_field(GGUF_BASE_KEY)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read adapter {p}: {exc}") from None
    return str(f.contents()) if f is not None else None


def check_adapter_base(path: str | os.PathLike, model_id: str) -> None:
    """Refuse an adapter trained on another base (its deltas would silently corrupt the answers)."""
    from assistant.llm.embedded import PROFILES

    recorded = adapter_base(path)
    if recorded is None:
        log.warning("adapter %s does not record its base model; assuming it fits %s", path, model_id)
        return
    accepted = {model_id, PROFILES.get(model_id, ("",))[0]}
    # peft records the folder the base was loaded from: our plain-HF cache copy (.../hf/<id>) counts as it.
    cached_copy = Path(recorded).parent.name == "hf" and Path(recorded).name == model_id.replace("/", "--")
    if recorded not in accepted and not cached_copy:
        raise ModelLoadError(f"adapter {path} was trained on {recorded!r}, not on the loaded model {model_id!r}; "
                             "train one for this base (python -m finetune train --config ...)")
