"""Where an answer came from: shared by the knowledge base (which makes citations) and chat/UI/API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePath


@dataclass
class Citation:
    source: str  # file path or URL of the document (customers see only its name: `for_customer`)
    title: str = ""  # heading, FAQ question or page title
    snippet: str = ""  # the passage the answer rests on
    chunk_id: str = ""  # id in the store (CSV id-column value for FAQ rows)
    score: float = 0.0
    page: int | None = None
    row_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def for_customer(self) -> dict:
        """What a customer may see: the document's name (a web link stays whole), never a path on the server."""
        # both separators: a document ingested from Windows into a shared Chroma server ("C:\\shop\\returns.md")
        # was named to customers by its whole path, backslashes not being separators here
        source = (self.source if self.source.startswith(("http://", "https://"))
                  else PurePath(self.source.replace("\\", "/")).name)
        return {"source": source, "title": self.title or source, "snippet": self.snippet, "page": self.page,
                "score": self.score, "chunk_id": self.chunk_id, "row_id": self.row_id}
