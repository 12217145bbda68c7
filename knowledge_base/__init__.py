"""The shop's knowledge base: ingest → chunk → embed → Chroma (+ BM25) → retrieve → cite → grounded answer.

Public API: `KnowledgeBase`, `KnowledgeBaseConfig`, `ensure_demo_ingested`, `get_embedder`, and the result
types `SearchHit`, `FaqHit`, `Lookup`, `GroundedAnswer`, `IngestReport`.
"""

from assistant.lazy_exports import lazy_exports

# Lazy: `knowledge_base.config` is imported on every config load; langchain/chroma only when used.
_EXPORTS = {
    "FaqHit": "knowledge_base.answer",
    "GroundedAnswer": "knowledge_base.answer",
    "Lookup": "knowledge_base.answer",
    "KnowledgeBaseConfig": "knowledge_base.config",
    "get_embedder": "knowledge_base.embeddings",
    "IngestReport": "knowledge_base.ingest",
    "KnowledgeBase": "knowledge_base.kb",
    "ensure_demo_ingested": "knowledge_base.kb",
    "SearchHit": "knowledge_base.retrieval",
}
__all__ = [
    "FaqHit", "GroundedAnswer", "IngestReport", "KnowledgeBase", "KnowledgeBaseConfig", "Lookup",
    "SearchHit", "ensure_demo_ingested", "get_embedder",
]
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
