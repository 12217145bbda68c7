"""Training on unpaired thumbs: KTO with TRL's `KTOTrainer`, and SFT-only on our own short loop, same batches.

Copywriters rate single texts, they rarely compare two, so DPO's pairs are scarce and KTO's unpaired desirable /
undesirable labels (Ethayarajh et al. 2024) fit. KTO runs on TRL (`trl.KTOTrainer`, loss_type "kto") over our
PeftModel; its reference is a frozen copy of the adapter as training starts (TRL adds it as the "ref" adapter), so
the model before this feedback: the base for a new LoRA (B = 0), or the served adapter being continued.
SFT-only (the baseline, and the support task, whose rows are all corrections) runs our own short loop with the
same steps, batch size, schedule and learning rate on the desirable texts.
TRL tokenises the prompt with the chat template and the completion as the rest; `encode_judged` does it through
`finetune.dataset.encode` (the tokenisation tested against llama.cpp's), and a test checks the two agree.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.errors import ConfigError, InputError
from finetune.config import require_finite
from finetune.dataset import IGNORE, encode

log = logging.getLogger(__name__)

OBJECTIVES = ("kto", "sft")


@dataclass
class KTOConfig:
    objective: str = field(default="kto", metadata={"help": f"one of {OBJECTIVES}: kto uses thumbs-down too"})
    beta: float = field(default=0.1, metadata={"help": "KTO β: how far the policy may move from the reference"})
    desirable_weight: float = field(default=1.0, metadata={"help": "KTO weight of desirable examples"})
    undesirable_weight: float = field(
        default=0.0, metadata={"help": "KTO weight of undesirable examples; 0 = balance the two classes "
                                       "(KTO paper eq. 8: λ_U·n_U ≈ λ_D·n_D)"})
    batch_size: int = field(default=8, metadata={"help": "examples per step; KTO's KL estimate needs >= 2"})
    max_steps: int = field(default=0, metadata={"help": "optimizer steps; 0 = num_epochs passes"})
    num_epochs: float = field(default=3.0, metadata={"help": "passes over the examples when max_steps is 0"})
    learning_rate: float = field(default=5e-4, metadata={"help": "peak AdamW learning rate (warm-up + cosine)"})
    max_seq_len: int = field(default=512, metadata={"help": "tokens per example (prompt + completion)"})
    seed: int = field(default=42, metadata={"help": "batch order"})

    def __post_init__(self):
        require_finite(self)
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.beta <= 0:
            raise ConfigError(f"beta must be > 0, got {self.beta:g}")
        for name in ("desirable_weight", "undesirable_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name):g}")
        if self.objective == "kto" and self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 for kto (the KL estimate pairs examples), got {self.batch_size}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_steps < 0 or self.num_epochs <= 0 or self.learning_rate <= 0:
            raise ConfigError("max_steps must be >= 0, num_epochs and learning_rate > 0")
        if self.max_seq_len < 32:
            raise ConfigError(f"max_seq_len must be >= 32, got {self.max_seq_len}")


@dataclass
class Judged:
    """One judged completion: the prompt turns, the text that was rated, and whether it is desirable."""

    prompt: list[dict[str, str]]
    completion: str
    desirable: bool
    group: str = ""  # what it belongs to (a brief, a ticket): splits keep a group on one side

    @property
    def messages(self) -> list[dict[str, str]]:
        return [*self.prompt, {"role": "assistant", "content": self.completion}]


@dataclass
class Encoded:
    prompt_ids: list[int]
    completion_ids: list[int]  # the assistant turn with its end-of-turn tokens, as dataset.encode learns it
    desirable: bool


def encode_judged(tok, items: Sequence[Judged], max_len: int) -> list[Encoded]:
    """Prompt / completion token ids through `dataset.encode` (the training template, nothing else)."""
    out = []
    for it in items:
        ids, labels = encode(tok, it.messages)
        start = next((i for i, lab in enumerate(labels) if lab != IGNORE), None)
        if start is None:
            continue
        prompt, completion = ids[:start], ids[start:]
        if len(completion) >= max_len:
            continue
        prompt = prompt[-(max_len - len(completion)):]  # keep the end of a long prompt: the question is there
        out.append(Encoded(prompt, completion, it.desirable))
    if not out:
        raise InputError("no judged example fits max_seq_len")
    return out


def _pad(seqs: list[tuple[list[int], int]], pad_id: int):
    """Right-padded ids, attention mask and completion mask for (ids, prompt length) pairs."""
    import torch

    width = max(len(s) for s, _ in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), width), dtype=torch.long)
    comp = torch.zeros((len(seqs), width), dtype=torch.bool)
    for i, (s, n_prompt) in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        attn[i, :len(s)] = 1
        comp[i, n_prompt:len(s)] = True
    return ids, attn, comp


def completion_logps(model, batch: list[Encoded], pad_id: int, mean: bool = False):
    """Sum (or per-token mean) log-probability of each completion given its prompt."""
    import torch

    ids, attn, comp = _pad([(b.prompt_ids + b.completion_ids, len(b.prompt_ids)) for b in batch], pad_id)
    dev = next(model.parameters()).device
    ids, attn, comp = ids.to(dev), attn.to(dev), comp.to(dev)
    logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits[:, :-1].float()
    logp = torch.gather(logits.log_softmax(-1), 2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    mask = comp[:, 1:]
    total = (logp * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if mean else total


def undesirable_weight(kcfg: KTOConfig, labels: Sequence[bool]) -> float:
    """The configured weight, or (0) the KTO paper's balance λ_U = λ_D · n_D / n_U for unequal class sizes."""
    if kcfg.undesirable_weight:
        return kcfg.undesirable_weight
    n_d = sum(labels)
    n_u = len(labels) - n_d
    return kcfg.desirable_weight * n_d / n_u if n_u and n_d else 1.0


