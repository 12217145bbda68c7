"""Grounded answering: what the knowledge base knows about a question (`Lookup`), the prompt that lets the LLM
phrase only those facts, and the check that decides what the customer gets (`Answerer.finish`):

    the curated FAQ answer | the LLM's draft, when every fact it states is in the evidence
    | the evidence sentences themselves (extractive), when the draft invents, echoes or says nothing
    | an honest "I don't know" with the offer of a human, when the documents do not say.

Texts in the shop's voice (the prompt, the "I don't know") come from the caller: the knowledge base speaks
for no particular shop. A LangChain chain runs the LLM, so any chat model LangChain knows can be used. The second
reading that may still decline (`Verifier`) is in knowledge_base.second_reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
from knowledge_base.grounding import Evidence, adds_asked_words, unsupported, word_overlap
from knowledge_base.retrieval import SearchHit
from knowledge_base.text import (
    end_sentence,
    has_cjk,
    normalize_question,
    page_name,
    without_unasked_yes,
    without_yes_lead,
)

NOT_FOUND = "NOT_FOUND"
# What must never reach a customer's text: citation marks, file paths, our own sentinel.
_CITATION_MARK = re.compile(r"\s*[\[【]\s*\d+(?:\s*[,，]\s*\d+)*\s*[\]】]")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}|\b[\w\-]+\.(?:md|html?|csv|xlsx|pdf|docx|txt)\b")
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__)(\S(?:.*?\S)?)\1")
_MARKDOWN_CODE = re.compile(r"`([^`\n]+)`")
_SOURCE_LINE = re.compile(r"^\s*(?:sources?|来源|参考(?:来源|资料)?)\s*[:：].*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class FaqHit:
    row_id: str
    question: str
    answer: str
    source: str
    score: float  # similarity of the customer's question and the curated question (1.0 = same text)
    language: str = ""

    def citation(self) -> Citation:
        return Citation(source=self.source, title=self.question, snippet=self.answer, chunk_id=self.row_id,
                        score=round(self.score, 4), row_id=self.row_id)


@dataclass
class Lookup:
    """What the knowledge base knows about one question, decided before any LLM runs."""

    question: str  # what was searched (a follow-up already carries its context)
    language: str  # the language to answer in
    faq: FaqHit | None = None
    hits: list[SearchHit] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)  # the sentences that state the answer, best first
    best_score: float = 0.0  # best passage similarity
    evidence_score: float = 0.0  # best sentence score
    answerable: bool = False
    parts: list[Lookup] = field(default_factory=list)  # one per question of a message that asks several
    # Not answerable on passage similarity alone, but a sentence scores high: answered only when the second
    # reading (Verifier) confirms that a sentence states the answer; declined without one.
    borderline: bool = False
    # The second reading turned the evidence down: the message asks about something near the shop's documents, so
    # it is a shop question the documents do not answer (never small talk that could answer it from thin air).
    turned_down: bool = False
    # The second reading said YES, but hesitantly (its log odds under knowledge_base.verify_unsure_below): the answer
    # is sent, and the question is listed as a knowledge gap of low confidence for the shop to check.
    unsure: bool = False
    # A broad question about a whole policy ("What is your return policy?") answered with the main terms of the
    # page on it (knowledge_base.overview): every evidence sentence is sent, and no sentence is read against it
    # as if it asked for one fact.
    broad: bool = False
    # The best-scoring sentences of the passages, best first (evidence is picked from them): the weighed second
    # reading reads beyond the few that scored close to the best.
    candidates: list[Evidence] = field(default_factory=list)

    @property
    def answered_parts(self) -> list[Lookup]:
        return [p for p in self.parts if p.answerable]

    @property
    def citations(self) -> list[Citation]:
        if self.parts:
            out: list[Citation] = []
            for part in self.answered_parts:
                out += [c for c in part.citations if c.chunk_id not in {x.chunk_id for x in out}]
            return out
        if self.faq is not None:
            return [self.faq.citation()]
        seen, out = set(), []
        for e in self.evidence:
            if e.hit.chunk_id not in seen:
                seen.add(e.hit.chunk_id)
                out.append(e.hit.citation())
        return out

    @property
    def sources(self) -> list[str]:
        if self.parts:
            return [t for part in self.answered_parts for t in part.sources]
        texts = [e.text for e in self.evidence] + [e.context for e in self.evidence]
        return texts + ([self.faq.answer, self.faq.question] if self.faq else [])

    def refresh(self) -> None:
        """Re-derive a several-question lookup from its parts (after a part was re-read and declined)."""
        if not self.parts:
            return
        answered = self.answered_parts
        self.answerable = bool(answered)
        # a part turned down when asked again translated: the documents came near it all the same
        self.turned_down = self.turned_down or any(p.turned_down for p in self.parts)
        self.unsure = any(p.unsure for p in answered)
        self.evidence = [e for part in answered for e in part.evidence]
        self.evidence_score = min((p.evidence_score for p in answered), default=max(
            (p.evidence_score for p in self.parts), default=0.0))


def merge_parts(question: str, language: str, parts: list[Lookup]) -> Lookup:
    """One lookup for a message that asks several things: answerable when any part is; each answered part
    brings its own sentence (or curated answer) and citation."""
    seen, hits = set(), []
    for part in parts:
        for h in part.hits:
            if h.chunk_id not in seen:
                seen.add(h.chunk_id)
                hits.append(h)
    merged = Lookup(question, language, hits=hits, best_score=max(p.best_score for p in parts), parts=parts)
    merged.refresh()
    return merged


@dataclass
class GroundedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    from_faq: bool = False
    best_score: float = 0.0
    mode: str = ""  # faq | extract | translated | llm | decline
    checks: list[str] = field(default_factory=list)  # why an LLM draft was not sent, in plain words


def clean_answer(text: str) -> str:
    """The customer's text: no citation marks, file paths or "Sources:" lines the model copied from its prompt."""
    text = _SOURCE_LINE.sub("", text or "")
    text = _CITATION_MARK.sub("", text)
    text = _PATH.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def echoes(answer: str, question: str) -> bool:
    """The model answered with the question (or a question) instead of an answer."""
    a, q = normalize_question(answer), normalize_question(question)
    if not a:
        return True
    if a == q or (q and q in a and len(a) < len(q) * 1.6):
        return True
    return answer.strip().endswith(("?", "？")) and word_overlap(question, answer) > 0.6


