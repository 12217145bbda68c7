"""`KnowledgeBase`: the one object the chat, the app and the CLI use — ingest, search, FAQ match, answer.

    kb = KnowledgeBase.from_config(settings.knowledge_base)
    kb.ingest(["docs/"]);  kb.search("退货")
    result = kb.answer("How long does shipping take?", backend)   # GroundedAnswer with citations
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.config import resolve_path
from assistant.errors import InputError
from assistant.language import answer_language
from assistant.llm.base import LLMBackend, Message
from knowledge_base.answer import (
    Answerer,
    FaqHit,
    GroundedAnswer,
    KnowledgeBaseRetriever,
    Lookup,
    answer_chain,
)
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.embeddings import embed_queries, get_embedder
from knowledge_base.ingest import IngestReport, changed_at, ingest_paths, sync_paths
from knowledge_base.loaders import TableOptions
from knowledge_base.reading_weights import CANDIDATES
from knowledge_base.retrieval import HybridRetriever, SearchHit
from knowledge_base.store import ChromaStore
from knowledge_base.text import normalize_question
from knowledge_base.thresholds import calibrated_thresholds, calibration_source

log = logging.getLogger(__name__)
# A question whose best passage falls this little below the abstain threshold, while one of its sentences scores
# at least BORDERLINE_EVIDENCE, is left to the second reading rather than declined outright: short spec lines
# ("Bean capacity: 35 g") and English FAQ paraphrases score low as whole passages but high as sentences.
BORDERLINE_MARGIN = 0.025
BORDERLINE_EVIDENCE = 0.86


class KnowledgeBase:
    def __init__(self, cfg: KnowledgeBaseConfig, embedder: Embeddings, store: ChromaStore | None = None):
        self.cfg = cfg
        self.embedder = embedder
        self.store = store or ChromaStore(cfg, embedder)
        self.retrieval = HybridRetriever(self.store, cfg)
        calibrated = calibrated_thresholds(getattr(embedder, "name", ""), cfg)
        self.abstain_threshold = cfg.abstain_threshold if cfg.abstain_threshold is not None else calibrated["abstain"]
        self.faq_threshold = cfg.faq_threshold if cfg.faq_threshold is not None else calibrated["faq"]
        self.evidence_threshold = (cfg.evidence_threshold if cfg.evidence_threshold is not None
                                   else calibrated["evidence"])

    @classmethod
    def from_config(cls, cfg: KnowledgeBaseConfig, embedder: Embeddings | None = None) -> KnowledgeBase:
        return cls(cfg, embedder if embedder is not None else get_embedder(cfg.embedder, cfg.device))

    # --- writing -------------------------------------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path], progress: bool = True, **csv_opts) -> IngestReport:
        """csv_opts: id_column, question_column, answer_column, lang_column for CSV/XLSX FAQ tables."""
        try:
            return ingest_paths(self.store, self.cfg, paths, TableOptions.from_kwargs(**csv_opts), progress)
        finally:
            self._invalidate()

    def sync(self, paths: Iterable[str | Path], progress: bool = True, **csv_opts) -> IngestReport:
        try:
            return sync_paths(self.store, self.cfg, paths, TableOptions.from_kwargs(**csv_opts), progress)
        finally:
            self._invalidate()

    def delete(self, sources: Sequence[str] = (), ids: Sequence[str] = ()) -> int:
        """Remove chunks of the given sources and/or chunk/document ids; returns how many went."""
        doomed = set()
        for cid, _, meta in self.store.iter_all(documents=False):
            if meta.get("source") in sources or cid in ids or meta.get("doc_id") in ids:
                doomed.add(cid)
        if doomed:
            self.store.delete(sorted(doomed))
            self._invalidate()
        return len(doomed)

    def _invalidate(self) -> None:
        """After the store changed: the search index and the page titles are read again."""
        self.retrieval.invalidate()
        self._page_index = None

    # --- reading -------------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: dict | None = None,
               mode: str = "hybrid", other_documents: int = 0) -> list[SearchHit]:
        return self.retrieval.search(query, k or self.cfg.k, filters, mode, other_documents)

    def context_passages(self, query: str) -> list[SearchHit]:
        """The passages a lookup reads for `query`: the best context_chunks, then, when they are one document's and
        lack a word of the query, the other documents' passages of other_document_passages."""
        return self.search(query, k=self.cfg.context_chunks, other_documents=self.cfg.other_document_passages)

    def retriever(self, k: int | None = None, filters: dict | None = None) -> KnowledgeBaseRetriever:
        return KnowledgeBaseRetriever(kb=self, k=k or self.cfg.context_chunks, filters=filters)

    def documents(self) -> list[dict]:
        """One row per document: source, title, kind, chunks."""
        docs: dict[str, dict] = {}
        for _, _, meta in self.store.iter_all(documents=False):
            src = str(meta.get("source", ""))
            row = docs.setdefault(src, {"source": src, "title": meta.get("title", "") if meta.get("kind") != "faq"
                                        else "(FAQ table)", "kind": meta.get("kind", "doc"), "chunks": 0})
            row["chunks"] += 1
        return sorted(docs.values(), key=lambda r: r["source"])

    def stats(self) -> dict:
        docs = self.documents()
        langs: dict[str, int] = {}
        for _, _, meta in self.store.iter_all(documents=False):
            langs[meta.get("lang", "?")] = langs.get(meta.get("lang", "?"), 0) + 1
        return {"collection": self.cfg.collection, "store": self.store.where, "embedder": self.embedder.name,
                "documents": len(docs), "chunks": sum(d["chunks"] for d in docs),
                "faq_rows": sum(d["chunks"] for d in docs if d["kind"] == "faq"), "languages": langs,
                "abstain_threshold": self.abstain_threshold, "faq_threshold": self.faq_threshold,
                "evidence_threshold": self.evidence_threshold,
                "calibration": calibration_source(self.embedder.name, self.cfg)}

    def faq_match(self, question: str) -> FaqHit | None:
        """A curated FAQ row whose question means the same as this one (same language), else None."""
        best = self.faq_candidate(question)
        return best if best is not None and best.score >= self.faq_threshold else None

    def faq_candidate(self, question: str) -> FaqHit | None:
        """The closest FAQ row in the question's language, whatever its score (calibration uses this)."""
        if not question or not question.strip():
            return None
        lang = answer_language(question)
        hits = [h for h in self.search(question, k=5, filters={"kind": "faq"})
                if h.metadata.get("lang", lang) == lang]
        if not hits:
            return None
        asked = normalize_question(question)
        exact = [h for h in hits if normalize_question(h.metadata.get("question", "")) == asked]
        if exact:
            # Two tables asking the very same question (an answer published from the gap report, the shop's own
            # older row): the table changed last answers, as the shop's latest word; else the best-ranked row.
            newest = max(exact, key=lambda h: changed_at(h.metadata.get("source", ""))) if len(exact) > 1 else exact[0]
            return self._faq_hit(newest, 1.0)
        # Compare question with question (both embedded as queries): the answer text would dilute the match.
        m = np.asarray(embed_queries(self.embedder, [question] + [h.metadata.get("question", h.title) for h in hits]),
                       dtype=np.float32)
        m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-12
        sims = m[1:] @ m[0]
        best = int(np.argmax(sims))
        return self._faq_hit(hits[best], float(sims[best]))

    def faq_translation(self, hit: FaqHit, language: str) -> FaqHit | None:
        """The shop's own translation of a curated row into `language` (knowledge_base.faq_pairs), as a hit with
        the same score; None when the row is in that language already or has no translation."""
        if not hit.language or hit.language == language:
            return None
        row = self.retrieval.faq_translations().counterpart(hit.row_id, hit.source, language)
        if row is None:
            return None
        return FaqHit(row_id=row["row_id"], question=row["question"], answer=row["answer"], source=row["source"],
                      score=hit.score, language=row["lang"])

    def in_customer_language(self, lookup: Lookup) -> Lookup:
        """`lookup` answered with the shop's own translation where its answer is a curated row in the other
        language than the customer's: the FAQ row it matched (a translated question matches the other language's
        rows), or the row whose sentence the evidence starts with. Without a translation it stays as it is (the
        row is then translated by the model)."""
        if lookup.parts:
            for part in lookup.parts:
                self.in_customer_language(part)
            lookup.refresh()
            return lookup
        if not lookup.answerable:
            return lookup
        if lookup.faq is not None:
            lookup.faq = self.faq_translation(lookup.faq, lookup.language) or lookup.faq
        elif lookup.evidence and lookup.evidence[0].hit.metadata.get("kind") == "faq":
            row = self._faq_hit(lookup.evidence[0].hit, lookup.evidence_score)
            lookup.faq = self.faq_translation(row, lookup.language)
        return lookup

    @staticmethod
    def _faq_hit(hit: SearchHit, score: float) -> FaqHit:
        m = hit.metadata
        return FaqHit(row_id=str(m.get("row_id", hit.id)), question=str(m.get("question", hit.title)),
                      answer=str(m.get("answer", hit.snippet)), source=hit.source, score=score,
                      language=str(m.get("lang", "")))

    # --- answering -----------------------------------------------------------------------------------
    @property
    def evidence_finder(self):
        if getattr(self, "_finder", None) is None:
            from knowledge_base.grounding import EvidenceFinder

            self._finder = EvidenceFinder(self.embedder)
        return self._finder

    @property
    def page_index(self):
        if getattr(self, "_page_index", None) is None:
            from knowledge_base.overview import PageIndex

            self._page_index = PageIndex(self.store)
        return self._page_index

    def lookup(self, question: str, language: str | None = None, earlier_questions: Sequence[str] = (),
               reader=None, checks: list[str] | None = None, own_translations: bool = True) -> Lookup:
        """What the shop's documents say about `question`: a curated FAQ row, or the sentences that state the
        answer, and whether that is enough to answer (the calibrated decision to decline instead). A message
        that asks two things is looked up half by half (each half needs its own sentence).

        `reader` (knowledge_base.second_reading.Verifier) gives the lookup its second reading; what it notes is added to
        `checks`. A message the documents do not answer as written is looked up once more as the question inside
        it (question_core) when its passages scored too low, or when the reader turned it down and it has the
        marks of venting: read against the whole message, the reader weighs the venting too. A calm message is not
        cut down after a reading: its clause that asks nothing often holds the subject ("礼品卡买了不想要，可以退款吗"),
        and "可以退款吗" alone would be answered for something else.

        A curated row in the other language is answered with the shop's own translation of it
        (`in_customer_language`) unless `own_translations` is False: a caller that reads the evidence itself
        swaps after its reading."""
        from knowledge_base.questions import question_core, sounds_annoyed

        if not question or not question.strip():
            raise InputError("the question is empty")
        language = language or answer_language(question)
        notes = checks if checks is not None else []
        found = self._look_up_message(question, language, earlier_questions)
        scored_low = not (found.answerable or found.borderline)
        if reader is not None:
            notes += reader.check(found)
        if found.answerable or found.faq is not None:
            return self.in_customer_language(found) if own_translations else found
        core = question_core(question)
        if not core or not (scored_low or sounds_annoyed(question)):
            return found
        again = self._look_up_message(core, language, earlier_questions)
        read = reader.check(again) if reader is not None else []
        if again.answerable or (reader is None and again.borderline):
            log.info("answered from the question inside the message: %r", core)
            notes += read + [f"answered the question inside the message: {core}"]
            return self.in_customer_language(again) if own_translations else again
        return found

    def _look_up_message(self, question: str, language: str, earlier_questions: Sequence[str]) -> Lookup:
        from knowledge_base.answer import merge_parts
        from knowledge_base.questions import carry_subject, split_question, with_context

        searched = with_context(question, earlier_questions)
        parts = split_question(question)
        if len(parts) == 1:
            return self._look_up_one(searched, searched, language)
        # Each question of the message on its own, the FAQ first: matched as a whole, "能寄香港吗？运费多少" met the
        # FAQ row "运费多少？" and got the mainland fee, which answers neither the question nor the customer.
        first = with_context(parts[0], earlier_questions)
        looked = [self._look_up_one(first, first, language)]
        for part in parts[1:]:
            # A later half rarely names its subject: a Chinese one gets the first half's and stands alone
            # ("冷萃咖啡液" + "开了以后能放几天"); otherwise ("…, and how long is its warranty?") it is retrieved
            # with the first half along, and its sentence picked for its own words.
            carried = carry_subject(parts[0], part)
            search = carried if carried != part else f"{first} {part}"
            looked.append(self._look_up_one(search, carried, language))
        return merge_parts(searched, language, looked)

    def _look_up_one(self, search_text: str, asked: str, language: str) -> Lookup:
        from knowledge_base.asked import asked_for
        from knowledge_base.grounding import pick_evidence
        from knowledge_base.item_policy import TERMS, item_policy_evidence, item_question
        from knowledge_base.overview import overview_evidence, policy_topic

        wants = asked_for(asked, self.cfg)
        faq = self.faq_match(search_text)
        if faq is not None and wants.says_row(faq.question, faq.answer):
            return Lookup(asked, language, faq=faq, best_score=faq.score, evidence_score=faq.score, answerable=True)
        if faq is not None:  # "到香港的运费是多少？" met "运费多少？", whose row gives the mainland's fee
            log.info("FAQ row %s does not say what was asked (%s); the documents are read for %r", faq.row_id, wants,
                     asked)
        hits = self.context_passages(search_text)
        # a passage of another document read for a missing word (other_document_passages) decides nothing unless
        # its sentence is the answer
        added = {h.chunk_id for h in hits[self.cfg.context_chunks:]}
        best = max((h.vector_score or 0.0 for h in hits if h.chunk_id not in added), default=0.0)
        # "What is your return policy?": the main terms of the returns page, not its closest sentence
        topic = policy_topic(asked) if self.cfg.overview_sentences else None
        item = None
        if topic is None and self.cfg.overview_sentences and self.cfg.item_policy_overview:
            item = item_question(asked)  # "Can I return the lamp?": read what the shop says about returns
        if topic is not None:
            lead = overview_evidence(asked, topic, hits, self.store.page_chunks, self.evidence_finder,
                                     self.cfg.overview_sentences, self.page_index.pages(), language)
            if lead:
                log.info("a broad question about a policy: the main terms of %s", lead[0].hit.source)
                return Lookup(asked, language, hits=hits, evidence=lead, best_score=best,
                              evidence_score=lead[0].score, answerable=True, broad=True)
        ranked = wants.of_asked(self.evidence_finder.find(asked, hits))
        evidence = pick_evidence(ranked, self.cfg.evidence_sentences, wanted=wants.wanted(ranked),
                                 faq_margin=self.cfg.faq_evidence_margin, question=asked)
        top = evidence[0].score if evidence else 0.0  # how well the documents match the question
        if item is not None:
            about, how = item_policy_evidence(
                item, asked, hits, ranked, self.store.page_chunks, self.evidence_finder, self.page_index.pages(),
                language, self.cfg.evidence_sentences, self.cfg.overview_sentences)
            # a question near the shop's documents (as near as one the second reading may still answer)
            if how == TERMS and best >= self.abstain_threshold - BORDERLINE_MARGIN:
                log.info("an item's policy the shop says nothing specific about: the main terms of %s",
                         about[0].hit.source)
                return Lookup(asked, language, hits=hits, evidence=about, best_score=best,
                              evidence_score=about[0].score, answerable=True, broad=True)
            if how != TERMS and about:
                evidence = about
        if added and evidence:  # the added passage answers first, or is not a second sentence's source
            if evidence[0].hit.chunk_id in added:
                best = max(best, evidence[0].hit.vector_score or 0.0)
            else:
                evidence = [e for e in evidence if e.hit.chunk_id not in added]
        if wants.required and evidence:
            stating = [e for e in evidence if wants.says(e)]
            if not stating:
                log.info("no answer: no close sentence %s, asked %r", wants, asked)
                # near the documents, it is a shop question they do not answer (as when the reader turns one down);
                # no sentence counts, so none sets the bar a translated question's evidence must clear
                # (question_lookup.CrossLanguageRetry: the Hong Kong fee is on the Chinese page)
                return Lookup(asked, language, hits=hits, best_score=best, evidence_score=0.0, answerable=False,
                              turned_down=best >= self.abstain_threshold - BORDERLINE_MARGIN,
                              candidates=ranked[:CANDIDATES])
            evidence = stating
        answerable = bool(evidence) and best >= self.abstain_threshold and top >= self.evidence_threshold
        borderline = (not answerable and bool(evidence) and best >= self.abstain_threshold - BORDERLINE_MARGIN
                      and top >= max(self.evidence_threshold, BORDERLINE_EVIDENCE))
        if not answerable:
            log.info("no answer%s: best passage %.3f (threshold %.3f), best sentence %.3f (threshold %.3f) for %r",
                     " unless re-read" if borderline else "", best, self.abstain_threshold, top,
                     self.evidence_threshold, asked)
        # the score of what is read first (an item's own sentence on its policy may come before the best-scoring one)
        return Lookup(asked, language, hits=hits, evidence=evidence, best_score=best,
                      evidence_score=evidence[0].score if evidence else 0.0, answerable=answerable,
                      borderline=borderline, candidates=ranked[:CANDIDATES])

    def _chat_model(self, backend: LLMBackend, adapter: str | None):
        from knowledge_base.langchain_llm import BackendChatModel

        return BackendChatModel(backend=backend, adapter=adapter, max_tokens=self.cfg.answer_max_tokens)

    def answerer(self, shop=None) -> Answerer:
        """Prompts and the "I don't know" in `shop`'s voice (assistant.shop.Shop; default: a generic shop)."""
        if shop is None:
            from assistant.shop import Shop

            shop = Shop()
        return Answerer(lambda lang: shop.text("answer_prompt", lang), lambda lang: shop.text("abstain", lang),
                        style=self.cfg.answer_style, translate_for=lambda lang: shop.text("translate_prompt", lang))

    def answer(self, question: str, backend: LLMBackend, history: Sequence[Message] | None = None,
               adapter: str | None = None, shop=None, verifier=None) -> GroundedAnswer:
        """The whole grounded answer: lookup, then the shop's own sentences (translated by the LLM when the customer
        writes the other language) or, in the "phrase" style, the LLM phrasing them; checked; declined when the
        documents do not say."""
        turns = list(history or [])
        earlier = [m.content if isinstance(m, Message) else m["content"] for m in turns
                   if (m.role if isinstance(m, Message) else m["role"]) == "user"]
        checks: list[str] = []
        lookup = self.lookup(question, earlier_questions=earlier, reader=verifier, checks=checks)
        answerer = self.answerer(shop)
        draft = None
        if answerer.needs_llm(lookup):
            chain = answer_chain(self._chat_model(backend, adapter))
            draft = chain.invoke(answerer.messages(lookup, question, turns))
        result = answerer.finish(lookup, question, draft)
        result.checks = checks + result.checks
        return result

    def as_chain(self, backend: LLMBackend, adapter: str | None = None) -> Runnable:
        """LangChain Runnable: question (str or {"question", "history"}) -> GroundedAnswer."""
        def run(x):
            q, hist = (x, None) if isinstance(x, str) else (x["question"], x.get("history"))
            return self.answer(q, backend, hist, adapter)
        return RunnableLambda(run, name="grounded_answer")


def ensure_demo_ingested(cfg: KnowledgeBaseConfig, embedder: Embeddings | None = None,
                         progress: bool = False, problems: list[str] | None = None) -> KnowledgeBase:
    """Ingest the demo shop on first start; later starts only check each file's chunk ids (milliseconds).
    `problems` receives what a shop owner must hear at start (a mistyped folder, documents that cannot be read)."""
    kb = KnowledgeBase.from_config(cfg, embedder)
    demo = resolve_path(cfg.demo_path)
    problems = problems if problems is not None else []
    if not demo.exists():  # sync would refuse it; the chat still works on what the store holds
        log.warning("demo knowledge base: %s is not there; nothing ingested", demo)
        problems.append(f"knowledge_base.demo_path {demo} is not there: none of the shop's documents were read")
        return kb
    report = kb.sync([demo], progress=progress)
    for err in report.errors:
        log.warning("demo knowledge base: %s", err.error)
    if report.errors:
        problems.append(f"{len(report.errors)} document(s) in {demo} could not be read, e.g. {report.errors[0].error}")
    if report.chunks_added or report.chunks_removed:
        log.info("demo knowledge base: %s", report.summary())
    return kb