@dataclass
class FeedbackHistory:
    losses: list[tuple[int, float]] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    examples: int = 0
    desirable: int = 0


def plan_steps(kcfg: KTOConfig, n: int) -> int:
    return kcfg.max_steps or max(1, math.ceil(kcfg.num_epochs * n / kcfg.batch_size))


def import_trl():
    try:
        import trl
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(f"KTO training needs TRL: pip install trl==1.13.0 ({exc}); or use the sft objective") from None
    return trl


def _batches(kcfg: KTOConfig, data: Sequence, total: int) -> list[list[int]]:
    """Example indices of every step, epochs reshuffled with the seed; both objectives use this order."""
    rng = random.Random(kcfg.seed)
    order: list[int] = []
    out = []
    for _ in range(total):
        if len(order) < kcfg.batch_size:  # a fresh shuffled epoch appended, so every batch is full
            more = list(range(len(data)))
            rng.shuffle(more)
            order += more
        out.append(order[:kcfg.batch_size])
        order = order[kcfg.batch_size:]
    return out


def train_on_feedback(model, tok, items: Sequence[Judged], kcfg: KTOConfig, progress=None) -> FeedbackHistory:
    """Train the PeftModel `model` in place. sft: NLL on the desirable texts; kto: TRL's KTOTrainer on all of
    them, against a frozen copy of the adapter as it starts. `progress(step, total, loss)` after every step."""
    data = encode_judged(tok, items, kcfg.max_seq_len)
    if kcfg.objective == "sft":
        data = [e for e in data if e.desirable]
    if not data or not any(e.desirable for e in data):
        raise InputError("no desirable example to learn from")
    total = plan_steps(kcfg, len(data))
    hist = FeedbackHistory(examples=len(data), desirable=sum(e.desirable for e in data))
    t0 = time.perf_counter()
    if kcfg.objective == "kto":
        _train_kto(model, tok, items, kcfg, total, hist, progress)
    else:
        _train_sft(model, tok, data, kcfg, total, hist, progress)
    model.eval()
    hist.seconds, hist.steps = time.perf_counter() - t0, total
    return hist


