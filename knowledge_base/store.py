"""The Chroma side: open an embedded (PersistentClient) or server (HttpClient) store chosen by config alone,
and read/write chunks in batches. Our embedder is always attached, so Chroma never loads its default model.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.config import resolve_path
from assistant.errors import ConfigError, NotFoundError, StorageError
from knowledge_base.chunking import Chunk
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.embeddings import ChromaEmbeddingFunction

log = logging.getLogger(__name__)
PAGE = 5000  # Chroma takes at most 5,461 records per call
#: beside an embedded store: rewritten by every write, so another process (the app while `python -m knowledge_base
#: sync` runs in a terminal) sees that its in-memory vector index and its caches are out of date
GENERATION_FILE = "kb-generation"


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def _register_embedding_function() -> None:
    """Let Chroma rebuild our embedding function from a collection's stored schema.

    Chroma 1.x re-reads the schema on writes to an existing collection and looks the function up by name; unknown,
    it warned "Could not reconstruct embedding function shop_assistant_embedder" and dropped it from that copy of
    the schema. Registered, it is rebuilt lazily (ChromaEmbeddingFunction.build_from_config loads no model: we
    always pass vectors ourselves)."""
    from chromadb.utils.embedding_functions import known_embedding_functions, register_embedding_function

    if known_embedding_functions.get(ChromaEmbeddingFunction.name()) is not ChromaEmbeddingFunction:
        register_embedding_function(ChromaEmbeddingFunction)


def require_store(cfg: KnowledgeBaseConfig) -> None:
    """For commands that only read: a db_path holding no Chroma store is an error, not a new empty store (opening
    one creates the folder and a database file in it)."""
    if cfg.server_mode:
        return
    path = resolve_path(cfg.db_path)
    if not (path / "chroma.sqlite3").is_file():
        what = "no such folder" if not path.exists() else "no Chroma store in it"
        raise NotFoundError(f"no knowledge base at {path} ({what}); create one with "
                            f"`python -m knowledge_base ingest PATH --db {path} --collection {cfg.collection}`")


def _unreachable(cfg: KnowledgeBaseConfig, exc: Exception) -> StorageError:
    reason = " ".join(str(exc).split())[:160]
    return StorageError(f"knowledge_base.chroma_host: cannot reach the Chroma server at "
                        f"http://{cfg.chroma_host}:{cfg.chroma_port} ({reason})")


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.TransportError, ConnectionError)


class _ServerCalls:
    """A `chroma run` client or collection whose connection failures are StorageError. A server that went away
    after start raised httpx.ConnectError, which no caller expects: the chat skipped its curated-FAQ fallback
    (docs/trust.md: FAQ answers work while the store is unreachable, "at start or later") and every customer got
    the failure message, with a traceback in the log."""

    def __init__(self, target, cfg: KnowledgeBaseConfig):
        self._target, self._cfg = target, cfg

    def __getattr__(self, name: str):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except _transport_errors() as exc:
                raise _unreachable(self._cfg, exc) from None
        return call


def open_client(cfg: KnowledgeBaseConfig):
    """PersistentClient at db_path, or HttpClient when chroma_host is set; one clear error when unreachable."""
    import chromadb

    if cfg.server_mode:
        try:
            client = chromadb.HttpClient(host=cfg.chroma_host, port=cfg.chroma_port, settings=_settings())
            client.heartbeat()
        except Exception as exc:  # connection errors come as ValueError/httpx errors depending on the stage
            raise _unreachable(cfg, exc) from None
        return _ServerCalls(client, cfg)
    path = resolve_path(cfg.db_path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    except Exception as exc:
        raise StorageError(f"knowledge_base.db_path: cannot open the Chroma store at {path} ({exc})") from None


class ChromaStore:
    """One collection of chunks; ids are content-derived, so writes are idempotent upserts."""

    def __init__(self, cfg: KnowledgeBaseConfig, embedder: Embeddings, client=None):
        self.cfg = cfg
        self.embedder = embedder
        _register_embedding_function()
        self.client = client if client is not None else open_client(cfg)
        self._ef = ChromaEmbeddingFunction(embedder)
        self._collection = None
        self._generation = self._read_generation()

    def _generation_file(self) -> Path | None:
        if self.cfg.server_mode:  # a Chroma server serves every process the same index
            return None
        folder = resolve_path(self.cfg.db_path)
        return folder / GENERATION_FILE if folder is not None else None

    def _read_generation(self) -> str:
        path = self._generation_file()
        try:
            return path.read_text(encoding="utf-8") if path is not None else ""
        except OSError:
            return ""

    def _written(self) -> None:
        """Mark a write, for the other processes on this store (reopen_if_changed)."""
        path = self._generation_file()
        if path is None or not path.parent.is_dir():
            return
        stamp = f"{time.time_ns()} {os.getpid()}"
        try:
            tmp = path.with_name(f".{GENERATION_FILE}.{os.getpid()}")
            tmp.write_text(stamp, encoding="utf-8")
            os.replace(tmp, path)
            self._generation = stamp
        except OSError as exc:  # a read-only store is read by this process only
            log.debug("cannot mark the knowledge base's write: %s", exc)

    def reopen_if_changed(self) -> bool:
        """True when another process wrote the store since this one last looked: the client is opened anew, as
        Chroma's in-process vector index would go on answering with chunks that are gone. A stat and a read of
        a few bytes per call."""
        stamp = self._read_generation()
        if stamp == self._generation:
            return False
        self._generation = stamp
        from chromadb.api.shared_system_client import SharedSystemClient

        # Chroma shares one in-memory system per path in a process: dropped from its cache, the next client reads
        # the files again (clients already made look the system up by the same key, so they follow).
        with SharedSystemClient._refcount_lock:
            SharedSystemClient._identifier_to_system.pop(getattr(self.client, "_identifier", ""), None)
            SharedSystemClient._identifier_to_refcount.pop(getattr(self.client, "_identifier", ""), None)
        self.client = open_client(self.cfg)
        self._collection = None
        log.info("knowledge base: written by another process; reopened %s", self.where)
        return True

    @property
    def where(self) -> str:
        if self.cfg.server_mode:
            return f"server {self.cfg.chroma_host}:{self.cfg.chroma_port}"
        return str(resolve_path(self.cfg.db_path))

    def collection_names(self) -> list[str]:
        return sorted(c if isinstance(c, str) else c.name for c in self.client.list_collections())

    def exists(self) -> bool:
        return self.cfg.collection in self.collection_names()

    def collection(self, create: bool = False):
        if self._collection is not None:
            return self._collection
        name = self.cfg.collection
        embedder_name = getattr(self.embedder, "name", type(self.embedder).__name__)
        if not self.exists():
            if not create:
                known = ", ".join(self.collection_names()) or "none"
                raise NotFoundError(f"collection {name!r} not found in {self.where} (known: {known})")
            coll = self.client.create_collection(
                name, embedding_function=self._ef,
                metadata={"hnsw:space": "cosine", "embedder": embedder_name},
            )
            self._collection = _ServerCalls(coll, self.cfg) if self.cfg.server_mode else coll
            return self._collection
        coll = self.client.get_collection(name, embedding_function=self._ef)
        built_with = (coll.metadata or {}).get("embedder")
        if built_with and built_with != embedder_name:
            raise ConfigError(
                f"knowledge_base.embedder is {embedder_name!r} but collection {name!r} was built with "
                f"{built_with!r}: use that embedder or ingest into another collection"
            )
        self._collection = _ServerCalls(coll, self.cfg) if self.cfg.server_mode else coll
        return self._collection

    def count(self) -> int:
        return self.collection().count()

    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        coll = self.collection(create=True)
        for i in range(0, len(chunks), PAGE):
            part = chunks[i:i + PAGE]
            coll.upsert(ids=[c.id for c in part], documents=[c.text for c in part],
                        metadatas=[c.metadata for c in part], embeddings=embeddings[i:i + PAGE])
        self._written()

    def delete(self, ids: list[str]) -> None:
        coll = self.collection()
        for i in range(0, len(ids), PAGE):
            coll.delete(ids=ids[i:i + PAGE])
        self._written()

    def existing(self, ids: list[str]) -> set[str]:
        coll = self.collection(create=True)
        found: set[str] = set()
        for i in range(0, len(ids), PAGE):
            found.update(coll.get(ids=ids[i:i + PAGE], include=[])["ids"])
        return found

    def metadata_for_source(self, source: str) -> dict[str, dict]:
        """{chunk id: metadata} of every chunk of one source."""
        got = self.collection(create=True).get(where={"source": source}, include=["metadatas"])
        return {cid: meta or {} for cid, meta in zip(got["ids"], got["metadatas"], strict=False)}

    def update_metadata(self, chunks: list[Chunk]) -> None:
        """Rewrite the metadata of chunks already stored, keeping their vectors (nothing is embedded again)."""
        coll = self.collection()
        for i in range(0, len(chunks), PAGE):
            part = chunks[i:i + PAGE]
            coll.update(ids=[c.id for c in part], metadatas=[c.metadata for c in part])
        self._written()

    def chunks_of(self, source: str) -> list[tuple[str, dict]]:
        """(text, metadata) of every chunk of one source."""
        return [(text, meta) for _, text, meta in self.page_chunks(source)]

    def page_chunks(self, source: str) -> list[tuple[str, str, dict]]:
        """(chunk id, text, metadata) of every chunk of one source."""
        got = self.collection(create=True).get(where={"source": source}, include=["documents", "metadatas"])
        return [(cid, text or "", meta or {}) for cid, text, meta in
                zip(got["ids"], got["documents"], got["metadatas"], strict=False)]

    def sources_with_file_hash(self, file_hash: str) -> set[str]:
        """The sources whose file had this content hash when ingested: a copy of one file under another path."""
        got = self.collection(create=True).get(where={"file_hash": file_hash}, include=["metadatas"])
        return {str((meta or {}).get("source", "")) for meta in got["metadatas"]}

    def iter_all(self, documents: bool = True) -> Iterator[tuple[str, str | None, dict]]:
        """Every (id, text, metadata), a page at a time (for BM25, sync, list)."""
        coll = self.collection()
        include = ["metadatas", "documents"] if documents else ["metadatas"]
        offset = 0
        while True:
            page = coll.get(include=include, limit=PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [None] * len(ids)
            for cid, doc, meta in zip(ids, docs, page["metadatas"], strict=False):
                yield cid, doc, meta or {}
            offset += len(ids)

    def query(self, embedding: list[float], n: int, where: dict | None = None,
              total: int | None = None) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n nearest chunks; `total` = the count when the caller has it."""
        coll = self.collection()
        total = coll.count() if total is None else total
        if total == 0:
            return []
        res = coll.query(query_embeddings=[embedding], n_results=min(n, total), where=where or None,
                         include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=False)]

    def get(self, ids: list[str], embeddings: bool = False) -> dict[str, tuple[str, dict, list | None]]:
        if not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        res = self.collection().get(ids=ids, include=include)
        embs = res.get("embeddings") if embeddings else None
        out = {}
        for i, cid in enumerate(res["ids"]):
            out[cid] = (res["documents"][i], res["metadatas"][i] or {}, embs[i] if embs is not None else None)
        return out

    def drop(self) -> None:
        self.client.delete_collection(self.cfg.collection)
        self._collection = None
        self._written()
