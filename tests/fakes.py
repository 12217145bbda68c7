"""Deterministic stand-ins shared by tests: keyword intent/sentiment classifiers with the trained ones' interface."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Pred:
    label: str
    score: float
    scores: dict
    low_confidence: bool = False
