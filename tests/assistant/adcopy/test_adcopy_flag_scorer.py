"""The word-flag score (flag_scorer.py): a flag under the threshold is cleared, one at or over it stays, exact facts
and comparison words are never scored, any failure keeps every flag, and the model file round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.adcopy.facts import Claim, FactChecker
from assistant.adcopy.flag_scorer import (
    DEFAULT_MODEL_FILE,
    FlagFeaturizer,
    FlagModel,
    FlagScorer,
    ScoredFlag,
    flag_groups,
)
from assistant.errors import ConfigError

ROW = "Linen duvet cover, stonewashed, 200x230 cm. Soft, breathable."
WORD_ONLY = "Stonewashed linen with a hidden pocket"
WITH_NUMBER = "Stonewashed linen with a hidden pocket, 300 thread count"


class FakeReader:
    """Log-odds per clause from a table (0 for any other), recording the questions asked."""

    def __init__(self, odds: dict[str, float] | None = None, error: Exception | None = None):
        self.odds, self.error, self.asked = odds or {}, error, []

    def log_odds(self, info, clause, words):
        self.asked.append((clause, tuple(words)))
        if self.error:
            raise self.error
        return self.odds.get(clause, 0.0)


def reader_model(threshold: float = 0.5) -> FlagModel:
    # supported (high log-odds) -> low invention score
    return FlagModel(("reader_log_odds",), (-2.0,), 0.0, (0.0,), (1.0,), threshold, reader="fake")


@pytest.fixture(scope="module")
def plain() -> FactChecker:
    return FactChecker()


def test_model_score_follows_the_weights_and_the_file_round_trips(tmp_path):
    m = reader_model()
    assert m.score({"reader_log_odds": 3.0}) < 0.01 < 0.99 < m.score({"reader_log_odds": -3.0})
    assert m.score({"reader_log_odds": 0.0}) == pytest.approx(0.5)
    path = tmp_path / "m.json"
    m.save(path)
    again = FlagModel.load(path)
    assert again.to_dict() == m.to_dict()


@pytest.mark.parametrize("bad, match", [
    ({"features": ["colour_of_sky"]}, "unknown feature"),
    ({"weights": [1.0, 2.0]}, "same length"),
    ({"threshold": 1.5}, "threshold"),
    ({"reader": ""}, "no reader model"),
])
def test_model_file_is_validated(tmp_path, bad, match):
    data = reader_model().to_dict() | bad
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=match):
        FlagModel.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        FlagModel.load(tmp_path / "missing.json")


def test_the_shipped_model_loads():
    m = FlagModel.load(DEFAULT_MODEL_FILE)
    assert 0.0 <= m.threshold <= 1.0 and m.features and "planted" in m.note


def test_a_supported_clause_clears_its_flags_an_unsupported_one_keeps_them(plain):
    flags = plain.unsupported(WORD_ONLY, ROW)
    assert flags and {c.kind for c in flags} == {"word"}  # the premise
    cleared = FactChecker(reader=FlagScorer(reader_model(), FlagFeaturizer(FakeReader({WORD_ONLY: 2.0}))))
    assert cleared.unsupported(WORD_ONLY, ROW) == []
    scorer = FlagScorer(reader_model(), FlagFeaturizer(FakeReader({WORD_ONLY: -2.0})))
    kept = FactChecker(reader=scorer).unsupported(WORD_ONLY, ROW)
    assert kept == flags
    # each kept flag is explainable: word, why and score
    assert scorer.last and all(isinstance(s, ScoredFlag) and s.score > 0.9 for s in scorer.last)
    assert "score 0.98" in str(scorer.last[0]) and scorer.last[0].claim.why in str(scorer.last[0])


def test_the_threshold_decides(plain):
    at = reader_model(0.5)
    reader = FakeReader({WORD_ONLY: 0.0})  # score exactly 0.5: kept (>= threshold)
    assert FactChecker(reader=FlagScorer(at, FlagFeaturizer(reader))).unsupported(WORD_ONLY, ROW)
    lower = reader_model(0.6)
    assert FactChecker(reader=FlagScorer(lower, FlagFeaturizer(reader))).unsupported(WORD_ONLY, ROW) == []


def test_exact_facts_are_never_scored_and_keep_the_text_failing(plain):
    reader = FakeReader({WORD_ONLY: 5.0})
    flags = FactChecker(reader=FlagScorer(reader_model(), FlagFeaturizer(reader))).unsupported(WITH_NUMBER, ROW)
    assert flags == plain.unsupported(WITH_NUMBER, ROW) and reader.asked == []


def test_comparison_words_are_never_scored():
    text = "the only pocket you will ever need"
    claims = [Claim("word", "ever", "ever", "a comparison or absolute"), Claim("word", "pocket", "pocket", "x")]
    groups, fixed = flag_groups(text, claims)
    assert fixed == [claims[0]] and [c for _, cs in groups for c in cs] == [claims[1]]
    assert FlagScorer(reader_model(0.0), FlagFeaturizer(FakeReader())).keep(text, ROW, claims) == claims
    # a threshold of 1 clears every scored flag, never the comparison
    assert FlagScorer(reader_model(1.0), FlagFeaturizer(FakeReader())).keep(text, ROW, claims) == [claims[0]]


def test_any_failure_keeps_every_flag(plain):
    scorer = FlagScorer(reader_model(), FlagFeaturizer(FakeReader(error=RuntimeError("llama.cpp died"))))
    assert FactChecker(reader=scorer).unsupported(WORD_ONLY, ROW) == plain.unsupported(WORD_ONLY, ROW)


def test_one_question_per_clause_and_the_features_of_each_flag():
    def embed(texts):  # deterministic: "pocket" points where the row does, everything else elsewhere
        return np.array([[1.0, 0.0] if ("pocket" in t or "Linen" in t) else [0.0, 1.0] for t in texts])

    reader = FakeReader({"with a hidden pocket": -1.0})
    claims = [Claim("word", "hidden", "hidden", "not in the product data nor a generic ad word"),
              Claim("word", "pocket", "pocket", "not in the product data nor a generic ad word"),
              Claim("word", "摄像头", "摄像头", "names a thing")]
    feats, fixed = FlagFeaturizer(reader, embed).features("Soft linen, with a hidden pocket, 摄像头", ROW, claims)
    assert fixed == [] and len(reader.asked) == 2
    by_word = {f.claim.text: f.values for f in feats}
    assert by_word["pocket"]["reader_log_odds"] == -1.0 and by_word["摄像头"]["reader_log_odds"] == 0.0
    assert by_word["pocket"]["english"] == 1.0 and by_word["摄像头"]["english"] == 0.0
    assert by_word["摄像头"]["thing"] == 1.0 and by_word["pocket"]["thing"] == 0.0
    assert by_word["pocket"]["sim_row"] == pytest.approx(1.0) and by_word["hidden"]["sim_row"] == pytest.approx(0.0)


def test_signals_the_model_does_not_use_are_not_computed():
    reader = FakeReader()
    why_only = FlagModel(("thing", "english"), (1.0, 1.0), 0.0, (0.0, 0.0), (1.0, 1.0), 0.5)
    scorer = FlagScorer(why_only, FlagFeaturizer(reader, embed=lambda texts: 1 / 0))
    scored, _ = scorer.score(WORD_ONLY, ROW, FactChecker().unsupported(WORD_ONLY, ROW))
    assert scored and reader.asked == []


def test_the_setting_picks_the_scorer_over_the_yes_no_reader():
    from types import SimpleNamespace

    from assistant.adcopy import AdCopyConfig
    from assistant.adcopy.claim_reader import ClaimReader, claim_reader_for

    assert AdCopyConfig().flag_score is False  # off by default
    llm = SimpleNamespace(n_threads=1, cache_dir="")
    on = SimpleNamespace(adcopy=AdCopyConfig(flag_score=True, claim_reader="qwen2.5-1.5b"), llm=llm)
    assert isinstance(claim_reader_for("qwen2.5-1.5b", None, on), FlagScorer)
    off = SimpleNamespace(adcopy=AdCopyConfig(claim_reader="qwen2.5-1.5b"), llm=llm)
    assert isinstance(claim_reader_for("qwen2.5-1.5b", None, off), ClaimReader)
    assert claim_reader_for("", None, SimpleNamespace(adcopy=AdCopyConfig(), llm=llm)) is None
    # a generator built with an AdCopyConfig and no settings passes its own flag_score
    assert isinstance(claim_reader_for("", None, None, flag_score=True), FlagScorer)


@pytest.mark.slow
def test_log_odds_of_the_real_reader_rank_a_paraphrase_over_an_invention():
    from assistant.adcopy.claim_reader import LogOddsReader
    from assistant.errors import ModelLoadError

    reader = LogOddsReader("qwen2.5-1.5b", threads=2)
    info = "Bamboo cutting board, 40x30 cm, juice groove, easy to clean."
    try:
        said = reader.log_odds(info, "it wipes clean in seconds", ["wipes"])
    except ModelLoadError as exc:
        pytest.skip(f"qwen2.5-1.5b not available: {exc}")
    invented = reader.log_odds(info, "with a gold medal from the Global Board Awards", ["gold", "medal"])
    assert said > invented and reader.calls == 2


def test_the_bench_threshold_loses_no_planted_text_it_was_fitted_on():
    from bench.claim_scorer import evaluate, fit

    def text(side, odds, fixed=False):
        label = int(side == "planted")
        return {"set": "s", "side": side, "fixed": fixed,
                "flags": [{"values": {"reader_log_odds": o}, "label": label} for o in odds]}
    # inventions mostly read as unsupported (low log-odds), one as supported; clean copy mostly supported
    texts = [text("planted", [-2.0]), text("planted", [-1.0, 3.0]), text("planted", [1.5]), text("planted", [], True),
             text("clean", [2.5]), text("clean", [3.0]), text("clean", [0.5]), text("clean", [])]
    model = fit(texts, ("reader_log_odds",), max_loss=0.0, reader="fake")
    assert evaluate(texts, None) == {"recall_pct": 100.0, "false_alarm_pct": 75.0}
    after = evaluate(texts, model)
    assert after["recall_pct"] == 100.0 and after["false_alarm_pct"] == 25.0  # 2.5 and 3.0 cleared, 0.5 kept


def test_the_row_is_embedded_once_for_all_its_assets():
    seen = []

    def embed(texts):
        seen.extend(texts)
        return np.ones((len(texts), 2))

    featurizer = FlagFeaturizer(None, embed)
    for text in (WORD_ONLY, "Stonewashed linen with a zipper"):
        featurizer.features(text, ROW, FactChecker().unsupported(text, ROW))
    assert seen.count(ROW) == 1 and seen.count("pocket") == 1 and "zipper" in seen
