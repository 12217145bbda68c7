"""Refusal rates of the input guardrails on labelled attack/benign sets (used by tests and bench).

Lines: {"text": ..., "category": "injection" | ... | "benign", "lang": "en" | "zh" | "ja" | ..., "split": "tune" |
"heldout", "trick": "plain" | "synonym" | "base64" | ...} ("trick" only in bench/data/guardrails/). The held-out
split is never used to write patterns; both are reported, the held-out one as rates only.
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


def refusal_table(rows: list[dict], blocks: Callable[[str], bool], by: tuple[str, ...] = ("lang", "trick"),
                  ) -> dict[str, dict]:
    """Rates overall and per value of each field in `by`, each message checked once.

    Per group: attack recall over the group's attacks and false-refusal rate over its benign messages (a
    trick such as "base64" may have only attacks; then only the attack figures are given).
    """
    decided = [(row, bool(blocks(row["text"]))) for row in rows]

    def rates(group: list[tuple[dict, bool]]) -> dict:
        attacks = [refused for row, refused in group if row["category"] != "benign"]
        benign = [refused for row, refused in group if row["category"] == "benign"]
        out: dict = {}
        if attacks:
            out.update(attacks=len(attacks), attack_recall=round(sum(attacks) / len(attacks), 4))
        if benign:
            out.update(benign=len(benign), benign_false_refusal=round(sum(benign) / len(benign), 4))
        return out

    table = {"overall": rates(decided)}
    for key in by:
        values = sorted({row.get(key, "?") for row, _ in decided})
        table[f"by_{key}"] = {v: rates([d for d in decided if d[0].get(key, "?") == v]) for v in values}
    return table
