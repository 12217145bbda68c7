"""The training loop: packed rows → AdamW + warm-up/cosine → adapter, with AdaLoRA's budget kept honest.

Written as one readable loop rather than a Trainer subclass: AdaLoRA needs `update_and_allocate(step)`
between `optimizer.step()` and `zero_grad()` (it reads the gradients), checkpoints must hold the rank
allocator's state to resume exactly, and accelerate (`accelerate launch -m finetune train ...`) only needs
to wrap the model and optimizer. Batches are a pure function of (seed, micro-step), so a resumed run sees
the same data in the same order.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import InputError
from finetune.config import FinetuneConfig
from finetune.dataset import Row, collate
from finetune.evaluate import eval_loss
from finetune.methods import adalora_ranks, is_adalora, wrap

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"


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


def micro_batch(rows: list[Row], cfg: FinetuneConfig, index: int, rank: int = 0, world: int = 1) -> list[Row]:
    """The `index`-th micro-batch of this process: epochs reshuffled with seed+epoch, sharded by rank."""
    per_batch = cfg.batch_size * world
    per_epoch = max(1, len(rows) // per_batch) if len(rows) >= per_batch else 1
    epoch, k = divmod(index, per_epoch)
    order = list(range(len(rows)))
    random.Random(cfg.seed + epoch).shuffle(order)
    picked = [order[(k * per_batch + j) % len(order)] for j in range(per_batch)]
    return [rows[i] for i in picked[rank::world]]


def _save_checkpoint(path: Path, model, optimizer, scheduler, step: int, history: History) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    state = {"adapter": trainable, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "step": step, "history": asdict(history), "torch_rng": torch.get_rng_state()}
    if is_adalora(model):
        # lora_E entries pruned to zero are in `trainable`; the sensitivity EMAs decide the next pruning.
        alloc = model.base_model.rankallocator
        state["rankallocator"] = {k: getattr(alloc, k) for k in ("ipt", "exp_avg_ipt", "exp_avg_unc")}
        state["rank_pattern"] = model.peft_config["default"].rank_pattern
    torch.save(state, tmp / "state.pt")
    if path.exists():
        import shutil

        shutil.rmtree(path)
    tmp.rename(path)


def _load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[int, History]:
    import torch

    state = torch.load(path / "state.pt", weights_only=False)
    missing = set(state["adapter"]) - {n for n, _ in model.named_parameters()}
    if missing:
        raise InputError(f"checkpoint {path} does not match this adapter config (e.g. {sorted(missing)[0]})")
    params = dict(model.named_parameters())
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
                  resume: bool = False, progress: bool = True) -> TrainState:
    """Wrap `model` with the configured adapter and train it; checkpoints go to output/checkpoint."""
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
    start, history = 0, History()
    if resume:
        if not (ckpt / "state.pt").exists():
            raise InputError(f"--resume: no checkpoint in {ckpt}")
        start, history = _load_checkpoint(ckpt, model, optimizer, scheduler)
        log.info("resumed from step %d of %d", start, total)
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
    t0 = time.perf_counter() - history.seconds
    for step in range(start + 1, total + 1):
        step_loss, step_tokens = 0.0, 0
        for k in range(cfg.gradient_accumulation_steps):
            rows = micro_batch(train_rows, cfg, (step - 1) * cfg.gradient_accumulation_steps + k, rank, world)
            batch = {n: v.to(acc.device) for n, v in collate(rows, pad_id, cfg.packing).items()}
            # use_cache=False: with a cache, transformers ignores the packed position ids and lets dialogues
            # attend to each other.
            loss = model(**batch, use_cache=False).loss / cfg.gradient_accumulation_steps
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
        if acc.is_main_process and (step % save_every == 0 and step < total):
            _save_checkpoint(ckpt, core, optimizer, scheduler, step, history)
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
    tok.save_pretrained(output)
    (output / "finetune_meta.json").write_text(json.dumps({"base_model": model_id, **meta}, indent=2,
                                                          ensure_ascii=False), encoding="utf-8")
    return output
