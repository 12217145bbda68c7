"""Calibrated confidence: one temperature fitted on the dev split, and the low-confidence threshold.

Raw scores of a linear model or a fine-tuned head are over- or under-confident; dividing the logits by a
single temperature that minimises the dev negative log-likelihood fixes most of it (Guo et al., 2017)
without changing any prediction. The threshold is then picked on the same dev split, never by hand.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T in [0.05, 20] minimising dev NLL (golden-section search on log T)."""
    from scipy.optimize import minimize_scalar

    if len(y) == 0:
        return 1.0
    res = minimize_scalar(lambda log_t: nll(logits, y, float(np.exp(log_t))), bounds=(np.log(0.05), np.log(20.0)),
                          method="bounded")
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def choose_threshold(probs: np.ndarray, y: np.ndarray, oos_index: int | None, target_precision: float) -> float:
    """Confidence below which a prediction counts as low confidence.

    With an out-of-scope label: the threshold that maximises dev accuracy when low-confidence predictions
    become out-of-scope (ties: the lowest). Without one: the lowest threshold whose accepted predictions
    reach `target_precision` on dev (0 when all of dev already does).
    """
    if len(y) == 0:
        return 0.0
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    candidates = np.concatenate([[0.0], np.unique(conf)])
    if oos_index is not None:
        best_t, best_acc = 0.0, -1.0
        for t in candidates:
            final = np.where(conf < t, oos_index, pred)
            acc = float((final == y).mean())
            if acc > best_acc + 1e-12:
                best_t, best_acc = float(t), acc
        return best_t
    correct = pred == y
    for t in candidates:
        accepted = conf >= t
        if not accepted.any():
            break
        if correct[accepted].mean() >= target_precision:
            return float(t)
    return float(conf.max())