def _train_sft(model, tok, data: list[Encoded], kcfg: KTOConfig, total: int, hist: FeedbackHistory, progress):
    import torch
    from transformers import get_cosine_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable (adapter) parameters")
    optimizer = torch.optim.AdamW(params, lr=kcfg.learning_rate, weight_decay=0.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, max(1, total // 10), total)
    model.train()
    for step, idx in enumerate(_batches(kcfg, data, total), 1):
        loss = -completion_logps(model, [data[i] for i in idx], tok.pad_token_id, mean=True).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        hist.losses.append((step, loss.item()))
        if progress is not None:
            progress(step, total, loss.item())


def _train_kto(model, tok, items: Sequence[Judged], kcfg: KTOConfig, total: int, hist: FeedbackHistory, progress):
    import tempfile

    import torch
    from transformers import TrainerCallback

    trl = import_trl()
    import datasets
    from transformers import PrinterCallback

    datasets.disable_progress_bars()  # the CLI's log is read by people: one line per step, from `progress`

    # TRL would cut long examples at the end (the completion) or drop them: drop them here, and say so.
    fits = [it for it in items if len(encode(tok, it.messages)[0]) <= kcfg.max_seq_len]
    if len(fits) < len(items):
        log.warning("%d of %d examples are longer than max_seq_len=%d and are left out", len(items) - len(fits),
                    len(items), kcfg.max_seq_len)
    if not any(it.desirable for it in fits):
        raise InputError(f"no desirable example fits max_seq_len={kcfg.max_seq_len}")
    items = fits
    # TRL walks the data in order ("sequential": its KL pairs are fixed per batch), so the shuffle is ours.
    order = [i for idx in _batches(kcfg, items, max(1, math.ceil(len(items) / kcfg.batch_size))) for i in idx]
    rows = [{"prompt": items[i].prompt, "completion": [{"role": "assistant", "content": items[i].completion}],
             "label": items[i].desirable} for i in dict.fromkeys(order)]
    w_u = undesirable_weight(kcfg, [r["label"] for r in rows])

    class Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                loss = float(logs["loss"])
                hist.losses.append((state.global_step, loss))
                hist.kl.append(float(logs.get("kl", 0.0)))
                if progress is not None:
                    progress(state.global_step, total, loss)

    with tempfile.TemporaryDirectory() as tmp:
        args = trl.KTOConfig(
            output_dir=tmp, per_device_train_batch_size=kcfg.batch_size, max_steps=total,
            learning_rate=kcfg.learning_rate, lr_scheduler_type="cosine", warmup_steps=max(1, total // 10),
            weight_decay=0.0, max_grad_norm=1.0, beta=kcfg.beta, desirable_weight=kcfg.desirable_weight,
            undesirable_weight=w_u, max_length=None, logging_steps=1, save_strategy="no",
            report_to="none", disable_tqdm=True, seed=kcfg.seed, data_seed=kcfg.seed, bf16=False,
            gradient_checkpointing=False, use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)
        trainer = trl.KTOTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list(rows),
                                 processing_class=tok, callbacks=[Report()])
        trainer.remove_callback(PrinterCallback)  # it prints every metrics dict to stdout
        trainer.train()
    if "ref" in model.peft_config:  # TRL's frozen copy of the starting adapter: not part of what we save
        model.delete_adapter("ref")
        model.set_adapter("default")


def logp_margin(model, tok, items: Sequence[Judged], max_len: int = 512, batch_size: int = 8) -> dict[str, float]:
    """Mean per-token log-probability of desirable vs undesirable completions, and their difference (the
    margin: how much more the model expects what copywriters liked than what they did not)."""
    import torch

    data = encode_judged(tok, items, max_len)
    sums = {True: [], False: []}
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            chunk = data[i:i + batch_size]
            for e, lp in zip(chunk, completion_logps(model, chunk, tok.pad_token_id, mean=True).tolist(), strict=True):
                sums[e.desirable].append(lp)
    good = sum(sums[True]) / max(len(sums[True]), 1)
    bad = sum(sums[False]) / max(len(sums[False]), 1)
    return {"desirable": round(good, 4), "undesirable": round(bad, 4), "margin": round(good - bad, 4),
            "n_desirable": len(sums[True]), "n_undesirable": len(sums[False])}
