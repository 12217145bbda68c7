"""Checks on the paths `train` and `export` write, made before any model loads.

A training run takes minutes to hours: a path it cannot write must fail before the first step, not at the
first checkpoint; and a folder that already holds a trained adapter (maybe the one customers are served) or
an interrupted run's checkpoint is only replaced when the user says so (`--overwrite`), never by re-running
the same command. Nothing here creates a folder: a run refused for bad data leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import ExitStack, contextmanager
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


def _foreign_file(folder: Path) -> str | None:
    """The first entry of a folder that is no previous run's (no adapter, no checkpoint in it), else None.

    save_pretrained writes README.md, tokenizer_config.json, ...: in a folder of the user's own files those
    would be replaced without a word. Hidden files (.gitkeep, .DS_Store) are never written by a run: kept,
    not counted; checkpoint.tmp/.prev are what a run killed before its first full checkpoint leaves."""
    if not folder.is_dir():
        return None
    from finetune.trainer import checkpoint_dirs

    ours = {d.name for d in checkpoint_dirs(folder)}
    return next((p.name for p in sorted(folder.iterdir()) if not p.name.startswith(".") and p.name not in ours),
                None)


def _checkpoint_step(output: Path) -> str:
    from finetune.trainer import CHECKSUM_FILE, checkpoint_dirs

    for folder in checkpoint_dirs(output):
        try:
            return f" (step {int(json.loads((folder / CHECKSUM_FILE).read_text(encoding='utf-8'))['step'])})"
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return ""


def served_task(output: Path, registry: Path | None) -> str:
    """The task the registry serves the folder `output` for, else ''."""
    if registry is None or not registry.is_file():
        return ""
    from assistant.errors import AssistantError
    from assistant.llm.adapter_registry import serving_state

    target = str(output.resolve())
    try:
        return next((s.task for s in serving_state(registry) if s.path == target), "")
    except AssistantError:  # an unreadable registry serves nothing (check_registry reports it when it matters)
        return ""


def _served_by(output: Path, registry: Path | None) -> str:
    """' that is served for task X' when the registry serves this folder, else ''."""
    task = served_task(output, registry)
    return f" that is served to customers (task {task})" if task else ""


def _refuse_foreign(out: Path, option: str = "--output") -> None:
    name = _foreign_file(out)
    if name is not None:
        raise InputError(f"{option} {out} is a folder with other files in it ({name}); the run would write "
                         "README.md, tokenizer files and a Modelfile there: give a new or empty folder")


def check_registry(registry: Path) -> None:
    """The registry a run records its adapter in: a folder, an unreadable file or a read-only place fails now,
    not after the training it would have recorded."""
    from assistant.llm.adapter_registry import list_adapters

    if registry.is_dir():
        raise InputError(f"--registry takes a JSON file (e.g. registry.json), but {registry} is a folder")
    _writable(registry, "--registry", "file")
    if registry.exists():
        list_adapters(registry)  # a corrupt registry is a StorageError naming it


def _folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--output takes a folder (the adapter, report and checkpoints go into it), but {out} is "
                         "a file")
    _writable(out, "--output", "folder")


def check_train_output(output: str | os.PathLike, data: str | os.PathLike, resume: bool, overwrite: bool,
                       registry: Path | None = None) -> Path:
    """`train --output`: a folder that can be written and that holds nothing the user would lose.
    `registry`: where to look up whether the folder is served (whether or not this run registers)."""
    from finetune.trainer import CHECKPOINT, has_checkpoint

    out = Path(output)
    _folder(out)
    if Path(data).resolve() in {(out / name).resolve() for name in RUN_FILES}:
        raise InputError(f"--data {data} is inside --output and would be overwritten by the run; move it first")
    if resume:
        if not has_checkpoint(out):
            done = " (it holds a finished adapter: nothing to resume)" if is_adapter_folder(out) else ""
            raise InputError(f"--resume: no checkpoint in {out / CHECKPOINT}{done}")
        return out
    previous_run = has_checkpoint(out) or is_adapter_folder(out)
    if not previous_run:
        _refuse_foreign(out)  # --overwrite replaces a run, never files no run wrote
        return out
    task = served_task(out, registry)
    if overwrite and task:
        # --overwrite removes the old files before the first step: customers would be served a half-written
        # folder (and, if the run fails, none) until the new one is done.
        raise InputError(f"--overwrite: {out} is the adapter served to customers (task {task}): train into a new "
                         f"folder, then `python -m finetune gate --task {task} --adapter NEW` serves it if it wins")
    if overwrite:
        return out
    if has_checkpoint(out):
        raise InputError(f"--output {out} holds an interrupted run's checkpoint{_checkpoint_step(out)}: add "
                         "--resume to continue it, or --overwrite to start over")
    raise InputError(f"--output {out} already holds a trained adapter{_served_by(out, registry)}: choose a new "
                     "folder (then `python -m finetune gate` compares the two), or add --overwrite to replace it")


def check_candidate_output(output: str | os.PathLike, registry: Path | None = None) -> Path:
    """`retrain --output`: a new (or empty) folder for the candidate; retrain has no --overwrite, and a folder
    holding an adapter (the served one above all) is never written, whatever the gate decides afterwards."""
    out = Path(output)
    _folder(out)
    if is_adapter_folder(out):
        raise InputError(f"--output {out} already holds a trained adapter{_served_by(out, registry)}: give a new "
                         "folder for the candidate (the gate then compares it with the served one)")
    _refuse_foreign(out)
    return out


def clear_previous_run(output: Path) -> None:
    """`--overwrite`: remove the files and checkpoints of the run being replaced (nothing else in the folder)."""
    from finetune.trainer import remove_checkpoints

    remove_checkpoints(output)
    for name in RUN_FILES:
        (output / name).unlink(missing_ok=True)


def check_export_output(adapter: str | os.PathLike, fmt: str, output: str | os.PathLike,
                        registry: Path | None = None) -> Path:
    """`export --output`: a new or earlier-export folder (merged), or a new or earlier .gguf file (gguf); never a
    path whose present contents (the adapter itself, other files, another adapter's GGUF) the export would
    overwrite. `registry`: where other adapters' GGUF files are recorded."""
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
    _refuse_other_adapters_gguf(adapter, out, registry)
    return out


def _refuse_other_adapters_gguf(adapter: Path, out: Path, registry: Path | None) -> None:
    """A GGUF file belongs to the adapter whose folder holds it or whose record names it: llama.cpp would serve
    this export under that adapter's name (the gate would compare the wrong weights)."""
    mine = adapter.resolve()
    target = out.resolve()
    owner = next((p for p in target.parents if p != mine and is_adapter_folder(p)), None)
    if owner is not None and not mine.is_relative_to(owner):
        raise InputError(f"--output {out} is inside the folder of another adapter ({owner}); write {adapter}'s "
                         f"GGUF to {adapter / 'adapter.gguf'} or a new file elsewhere")
    if registry is None or not registry.is_file():
        return
    from assistant.llm.adapter_registry import list_adapters

    other = next((r for r in list_adapters(registry) if r.gguf == str(target) and r.path != str(mine)), None)
    if other is not None:
        served = _served_by(Path(other.path), registry)
        raise InputError(f"--output {out} is the GGUF the registry records for the {other.task} adapter "
                         f"{other.path}{served}; write {adapter}'s GGUF to {adapter / 'adapter.gguf'} or a new file")


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


@contextmanager
def training_lock(output: Path):
    """Held while one run trains into `output`: a second `train` into the same folder (a `--resume` started while
    the first still runs under nohup) is refused in one line, where both had written the same checkpoints. The
    lock file lives in the system's temp folder, keyed by the folder's path, so a refused run leaves nothing in
    `output`; the operating system releases it when the process ends, however it ends. Only the main process of
    a distributed launch takes it (all its ranks train into one folder)."""
    if int(os.environ.get("RANK", "0") or 0) != 0:
        yield
        return
    from assistant.llm.adapter_registry import file_lock

    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(Path(tempfile.gettempdir()) / f"shop-assistant-train-{key}.lock", wait=False))
        except BlockingIOError:
            raise InputError(f"another training run is writing to {output}: wait for it to finish (or stop it), "
                             "then run this again with --resume") from None
        yield
