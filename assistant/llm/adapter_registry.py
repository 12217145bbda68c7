"""Which trained adapter serves which task: a small JSON registry written by `python -m finetune`.

One record per (task, base model): the peft folder (transformers backend, hot-swapped), its GGUF LoRA
(llamacpp backend) and the name an OpenAI-compatible server such as vLLM serves it under, plus method,
metrics and date. An adapter is only ever loaded onto the base it was trained on: `check_adapter_base`
compares the base recorded inside the adapter (peft config or GGUF metadata) with the loaded model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
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
def _locked(path: Path):
    """Read-modify-write under an exclusive lock: two trainings finishing together both get recorded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> list[AdapterRecord]:
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(AdapterRecord)}
        return [AdapterRecord(**{k: v for k, v in r.items() if k in names}) for r in raw["adapters"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"adapter registry {path} is unreadable: {exc}") from None


def _write(path: Path, records: list[AdapterRecord]) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    data = {"adapters": [dataclasses.asdict(r) for r in records]}
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def register_adapter(task: str, path: str | os.PathLike, base_model: str, method: str,
                     metrics: dict[str, float] | None = None, gguf: str | os.PathLike = "", name: str = "",
                     registry: str | os.PathLike | None = None) -> AdapterRecord:
    """Record (or replace) the adapter for (task, base_model); returns the stored record."""
    reg = registry_path(registry)
    record = AdapterRecord(
        task=task, path=str(Path(path).resolve()), base_model=base_model, method=method,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), metrics=dict(metrics or {}),
        gguf=str(Path(gguf).resolve()) if gguf else "", name=name,
    )
    with _locked(reg):
        records = [r for r in _read(reg) if not (r.task == task and r.base_model == base_model)]
        records.append(record)
        _write(reg, records)
    return record


def set_gguf(adapter_path: str | os.PathLike, gguf: str | os.PathLike,
             registry: str | os.PathLike | None = None) -> AdapterRecord | None:
    """Attach a GGUF export to the record of the peft folder `adapter_path` (None if not registered)."""
    reg = registry_path(registry)
    target = str(Path(adapter_path).resolve())
    with _locked(reg):
        records = _read(reg)
        hit = next((r for r in records if r.path == target), None)
        if hit is not None:
            hit.gguf = str(Path(gguf).resolve())
            _write(reg, records)
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
    return max(found, key=lambda r: r.created)


def adapters_for(backend: str, base_model: str, registry: str | os.PathLike | None = None) -> dict[str, str]:
    """task -> value for `llm.adapters` for this backend and base; tasks not servable here are skipped."""
    out: dict[str, str] = {}
    for r in list_adapters(registry):
        if r.base_model != base_model:
            continue
        try:
            out[r.task] = r.for_backend(backend)
        except NotFoundError as exc:
            log.warning("%s", exc)
    return out


def base_model_id(model: str, cache_dir: str = "") -> str:
    """The id adapters are checked against (embedded profile name, '<stem>-<sha12>' of a GGUF, a folder)."""
    from assistant.llm.hf_loading import resolve_model_source

    return resolve_model_source(model, cache_dir)[2]


def with_registered_adapters(llm_cfg, registry: str | os.PathLike | None = None):
    """A copy of an LLMConfig whose `adapters` also holds the registered ones (explicit config wins)."""
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
