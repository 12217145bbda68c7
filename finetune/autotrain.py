"""Background training of the shipped task adapters on first run (`python -m finetune autotrain`).

Skeleton: the contract other modules rely on. Owned by the autotrain work.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass
class AutotrainConfig:
    enabled: bool = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune autotrain`."""


def run(args: argparse.Namespace, settings) -> int:
    """`python -m finetune autotrain ...`; returns the exit code."""
    raise NotImplementedError


def read_status(settings) -> dict:
    """The background job's progress per task (phase, step, total, loss, eta_s, ...); {} when none ran."""
    return {}


def status_lines(settings) -> list[str]:
    """Lines `python -m finetune list` prints about the background job (progress, loss, ETA)."""
    return []
