"""The intent and sentiment classifiers the chat uses: loaded from data/, or trained on first use.

The intent model learns from the shipped demo set (or `classifiers.intent_data`); sentiment from the shipped
set plus, when `classifiers.shared_data_dir` names one, a seeded sample of public review data. Trained models are cached
in `classifiers.intent_model` / `sentiment_model` and retrained only when their training data changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from pathlib import Path

from assistant.classifiers.config import ClassifierConfig
from assistant.classifiers.dataset import LabelledTexts, read_labelled_csv, read_rows
from assistant.classifiers.model import TextClassifier, load_classifier, train_classifier
from assistant.config import resolve_path
from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_INTENTS = DATA_DIR / "intents.csv"
DEMO_SENTIMENT = DATA_DIR / "sentiment.csv"

# Review files looked for under classifiers.shared_data_dir (optional public data sets):
# (relative path, text column, label column, label mapping).
BINARY = {"0": "negative", "1": "positive"}
SHARED_SENTIMENT = [
    ("online_shopping_10_cats/train.csv", "review", "label", BINARY),
    ("waimai_10k/train.csv", "review", "label", BINARY),
    ("twitter_airline_sentiment/train.csv", "text", "airline_sentiment", None),
    ("uci_sentiment_sentences/train.csv", "sentence", "label", BINARY),
]

_cache: dict[tuple, tuple[TextClassifier, TextClassifier]] = {}
_lock = threading.Lock()


def intent_training_data(cfg: ClassifierConfig) -> LabelledTexts:
    return read_labelled_csv(resolve_path(cfg.intent_data) if cfg.intent_data else DEMO_INTENTS)


def sentiment_training_data(cfg: ClassifierConfig) -> LabelledTexts:
    if cfg.sentiment_data:
        return read_labelled_csv(resolve_path(cfg.sentiment_data))
    data = read_labelled_csv(DEMO_SENTIMENT)
    shared = resolve_path(cfg.shared_data_dir)
    if cfg.sentiment_shared_rows and shared is not None and shared.is_dir():
        for rel, text_col, label_col, mapping in SHARED_SENTIMENT:
            path = shared / rel
            if not path.is_file():
                continue
            header, rows = read_rows(path)
            if text_col not in header or label_col not in header:
                log.warning("%s lacks %s/%s; skipped", path, text_col, label_col)
                continue
            rows = [r for r in rows if (r.get(text_col) or "").strip() and (r.get(label_col) or "").strip()]
            random.Random(0).shuffle(rows)
            for row in rows[: cfg.sentiment_shared_rows]:
                raw = row[label_col].strip()
                data.texts.append(row[text_col].strip())
                data.labels.append(mapping.get(raw, raw) if mapping else raw)
    return data


def _fingerprint(data: LabelledTexts, cfg: ClassifierConfig) -> str:
    h = hashlib.sha256(json.dumps([data.texts, data.labels], ensure_ascii=False).encode("utf-8"))
    h.update(f"{cfg.method}|{cfg.c}|{cfg.use_embeddings}|{cfg.embedding_weight}".encode())
    return h.hexdigest()[:16]


def load_or_train(folder: Path, data: LabelledTexts, cfg: ClassifierConfig, what: str) -> TextClassifier:
    """The cached model when it was trained on exactly this data; otherwise train it and cache it."""
    fingerprint = _fingerprint(data, cfg)
    if folder.exists():
        try:
            clf = load_classifier(folder, cfg)
            cached = clf.meta.get("trained", {}).get("fingerprint")
            if cached in (None, fingerprint):  # None: a model the shop trained itself with the CLI
                return clf
            log.info("%s model in %s was trained on other data; retraining", what, folder)
        except ModelLoadError as exc:
            # Keep the damaged folder for inspection rather than deleting what someone may have trained.
            aside = folder.with_name(f"{folder.name}.corrupt-{int(time.time())}")
            log.warning("%s; moving it to %s and retraining", exc, aside)
            folder.rename(aside)
    log.info("training the %s classifier on %d examples (first use)", what, len(data))
    clf, report = train_classifier(data, cfg, progress=False)
    clf.meta["trained"]["fingerprint"] = fingerprint
    clf.save(folder, report)
    return clf


def default_classifiers(cfg: ClassifierConfig | None = None) -> tuple[TextClassifier, TextClassifier]:
    """(intent_clf, sentiment_clf), loaded or trained once per process and configuration."""
    cfg = cfg or ClassifierConfig()
    key = tuple(sorted(vars(cfg).items()))
    with _lock:
        if key not in _cache:
            intent = load_or_train(resolve_path(cfg.intent_model), intent_training_data(cfg), cfg, "intent")
            sentiment = load_or_train(resolve_path(cfg.sentiment_model), sentiment_training_data(cfg), cfg,
                                      "sentiment")
            _cache[key] = (intent, sentiment)
        return _cache[key]
