"""A trained text classifier: train from labelled texts, predict calibrated labels, save to / load from a folder.

Folder format (written atomically, checked on load):
    classifier.json               format, method, labels, temperature, threshold, sha256 of weight files
    linear.joblib | adapter/ + head.safetensors    the method's weights
    report.json, report_confusion_matrix.png       dev-split figures from training
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.classifiers.calibration import choose_threshold, fit_temperature, softmax
from assistant.classifiers.config import ClassifierConfig
from assistant.classifiers.dataset import LabelledTexts, check_trainable, split_train_dev
from assistant.classifiers.report import classification_report, write_report
from assistant.errors import InputError, ModelLoadError
from assistant.language import chinese_share
from assistant.llm.embedded import file_sha256

log = logging.getLogger(__name__)

FORMAT = "shop-assistant-classifier"
FORMAT_VERSION = 1
META_FILE = "classifier.json"
# `auto` picks the ensemble on a CPU only from here: below, the LoRA member's minutes are not worth it.
ENSEMBLE_MIN_LABELS = 10
ENSEMBLE_MIN_ROWS = 2000


@dataclass
class Prediction:
    label: str  # the top label; the out-of-scope label instead when the model has one and is unsure
    score: float  # calibrated probability of the top guess
    scores: dict[str, float] = field(default_factory=dict)  # calibrated probability of every label
    low_confidence: bool = False  # score below the threshold chosen on the dev split (or empty text)

    def as_dict(self) -> dict:
        return {"label": self.label, "score": self.score, "scores": self.scores,
                "low_confidence": self.low_confidence}


def _backend_class(method: str):
    if method == "linear":
        from assistant.classifiers.linear import LinearBackend

        return LinearBackend
    if method == "lora":
        from assistant.classifiers.lora import LoraBackend

        return LoraBackend
    if method == "ensemble":
        from assistant.classifiers.ensemble import EnsembleBackend

        return EnsembleBackend
    raise ModelLoadError(f"unknown classifier method {method!r}")


def resolve_method(method: str, texts: Sequence[str], labels: Sequence[str] = ()) -> str:
    """`auto`, from the measurements in docs/classifiers.md.

    Chinese or mixed data: linear (an e5 LoRA member adds about a point on Chinese reviews for tens of
    CPU-minutes: asked for with method ensemble, not picked). English on a GPU: lora. English on a
    CPU: the linear + LoRA ensemble for intent-like data (many labels, enough rows: +1 point on banking77
    for a few CPU-minutes), linear otherwise, so small sets such as the shipped demo train in seconds.
    """
    if method != "auto":
        return method
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if chinese_share(texts) >= 0.2:
        return "linear"
    if cuda:
        return "lora"
    intent_like = len(set(labels)) >= ENSEMBLE_MIN_LABELS and len(texts) >= ENSEMBLE_MIN_ROWS
    return "ensemble" if intent_like else "linear"


class TextClassifier:
    """Labels texts with calibrated scores. Build with `train_classifier` or `load_classifier`."""

    def __init__(self, backend, labels: list[str], cfg: ClassifierConfig, temperature: float = 1.0,
                 threshold: float = 0.0, meta: dict | None = None):
        self.backend = backend
        self.labels = list(labels)
        self.cfg = cfg
        self.temperature = float(temperature)
        self.threshold = float(threshold)
        self.meta = meta or {}
        self.folder: Path | None = None  # where it was saved to / loaded from
        oos = cfg.oos_label
        self.oos_label = oos if oos in self.labels else None

    @property
    def method(self) -> str:
        return self.backend.method

    def _clean(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise InputError("predict takes a list of texts, got a single string")
        return [("" if t is None else str(t))[: self.cfg.max_chars].strip() for t in texts]

    def predict_proba(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        cleaned = self._clean(texts)
        if not cleaned:
            return np.zeros((0, len(self.labels)))
        return softmax(self.backend.logits(cleaned, progress=progress), self.temperature)

    def predict(self, texts: Sequence[str], progress: bool = False) -> list[Prediction]:
        cleaned = self._clean(texts)
        probs = self.predict_proba(cleaned, progress=progress)
        out = []
        for text, row in zip(cleaned, probs, strict=True):
            top = int(row.argmax())
            score = float(row[top])
            # An empty message carries no signal whatever the model says about it.
            low = score < self.threshold or not text
            label = self.oos_label if (low and self.oos_label) else self.labels[top]
            out.append(Prediction(label, score, {lab: float(p) for lab, p in zip(self.labels, row, strict=True)}, low))
        return out

    def evaluate(self, texts: Sequence[str], labels: Sequence[str], progress: bool = False) -> dict:
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise InputError(f"labels the model was not trained on: {', '.join(unknown[:5])}")
        index = {lab: i for i, lab in enumerate(self.labels)}
        y = np.array([index[lab] for lab in labels])
        oos = index.get(self.oos_label) if self.oos_label else None
        return classification_report(y, self.predict_proba(texts, progress=progress), self.labels,
                                     self.threshold, oos)

    # -- folder format ------------------------------------------------------------------------------
    def save(self, folder: str | Path, report: dict | None = None) -> Path:
        """Write to a temporary sibling, then swap it in: a crash never leaves a half-written model."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            files = self.backend.save(tmp)
            meta = {**self.meta, "format": FORMAT, "version": FORMAT_VERSION, "method": self.method,
                    "labels": self.labels, "temperature": self.temperature, "threshold": self.threshold,
                    "oos_label": self.oos_label, "backend": self.backend.state(),
                    "sha256": {name: file_sha256(tmp / name) for name in files}}
            if report:
                write_report(report, tmp)
            (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            old = None
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
                folder.rename(old)
            tmp.rename(folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self.meta = meta
        self.folder = folder
        return folder


def load_classifier(folder: str | Path, cfg: ClassifierConfig | None = None) -> TextClassifier:
    """Load a folder written by `train`; a missing, foreign or damaged folder raises ModelLoadError."""
    cfg = cfg or ClassifierConfig()
    folder = Path(folder)
    hint = "train one with: python -m assistant.classifiers train --data FILE.csv --output DIR"
    if not folder.is_dir():
        raise ModelLoadError(f"classifier model folder not found: {folder} ({hint})")
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelLoadError(f"{folder} is not a classifier model folder: {META_FILE} is missing ({hint})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}")
        if int(meta.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(f"written by a newer version (format {meta['version']})")
        labels, method = list(meta["labels"]), str(meta["method"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"corrupt classifier model folder {folder}: bad {META_FILE} ({exc})") from None
    for name, digest in (meta.get("sha256") or {}).items():
        path = folder / name
        if not path.is_file() or file_sha256(path) != digest:
            raise ModelLoadError(f"corrupt classifier model folder {folder}: {name} is missing or damaged")
    try:
        backend = _backend_class(method).load(folder, cfg, meta.get("backend") or {})
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - joblib/torch/peft raise many kinds; the folder is unusable
        raise ModelLoadError(f"corrupt classifier model folder {folder}: {type(exc).__name__}: {exc}") from None
    clf = TextClassifier(backend, labels, cfg, meta.get("temperature", 1.0), meta.get("threshold", 0.0), meta)
    clf.folder = folder
    return clf


def train_classifier(data: LabelledTexts, cfg: ClassifierConfig | None = None, method: str | None = None,
                     progress: bool = True) -> tuple[TextClassifier, dict]:
    """Fit on a train split, calibrate temperature and threshold on the dev split; returns the dev report."""
    cfg = cfg or ClassifierConfig()
    check_trainable(data)
    texts = [t[: cfg.max_chars].strip() for t in data.texts]
    labels = sorted(set(data.labels))
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[lab] for lab in data.labels])
    method = resolve_method(method or cfg.method, texts, data.labels)
    train_idx, dev_idx = split_train_dev(data, cfg.dev_fraction, cfg.seed)
    started = time.perf_counter()

    backend = _backend_class(method)(cfg)
    backend.fit([texts[i] for i in train_idx], y[train_idx], len(labels), progress=progress)
    dev_texts = [texts[i] for i in dev_idx]
    dev_logits = backend.dev_logits(dev_texts, y[dev_idx], progress=progress)
    temperature = fit_temperature(dev_logits, y[dev_idx])
    dev_probs = softmax(dev_logits, temperature)
    oos = index.get(cfg.oos_label)
    threshold = choose_threshold(dev_probs, y[dev_idx], oos, cfg.target_precision)
    report = classification_report(y[dev_idx], dev_probs, labels, threshold, oos)
    raw = classification_report(y[dev_idx], softmax(dev_logits), labels)
    report["uncalibrated_ece"], report["uncalibrated_nll"] = raw["ece"], raw["nll"]
    report["temperature"] = temperature
    refit = cfg.refit_full and backend.refits
    if refit:
        # The dev split has done its job (temperature, threshold, report); small data gains from it.
        backend.refit(texts, y, len(labels), progress=progress)
    backend.finish_training()
    seconds = time.perf_counter() - started
    report["train_seconds"] = seconds
    report["method"] = method
    meta = {"trained": {"rows": len(texts), "train_rows": len(train_idx), "dev_rows": len(dev_idx),
                        "seconds": round(seconds, 2), "method": method, "refit_full": refit,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
    log.info("trained %s classifier on %d rows in %.1f s", method, len(texts), seconds)
    return TextClassifier(backend, labels, cfg, temperature, threshold, meta), report
