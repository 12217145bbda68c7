"""Shipped demo data for the fictional shop Aurora Home / 极光家居 (written for this project, zh + en).

- support.jsonl: customer-service dialogues (OpenAI messages format, `gold` = facts a good answer contains)
- adcopy.jsonl: product attributes → ad copy per channel (alpaca format, `channel` + `max_chars`)
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def demo_path(task: str) -> Path:
    """The shipped demo file for a task ("support" or "adcopy")."""
    return DATA_DIR / f"{task}.jsonl"
