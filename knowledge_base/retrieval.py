"""Hybrid retrieval: BM25 (jieba words for Chinese) and vectors from Chroma, fused by RRF or a weight,
optionally diversified (MMR), with metadata filters. Each hit keeps both raw scores for calibration.

A curated answer published with several phrasings (the gap report's one-click fix) is matched question to
question first (knowledge_base/curated_answers.py).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from assistant.citations import Citation
from assistant.errors import InputError
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.curated_answers import CuratedAnswers
from knowledge_base.faq_pairs import FaqTranslations
from knowledge_base.filters import chroma_where, matches
from knowledge_base.store import ChromaStore
from knowledge_base.text import tokenize


@dataclass
class SearchHit:
    id: str  # document id: the CSV id-column value for FAQ rows, the source path for documents
    score: float  # fused score (what the ranking used)
    text: str
    source: str
    title: str
    chunk_id: str = ""
    bm25_score: float | None = None
    vector_score: float | None = None  # cosine similarity of query and chunk
    metadata: dict = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The id to refer to this one hit by (shown by `search` and the hit-test, taken by `delete --id`): an FAQ
        row's own id, else the chunk id (a document's id is its path, the same for all its chunks)."""
        return self.id if self.metadata.get("kind") == "faq" else (self.chunk_id or self.id)

    @property
    def snippet(self) -> str:
        """The chunk body without its heading line."""
        heading = self.metadata.get("heading") or ""
        if heading and self.text.startswith(heading + "\n"):
            return self.text[len(heading) + 1:]
        return self.text

    def citation(self, max_chars: int = 240) -> Citation:
        snippet = self.metadata.get("answer") or self.snippet
        snippet = snippet if len(snippet) <= max_chars else snippet[: max_chars - 1] + "…"
        page = self.metadata.get("page")
        return Citation(source=self.source, title=self.title, snippet=snippet, chunk_id=self.chunk_id,
                        score=round(float(self.vector_score if self.vector_score is not None else self.score), 4),
                        page=int(page) if page is not None else None, row_id=self.metadata.get("row_id"))

    def as_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 6), "source": self.source, "text": self.text,
                "title": self.title, "chunk_id": self.chunk_id,
                "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 4),
                "vector_score": None if self.vector_score is None else round(self.vector_score, 4)}


class BM25Index:
    """bm25s over every chunk of the collection, kept in memory; rebuilt when the collection changes."""

    def __init__(self, ids: list[str], texts: list[str], metas: list[dict]):
        import bm25s

        # bm25s sets its logger to DEBUG on import, which the CLI's root handler would print on every build.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.ids, self.texts, self.metas = ids, texts, metas
        self.pos = {cid: i for i, cid in enumerate(ids)}
        corpus = [tokenize(t) or ["<empty>"] for t in texts]
        self.model = bm25s.BM25()
        if ids:
            self.model.index(corpus, show_progress=False)

    @classmethod
    def from_store(cls, store: ChromaStore) -> BM25Index:
        ids, texts, metas = [], [], []
        for cid, text, meta in store.iter_all():
            ids.append(cid)
            texts.append(text or "")
            metas.append(meta)
        return cls(ids, texts, metas)

    def top(self, query: str, n: int, filters: dict | None = None) -> list[tuple[str, float]]:
        tokens = [t for t in tokenize(query) if t in self.model.vocab_dict] if self.ids else []
        if not tokens:
            return []
        scores = np.asarray(self.model.get_scores(tokens), dtype=np.float32)
        if filters:
            mask = np.array([matches(m, filters) for m in self.metas], dtype=bool)
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best if scores[i] > 0]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-12)
    b = b / (np.linalg.norm(b) + 1e-12)
    return a @ b


