"""Curated answers published with several phrasings (the gap report's one-click fix: rows `STEM-LANG` and
`STEM-LANG-vK` of one table), matched question to question before the ordinary search, as help desks match
annotated replies: when one of an answer's phrasings, in either language, is the customer's question's nearest
FAQ question, that answer alone is the result. A customer's phrasing was grouped by wording and can belong to
another question: it carries its answer only when no other answer of its table suits the question better
(`AnswerPassages`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from knowledge_base.filters import matches
from knowledge_base.store import ChromaStore

# A curated table's row ids: `STEM-LANG` answers, `STEM-LANG-vK` the same answer asked another way.
_CURATED_ID = re.compile(r"^(?P<stem>.+)-(?P<lang>[a-z]{2})(?:-v(?P<variant>\d+))?$")


def _is_variant(row_id) -> bool:
    """A customer's phrasing published with an answer (`STEM-LANG-vK`), not the answer's own row."""
    m = _CURATED_ID.match(str(row_id or ""))
    return bool(m and m["variant"])


MIN_LANGUAGE_QUESTIONS = 3  # fewer FAQ questions in a language: centre it on the mean of all of them
# Centred cosine below which a nearest curated phrasing is no match (bench/gaps.py, dev shop): off-topic
# questions land near some phrasing too, just not this near. The retriever uses `knowledge_base.curated_min_similarity`.
CURATED_MIN_SIMILARITY = 0.3


def _units(m) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32).reshape(len(m), -1)
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-12)


@dataclass
class AnswerPassages:
    """The own rows (`STEM-LANG`) of the answers in tables that hold customer phrasings, with their passages
    as stored (question + answer): which answer suits a question, whoever grouped its phrasing where."""

    ids: list[str]
    groups: np.ndarray
    langs: list[str]
    metas: list[dict]
    vectors: np.ndarray  # unit rows

    @classmethod
    def read(cls, store: ChromaStore, rows: list[tuple[str, int, str, dict]]) -> AnswerPassages | None:
        """rows: (chunk id, group, lang, metadata). None when the passages cannot be read (phrasings then keep
        their answers, as before)."""
        try:
            got = store.get([cid for cid, *_ in rows], embeddings=True)
        except Exception as exc:  # noqa: BLE001 - a failed read only costs the check, never the answer
            logging.getLogger(__name__).warning("cannot read the curated answers' passages: %s", exc)
            return None
        rows = [r for r in rows if r[0] in got and got[r[0]][2] is not None]
        if not rows:
            return None
        return cls([r[0] for r in rows], np.array([r[1] for r in rows]), [r[2] for r in rows], [r[3] for r in rows],
                   _units([got[r[0]][2] for r in rows]))

    def better(self, q: np.ndarray, lang: str, group: int, filters: dict | None) -> tuple[str, float] | None:
        """(chunk id, passage cosine) of another answer's row, in the question's language where it has one, when
        that answer's passage suits the question better than answer `group`'s own does; else None. Without a
        passage of `group` to compare with, None."""
        if self.vectors.shape[1] != q.shape[-1]:
            return None
        fit = self.vectors @ q
        best: dict[int, int] = {}  # group -> its best own row (the question's language first)
        for k in range(len(self.ids)):
            g, mine = int(self.groups[k]), self.langs[k] == lang
            b = best.get(g)
            if b is None or (mine, fit[k]) > (self.langs[b] == lang, fit[b]):
                best[g] = k
        if group not in best:
            return None
        rival = max((k for g, k in best.items() if g != group and matches(self.metas[k], filters)),
                    key=lambda k: fit[k], default=None)
        if rival is None or fit[rival] <= fit[best[group]]:
            return None
        return self.ids[rival], float(fit[rival])


class CuratedAnswers:
    """The FAQ answers published with alternate phrasings, matched question to question.

    The embedder's raw cosine puts every Chinese-English pair below most same-language pairs, so a phrasing in
    the other language never wins on it. Each question is first centred on its language's mean FAQ question
    (what "this is Chinese" adds goes, what it asks stays). A curated answer is the match when one of its
    phrasings is the question's nearest FAQ question on that centred cosine, at least `min_similarity`:
    a shop's other FAQ rows still win the questions nearer to them. When that phrasing is a customer's
    (`-vK`), the answer whose own passage suits the question best among its table's answers takes it
    (`AnswerPassages.better`): gap groups mix questions, and a later answer may be the phrasing's real one."""

    def __init__(self, ids: list[str], groups: list[int], langs: list[str], metas: list[dict], raw: np.ndarray,
                 centred: np.ndarray, others: np.ndarray, means: dict[str, np.ndarray],
                 min_similarity: float = CURATED_MIN_SIMILARITY, answers: AnswerPassages | None = None):
        self.ids, self.groups, self.langs, self.metas = ids, np.asarray(groups), langs, metas
        self.raw, self.centred, self.others, self.means = raw, centred, others, means
        self.min_similarity = min_similarity
        self.variant = np.array([_is_variant(m.get("row_id")) for m in metas], dtype=bool)
        self.answers = answers

    @classmethod
    def empty(cls, min_similarity: float = CURATED_MIN_SIMILARITY) -> CuratedAnswers:
        return cls([], [], [], [], np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 1)), {}, min_similarity)

    @classmethod
    def from_store(cls, store: ChromaStore, cache: dict[str, np.ndarray],
                   min_similarity: float = CURATED_MIN_SIMILARITY) -> CuratedAnswers:
        """Read the FAQ rows; embed (once, `cache` keeps them) the questions only when some answer has phrasings."""
        from assistant.language import answer_language
        from knowledge_base.embeddings import embed_queries

        faq = [(cid, meta) for cid, _, meta in store.iter_all(documents=False) if meta.get("kind") == "faq"
               and str(meta.get("question") or "").strip()]
        stems: dict[tuple[str, str], list[int]] = {}
        has_variants: set[tuple[str, str]] = set()
        for i, (_, meta) in enumerate(faq):
            m = _CURATED_ID.match(str(meta.get("row_id") or ""))
            if m:
                key = (str(meta.get("source", "")), m["stem"])
                stems.setdefault(key, []).append(i)
                if m["variant"]:
                    has_variants.add(key)
        # Every answer of a table that holds phrasings gets a group number: those with phrasings are matched
        # question to question, and all of them (their own rows) can take a phrasing that suits them better.
        tables = {source for source, _ in has_variants}
        group_of = {key: g for g, key in enumerate(sorted(k for k in stems if k[0] in tables))}
        curated = {i: group_of[key] for key in has_variants for i in stems[key]}
        if not curated:
            return cls.empty(min_similarity)
        questions = [str(meta["question"]) for _, meta in faq]
        if len(cache) > 2 * len(questions) + 1000:  # mostly questions of rows deleted since: start afresh
            cache.clear()
        missing = [q for q in dict.fromkeys(questions) if q not in cache]
        if missing:
            for q, v in zip(missing, _units(embed_queries(store.embedder, missing)), strict=True):
                cache[q] = v
        raw = np.stack([cache[q] for q in questions])
        langs = [str(meta.get("lang") or answer_language(q)) for (_, meta), q in zip(faq, questions, strict=True)]
        means = {lang: raw[[k for k, x in enumerate(langs) if x == lang]].mean(axis=0) for lang in set(langs)
                 if langs.count(lang) >= MIN_LANGUAGE_QUESTIONS}
        means[""] = raw.mean(axis=0)
        centred = _units(np.stack([v - means.get(lang, means[""]) for v, lang in zip(raw, langs, strict=True)]))
        mine = sorted(curated)
        others = [k for k in range(len(faq)) if k not in curated]
        return cls([faq[k][0] for k in mine], [curated[k] for k in mine], [langs[k] for k in mine],
                   [faq[k][1] for k in mine], raw[mine], centred[mine],
                   centred[others] if others else np.zeros((0, raw.shape[1])), means, min_similarity,
                   AnswerPassages.read(store, [(faq[i][0], g, langs[i], faq[i][1]) for key, g in group_of.items()
                                               for i in stems[key] if not _is_variant(faq[i][1].get("row_id"))]))

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, qvec: np.ndarray, query: str, filters: dict | None = None) -> tuple[str, float] | None:
        """(chunk id, similarity) of the curated row that answers `query`, else None. The row is the matched
        answer's in the query's language (its phrasing nearest the query), when the answer has one; the
        similarity is the raw cosine of the answer's nearest phrasing, in whichever language."""
        if not self.ids or qvec.shape[-1] != self.raw.shape[1]:
            return None
        from assistant.language import answer_language

        lang = answer_language(query)
        q = _units([qvec])[0]
        centred = _units([q - self.means.get(lang, self.means[""])])[0]
        near = self.centred @ centred
        best = int(np.argmax(near))
        if near[best] < self.min_similarity or (len(self.others) and float(np.max(self.others @ centred)) > near[best]):
            return None
        if self.variant[best] and self.answers is not None:
            better = self.answers.better(q, lang, int(self.groups[best]), filters)
            if better is not None:
                return better
        raw = self.raw @ q
        members = [k for k in np.flatnonzero(self.groups == self.groups[best]) if matches(self.metas[k], filters)]
        if not members:
            return None
        own = [k for k in members if self.langs[k] == lang] or members
        row = max(own, key=lambda k: raw[k])
        return self.ids[row], float(np.max(raw[self.groups == self.groups[best]]))
