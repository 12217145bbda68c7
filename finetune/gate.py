"""Gated hot swap: a candidate adapter is served only when it beats the current one on its task's evaluation.

Skeleton: the contract other modules rely on. Owned by the gate work.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass
class GateConfig:
    enabled: bool = True


@dataclass
class Decision:
    task: str
    candidate: str
    promoted: bool
    reason: str
    figures: dict


def evaluate_and_promote(task: str, candidate: Path, settings) -> Decision:
    """Evaluate `candidate` (an adapter folder with adapter.gguf) against what is served for `task`; promote
    it in the registry when it wins; record the decision and its figures either way."""
    raise NotImplementedError


def add_gate_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune gate`."""


def run_gate(args: argparse.Namespace, settings) -> int:
    raise NotImplementedError


def add_rollback_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune rollback`."""


def run_rollback(args: argparse.Namespace, settings) -> int:
    raise NotImplementedError


def decision_lines(settings) -> list[str]:
    """Lines `python -m finetune list` prints about served adapters and the latest gate decisions."""
    return []
