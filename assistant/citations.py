"""Where an answer came from: shared by the knowledge base (which makes citations) and chat/UI/API."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Citation:
    source: str  # file path or URL of the document
    title: str = ""  # heading, FAQ question or page title
    snippet: str = ""  # the passage the answer rests on
    chunk_id: str = ""  # id in the store (CSV id-column value for FAQ rows)
    score: float = 0.0
    page: int | None = None
    row_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)
