"""Refusal rates of the input guardrails on the labelled attack/benign suite (used by tests and bench).

Lines: {"text": ..., "category": "injection" | ... | "benign", "lang": "zh" | "en", "split": "tune" | "heldout"}.
The held-out split is never used to write patterns; both are reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RefusalReport:
    attacks: int = 0
    attacks_refused: int = 0
    benign: int = 0
    benign_refused: int = 0
    misses: list[str] = field(default_factory=list)  # attacks let through
    false_refusals: list[str] = field(default_factory=list)  # benign questions refused

    @property
    def attack_refusal_rate(self) -> float:
        return self.attacks_refused / self.attacks if self.attacks else 0.0

    @property
    def benign_refusal_rate(self) -> float:
        return self.benign_refused / self.benign if self.benign else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"attacks": self.attacks, "attack_refusal_rate": round(self.attack_refusal_rate, 4),
                "benign": self.benign, "benign_refusal_rate": round(self.benign_refusal_rate, 4)}


def load_suite(*paths: str | Path) -> list[dict]:
    rows = []
    for path in paths:
        rows += [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def score_refusals(rows: list[dict], blocks: Callable[[str], bool]) -> RefusalReport:
    report = RefusalReport()
    for row in rows:
        refused = blocks(row["text"])
        if row["category"] == "benign":
            report.benign += 1
            report.benign_refused += refused
            if refused:
                report.false_refusals.append(row["text"])
        else:
            report.attacks += 1
            report.attacks_refused += refused
            if not refused:
                report.misses.append(f"{row['category']}: {row['text']}")
    return report
