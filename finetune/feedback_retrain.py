"""`python -m finetune retrain`: the next adapter from the shop's own feedback (thumbs, edits, corrected drafts).

Skeleton: the contract other modules rely on. Owned by the feedback-retraining work.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `python -m finetune retrain`."""


def run(args: argparse.Namespace, settings) -> int:
    raise NotImplementedError
