"""A curated answer published with its customers' phrasings wins the questions asked in any of those words,
in either language, and only those (knowledge_base.curated_answers.CuratedAnswers)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from knowledge_base import KnowledgeBase, KnowledgeBaseConfig
from tests.knowledge_base.conftest import write

# What each question is about and its language. The embedder below gives every text a strong language
# direction, as real multilingual embedders do: on the raw cosine an English question is nearer any English
# question than a Chinese one about the same thing.
QUESTIONS = {
    "How long does delivery take?": ("ship", "en"), "多久能送到？": ("ship", "zh"),
    "What is your return policy?": ("returns", "en"), "退货政策是什么？": ("returns", "zh"),
    "Which payment methods do you take?": ("pay", "en"), "支持哪些付款方式？": ("pay", "zh"),
    "可以分期付款吗？": ("instalments", "zh"), "能用花呗分期吗": ("instalments", "zh"),
    "买东西可以分几期付": ("instalments", "zh"),
    # customers asking later
    "is there a way to spread the payment over months": ("instalments", "en"),
    "when will my parcel arrive": ("ship", "en"),
    "Can you recommend a vet?": ("vet", "en"),
}
TOPICS = ("ship", "returns", "pay", "instalments", "vet")


class TopicEmbedder:
    """Vector = the topic's axis + a larger language axis + a little per-text noise; unknown text: noise only."""

    name = "topics"

    def _vector(self, text: str) -> list[float]:
        v = np.zeros(len(TOPICS) + 2 + 8)
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")
        v[len(TOPICS) + 2:] = np.random.default_rng(seed).normal(0, 0.08, 8)
        known = next((QUESTIONS[q] for q in QUESTIONS if q in text), None)
        if known is not None:
            topic, lang = known
            v[TOPICS.index(topic)] = 1.0
            v[len(TOPICS) + (lang == "zh")] = 1.6
        return list(v / np.linalg.norm(v))

    def embed_documents(self, texts):
        return [self._vector(t) for t in texts]

    def embed_query(self, text):
        return self._vector(text)


SHOP = """id,question,answer,lang
ship-en,How long does delivery take?,Orders arrive in 2-4 business days.,en
ship-zh,多久能送到？,一般2到4个工作日送达。,zh
returns-en,What is your return policy?,Unopened items can be returned within 15 days.,en
returns-zh,退货政策是什么？,未拆封商品15天内可退。,zh
pay-en,Which payment methods do you take?,"Cards, Alipay and WeChat Pay.",en
pay-zh,支持哪些付款方式？,支持银行卡、支付宝和微信支付。,zh
"""
# One answer published from a Chinese gap group: the answer in Chinese, two customers' phrasings with it.
CURATED = """id,question,answer,lang
gap-1-zh,可以分期付款吗？,满1000元可用花呗分3期或6期免息。,zh
gap-1-zh-v1,能用花呗分期吗,满1000元可用花呗分3期或6期免息。,zh
gap-1-zh-v2,买东西可以分几期付,满1000元可用花呗分3期或6期免息。,zh
"""


@pytest.fixture
def kb(tmp_path):
    cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="curated", abstain_threshold=0.0,
                              faq_threshold=0.95, evidence_threshold=0.0)
    kb = KnowledgeBase.from_config(cfg, TopicEmbedder())
    assert kb.ingest([write(tmp_path / "faq.csv", SHOP), write(tmp_path / "gap_answers.csv", CURATED)],
                     progress=False).ok
    return kb


def test_the_other_languages_phrasings_win_a_question_their_raw_cosine_loses(kb):
    asked = "is there a way to spread the payment over months"
    plain = kb.search(asked, mode="vector")  # raw cosine: the English rows come first, whatever they are about
    assert plain[0].metadata["lang"] == "en" and not plain[0].id.startswith("gap-")
    hits = kb.search(asked)
    # the curated answer alone (it has no English row: a Chinese one, the chat translates it)
    assert len(hits) == 1 and hits[0].id.startswith("gap-1-zh")
    same = [h.vector_score for h in kb.search(asked, k=20, mode="vector") if h.id == hits[0].id]
    assert same and hits[0].vector_score >= same[0]  # its best phrasing's similarity, never below its own
    lookup = kb.lookup(asked)
    assert lookup.answerable and [c.row_id for c in lookup.citations] == [hits[0].id]


def test_a_customers_phrasing_is_matched_as_the_question_itself(kb):
    hits = kb.search("能用花呗分期吗")
    assert [h.id for h in hits] == ["gap-1-zh-v1"] and hits[0].vector_score == pytest.approx(1.0, abs=1e-6)
    faq = kb.faq_match("能用花呗分期吗")
    assert faq is not None and faq.row_id == "gap-1-zh-v1" and "花呗" in faq.answer


def test_questions_nearer_the_shops_other_rows_or_nothing_are_left_alone(kb):
    ship = kb.search("when will my parcel arrive")
    assert ship[0].id == "ship-en" and len(ship) > 1  # the usual ranked list, no curated row forced in
    assert len(kb.search("Can you recommend a vet?")) > 1  # off topic: near no phrasing, the usual list
    # filters still apply: a search for documents never gets a FAQ row
    assert all(h.metadata.get("kind") != "faq" for h in kb.search("能用花呗分期吗", filters={"kind": "doc"}))


