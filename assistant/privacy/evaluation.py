"""Precision and recall of a PII finder on a labelled JSONL set, per entity type (used by tests and bench).

A line: {"lang": "zh", "text": "...", "entities": [{"type": "PHONE", "text": "138..."}]}. A found entity
counts as correct when its type matches a labelled one and the spans overlap; `exact` also counts spans
that match to the character, which is what the structured types must reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError


@dataclass
class TypeScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    exact: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class PiiReport:
    per_type: dict[str, TypeScore] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # human-readable misses and false alarms

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {t: {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "support": s.tp + s.fn,
                    "exact": s.exact} for t, s in sorted(self.per_type.items())}


def load_examples(path: str | Path) -> list[dict]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            for ent in row["entities"]:
                if ent["text"] not in row["text"]:
                    raise InputError(f"{path}:{number}: entity {ent['text']!r} is not in the text")
            rows.append(row)
    return rows


def gold_spans(row: dict) -> list[tuple[str, int, int]]:
    spans, used = [], set()
    for ent in row["entities"]:
        start = row["text"].find(ent["text"])
        while (start, ent["type"]) in used:  # the same value twice in one text
            start = row["text"].find(ent["text"], start + 1)
        used.add((start, ent["type"]))
        spans.append((ent["type"], start, start + len(ent["text"])))
    return spans


def score_pii(rows: Iterable[dict], find: Callable[[str], Iterable[tuple[str, int, int]]],
              types: Iterable[str]) -> PiiReport:
    """`find(text)` returns (type, start, end) triples; every type in `types` gets a score, even unseen."""
    report = PiiReport({t: TypeScore() for t in types})
    for row in rows:
        gold = gold_spans(row)
        found = list(find(row["text"]))
        matched: set[int] = set()
        for etype, start, end in found:
            score = report.per_type.setdefault(etype, TypeScore())
            hit = next((i for i, (gt, gs, ge) in enumerate(gold)
                        if i not in matched and gt == etype and start < ge and gs < end), None)
            if hit is None:
                score.fp += 1
                report.errors.append(f"false {etype} {row['text'][start:end]!r} in {row['text']!r}")
            else:
                matched.add(hit)
                score.tp += 1
                score.exact += (start, end) == gold[hit][1:]
                if (start, end) != gold[hit][1:]:
                    report.errors.append(f"partial {etype} {row['text'][start:end]!r} for "
                                         f"{row['text'][gold[hit][1]:gold[hit][2]]!r}")
        for i, (gt, gs, ge) in enumerate(gold):
            if i not in matched:
                report.per_type.setdefault(gt, TypeScore()).fn += 1
                report.errors.append(f"missed {gt} {row['text'][gs:ge]!r} in {row['text']!r}")
    return report
