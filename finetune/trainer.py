"""The training loop: packed rows → AdamW + warm-up/cosine → adapter, with AdaLoRA's budget kept honest.

Written as one readable loop rather than a Trainer subclass: AdaLoRA needs `update_and_allocate(step)`
between `optimizer.step()` and `zero_grad()` (it reads the gradients), checkpoints must hold the rank
allocator's state to resume exactly, and accelerate (`accelerate launch -m finetune train ...`) only needs
to wrap the model and optimizer. Batches are a pure function of (seed, micro-step), so a resumed run sees
the same data in the same order.

Checkpoints survive being killed at any instant: each is written to `checkpoint.tmp/`, its SHA-256 is
written after the state file is on disk, and only then does it replace `checkpoint/` (the one before
becomes `checkpoint.prev/`). A resume takes the newest one whose checksum and load both succeed, and says
in one line why it skipped any other.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.llm.embedded import file_sha256
from assistant.outputs import follow_umask
from finetune.config import FinetuneConfig
from finetune.dataset import Row, collate
from finetune.evaluate import eval_loss, learned_token_loss
from finetune.methods import adalora_ranks, is_adalora, wrap

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"
STATE_FILE = "state.pt"
CHECKSUM_FILE = "state.sha256"  # written after STATE_FILE is on disk: its absence means an unfinished write
#: settings a resumed run may change: they decide where files go, what is reported and how fast it runs, never
#: the weights (evals and saves do not touch the RNG or the batches)
RESUME_FREE = frozenset({"task", "num_threads", "device", "cache_dir", "registry", "register", "export_gguf",
                         "save_every", "save_every_minutes", "eval_every", "num_samples", "sample_max_tokens",
                         "metric_examples"})


@dataclass
class History:
    train: list[tuple[int, float]] = field(default_factory=list)  # (step, loss)
    eval: list[tuple[int, float]] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0  # wall time of the run so far, evals included
    eval_seconds: float = 0.0  # of which spent in eval passes (not training)

    @property
    def tokens_per_s(self) -> float:
        """Real (non-padding) training tokens per second of training, eval passes excluded."""
        return self.tokens / max(self.seconds - self.eval_seconds, 1e-9)


@dataclass
class TrainState:
    model: object  # the PeftModel (unwrapped)
    total_steps: int
    history: History
    trainable: int
    total_params: int
    processes: int = 1  # ranks of a distributed launch (accelerate / torchrun) that trained together


@dataclass
class Progress:
    """What a caller sees after every optimizer step (and once right after a resume)."""

    step: int
    total: int
    train_loss: float | None
    eval_loss: float | None
    seconds: float  # wall time of the run so far, all sessions, evals included
    resumed_from: int  # the step this process started from (0 = a fresh run)
    session_seconds: float  # wall time of this process's steps, for an honest ETA after a resume
    notes: list[str] = field(default_factory=list)  # one-line messages, e.g. a corrupt checkpoint skipped


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def plan_steps(cfg: FinetuneConfig, n_rows: int, world: int = 1) -> int:
    per_step = cfg.batch_size * cfg.gradient_accumulation_steps * world
    if cfg.max_steps:
        return cfg.max_steps
    return max(1, math.ceil(cfg.num_epochs * n_rows / per_step))


def run_recipe(cfg: FinetuneConfig, data: Path) -> dict:
    """What a checkpoint must share with the run that resumes it: every setting that shapes the weights, and the
    data. A resume with another rank, other layers or an edited data file would otherwise crash on tensor shapes
    or silently finish a different run than the one the report describes."""
    recipe = {k: v for k, v in asdict(cfg).items() if k not in RESUME_FREE}
    recipe["learning_rate"] = cfg.lr  # 0 (the method's default) and that default are the same run
    recipe["base_model"] = _base_id(cfg)  # a profile name and the path it resolves to are one model
    recipe["data_sha256"] = file_sha256(Path(data))
    return json.loads(json.dumps(recipe))  # as it reads back from the checkpoint


def _base_id(cfg: FinetuneConfig) -> str:
    """The id autotrain keys its folders by (assistant.llm.adapter_registry.base_model_id), else the name as given."""
    from assistant.errors import AssistantError
    from assistant.llm.adapter_registry import base_model_id

    try:
        return base_model_id(cfg.base_model, cfg.cache_dir)
    except (AssistantError, OSError):  # not resolvable here: loading the model will say why
        return cfg.base_model


def check_resume(output: Path, recipe: dict) -> None:
    """Refuse to resume a checkpoint made with other settings or data (one line naming what differs). Checkpoints
    written before recipes were recorded are not checked here (`_apply_checkpoint` still catches shapes)."""
    for folder in checkpoint_dirs(output):
        try:
            saved = json.loads((folder / CHECKSUM_FILE).read_text(encoding="utf-8")).get("recipe")
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(saved, dict):
            continue
        diff = [k for k in sorted(set(saved) | set(recipe)) if saved.get(k) != recipe.get(k)]
        if not diff:
            return
        said = ["the data file's contents" if k == "data_sha256" else f"{k} {saved.get(k)} -> {recipe.get(k)}"
                for k in diff[:4]]
        raise InputError(f"--resume: the checkpoint in {output} was trained with other settings or data "
                         f"({', '.join(said)}{', ...' if len(diff) > 4 else ''}); resume with the settings it was "
                         "started with, or --overwrite to start over")


def micro_batch(rows: list[Row], cfg: FinetuneConfig, index: int, rank: int = 0, world: int = 1) -> list[Row]:
    """The `index`-th micro-batch of this process: epochs reshuffled with seed+epoch, sharded by rank."""
    per_batch = cfg.batch_size * world
    per_epoch = max(1, len(rows) // per_batch) if len(rows) >= per_batch else 1
    epoch, k = divmod(index, per_epoch)
    order = list(range(len(rows)))
    random.Random(cfg.seed + epoch).shuffle(order)
    picked = [order[(k * per_batch + j) % len(order)] for j in range(per_batch)]
    return [rows[i] for i in picked[rank::world]]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. a file system that cannot open folders: the renames are still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_dirs(output: Path) -> list[Path]:
    """Where a checkpoint can be, newest first: a finished write not yet moved in, the latest, the one before."""
    ckpt = Path(output) / CHECKPOINT
    return [ckpt.with_name(CHECKPOINT + ".tmp"), ckpt, ckpt.with_name(CHECKPOINT + ".prev")]


def has_checkpoint(output: Path) -> bool:
    return any((d / STATE_FILE).exists() for d in checkpoint_dirs(output))


def remove_checkpoints(output: Path) -> None:
    for d in checkpoint_dirs(output):
        shutil.rmtree(d, ignore_errors=True)


def _save_checkpoint(path: Path, model, optimizer, scheduler, step: int, history: History,
                     recipe: dict | None = None) -> None:
    import torch

    tmp, prev = path.with_name(path.name + ".tmp"), path.with_name(path.name + ".prev")
    shutil.rmtree(tmp, ignore_errors=True)  # a write cut short earlier
    tmp.mkdir(parents=True)
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    state = {"adapter": trainable, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "step": step, "history": asdict(history), "torch_rng": torch.get_rng_state()}
    if is_adalora(model):
        # lora_E entries pruned to zero are in `trainable`; the sensitivity EMAs decide the next pruning.
        alloc = model.base_model.rankallocator
        state["rankallocator"] = {k: getattr(alloc, k) for k in ("ipt", "exp_avg_ipt", "exp_avg_unc")}
        state["rank_pattern"] = model.peft_config["default"].rank_pattern
    with (tmp / STATE_FILE).open("wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    # The checksum goes last: a power cut before this line leaves a folder that is recognisably unfinished.
    # The recipe rides along so that `--resume` can be checked before any model loads (check_resume).
    digest = json.dumps({"sha256": file_sha256(tmp / STATE_FILE), "step": step, "recipe": recipe})
    with (tmp / CHECKSUM_FILE).open("w", encoding="utf-8") as fh:
        fh.write(digest)
        fh.flush()
        os.fsync(fh.fileno())
    # Keep the previous good checkpoint until the new one is in place: a crash between the two renames
    # leaves checkpoint.tmp (complete) and checkpoint.prev, both found by read_checkpoint.
    if path.exists():
        shutil.rmtree(prev, ignore_errors=True)
        path.rename(prev)
    tmp.rename(path)
    _fsync_dir(path.parent)


def _verify(folder: Path) -> str | None:
    """Why this checkpoint folder must not be used, or None when its checksum matches."""
    state, check = folder / STATE_FILE, folder / CHECKSUM_FILE
    if not check.exists():
        # Checkpoints written before checksums existed are only trusted if they load (read_checkpoint).
        return None if folder.name == CHECKPOINT else "unfinished write (no checksum)"
    try:
        expected = json.loads(check.read_text(encoding="utf-8"))["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return "its checksum file is unreadable"
    if file_sha256(state) != expected:
        return "checksum mismatch (truncated or garbled state file)"
    return None


def read_checkpoint(output: Path) -> tuple[dict | None, Path | None, list[str]]:
    """(state, folder, notes): the newest checkpoint that verifies and loads; notes say what was skipped."""
    import torch

    notes = []
    for folder in checkpoint_dirs(output):
        if not (folder / STATE_FILE).exists():
            continue
        problem = _verify(folder)
        if problem == "unfinished write (no checksum)":
            log.info("ignoring %s: %s", folder, problem)  # the kill came mid-save; nothing was lost
            continue
        if problem is None:
            try:
                state = torch.load(folder / STATE_FILE, weights_only=False)
                if not isinstance(state, dict) or "adapter" not in state or "step" not in state:
                    raise ValueError("not a training checkpoint")
                return state, folder, notes
            except Exception as exc:  # noqa: BLE001 - any load failure means: do not use this one
                problem = f"load failed: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
        note = f"checkpoint {folder.name} is corrupt ({problem}): skipped"
        log.warning("%s (%s)", note, folder)
        notes.append(note)
    return None, None, notes


def _apply_checkpoint(state: dict, path: Path, model, optimizer, scheduler) -> tuple[int, History]:
    import torch

    params = dict(model.named_parameters())
    trainable = {n for n, p in params.items() if p.requires_grad}
    # Either way round: more layers now would fail in the optimizer's state, another rank in the copy. Only
    # checkpoints older than check_resume's recipe get this far with other settings.
    missing = sorted(set(state["adapter"]) ^ trainable) or sorted(
        n for n, v in state["adapter"].items() if params[n].shape != v.shape)
    if missing:
        raise InputError(f"checkpoint {path} does not match this adapter config (e.g. {missing[0]})")
    with torch.no_grad():
        for name, value in state["adapter"].items():
            params[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if "rankallocator" in state:
        alloc = model.base_model.rankallocator
        for k, v in state["rankallocator"].items():
            setattr(alloc, k, v)
        model.peft_config["default"].rank_pattern = state["rank_pattern"]
    h = state["history"]
    history = History([tuple(x) for x in h["train"]], [tuple(x) for x in h["eval"]], h["tokens"], h["seconds"],
                      h.get("eval_seconds", 0.0))
    return state["step"], history


def accelerator(cfg: FinetuneConfig):
    """The process's accelerate handle: its rank and world size are the one source for who does what."""
    import torch
    from accelerate import Accelerator

    # accelerate keeps one process-wide state: pass the same `cpu` flag every time on a CPU-only machine.
    return Accelerator(cpu=cfg.device == "cpu" or not torch.cuda.is_available())


