"""The shop's curated FAQ rows held in memory, straight from their CSV/XLSX files: answers when Chroma is not there.

The vector store can be unreachable (a `chroma run` server that is down, a corrupt local store). Curated FAQ
answers must still work then, so the chat keeps this small lexical index beside the knowledge base.
It only answers when the customer's question is (nearly) the curated question itself: exact after
normalisation, or a high token overlap in the same language. Anything looser goes to the usual degraded path
(a polite message and the offer of a human), never to a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from assistant.errors import AssistantError
from assistant.language import answer_language
from knowledge_base.answer import FaqHit
from knowledge_base.faq_tables import load_table
from knowledge_base.loaders import TableOptions
from knowledge_base.text import normalize_question, tokenize

log = logging.getLogger(__name__)

DEFAULT_MIN_OVERLAP = 0.75


def _overlap(a: set[str], b: set[str]) -> float:
    """Token F1 of two questions: 1.0 = the same words, whatever their order."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return 2 * common / (len(a) + len(b))


class CuratedFaq:
    def __init__(self, rows: Iterable[tuple[str, str, str, str, str]], min_overlap: float = DEFAULT_MIN_OVERLAP):
        """rows: (row_id, question, answer, lang, source)."""
        self.min_overlap = min_overlap
        self._rows = []
        for row_id, question, answer, lang, source in rows:
            lang = lang if lang in ("zh", "en") else answer_language(question)
            self._rows.append((row_id, question, answer, lang, source, normalize_question(question),
                               set(tokenize(question))))

    def __len__(self) -> int:
        return len(self._rows)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], max_mb: float = 20.0,
                   min_overlap: float = DEFAULT_MIN_OVERLAP) -> CuratedFaq:
        rows = []
        for path in paths:
            p = Path(path)
            try:
                for r in load_table(p, max_mb, TableOptions()):
                    rows.append((r.row_id, r.question, r.answer, r.lang, p.name))
            except AssistantError as exc:  # one unreadable table must not cost the others
                log.warning("curated FAQ fallback skips %s: %s", p, exc.one_line())
        return cls(rows, min_overlap)

    def match(self, question: str) -> FaqHit | None:
        if not question or not question.strip() or not self._rows:
            return None
        asked, lang, words = normalize_question(question), answer_language(question), set(tokenize(question))
        best, best_score = None, 0.0
        for row in self._rows:
            if row[3] != lang:
                continue
            score = 1.0 if row[5] == asked else _overlap(words, row[6])
            if score > best_score:
                best, best_score = row, score
        if best is None or best_score < self.min_overlap:
            return None
        return FaqHit(row_id=best[0], question=best[1], answer=best[2], source=best[4], score=best_score)