# A colon after a label ("Weight: 640 g", "颜色："), not one inside a time ("当天 14:00 前下单" is a sentence of its own)
_LABEL_COLON = re.compile(r"(?<!\d)[:：]|[:：](?!\d)")
_TABLE_ROW = re.compile(r"^\|?\s*(.+?)\s*\|\s*(.+?)\s*\|?\s*$")
STYLES = ("extract", "phrase")


def _one_after_another(sentences: list[str]) -> str:
    """The shop's sentences as one answer: each closed before the next ("Roast: Medium. Great for espresso…", not
    "Roast: Medium Great for espresso…"); the last is left as written."""
    closed = [end_sentence(s, has_cjk(s)) for s in sentences[:-1]] + sentences[-1:]
    # Chinese sentences follow each other without a space ("…订单号。保修期内…")
    return "".join(s + ("" if i == len(closed) - 1 or re.search(r"[。！？；]$", s) else " ")
                   for i, s in enumerate(closed))


def readable(sentence: str, context: str = "", list_item: bool = False) -> str:
    """An evidence sentence as a customer reads it: a table row "| Burrs | 48 mm |" becomes "Burrs: 48 mm", a
    bare spec line ("Weight: 640 g") says whose it is, and a list item says which list it is in ("礼品卡。"
    alone would read as "yes, gift cards"; under its heading it says they cannot be returned). Markdown emphasis
    is the page's formatting, not the customer's: "**Fixed**: …" reaches a widget or an API client as "Fixed: …"."""
    text = _MARKDOWN_CODE.sub(r"\1", _MARKDOWN_EMPHASIS.sub(r"\2", sentence.strip()))
    m = _TABLE_ROW.match(text) if text.count("|") >= 2 else None
    if m:
        cells = [c.strip() for c in text.strip("|").split("|") if c.strip()]
        text = f"{cells[0]}: {' / '.join(cells[1:])}" if len(cells) > 1 else cells[0]
    title = context.split(" > ")[0].split(" – ")[0].strip()
    heading = context.split(" > ")[-1].split(" – ")[-1].strip()
    # "保修政策 — 慢焙咖啡茶社" names the page and then the site: the customer is on the site already.
    page = page_name(title)
    label = _LABEL_COLON.search(text)
    labelled = label is not None and label.start() < 20  # "Pour-over: 20-26 clicks" names itself; whose, below
    if list_item and not labelled and heading and heading != title and heading.lower() not in text.lower():
        return f"{heading}：{text}" if re.search(r"[\u4e00-\u9fff]", heading) else f"{heading}: {text}"
    latin_label = _LABEL_COLON.search(text.replace("：", " "))
    if page and len(text) < 40 and latin_label and latin_label.start() < 20 and page.lower() not in text.lower():
        text = f"{page} – {text}"
    return text