def train_adapter(model, tok, cfg: FinetuneConfig, train_rows: list[Row], eval_rows: list[Row], output: Path,
                  resume: bool = False, progress: bool = True,
                  on_progress: Callable[[Progress], None] | None = None, recipe: dict | None = None) -> TrainState:
    """Wrap `model` with the configured adapter and train it; checkpoints go to output/checkpoint.

    `resume`: continue from the newest good checkpoint; when every one found is corrupt it starts over (the
    reasons are logged and passed to `on_progress` as notes), when there is none at all it is an error.
    `recipe` (run_recipe) is stored with each checkpoint, for check_resume.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    acc = accelerator(cfg)
    world, rank = acc.num_processes, acc.process_index
    total = plan_steps(cfg, len(train_rows), world)
    seed_everything(cfg.seed)
    model = wrap(model, cfg, total)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_params = sum(p.numel() for p in model.parameters())
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    ckpt = output / CHECKPOINT
    start, history, notes = 0, History(), []
    if resume:
        if not has_checkpoint(output):
            raise InputError(f"--resume: no checkpoint in {ckpt}")
        state, folder, notes = read_checkpoint(output)
        if state is not None:
            start, history = _apply_checkpoint(state, folder, model, optimizer, scheduler)
            del state
            notes.append(f"resumed from step {start} of {total}")
            log.info("resumed from step %d of %d (%s)", start, total, folder.name)
        else:
            notes.append("no usable checkpoint: training starts over")
            log.warning("no usable checkpoint in %s: training starts over", output)
    model, optimizer = acc.prepare(model, optimizer)
    core = acc.unwrap_model(model)
    adaptive = is_adalora(core)
    pad_id = tok.pad_token_id
    eval_every = cfg.eval_every or max(1, total // 5)
    save_every = cfg.save_every or eval_every
    if start == 0 and acc.is_main_process:
        history.eval.append((0, eval_loss(core, eval_rows, cfg.batch_size, pad_id, cfg.packing)))
    model.train()
    bar = tqdm(total=total, initial=start, desc=f"train {cfg.method}", unit="step",
               disable=not (progress and acc.is_main_process))
    session_t0 = time.perf_counter()
    t0 = session_t0 - history.seconds
    last_save = session_t0

    def report(step: int) -> None:
        if on_progress is not None and acc.is_main_process:
            train_loss = history.train[-1][1] if history.train else None
            on_progress(Progress(step, total, train_loss, history.eval[-1][1] if history.eval else None,
                                 history.seconds, start, time.perf_counter() - session_t0, list(notes)))

    report(start)
    for step in range(start + 1, total + 1):
        step_loss, step_tokens = 0.0, 0
        for k in range(cfg.gradient_accumulation_steps):
            rows = micro_batch(train_rows, cfg, (step - 1) * cfg.gradient_accumulation_steps + k, rank, world)
            batch = {n: v.to(acc.device) for n, v in collate(rows, pad_id, cfg.packing).items()}
            # use_cache=False: with a cache, transformers ignores the packed position ids and lets dialogues
            # attend to each other. AdaLoRA's loss must come from the model: peft adds its orthogonality
            # regulariser there; every other method computes logits at the learned positions only.
            loss = (model(**batch, use_cache=False).loss if adaptive else learned_token_loss(model, batch))
            loss = loss / cfg.gradient_accumulation_steps
            acc.backward(loss)
            step_loss += loss.item()
            step_tokens += sum(len(r.input_ids) for r in rows)  # real tokens, never padding
        acc.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        if adaptive:
            # Must see this step's gradients: the sensitivity scores are |w * grad|.
            core.base_model.update_and_allocate(step)
        optimizer.zero_grad(set_to_none=True)
        history.train.append((step, step_loss))
        history.tokens += step_tokens * world
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.3f}")
        if acc.is_main_process and (step % eval_every == 0 or step == total):
            e0 = time.perf_counter()
            history.eval.append((step, eval_loss(core, eval_rows, cfg.batch_size, pad_id, cfg.packing)))
            history.eval_seconds += time.perf_counter() - e0
            bar.write(f"step {step}/{total}: train loss {step_loss:.3f}, eval loss {history.eval[-1][1]:.3f}")
        history.seconds = time.perf_counter() - t0
        # Saved every `save_every` steps and, on slow machines, also when `save_every_minutes` have passed:
        # a kill loses at most that much work. The math never depends on when saves happen.
        due = step % save_every == 0 or (
            cfg.save_every_minutes > 0 and time.perf_counter() - last_save >= 60 * cfg.save_every_minutes)
        if acc.is_main_process and due and step < total:
            _save_checkpoint(ckpt, core, optimizer, scheduler, step, history, recipe)
            last_save = time.perf_counter()
        report(step)
    bar.close()
    acc.wait_for_everyone()
    if adaptive:
        log.info("AdaLoRA ranks: %s", adalora_ranks(core))
    return TrainState(core, total, history, trainable, n_params, world)


def save_adapter(state: TrainState, tok, output: Path, model_id: str, meta: dict) -> Path:
    """peft folder + finetune_meta.json; the adapter config names our model id as its base (checked later)."""
    model = state.model
    model.peft_config["default"].base_model_name_or_path = model_id
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    follow_umask(output)  # safetensors writes its file 0600, the config beside it follows the umask
    tok.save_pretrained(output)
    (output / "finetune_meta.json").write_text(json.dumps({"base_model": model_id, **meta}, indent=2,
                                                          ensure_ascii=False), encoding="utf-8")
    return output
