"""What a generation returns: ranked variants with their scores, what the checks changed, and why fewer than
asked for came back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class Variant:
    fields: dict[str, str]
    scores: dict[str, float]
    rank: int
    merged: int = 0  # near-duplicates folded into this one
    fixes: list[str] = field(default_factory=list)  # what the fact check and the lint changed, with rule ids
    review: list[str] = field(default_factory=list)  # words in no source nor ordinary ad vocabulary: to check

    def as_dict(self) -> dict:
        return {"fields": dict(self.fields), "scores": dict(self.scores), "rank": self.rank, "merged": self.merged,
                "fixes": list(self.fixes), "review": list(self.review)}


@dataclass
class GenerationResult:
    channel: str
    variants: list[Variant]
    requested: int
    produced: int
    notes: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)  # "field: reason" -> count of dropped items
    seconds: float = 0.0
    language: str = ""
    adapter: str | None = None
    llm_calls: int = 0
    rewrites: dict[str, str] = field(default_factory=dict)  # a returned text -> its draft before the selling-point rewrite
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # pass to FeedbackStore.record(generation_id=)

    def as_dict(self) -> dict:
        return {
            "channel": self.channel, "variants": [v.as_dict() for v in self.variants],
            "requested": self.requested, "produced": self.produced, "notes": list(self.notes),
            "rejected": dict(self.rejected), "language": self.language, "seconds": round(self.seconds, 2),
            "id": self.id,
        }