class HybridRetriever:
    def __init__(self, store: ChromaStore, cfg: KnowledgeBaseConfig):
        self.store, self.cfg = store, cfg
        # What is built from the whole store (BM25, curated answers, FAQ translations), each with the store's
        # count it was built at: a count that changed (an ingest, a publish, another process) rebuilds it.
        self._built: dict[str, tuple[object, int]] = {}
        self._question_vectors: dict[str, np.ndarray] = {}  # survives rebuilds: a publish embeds only its rows
        self.curated_min_similarity = cfg.curated_min_similarity  # validated by KnowledgeBaseConfig
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._built.clear()

    def _current(self, name: str, build, count: int | None):
        count = self.store.count() if count is None else count
        with self._lock:
            value, built_at = self._built.get(name, (None, -1))
            if value is None or built_at != count:
                value = build()
                self._built[name] = (value, count)
            return value

    def curated(self, count: int | None = None) -> CuratedAnswers:
        return self._current("curated", lambda: CuratedAnswers.from_store(
            self.store, self._question_vectors, self.curated_min_similarity), count)

    def faq_translations(self, count: int | None = None) -> FaqTranslations:
        """The FAQ rows paired with their translations."""
        return self._current("translations", lambda: FaqTranslations.from_store(self.store), count)

    def bm25(self, count: int | None = None) -> BM25Index:
        return self._current("bm25", lambda: BM25Index.from_store(self.store), count)

    def search(self, query: str, k: int | None = None, filters: dict | None = None,
               mode: str = "hybrid", other_documents: int = 0) -> list[SearchHit]:
        """mode: hybrid (ours) | bm25 | vector — the last two exist for side-by-side benchmarks. `other_documents`:
        when the k hits all come from one document and miss a word of the query, the best this many passages of
        other documents that have one of the missing words follow them (a FAQ row is a document of its own)."""
        if not query or not query.strip():
            raise InputError("the query is empty")
        cfg = self.cfg
        k = k or cfg.k
        n = max(cfg.candidates, k)
        if self.store.reopen_if_changed():  # another process ingested or synced: nothing built before holds
            self.invalidate()
        count = self.store.count()  # once a query: Chroma's count costs milliseconds
        bm25_hits = self.bm25(count).top(query, n, filters) if mode in ("hybrid", "bm25") else []
        qvec = np.asarray(self.store.embedder.embed_query(query), dtype=np.float32)
        if mode == "hybrid":
            curated = self.curated(count).match(qvec, query, filters)
            if curated is not None:
                return [self._curated_hit(*curated, qvec)]
        vec_hits = (self.store.query(qvec.tolist(), n, chroma_where(filters), total=count)
                    if mode in ("hybrid", "vector") else [])
        ids = list(dict.fromkeys([cid for cid, _ in vec_hits] + [cid for cid, _ in bm25_hits]))
        if not ids:
            return []
        rows = self.store.get(ids, embeddings=True)
        ids = [cid for cid in ids if cid in rows]
        if not ids:  # every candidate was deleted a moment ago
            return []
        embs = np.asarray([rows[cid][2] for cid in ids], dtype=np.float32)
        vec = dict(zip(ids, _cosine(embs, qvec).tolist(), strict=True))  # vector score for every candidate
        bm = dict(bm25_hits)
        fused = self._fuse(ids, vec_hits, bm25_hits, vec, bm, mode)
        order = sorted(ids, key=lambda c: -fused[c])
        if cfg.rerank == "mmr" and len(order) > k:
            order = _mmr(order, fused, dict(zip(ids, embs, strict=True)), k)
        take = k
        if other_documents and len(order) > k:
            order, take = _with_other_documents(query, order, rows, k, other_documents)
        hits = []
        for cid in order[:take]:
            text, meta, _ = rows[cid]
            hits.append(SearchHit(
                id=str(meta.get("doc_id", cid)), score=float(fused[cid]), text=text or "",
                source=str(meta.get("source", "")), title=str(meta.get("heading") or meta.get("title") or ""),
                chunk_id=cid, bm25_score=bm.get(cid, 0.0), vector_score=float(vec[cid]), metadata=meta))
        return hits

    def _curated_hit(self, cid: str, similarity: float, qvec: np.ndarray) -> SearchHit:
        """The matched curated row as the one hit. Its similarity is its best phrasing's (question to question),
        or the row's own passage cosine when that is higher: what the abstain threshold then judges."""
        text, meta, emb = self.store.get([cid], embeddings=True)[cid]
        cosine = float(_cosine(np.asarray([emb], dtype=np.float32), qvec)[0])
        score = max(cosine, similarity)
        return SearchHit(id=str(meta.get("doc_id", cid)), score=score, text=text or "",
                         source=str(meta.get("source", "")), title=str(meta.get("heading") or meta.get("title") or ""),
                         chunk_id=cid, bm25_score=None, vector_score=score, metadata=meta)

    def _fuse(self, ids, vec_hits, bm25_hits, vec, bm, mode) -> dict[str, float]:
        cfg = self.cfg
        if mode == "vector":
            return {c: vec[c] for c in ids}
        if mode == "bm25":
            return {c: bm.get(c, 0.0) for c in ids}
        w = cfg.hybrid_weight
        if cfg.fusion == "rrf":
            vrank = {cid: r for r, (cid, _) in enumerate(vec_hits, start=1)}
            brank = {cid: r for r, (cid, _) in enumerate(bm25_hits, start=1)}
            return {c: 2 * w * (1 / (cfg.rrf_k + vrank[c]) if c in vrank else 0.0)
                    + 2 * (1 - w) * (1 / (cfg.rrf_k + brank[c]) if c in brank else 0.0) for c in ids}
        # weighted: BM25 scaled by its best candidate; cosine min-max scaled over the candidates
        bmax = max(bm.values(), default=0.0) or 1.0
        vmin, vmax = min(vec.values()), max(vec.values())
        span = (vmax - vmin) or 1.0
        return {c: w * (vec[c] - vmin) / span + (1 - w) * bm.get(c, 0.0) / bmax for c in ids}