def draft_problems(draft: str, lookup: Lookup, question: str, first: bool = True) -> list[str]:
    """Why (part of) an LLM draft may not be sent: it found nothing, it repeats the question (checked on the
    draft's first sentence), or it states a number or code the evidence does not."""
    text = clean_answer(draft)
    if NOT_FOUND in draft.upper().replace(" ", "_") or (first and not text):
        return ["the model found no answer in the evidence"]
    if not text:  # a later sentence that was only citation marks: nothing to send, nothing wrong
        return []
    if first and echoes(text, question):
        return ["the draft repeats the question"]
    return [f"unsupported {p}" for p in unsupported(text, lookup.sources, question)]


def _in_other_language(sentence: str, language: str) -> bool:
    """A sentence an English customer cannot read (Chinese by its letters; "calligraphy ink (书画墨汁)" is English
    with a gloss), or one a Chinese customer would want translated (no Chinese, three English words or more: "EF /
    F / M / B" and "SF Express" are names)."""
    from assistant.language import answer_language

    if language == "en":
        return has_cjk(sentence) and answer_language(sentence, "en") == "zh"
    return not has_cjk(sentence) and len(re.findall(r"\b[a-z]{2,}\b", sentence)) >= 3


class Answerer:
    """Decides what is sent. `style` "extract" (default): the shop's own evidence sentences, as written (the LLM
    only translates them when the customer writes the other language); "phrase": the LLM phrases the evidence
    and every fact it states is checked against it. `prompt_for(lang)`, `decline_for(lang)` and
    `translate_for(lang)` give the shop's texts (assistant.shop); tests pass plain lambdas."""

    def __init__(self, prompt_for: Callable[[str], str], decline_for: Callable[[str], str],
                 max_history: int = 4, style: str = "extract",
                 translate_for: Callable[[str], str] | None = None):
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        self.prompt_for, self.decline_for, self.max_history = prompt_for, decline_for, max_history
        self.style = style
        self.translate_for = translate_for or (lambda lang: "Translate the text into "
                                               + ("Chinese" if lang == "zh" else "English")
                                               + ". Keep every number, price, unit and name exactly as written. "
                                                 "Reply with the translation only.")

    def needs_llm(self, lookup: Lookup) -> bool:
        if not lookup.answerable:
            return False
        if self.style == "extract":
            return self.translates(lookup)
        # A curated answer in the customer's language is sent as written; in the other language it is translated.
        return lookup.faq is None or lookup.faq.language != lookup.language

    def translates(self, lookup: Lookup) -> bool:
        """The shop's own text is in the other language than the customer's, whole or in one of its sentences: a
        Chinese sentence beside a longer English one was sent untranslated to an English customer."""
        from assistant.language import answer_language

        text = self.extractive(lookup)
        return answer_language(text, lookup.language) != lookup.language or any(
            _in_other_language(s, lookup.language) for s in re.split(r"(?<=[。！？!?])|(?<=\.)\s+", text))

    def translates_only(self, lookup: Lookup) -> bool:
        """The LLM only translates the shop's text (the default style, or a curated answer in the other language)."""
        return self.style == "extract" or (lookup.faq is not None and lookup.faq.language != lookup.language)

    def messages(self, lookup: Lookup, question: str, history: Sequence[Message] = ()) -> list[Message]:
        if self.translates_only(lookup):
            return [Message("system", self.translate_for(lookup.language)), Message("user", self.extractive(lookup))]
        if lookup.parts:
            facts = "\n".join(f"- {self.extractive(p)}" for p in lookup.answered_parts)
        elif lookup.faq is not None:
            facts = f"- {lookup.faq.answer}"
        else:
            facts = "\n".join(f"- {e.quoted}" for e in lookup.evidence)
        heading = "资料" if lookup.language == "zh" else "Facts"
        msgs = [Message("system", f"{self.prompt_for(lookup.language)}\n\n{heading}:\n{facts}")]
        turns = [m if isinstance(m, Message) else Message(**m) for m in history]
        msgs += [m for m in turns if m.role in ("user", "assistant")][-self.max_history:]
        msgs.append(Message("user", question))
        return msgs

    def extractive(self, lookup: Lookup) -> str:
        """The shop's own sentences: the best one, and a second when it is close and says more of what was asked
        (often the other half of a two-part question, from another passage)."""
        if lookup.parts:
            said: list[str] = []
            for part in lookup.answered_parts:
                text = self.extractive(part)
                if text and not any(text in s or s in text for s in said):
                    said.append(text)
            return _one_after_another(said)
        if lookup.faq is not None:
            return without_unasked_yes(lookup.faq.answer, lookup.question)
        if not lookup.evidence:
            return ""
        best = lookup.evidence[0]
        chosen = list(lookup.evidence) if lookup.broad else [best]
        for e in ([] if lookup.broad else lookup.evidence[1:]):
            if (e.score >= best.score - 0.05 and e.text not in best.text
                    and adds_asked_words(lookup.question, best.text, best.context, e.text)):
                chosen.append(e)
                break
        # A second sentence's own "Yes." answers the question it was written for, not the customer's: after "Gift
        # cards cannot be refunded." it read as a yes.
        shown = [readable(e.text, e.context, e.list_item) for e in chosen]
        said = _one_after_another(shown[:1] + [without_yes_lead(s) for s in shown[1:]])
        return without_unasked_yes(said, lookup.question)

    def finish(self, lookup: Lookup, question: str, draft: str | None) -> GroundedAnswer:
        """The answer to send, from the LLM's draft (None when no LLM ran)."""
        common = dict(citations=lookup.citations, best_score=lookup.best_score)
        if not lookup.answerable:
            return GroundedAnswer(self.decline_for(lookup.language), [], abstained=True, mode="decline",
                                  best_score=lookup.best_score)
        if draft is None:
            if lookup.faq is not None:
                return GroundedAnswer(self.extractive(lookup), from_faq=True, mode="faq", **common)
            return GroundedAnswer(self.extractive(lookup), mode="extract", **common)
        text = clean_answer(draft)
        checks = draft_problems(draft, lookup, question)
        if not checks:
            mode = "translated" if self.style == "extract" else "llm"
            return GroundedAnswer(text, from_faq=lookup.faq is not None, mode=mode, **common)
        return GroundedAnswer(self.extractive(lookup), from_faq=lookup.faq is not None, mode="extract",
                              checks=checks, **common)


# --- LangChain: the retriever and the chain --------------------------------------------------------------
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


def answer_chain(chat_model) -> Runnable:
    """[Message, ...] -> the LLM's text; `.stream()` yields its pieces as they come."""
    from knowledge_base.langchain_llm import to_langchain_messages

    return RunnableLambda(to_langchain_messages) | chat_model | StrOutputParser()
