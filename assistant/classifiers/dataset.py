"""Labelled text from CSV files, checked once, and the seeded train/dev split used for calibration."""

from __future__ import annotations

import csv
import logging
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import InputError

log = logging.getLogger(__name__)

# Review CSVs can hold long cells; the csv module's 128 KiB default rejects a 100k-character Chinese text.
csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_rows(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV (a BOM is tolerated), with clear errors for unusable files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"CSV file not found: {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise InputError(f"{path} is not a readable CSV: {exc}") from None
    if not header:
        raise InputError(f"{path} is empty (no header row)")
    return header, rows


def require_columns(path: str | Path, header: list[str], *columns: str) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path} has no column {missing[0]!r} (columns: {', '.join(header) or 'none'})")


def read_labelled_csv(path: str | Path, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    """Rows with a non-empty text and label; rows missing either are skipped with a warning."""
    header, rows = read_rows(path)
    require_columns(path, header, text_column, label_column)
    texts, labels, skipped = [], [], 0
    for row in rows:
        text = (row.get(text_column) or "").strip()
        label = (row.get(label_column) or "").strip()
        if not text or not label:
            skipped += 1
            continue
        texts.append(text)
        labels.append(label)
    if skipped:
        log.warning("%s: skipped %d rows with an empty text or label", path, skipped)
    return LabelledTexts(texts, labels)


def check_trainable(data: LabelledTexts) -> None:
    """Refuse data no classifier can learn from; warn about labels too rare to calibrate on."""
    counts = Counter(data.labels)
    if len(data) == 0:
        raise InputError("no labelled rows to train on")
    if len(counts) < 2:
        raise InputError(f"need at least 2 different labels to train a classifier, got {sorted(counts)}")
    rare = sorted(label for label, n in counts.items() if n < 2)
    if rare:
        log.warning("labels with a single example (kept for training, absent from the dev split): %s",
                    ", ".join(rare))


def split_train_dev(data: LabelledTexts, dev_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified, seeded split: each label keeps at least one training example; singletons stay in train."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    train, dev = [], []
    for label in sorted(by_label):
        idx = by_label[label][:]
        rng.shuffle(idx)
        n_dev = int(round(len(idx) * dev_fraction)) if len(idx) >= 2 else 0
        n_dev = min(n_dev, len(idx) - 1)
        if len(idx) >= 3:
            n_dev = max(n_dev, 1)
        dev.extend(idx[:n_dev])
        train.extend(idx[n_dev:])
    if not dev:
        raise InputError("too few examples to hold out a dev split for calibration (need >= 3 of some label)")
    return sorted(train), sorted(dev)
