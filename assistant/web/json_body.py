"""Request bodies of the HTTP API and the widget, read as JSON with text every later step can encode."""

from __future__ import annotations

import json
import re
from typing import Any

# A UTF-16 surrogate standing alone: JSON's "\ud800" escape allows one, UTF-8 cannot encode it, and the first step
# that encodes the message (the embedder's tokenizer) failed with a 500.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (nested in lists and dicts too) replaced by U+FFFD."""
    if isinstance(value, str):
        if not _LONE_SURROGATE.search(value):
            return value
        # a high and a low surrogate in a row are one character written as a pair: joined, not replaced
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [clean_text(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    return value


def load_json(raw: bytes | str) -> Any:
    """json.loads, its strings cleaned (clean_text). Raises what json.loads raises."""
    return clean_text(json.loads(raw))
