"""Grounded answering: a LangChain retriever and chain that answer only from retrieved chunks, with citations,
an honest "I don't know" (plus the offer of a human) under a calibrated score, and verbatim curated FAQ answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from assistant.citations import Citation
from assistant.llm.base import Message
from knowledge_base.retrieval import SearchHit
from knowledge_base.text import detect_language

ABSTAIN_TEXT = {
    "en": "I'm sorry, I don't know the answer to that from our shop information. "
          "Would you like me to connect you with a human colleague?",
    "zh": "抱歉，我在店铺资料里没有找到这个问题的答案。需要我为您转接人工客服吗？",
}

SYSTEM_PROMPT = (
    "You are the customer-service assistant of an online shop. Answer the customer's question using ONLY the "
    "numbered shop information below, and cite it like [1]. If the information does not contain the answer, "
    "say that you don't know and offer to connect the customer with a human colleague. Never invent prices, "
    "dates, discounts or policies. Answer briefly, in the customer's language{lang_hint}.\n\n"
    "Shop information:\n{context}"
)


@dataclass
class FaqHit:
    row_id: str
    question: str
    answer: str
    source: str
    score: float  # similarity of the customer's question and the curated question (1.0 = same text)

    def citation(self) -> Citation:
        return Citation(source=self.source, title=self.question, snippet=self.answer, chunk_id=self.row_id,
                        score=round(self.score, 4), row_id=self.row_id)


@dataclass
class GroundedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    from_faq: bool = False
    best_score: float = 0.0


@dataclass
class Prepared:
    """Everything decided before the LLM runs: a caller can stream `messages` through its own backend.

    `text` is set (and `messages` empty) when no LLM is needed: a verbatim FAQ answer or an abstention.
    """

    question: str
    messages: list[Message]
    citations: list[Citation]
    abstained: bool = False
    from_faq: bool = False
    best_score: float = 0.0
    text: str | None = None
    hits: list[SearchHit] = field(default_factory=list)

    @property
    def needs_llm(self) -> bool:
        return self.text is None

    def result(self, llm_text: str | None = None) -> GroundedAnswer:
        return GroundedAnswer(text=self.text if self.text is not None else (llm_text or "").strip(),
                              citations=self.citations, abstained=self.abstained, from_faq=self.from_faq,
                              best_score=self.best_score)


def abstain_text(question: str) -> str:
    return ABSTAIN_TEXT[detect_language(question)]


def hit_to_document(hit: SearchHit) -> Document:
    meta = {**hit.metadata, "id": hit.id, "chunk_id": hit.chunk_id, "score": hit.score,
            "bm25_score": hit.bm25_score, "vector_score": hit.vector_score, "title": hit.title}
    return Document(page_content=hit.text, metadata=meta, id=hit.chunk_id)


def document_to_hit(doc: Document) -> SearchHit:
    m = doc.metadata
    return SearchHit(id=str(m.get("id", "")), score=float(m.get("score", 0.0)), text=doc.page_content,
                     source=str(m.get("source", "")), title=str(m.get("title", "")),
                     chunk_id=str(m.get("chunk_id", "")), bm25_score=m.get("bm25_score"),
                     vector_score=m.get("vector_score"), metadata=dict(m))


class KnowledgeBaseRetriever(BaseRetriever):
    """LangChain retriever over `KnowledgeBase.search` (hybrid, filtered); scores ride in the metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Any
    k: int = 4
    filters: dict | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        return [hit_to_document(h) for h in self.kb.search(query, k=self.k, filters=self.filters)]


def build_messages(question: str, hits: Sequence[SearchHit], history: Sequence[Message] | None = None,
                   max_history: int = 6) -> list[Message]:
    context = "\n\n".join(f"[{i}] {h.title or h.source} ({h.source})\n{h.snippet if h.metadata.get('kind') != 'faq' else h.text}"
                          for i, h in enumerate(hits, start=1))
    lang_hint = " (the customer wrote Chinese: answer in Chinese)" if detect_language(question) == "zh" else ""
    messages = [Message("system", SYSTEM_PROMPT.format(context=context, lang_hint=lang_hint))]
    turns = [m if isinstance(m, Message) else Message(**m) for m in (history or [])]
    messages += [m for m in turns if m.role in ("user", "assistant")][-max_history:]
    messages.append(Message("user", question))
    return messages


def citations_for(hits: Sequence[SearchHit]) -> list[Citation]:
    seen, out = set(), []
    for h in hits:
        if h.chunk_id not in seen:
            seen.add(h.chunk_id)
            out.append(h.citation())
    return out


def answer_chain(chat_model) -> Runnable:
    """{"question", "hits", "history"} -> answer text; `.stream()` yields the LLM's pieces as they come."""
    from knowledge_base.langchain_llm import to_langchain_messages

    prompt = RunnableLambda(lambda x: to_langchain_messages(build_messages(x["question"], x["hits"],
                                                                           x.get("history"))))
    return prompt | chat_model | StrOutputParser()


class AnswerStream:
    """Iterate for text pieces (the FAQ answer or abstention comes as one piece); then read `.answer`."""

    def __init__(self, prepared: Prepared, pieces: Iterator[str] | None):
        self.prepared = prepared
        self._pieces = pieces
        self._parts: list[str] = []
        self.answer: GroundedAnswer | None = None

    def __iter__(self) -> Iterator[str]:
        if self.answer is not None:
            return
        if self._pieces is None:
            yield self.prepared.text or ""
        else:
            for piece in self._pieces:
                self._parts.append(piece)
                yield piece
        self.answer = self.prepared.result("".join(self._parts))

    def collect(self) -> GroundedAnswer:
        for _ in self:
            pass
        return self.answer
