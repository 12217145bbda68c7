"""How good an adapter is: eval loss/perplexity on held-out rows, greedy answers, and the task metrics.

Task metrics are deliberately simple and checkable: a support answer counts when it contains one of the
example's gold facts; an ad copy counts when it fits its channel's length limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from finetune.dataset import IGNORE, Example, Row, collate, prompt_text

#: characters allowed per channel when an example does not say (common platform limits)
CHANNEL_LIMITS = {
    "google_ads_headline": 30, "google_ads_description": 90, "sms": 70, "email_subject": 60,
    "x": 280, "twitter": 280, "facebook": 125, "instagram": 150, "weibo": 140, "xiaohongshu_title": 20,
    "douyin": 55, "wechat_moments": 120, "push": 40,
}


@dataclass
class Generated:
    example: Example
    prompt: str
    answer: str


def _device(model):
    return next(model.parameters()).device


def learned_logits(model, batch: dict):
    """(logits, targets) at the positions whose next token is learned, and nothing else.

    The LM head is applied to those positions only (transformers' `logits_to_keep` with a mask): only 13 %
    (support) to 21 % (adcopy) of a packed row's tokens carry a loss, and qwen2.5's 152k-word head with the
    cross-entropy over it is a large share of a CPU step. Same loss; measured beside the chat, a support step
    took 15 s instead of 28, an adcopy step 29 s instead of 41-53. `batch` is `collate`'s output; its labels
    are not passed to the model."""
    import torch

    labels = batch["labels"]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False, logits_to_keep=keep).logits
    if logits.dim() == 3:  # a model that returns every position: pick the learned ones here
        logits = logits[keep]
    return logits.float(), labels[:, 1:][keep[:, :-1]]


def learned_token_loss(model, batch: dict):
    """Mean cross-entropy over the learned tokens of `batch`, as the model's own loss computes it."""
    import torch.nn.functional as F

    logits, targets = learned_logits(model, batch)
    if not len(targets):  # nothing to learn in this batch: a zero that still has a graph
        return logits.sum() * 0.0
    return F.cross_entropy(logits, targets)


def eval_loss(model, rows: Sequence[Row], batch_size: int, pad_id: int, packed: bool,
              advance: Callable[[int], object] | None = None) -> float:
    """Token-weighted mean cross-entropy over assistant tokens of `rows` (the model's own loss is
    per-batch mean and, for AdaLoRA, includes the orthogonality regulariser). `advance(n)`: n rows done."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    dev = _device(model)
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            batch = {k: v.to(dev) for k, v in collate(rows[i:i + batch_size], pad_id, packed).items()}
            logits, targets = learned_logits(model, batch)
            total += F.cross_entropy(logits, targets, reduction="sum").item()  # 0 for a batch with none
            n += len(targets)
            if advance is not None:
                advance(len(rows[i:i + batch_size]))
    model.train(was_training)
    return total / max(n, 1)


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))


def generate(model, tok, examples: Sequence[Example], max_new_tokens: int, batch_size: int = 8,
             advance: Callable[[int], object] | None = None) -> list[Generated]:
    """Greedy answers to each example's prompt, batched with left padding (one forward per new token)."""
    import torch

    was_training = model.training
    model.eval()
    side = tok.padding_side
    tok.padding_side = "left"
    out: list[Generated] = []
    try:
        for i in range(0, len(examples), batch_size):
            chunk = examples[i:i + batch_size]
            prompts = [prompt_text(tok, ex) for ex in chunk]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(_device(model))
            with torch.no_grad():
                ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id)
            texts = tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            # max_new_tokens can stop inside a character (SmolLM2 writes Chinese in byte tokens): the half
            # character decodes to U+FFFD, which the report would show and the ad-copy length check would count.
            out += [Generated(ex, ex.messages[-2]["content"], t.strip().rstrip("\ufffd").rstrip())
                    for ex, t in zip(chunk, texts, strict=True)]
            if advance is not None:
                advance(len(chunk))
    finally:
        tok.padding_side = side
        model.train(was_training)
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_gold(answer: str, gold: Sequence[str]) -> bool:
    a = _norm(answer)
    return any(_norm(g) in a for g in gold if g.strip())


def channel_limit(ex: Example) -> int | None:
    return ex.max_chars or CHANNEL_LIMITS.get((ex.channel or "").lower())


def within_limit(answer: str, ex: Example) -> bool:
    limit = channel_limit(ex)
    return bool(answer.strip()) and (limit is None or len(answer.strip()) <= limit)


def task_metric(task: str, generated: Sequence[Generated]) -> tuple[str, float | None, int]:
    """(metric name, score in [0, 1] or None when nothing is scorable, number of scored examples)."""
    if task == "support":
        scored = [g for g in generated if g.example.gold]
        name = "answers containing the gold fact"
        hits = sum(contains_gold(g.answer, g.example.gold) for g in scored)
    else:
        scored = [g for g in generated if channel_limit(g.example)]
        name = "copies within the channel limit"
        hits = sum(within_limit(g.answer, g.example) for g in scored)
    return name, (hits / len(scored) if scored else None), len(scored)
