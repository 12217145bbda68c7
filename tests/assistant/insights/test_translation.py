"""Gap questions put into one language before grouping: a topic asked in Chinese and English stays one group
even where the embedder sees nothing in common between the two wordings; translations are remembered; with the
fake backend nothing is translated and the report groups as before."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from assistant.llm import FakeBackend

DIM = 8
# English questions sit on their topic's axis; the Chinese ones on axes of their own (the embedder finds no
# common ground), so only their translations can join them to the English ones.
AXES = {"Do you sell gift cards?": 0, "can I buy a voucher for a friend": 0, "Is there parking near the shop?": 1,
        "有礼品卡吗": 2, "门店附近能停车吗": 3, "gift cards?": 0, "parking near the shop?": 1}
TRANSLATIONS = {"有礼品卡吗": "gift cards?", "门店附近能停车吗": "parking near the shop?"}


class AxisEmbedder:
    name = "axis"

    def embed_query(self, text):
        v = np.full(DIM, 0.05)
        v[AXES[text]] = 1.0
        v[7] = 0.8 if any("\u4e00" <= ch <= "\u9fff" for ch in text) else 0.0  # a language direction
        return list(v / np.linalg.norm(v))

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]


def _cands():
    now = datetime(2026, 5, 1, 12)
    rows = [(1, "Do you sell gift cards?", "en"), (2, "can I buy a voucher for a friend", "en"), (3, "有礼品卡吗", "zh"),
            (4, "Is there parking near the shop?", "en"), (5, "门店附近能停车吗", "zh")]
    return pd.DataFrame([{"turn_id": i, "time": now - timedelta(minutes=i), "session_id": f"s{i}", "question": q,
                          "language": lang, "reason": "declined", "answer": "", "action": "decline"}
                         for i, q, lang in rows]), now


def _topics(groups):
    return sorted(sorted(e["question"] for e in g.examples) for g in groups)


def test_translated_questions_join_their_topic_and_the_report_keeps_the_customers_words():
    from assistant.insights.gaps import build_groups

    cands, now = _cands()
    alone = build_groups(cands, AxisEmbedder(), threshold=0.4, half_life_days=7, now=now)
    assert len(alone) == 4  # without translations each Chinese question is a group of its own
    unweighted = build_groups(cands, AxisEmbedder(), threshold=0.4, half_life_days=7, now=now,
                              translations=TRANSLATIONS, translation_weight=0.0)
    assert _topics(unweighted) == _topics(alone)
    # half the similarity from the translations (the default blend), half from the customers' own words
    together = build_groups(cands, AxisEmbedder(), threshold=0.4, half_life_days=7, now=now,
                            translations=TRANSLATIONS, translated_lang="en")
    assert _topics(together) == [["Do you sell gift cards?", "can I buy a voucher for a friend", "有礼品卡吗"],
                                 ["Is there parking near the shop?", "门店附近能停车吗"]]
    gift = next(g for g in together if g.count == 3)
    assert gift.languages == {"en": 2, "zh": 1}  # the customers' own language, not the translation's
    assert "有礼品卡吗" in {q["question"] for q in gift.questions} and gift.label in AXES and gift.label not in TRANSLATIONS.values()


def test_only_other_language_questions_are_translated_once_and_remembered(tmp_path):
    from assistant.insights.grouping import QuestionTranslator

    backend = FakeBackend(["gift cards?\n(translated)", "parking near the shop?"])
    cache = tmp_path / "cache" / "tr.json"
    tr = QuestionTranslator(backend, "Translate into English.", "en", cache)
    texts = ["Do you sell gift cards?", "门店附近能停车吗", "有礼品卡吗", "有礼品卡吗"]
    langs = ["en", "zh", "zh", "zh"]
    # newest (last) first; the first line of the reply only
    assert tr.translate(texts, langs) == TRANSLATIONS
    assert [c["messages"][-1].content for c in backend.calls] == ["有礼品卡吗", "门店附近能停车吗"]
    assert backend.calls[0]["messages"][0].content == "Translate into English."
    assert tr.translate(texts, langs) == TRANSLATIONS and len(backend.calls) == 2  # from memory
    again = QuestionTranslator(FakeBackend(), "Translate into English.", "en", cache)
    assert again.translate(texts, langs) == TRANSLATIONS and again.translated == 0  # from the file


def test_translations_per_report_are_capped_and_a_failed_one_is_not_used(tmp_path):
    from assistant.insights.grouping import QuestionTranslator

    backend = FakeBackend([RuntimeError("model crashed"), "gift cards?"])
    tr = QuestionTranslator(backend, "Translate into English.", "en", None, max_new=1)
    texts, langs = ["有礼品卡吗", "门店附近能停车吗"], ["zh", "zh"]
    assert tr.translate(texts, langs) == {} and len(backend.calls) == 1  # the newest failed; the cap stops there
    assert tr.translate(texts, langs) == {"门店附近能停车吗": "gift cards?"}  # the next report tries it again


def test_old_translations_leave_the_cache_with_the_store_retention(tmp_path):
    import json
    import time

    from assistant.insights.grouping import QuestionTranslator

    cache = tmp_path / "tr.json"
    cache.write_text(json.dumps({"old": {"text": "x", "used": time.time() - 40 * 86400}}), encoding="utf-8")
    tr = QuestionTranslator(FakeBackend(["gift cards?"]), "p", "en", cache, keep_days=30)
    tr.translate(["有礼品卡吗"], ["zh"])
    kept = json.loads(cache.read_text(encoding="utf-8"))
    assert "old" not in kept and [v["text"] for v in kept.values()] == ["gift cards?"]


def test_with_the_fake_backend_the_report_translates_nothing(runtime, monkeypatch):
    from assistant.insights.grouping import question_translator

    assert not runtime.settings.insights.translate_questions  # off by default
    assert question_translator(runtime) is None
    monkeypatch.setattr(runtime.settings.insights, "translate_questions", True)  # on: the fake backend cannot translate
    assert question_translator(runtime) is None


def test_the_report_groups_the_translations_of_the_runtime_translator(runtime, monkeypatch):
    from assistant.insights import gaps
    from assistant.insights.grouping import QuestionTranslator

    backend = FakeBackend(default="")
    runtime.component("gap_translator", lambda: QuestionTranslator(backend, "p", "en"))
    seen = {}

    def spy(cands, embedder, **options):
        seen.update(options)
        return []

    monkeypatch.setattr(gaps, "build_groups", spy)
    cands, now = _cands()
    backend.default = "gift cards?"
    monkeypatch.setattr(runtime.settings.insights, "translate_questions", True)  # off by default
    monkeypatch.setattr(runtime.settings.insights, "grouping", "shop")  # the grouping that compares translations
    gaps.build_groups_for(runtime, cands, now)
    assert seen["translations"] == {"有礼品卡吗": "gift cards?", "门店附近能停车吗": "gift cards?"}
    assert seen["translated_lang"] == "en"
    assert seen["threshold"] == runtime.settings.insights.translated_group_threshold != \
        runtime.settings.insights.group_threshold
    seen.clear()
    runtime.settings.insights.translate_questions = False
    gaps.build_groups_for(runtime, cands, now)
    assert "translations" not in seen and seen["threshold"] == runtime.settings.insights.group_threshold


@pytest.mark.parametrize("override", [{"pivot_language": "fr"}, {"translate_per_report": -1},
                                      {"translation_weight": 1.5}, {"translated_group_threshold": 0.0}])
def test_translation_settings_are_checked(override):
    from assistant.errors import ConfigError
    from assistant.insights.config import InsightsConfig

    with pytest.raises(ConfigError):
        InsightsConfig(**override)