# Words of asking, not of what is asked ("how much", "多少钱", "几年"; stemmed as tokenize leaves them): a page
# without them lacks nothing.
_ASKING_WORDS = frozenset("""much mani long pleas tell know want need get take come after befor about also still just
    ani some like go usual actual exact realli possibl thank hi hello 多少 几年 几天 几个 几次 多久 多长 以后 之后 之前
    能不能 可不可以 是不是 有没有 告诉 一下 请问 可以 能否 怎么样 为什么 如何 现在 还能 还是""".split())


def _missing_words(query: str, texts: list[str]) -> set[str]:
    """The query's words (tokens of two characters or more, no numbers, no words of asking) that none of `texts`
    has."""
    have = set().union(*(tokenize(t) for t in texts)) if texts else set()
    return {w for w in tokenize(query)
            if len(w) >= 2 and not w.isdigit() and w not in _ASKING_WORDS and w not in have}


def _with_other_documents(query: str, order: list[str], rows: dict, k: int, others: int) -> tuple[list[str], int]:
    """(`order` with up to `others` chunks of other documents moved up behind its first k, how many to take) when
    its first k are one document's and lack a word of the query that those chunks have: "岚风冲锋衣保修几年" fills
    the context with the jacket's page, which never says 保修, and the warranty page's table row for the jacket is
    not read. Otherwise (`order`, k)."""
    def document(cid: str) -> str:
        return str(rows[cid][1].get("doc_id", cid))

    if len({document(c) for c in order[:k]}) > 1:
        return order, k
    missing = _missing_words(query, [rows[c][0] or "" for c in order[:k]])
    if not missing:
        return order, k
    extra = []
    for cid in order[k:]:
        if len(extra) == others:
            break
        if document(cid) != document(order[0]) and missing & set(tokenize(rows[cid][0] or "")):
            extra.append(cid)
    if not extra:
        return order, k
    moved = set(extra)
    return order[:k] + extra + [c for c in order[k:] if c not in moved], k + len(extra)


def _mmr(order: list[str], fused: dict[str, float], embs: dict, k: int, lam: float = 0.7) -> list[str]:
    """Maximal marginal relevance: keep relevance, but skip near-copies of what is already chosen."""
    top = max(fused.values()) or 1.0
    chosen: list[str] = []
    pool = order[: max(3 * k, k)]
    unit = {c: embs[c] / (np.linalg.norm(embs[c]) + 1e-12) for c in pool}
    while pool and len(chosen) < k:
        def value(c):
            redundancy = max((float(unit[c] @ unit[s]) for s in chosen), default=0.0)
            return lam * fused[c] / top - (1 - lam) * redundancy
        best = max(pool, key=value)
        chosen.append(best)
        pool.remove(best)
    rest = [c for c in order if c not in chosen]
    return chosen + rest


def rank_metrics(ranked_ids: list[list[str]], gold: list[str], ks=(1, 5)) -> dict[str, float]:
    """hit@k and MRR of ranked document ids (duplicates collapse to their first rank)."""
    n = len(gold) or 1
    ks = tuple(dict.fromkeys(ks))  # (1, 1) for k = 1 had counted every hit twice: hit@1 1.833
    out = {f"hit@{k}": 0.0 for k in ks}
    mrr = 0.0
    for ranked, want in zip(ranked_ids, gold, strict=True):
        docs = list(dict.fromkeys(ranked))
        if want in docs:
            rank = docs.index(want) + 1
            mrr += 1.0 / rank
            for k in ks:
                out[f"hit@{k}"] += rank <= k
    out = {key: v / n for key, v in out.items()}
    out["mrr"] = mrr / n
    return {key: (0.0 if math.isnan(v) else round(v, 4)) for key, v in out.items()}
