"""Metadata filters with Chroma's semantics: passed to Chroma as its `where`, and applied in memory where the
vectors are not asked (BM25, curated answers)."""

from __future__ import annotations

from assistant.errors import InputError


def chroma_where(filters: dict | None) -> dict | None:
    """{"lang": "zh", "kind": {"$in": [...]}} -> Chroma's where (one key, or $and of several)."""
    if not filters:
        return None
    if not isinstance(filters, dict):
        raise InputError(f"filters must be a mapping of metadata key to value, got {filters!r}")
    clauses = [{k: v} for k, v in filters.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


_OPS = {
    "$eq": lambda v, a: v == a, "$ne": lambda v, a: v != a,
    "$in": lambda v, a: v in a, "$nin": lambda v, a: v not in a,
    "$gt": lambda v, a: v is not None and v > a, "$gte": lambda v, a: v is not None and v >= a,
    "$lt": lambda v, a: v is not None and v < a, "$lte": lambda v, a: v is not None and v <= a,
}


def matches(meta: dict, filters: dict | None) -> bool:
    """The same filter semantics as Chroma, for the BM25 side (which lives in memory)."""
    for key, cond in (filters or {}).items():
        value = meta.get(key)
        for op, arg in (cond.items() if isinstance(cond, dict) else [("$eq", cond)]):
            if op not in _OPS:
                raise InputError(f"filter operator {op!r} is not supported (use {' '.join(_OPS)})")
            if not _OPS[op](value, arg):
                return False
    return True
