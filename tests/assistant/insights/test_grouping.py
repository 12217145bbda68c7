"""Grouping gap questions: paraphrases in Chinese and English land in one group even when the embedder puts
every cross-language pair below every same-language pair, the knowledge base's neighbours join what the words
do not, unrelated questions stay apart, and groups rank by conversations and recency."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

DIM = 12
TOPICS = {"gift": 0, "parking": 1, "wrap": 2, "hours": 3, "weather": 4}
LANGUAGE_AXIS = {"en": 10, "zh": 11}


def _vector(topic: str, lang: str, jitter: int) -> np.ndarray:
    """A topic axis plus a strong language axis (what the multilingual embedder does to Chinese vs English)
    plus a little deterministic noise."""
    v = np.zeros(DIM)
    v[TOPICS[topic]] = 1.0
    v[LANGUAGE_AXIS[lang]] = 1.2
    v[5 + jitter % 5] += 0.15
    return v / np.linalg.norm(v)


QUESTIONS = {  # text -> (topic, language)
    "Do you sell gift cards?": ("gift", "en"),
    "can I buy a voucher for a friend": ("gift", "en"),
    "有礼品卡吗": ("gift", "zh"),
    "能买购物卡送人吗": ("gift", "zh"),
    "Is there parking near the shop?": ("parking", "en"),
    "门店附近能停车吗": ("parking", "zh"),
    "can you wrap it as a present": ("wrap", "en"),
    "可以帮忙包装吗": ("wrap", "zh"),
    "when are you open": ("hours", "en"),
    "几点开门": ("hours", "zh"),
    "will it rain tomorrow": ("weather", "en"),
}


class AxisEmbedder:
    name = "axis"

    def __init__(self):
        self.vectors = {t: _vector(topic, lang, i) for i, (t, (topic, lang)) in enumerate(QUESTIONS.items())}

    def embed_query(self, text):
        return list(self.vectors[text])

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]


def _partition(labels, texts):
    groups: dict[int, set] = {}
    for label, text in zip(labels, texts, strict=True):
        groups.setdefault(label, set()).add(QUESTIONS[text][0])
    return groups


def test_paraphrases_in_both_languages_share_a_group_where_the_raw_cosine_splits_them():
    from assistant.insights.gaps import group_questions

    texts = [t for t in QUESTIONS if QUESTIONS[t][0] != "weather"]
    langs = [QUESTIONS[t][1] for t in texts]
    emb = AxisEmbedder()
    labels = group_questions(texts, emb, threshold=0.5, langs=langs, grouping="shop")
    by_topic: dict[str, set] = {}
    for label, text in zip(labels, texts, strict=True):
        by_topic.setdefault(QUESTIONS[text][0], set()).add(label)
    assert all(len(v) == 1 for v in by_topic.values()), by_topic  # each topic in one group, en + zh together
    assert len(set(labels)) == len(by_topic)  # and no two topics share one
    # The raw cosine cannot: at every threshold, a group either splits a topic by language or mixes topics.
    for threshold in np.arange(0.3, 0.96, 0.05):
        raw = group_questions(texts, emb, threshold=float(threshold), langs=langs, grouping="cosine")
        groups = _partition(raw, texts)
        topic_split = any(len({raw[i] for i, t in enumerate(texts) if QUESTIONS[t][0] == topic}) > 1
                          for topic in by_topic)
        assert topic_split or any(len(g) > 1 for g in groups.values()), threshold


def test_an_unrelated_question_is_not_merged_into_a_gap_group():
    from assistant.insights.gaps import group_questions

    texts = list(QUESTIONS)
    labels = group_questions(texts, AxisEmbedder(), threshold=0.5, langs=[QUESTIONS[t][1] for t in texts])
    weather = labels[texts.index("will it rain tomorrow")]
    assert labels.count(weather) == 1
    assert labels[texts.index("Do you sell gift cards?")] == labels[texts.index("能买购物卡送人吗")]


def test_paired_grouping_joins_each_languages_paraphrases_then_the_languages():
    from assistant.insights.gaps import group_questions

    texts = list(QUESTIONS)
    langs = [QUESTIONS[t][1] for t in texts]
    labels = group_questions(texts, AxisEmbedder(), threshold=0.91, langs=langs, grouping="paired", across=0.25)
    by_topic: dict[str, set] = {}
    for label, text in zip(labels, texts, strict=True):
        by_topic.setdefault(QUESTIONS[text][0], set()).add(label)
    assert all(len(v) == 1 for v in by_topic.values()), by_topic  # en + zh of each topic together
    assert len(set(labels)) == len(by_topic)  # the weather question alone, no two topics together
    # without the second step each language keeps its own groups
    apart = group_questions(texts, AxisEmbedder(), threshold=0.91, langs=langs, grouping="paired", across=1.0)
    assert apart[texts.index("Do you sell gift cards?")] != apart[texts.index("有礼品卡吗")]
    assert apart[texts.index("Do you sell gift cards?")] == apart[texts.index("can I buy a voucher for a friend")]


def test_paired_grouping_joins_a_group_to_one_group_of_the_other_language():
    from assistant.insights.grouping import ShopReference, paired_by_language

    def v(gift=0.0, wrap=0.0, lang="en"):
        out = np.zeros(DIM)
        out[TOPICS["gift"]], out[TOPICS["wrap"]], out[LANGUAGE_AXIS[lang]] = gift, wrap, 1.2
        return out

    # the shop's FAQ questions, three per language on other topics: each language's mean is its own axis
    faq = np.stack([_vector(topic, lang, 0) for lang in ("en", "zh") for topic in ("parking", "hours", "weather")])
    reference = ShopReference(faq, np.array(["en"] * 3 + ["zh"] * 3), np.zeros((0, DIM)), np.zeros(0, dtype=int))
    # two English groups (raw cosine 0.84 < 0.91) both nearest the one Chinese group: only the nearer joins it
    vectors = np.stack([v(gift=1.0), v(gift=0.6, wrap=0.8), v(gift=1.0, lang="zh")])
    labels = paired_by_language(vectors, ["en", "en", "zh"], reference, within=0.91, across=0.0)
    assert labels[0] == labels[2] != labels[1]


def _reference(rows: dict[str, np.ndarray], langs: list[str]):
    from assistant.insights.grouping import ShopReference, pair_translations, unit_rows

    places = unit_rows(np.stack(list(rows.values())))
    return ShopReference(np.zeros((0, DIM)), np.array([]), places, pair_translations(places, langs))


def test_questions_landing_near_one_faq_row_or_its_translation_are_joined():
    from assistant.insights.grouping import (
        neighbour_overlap,
        pair_translations,
        question_similarity,
        unit_rows,
    )

    rng = np.random.default_rng(0)
    base = {name: rng.normal(size=DIM) for name in ("returns", "payment")}
    rows = {"returns-en": base["returns"] + 0.3 * rng.normal(size=DIM),
            "returns-zh": base["returns"] + 0.3 * rng.normal(size=DIM),
            "payment-en": base["payment"] + 0.3 * rng.normal(size=DIM),
            "payment-zh": base["payment"] + 0.3 * rng.normal(size=DIM)}
    langs = ["en", "zh", "en", "zh"]
    units = pair_translations(unit_rows(np.stack(list(rows.values()))), langs)
    assert units[0] == units[1] and units[2] == units[3] and units[0] != units[2]  # a row and its translation
    reference = _reference(rows, langs)
    # Two questions whose own vectors share little (different words, different languages) but which are both
    # nearest to the returns rows; a third nearest to payment.
    noise = unit_rows(rng.normal(size=(3, DIM)))[:, :]
    q = unit_rows(np.stack([0.5 * unit_rows(rows["returns-en"])[0] + 0.8 * noise[0],
                        0.5 * unit_rows(rows["returns-zh"])[0] + 0.8 * noise[1],
                        0.5 * unit_rows(rows["payment-en"])[0] + 0.8 * noise[2]]))
    overlap = neighbour_overlap(q, reference, temperature=0.01)
    assert overlap[0, 1] > 0.8 and overlap[0, 2] < 0.2
    alone = question_similarity(q, ["en", "zh", "en"], reference, neighbour_weight=0.0, temperature=0.01)
    blended = question_similarity(q, ["en", "zh", "en"], reference, neighbour_weight=0.3, temperature=0.01)
    assert blended[0, 1] > alone[0, 1] + 0.2
    assert blended[0, 2] < blended[0, 1]


def _cands(rows):
    cols = ["turn_id", "time", "session_id", "question", "language", "reason", "answer", "action"]
    return pd.DataFrame([{"reason": "declined", "answer": "", "action": "decline", **r} for r in rows], columns=cols)


def test_groups_rank_by_conversations_not_by_repeats_then_by_recency():
    from assistant.insights.gaps import build_groups

    now = datetime(2026, 5, 1, 12)
    rows = [  # one customer asks about parking four times; three customers ask about gift cards
        *({"turn_id": i, "time": now - timedelta(minutes=i), "session_id": "p", "question": q, "language": lang}
          for i, (q, lang) in enumerate([("Is there parking near the shop?", "en"), ("门店附近能停车吗", "zh")] * 2)),
        {"turn_id": 10, "time": now - timedelta(hours=1), "session_id": "a", "question": "Do you sell gift cards?",
         "language": "en"},
        {"turn_id": 11, "time": now - timedelta(hours=2), "session_id": "b", "question": "有礼品卡吗", "language": "zh"},
        {"turn_id": 12, "time": now - timedelta(hours=3), "session_id": "c",
         "question": "can I buy a voucher for a friend", "language": "en"},
        # wrapping: two customers, weeks ago; opening hours: two customers, today
        {"turn_id": 20, "time": now - timedelta(days=21), "session_id": "d",
         "question": "can you wrap it as a present", "language": "en"},
        {"turn_id": 21, "time": now - timedelta(days=21), "session_id": "e", "question": "可以帮忙包装吗",
         "language": "zh"},
        {"turn_id": 30, "time": now, "session_id": "f", "question": "when are you open", "language": "en"},
        {"turn_id": 31, "time": now, "session_id": "g", "question": "几点开门", "language": "zh"},
    ]
    groups = build_groups(_cands(rows), AxisEmbedder(), threshold=0.5, half_life_days=7, now=now)
    labels = [QUESTIONS[g.label][0] for g in groups]
    assert labels == ["gift", "hours", "parking", "wrap"], labels
    parking = groups[2]
    assert parking.count == 4 and parking.sessions == 1 and set(parking.languages) == {"en", "zh"}


def test_grouping_reads_the_knowledge_base_of_the_runtime(runtime):
    from assistant.insights.grouping import reference_from_kb

    reference = reference_from_kb(runtime.kb)
    chunks = list(runtime.kb.store.iter_all(documents=False))
    assert len(reference.places) == len(chunks) and len(reference.questions) == 4
    assert sorted(reference.question_langs) == ["en", "en", "zh", "zh"]


@pytest.mark.parametrize("override", [{"grouping": "words"}, {"neighbour_weight": 1.5},
                                      {"neighbour_temperature": 0.0}, {"group_threshold": 0.0},
                                      {"within_language_similarity": 0.0}, {"across_language_similarity": 1.5},
                                      {"other_questions_min_fit": 2.0}, {"other_questions_max": -1}])
def test_grouping_settings_are_checked(override):
    from assistant.errors import ConfigError
    from assistant.insights.config import InsightsConfig

    with pytest.raises(ConfigError):
        InsightsConfig(**override)
