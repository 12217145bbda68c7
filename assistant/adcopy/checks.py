"""Hard rules every returned field obeys, and the cheap repairs tried before asking the model again.

A problem is a short reason string ("too long", "banned word", ...) so that drops can be counted and
reported as "could only produce k of n" with why.
"""

from __future__ import annotations

import re

from assistant.adcopy.channels import FieldSpec
from assistant.adcopy.text import cjk_ratio, contains_term, find_terms, has_cjk

TOO_LONG = "too long"
BANNED = "banned word"
MISSING = "missing required term"
WRONG_LANGUAGE = "wrong language"
REPAIRABLE = (TOO_LONG, BANNED, MISSING)

# Places where an ad line can be cut and still read as a whole: clause ends and separators.
_BOUNDARY = re.compile(r"(?:\s+[|｜–—-]\s+|[|｜]|[。！？!?；;，,、：:]\s*|\.\s+)")
_TRAILING = " ,，、;；:：-–—|｜"


def problems(text: str, spec: FieldSpec, language: str, banned: list[str], required: list[str]) -> list[str]:
    """Why `text` may not be returned in this field (empty list = it may)."""
    out: list[str] = []
    if not spec.fits(text):
        out.append(TOO_LONG)
    if find_terms(text, banned):
        out.append(BANNED)
    if any(not contains_term(text, t) for t in required):
        out.append(MISSING)
    if language == "zh" and cjk_ratio(text) < 0.3 or language == "en" and has_cjk(text):
        out.append(WRONG_LANGUAGE)
    return out


def trim_to_clause(text: str, spec: FieldSpec, required: list[str]) -> str | None:
    """The longest prefix ending at a clause boundary that fits and keeps the required terms.

    Refuses cuts that keep less than 40 % of the room: a stub is worse than asking the model to shorten.
    """
    best = None
    for m in _BOUNDARY.finditer(text):
        cand = text[: m.start()].rstrip(_TRAILING).strip()
        if m.group(0).strip() in ("。", "！", "？", "!", "?", "."):
            cand = text[: m.start() + 1].strip()  # keep a sentence's own end mark
        if cand and spec.fits(cand) and all(contains_term(cand, t) for t in required):
            best = cand
    if best is None or len(best) < 0.4 * spec.capacity_chars(best):
        return None
    return best


def add_required(text: str, spec: FieldSpec, required: list[str], language: str) -> str:
    """Put a missing brand term in front ("极光｜..." / "Aurora | ...") when it still fits."""
    for term in required:
        if contains_term(text, term):
            continue
        cand = f"{term}｜{text}" if language == "zh" else f"{term} | {text}"
        if spec.fits(cand):
            text = cand
    return text


def quick_fix(text: str, spec: FieldSpec, language: str, required: list[str]) -> str:
    """Deterministic repairs (no LLM call): cut at a clause boundary, add a missing brand term."""
    if not spec.fits(text):
        text = trim_to_clause(text, spec, required) or text
    return add_required(text, spec, required, language)
