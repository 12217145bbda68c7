"""Checks on the paths `train` and `export` write, made before any model loads.

A training run takes minutes to hours: a path it cannot write must fail before the first step, not at the
first checkpoint; and a folder that already holds a trained adapter (maybe the one customers are served) or
an interrupted run's checkpoint is only replaced when the user says so (`--overwrite`), never by re-running
the same command. Nothing here creates a folder: a run refused for bad data leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant.errors import InputError
from assistant.outputs import blocking_file

#: files of a finished run (peft folder, meta, report, exports): their presence means "a trained adapter"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "finetune_meta.json")
#: what `--overwrite` removes before training: a new run that fails to export must not leave the old
#: adapter.gguf (or an AdaLoRA rank report) beside the new weights, looking like its own
RUN_FILES = (*ADAPTER_FILES, "adapter_model.bin", "adapter.gguf", "Modelfile", "report.md", "loss_curves.png",
             "rank_report.png")


def _writable(path: Path, option: str, kind: str) -> None:
    """`path` (existing or not) can be created/written as a `kind` ("folder" or "file")."""
    blocker = blocking_file(path.parent if kind == "file" else path)
    if blocker is not None:
        raise InputError(f"{option}: cannot write {path}: {blocker} is a file, not a folder")
    existing = next(p for p in (path, *path.parents) if p.exists()) if kind == "folder" else \
        next(p for p in path.parents if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{option}: cannot write into {existing}: permission denied")


def is_adapter_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in ADAPTER_FILES)


def _checkpoint_step(output: Path) -> str:
    from finetune.trainer import CHECKSUM_FILE, checkpoint_dirs

    for folder in checkpoint_dirs(output):
        try:
            return f" (step {int(json.loads((folder / CHECKSUM_FILE).read_text(encoding='utf-8'))['step'])})"
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return ""


def _served_by(output: Path, registry: Path | None) -> str:
    """' that is served for task X' when the registry serves this folder, else ''."""
    if registry is None or not registry.is_file():
        return ""
    from assistant.llm.adapter_registry import serving_state

    target = str(output.resolve())
    task = next((s.task for s in serving_state(registry) if s.path == target), None)
    return f" that is served to customers (task {task})" if task else ""


def check_registry(registry: Path) -> None:
    """The registry a run records its adapter in: a folder, an unreadable file or a read-only place fails now,
    not after the training it would have recorded."""
    from assistant.llm.adapter_registry import list_adapters

    if registry.is_dir():
        raise InputError(f"--registry takes a JSON file (e.g. registry.json), but {registry} is a folder")
    _writable(registry, "--registry", "file")
    if registry.exists():
        list_adapters(registry)  # a corrupt registry is a StorageError naming it


def check_train_output(output: str | os.PathLike, data: str | os.PathLike, resume: bool, overwrite: bool,
                       registry: Path | None = None) -> Path:
    """`train --output`: a folder that can be written and that holds nothing the user would lose."""
    from finetune.trainer import CHECKPOINT, has_checkpoint

    out = Path(output)
    if out.exists() and not out.is_dir():
        raise InputError(f"--output takes a folder (the adapter, report and checkpoints go into it), but {out} is "
                         "a file")
    _writable(out, "--output", "folder")
    if Path(data).resolve() in {(out / name).resolve() for name in RUN_FILES}:
        raise InputError(f"--data {data} is inside --output and would be overwritten by the run; move it first")
    if resume:
        if not has_checkpoint(out):
            done = " (it holds a finished adapter: nothing to resume)" if is_adapter_folder(out) else ""
            raise InputError(f"--resume: no checkpoint in {out / CHECKPOINT}{done}")
        return out
    if overwrite:
        return out
    if has_checkpoint(out):
        raise InputError(f"--output {out} holds an interrupted run's checkpoint{_checkpoint_step(out)}: add "
                         "--resume to continue it, or --overwrite to start over")
    if is_adapter_folder(out):
        raise InputError(f"--output {out} already holds a trained adapter{_served_by(out, registry)}: choose a new "
                         "folder (then `python -m finetune gate` compares the two), or add --overwrite to replace it")
    return out


def clear_previous_run(output: Path) -> None:
    """`--overwrite`: remove the files and checkpoints of the run being replaced (nothing else in the folder)."""
    from finetune.trainer import remove_checkpoints

    remove_checkpoints(output)
    for name in RUN_FILES:
        (output / name).unlink(missing_ok=True)


def check_export_output(adapter: str | os.PathLike, fmt: str, output: str | os.PathLike) -> Path:
    """`export --output`: a new or earlier-export folder (merged), or a new or earlier .gguf file (gguf); never a
    path whose present contents (the adapter itself, other files) the export would overwrite."""
    out, adapter = Path(output), Path(adapter)
    if fmt == "merged":
        if out.exists() and not out.is_dir():
            raise InputError(f"--format merged writes a model folder, but --output {out} is a file")
        _writable(out, "--output", "folder")
        if out.is_dir() and (is_adapter_folder(out) or out.resolve() == adapter.resolve()):
            raise InputError(f"--output {out} holds an adapter; the merged model (config.json, model.safetensors, "
                             "tokenizer) needs a folder of its own")
        earlier = (out / "config.json").exists() and any(out.glob("model*.safetensors"))
        if out.is_dir() and any(out.iterdir()) and not earlier:
            raise InputError(f"--output {out} is a folder with other files in it; give a new or empty folder for "
                             "the merged model")
        return out
    if out.is_dir() or str(output).endswith(("/", os.sep)):
        raise InputError(f"--format gguf writes one file (e.g. {adapter / 'adapter.gguf'}), but --output {out} is a "
                         "folder")
    _writable(out, "--output", "file")
    if out.exists() and not _is_gguf(out):
        raise InputError(f"--output {out} exists and is not a GGUF file; it would be overwritten: give a new name "
                         "such as adapter.gguf")
    return out


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False
