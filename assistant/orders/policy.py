"""The shop's policy on a request kind (how long returns are accepted, when an order can be cancelled), read
from its knowledge base and cited: a curated FAQ row first (in memory, no vector store needed), else the
knowledge base's own lookup when it can answer. Answers are kept for a few minutes. `kb` and `curated_faq`
may be zero-argument callables, so building the desk loads no embedder: the first policy question does."""

from __future__ import annotations

import logging
import time

from assistant.citations import Citation
from assistant.errors import AssistantError

log = logging.getLogger(__name__)


class KnowledgePolicy:
    def __init__(self, questions: dict[str, dict[str, str]], kb=None, curated_faq=None, ttl_s: float = 300.0):
        self.questions, self.kb, self.curated_faq, self.ttl_s = questions, kb, curated_faq, ttl_s
        self._cache: dict[tuple[str, str], tuple[float, tuple[str, list[Citation]] | None]] = {}

    def __call__(self, kind: str, lang: str) -> tuple[str, list[Citation]] | None:
        key = (kind, lang)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        if callable(self.kb):
            self.kb = self.kb()
        if callable(self.curated_faq):
            self.curated_faq = self.curated_faq()
        found = self._find(kind, lang)
        self._cache[key] = (time.monotonic(), found)
        return found

    def _find(self, kind: str, lang: str) -> tuple[str, list[Citation]] | None:
        texts = self.questions.get(kind) or {}
        question = texts.get(lang) or next(iter(texts.values()), "")
        if not question:
            return None
        hit = self.curated_faq.match(question) if self.curated_faq is not None else None
        if hit is not None:
            return hit.answer, [hit.citation()]
        if self.kb is None:
            return None
        try:
            lookup = self.kb.lookup(question, lang)
        except AssistantError as exc:
            log.warning("policy lookup for %s failed: %s", kind, exc.one_line())
            return None
        if not lookup.answerable:
            return None
        if lookup.faq is not None:
            return lookup.faq.answer, lookup.citations
        sentences = [e.text for e in lookup.evidence[:2]]
        return ("" if lang == "zh" else " ").join(sentences), lookup.citations