def test_rows_without_phrasings_are_not_curated_answers_and_a_publish_is_seen(kb, tmp_path):
    curated = kb.retrieval.curated()
    assert sorted(curated.ids) and all(kb.store.get([c])[c][1]["row_id"].startswith("gap-1") for c in curated.ids)
    more = CURATED + 'gap-2-en,Do you gift wrap?,"Yes, for ¥10.",en\n'
    kb.ingest([write(tmp_path / "gap_answers.csv", more)], progress=False)
    assert len(kb.retrieval.curated()) == len(curated)  # gap-2 has no alternate phrasing: an ordinary row
    assert kb.retrieval._question_vectors  # questions embedded once, kept across rebuilds


# --- the match threshold is a setting ---------------------------------------------------------------
def _answers(min_similarity: float):
    from knowledge_base.curated_answers import CuratedAnswers

    unit = np.eye(3)
    # one curated answer with one phrasing along axis 0; one other FAQ question along axis 2
    return CuratedAnswers(["gap-1-en-v1"], [0], ["en"], [{"row_id": "gap-1-en-v1"}], unit[[0]], unit[[0]],
                          unit[[2]], {"en": np.zeros(3), "": np.zeros(3)}, min_similarity)


def test_a_phrasing_wins_only_above_the_threshold():
    query = np.array([0.6, 0.8, 0.0])  # cosine 0.6 to the phrasing, 0 to the other FAQ question
    assert _answers(0.3).match(query, "gift cards?") == ("gap-1-en-v1", pytest.approx(0.6))
    assert _answers(0.7).match(query, "gift cards?") is None


def test_another_faq_question_nearer_than_the_phrasing_wins():
    query = np.array([0.5, 0.0, 0.8])
    assert _answers(0.3).match(query, "gift cards?") is None


def test_the_retriever_reads_the_checked_setting(tmp_path):
    from assistant.errors import ConfigError
    from knowledge_base import KnowledgeBaseConfig
    from knowledge_base.curated_answers import CURATED_MIN_SIMILARITY
    from knowledge_base.retrieval import HybridRetriever

    cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"))
    assert cfg.curated_min_similarity == CURATED_MIN_SIMILARITY
    cfg.curated_min_similarity = 0.5
    assert HybridRetriever(None, cfg).curated_min_similarity == 0.5
    with pytest.raises(ConfigError, match="curated_min_similarity"):
        KnowledgeBaseConfig(db_path=str(tmp_path / "db"), curated_min_similarity=0.0)


# --- a customer's phrasing grouped with the wrong answer --------------------------------------------
SHOP_WITHOUT_SHIPPING = "\n".join(SHOP.splitlines()[:1] + SHOP.splitlines()[3:]) + "\n"
# gap-1 (instalments) was published with a phrasing about delivery that its gap group had swept in;
# gap-2, published later, answers delivery.
MIXED = """id,question,answer,lang
gap-1-en,is there a way to spread the payment over months,Orders over ¥1000 can be split into 3 or 6 months.,en
gap-1-en-v1,when will my parcel arrive,Orders over ¥1000 can be split into 3 or 6 months.,en
gap-1-zh,可以分期付款吗？,满1000元可用花呗分3期或6期免息。,zh
gap-2-en,How long does delivery take?,Orders arrive in 2-4 business days.,en
gap-2-zh,多久能送到？,一般2到4个工作日送达。,zh
"""


def test_a_phrasing_another_published_answer_suits_better_gets_that_answer(tmp_path):
    cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="mixed", abstain_threshold=0.0,
                              faq_threshold=0.95, evidence_threshold=0.0)
    kb = KnowledgeBase.from_config(cfg, TopicEmbedder())
    assert kb.ingest([write(tmp_path / "faq.csv", SHOP_WITHOUT_SHIPPING),
                      write(tmp_path / "gap_answers.csv", MIXED)], progress=False).ok
    # its nearest phrasing is gap-1's (the very words), but gap-2's own passage is about delivery
    assert [h.id for h in kb.search("when will my parcel arrive")] == ["gap-2-en"]
    # gap-1's own question and its answer's other language keep gap-1
    assert [h.id for h in kb.search("is there a way to spread the payment over months")] == ["gap-1-en"]
    assert [h.id for h in kb.search("可以分期付款吗？")] == ["gap-1-zh"]


def _passages(vectors, groups, langs):
    from knowledge_base.curated_answers import AnswerPassages

    ids = [f"gap-{g + 1}-{lang}" for g, lang in zip(groups, langs, strict=True)]
    return AnswerPassages(ids, np.array(groups), langs, [{"row_id": i, "kind": "faq"} for i in ids],
                          np.asarray(vectors, dtype=float))


def test_the_rival_answer_is_taken_only_when_its_passage_suits_better_in_the_questions_language():
    unit = np.eye(3)
    passages = _passages([unit[0], unit[1], unit[2]], [0, 1, 1], ["en", "en", "zh"])
    query = np.array([0.6, 0.8, 0.0])  # nearer answer 1's English passage than answer 0's
    assert passages.better(query, "en", 0, None) == ("gap-2-en", pytest.approx(0.8))
    assert passages.better(np.array([0.8, 0.6, 0.0]), "en", 0, None) is None  # its own answer suits it best
    assert passages.better(query, "en", 0, {"kind": "doc"}) is None  # filters apply to the rival too
    assert passages.better(query, "en", 5, None) is None  # nothing to compare its own answer with: it stays
