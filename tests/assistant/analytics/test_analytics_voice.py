"""Consumer voice: lexicon, aspects, sentiment trend and spikes, classifier integration."""

from __future__ import annotations

import pandas as pd
import pytest

from assistant.analytics.aspects import analyze_aspects, extract_aspects
from assistant.analytics.config import AnalyticsConfig
from assistant.analytics.io import Table
from assistant.analytics.lexicon import LexiconSentiment, polarity
from assistant.analytics.sentiment import analyze_sentiment, load_sentiment_model, robust_z, sentiment_trend
from assistant.errors import ModelLoadError


@pytest.mark.parametrize("text,sign", [("质量很好，物流也快", 1), ("太失望了，质量很差", -1), ("不太好用", -1),
                                       ("还不错", 1), ("快递员送到了", 0), ("not good at all", -1),
                                       ("never late, great service", 1), ("The box was crushed", -1)])
def test_lexicon_polarity_handles_negation_and_compounds(text, sign):
    p = polarity(text)
    assert (p > 0) - (p < 0) == sign


def test_aspects_take_the_sentiment_of_their_own_clause():
    found = {a: s for a, _, s, _ in extract_aspects("物流很快，但是质量很差", "neutral")}
    assert found == {"shipping": "positive", "quality": "negative"}
    found = {a: s for a, _, s, _ in extract_aspects("Great price, but the package was damaged.", "neutral")}
    assert found == {"price": "positive", "packaging": "negative"}


def test_trend_fills_quiet_periods_and_flags_a_volume_spike():
    days = pd.to_datetime(["2026-01-05"] * 3 + ["2026-01-19"] * 2 + ["2026-02-02"] * 30 + ["2026-02-09"] * 3
                          + ["2026-02-16"] * 2)
    labels = pd.Series(["negative"] * 30 + ["positive"] * 10, index=days.to_series().index)
    trend = sentiment_trend(days.to_series(), labels, "week", spike_z=3.0)
    assert len(trend) == 7  # the empty weeks of 12 and 26 January are there, with n = 0
    assert trend.loc[trend["n"] == 0].shape[0] == 2
    assert trend.loc[trend["spike"], "period"].dt.strftime("%Y-%m-%d").tolist() == ["2026-02-02"]
    assert abs(robust_z(pd.Series([1.0, 1.0, 1.0])).sum()) < 1e-9


def test_sentiment_on_demo_reviews(tables, cfg, tmp_path):
    res = analyze_sentiment(tables["reviews"], cfg, group_column="product")
    f = res.facts
    assert f["positive_share"] > f["negative_share"] > 0.05
    assert "lexicon fallback" in f["model"] and any("fallback" in n for n in res.notes)
    # The 618 festival week is the generated spike.
    assert "2026-06-15" in f["spikes"]
    # Quality complaints grow in the last quarter. One week of ~20 reviews is too noisy to show it (the first and
    # last weeks once did only because the last was a partial week): compare a quarter of whole weeks each.
    trend = res.tables["trend"]
    whole = trend[~trend["partial"]]
    assert whole["net"].tail(13).mean() < whole["net"].head(13).mean() - 0.1
    assert f["trend_first_net"] == whole["net"].iloc[0] and f["partial_periods"] == ["2025-09-29", "2026-09-28"]
    long = res.tables["trend_long"]
    assert set(long.columns) == {"period", "sentiment", "share"} and len(long) == 3 * len(res.tables["trend"])
    files = res.save(tmp_path)
    assert files["sentiment_trend.png"].stat().st_size > 5000
    assert "Volume spikes" in files["sentiment_summary.md"].read_text()
    res.close()


def test_no_date_column_is_a_note_not_a_crash(cfg):
    table = Table(pd.DataFrame({"review": ["很好", "很差", "great", "bad"] * 5}), "x.csv")
    res = analyze_sentiment(table, cfg)
    assert "trend" not in res.tables and any("no date column" in n for n in res.notes)


def test_aspects_on_demo_reviews(tables, cfg):
    res = analyze_aspects(tables["reviews"], cfg)
    tab = res.tables["table"].set_index("aspect")
    assert {"shipping", "quality", "price", "service", "packaging"} <= set(tab.index)
    comp = res.tables["complaints"]
    assert len(comp) >= 3 and comp["examples"].str.len().min() > 3
    assert comp["negative_mentions"].is_monotonic_decreasing


class _FakeClassifier:
    def predict(self, texts):
        from assistant.classifiers import Prediction

        return [Prediction("positive" if "好" in t else "negative", 0.9,
                           {"positive": 0.9 if "好" in t else 0.1, "negative": 0.1 if "好" in t else 0.9})
                for t in texts]


def test_project_classifier_is_used_when_it_loads(monkeypatch):
    import assistant.classifiers as classifiers

    monkeypatch.setattr(classifiers, "default_classifiers", lambda cfg=None: (None, _FakeClassifier()))
    model, name = load_sentiment_model(AnalyticsConfig(), settings=object())
    assert name.startswith("project classifier")
    res = analyze_sentiment(Table(pd.DataFrame({"text": ["很好", "差"] * 10}), "t.csv"), AnalyticsConfig(),
                            model=model)
    assert res.facts["positive_share"] == 0.5 and res.tables["scored"]["polarity"].abs().max() == pytest.approx(0.8)


def test_classifier_failure_falls_back_unless_forced(monkeypatch):
    import assistant.classifiers as classifiers

    def broken(cfg=None):
        raise ModelLoadError("no model on disk")

    monkeypatch.setattr(classifiers, "default_classifiers", broken)
    model, name = load_sentiment_model(AnalyticsConfig(), settings=object())
    assert isinstance(model, LexiconSentiment) and "fallback" in name and "no model on disk" in name
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_sentiment_model(AnalyticsConfig(sentiment_model="classifier"), settings=object())


def test_real_chinese_reviews_when_shared_data_is_there(shared_data, cfg):
    path = shared_data / "online_shopping_10_cats" / "train.csv"
    if not path.is_file():
        pytest.skip("online_shopping_10_cats is not in ../shared/data")
    df = pd.read_csv(path).dropna(subset=["review"]).sample(400, random_state=0)
    table = Table(df.reset_index(drop=True), str(path))
    res = analyze_sentiment(table, cfg, text_column="review", group_column="cat")
    pred = res.tables["scored"]["sentiment"]
    decided = pred != "neutral"
    truth = df["label"].map({1: "positive", 0: "negative"}).values
    # The lexicon is a fallback, but it must be far better than a coin on the reviews it decides.
    assert (pred[decided].values == truth[decided.values]).mean() > 0.7
    assert len(analyze_aspects(table, cfg, text_column="review").tables["table"]) >= 3


def test_auto_does_not_train_the_classifier_as_a_side_effect(monkeypatch, tmp_path):
    import types

    import assistant.classifiers as classifiers

    def must_not_run(cfg=None):
        raise AssertionError("default_classifiers would train here")

    monkeypatch.setattr(classifiers, "default_classifiers", must_not_run)
    settings = types.SimpleNamespace(classifiers=types.SimpleNamespace(sentiment_model=str(tmp_path / "none")))
    model, name = load_sentiment_model(AnalyticsConfig(), settings)
    assert isinstance(model, LexiconSentiment) and "not trained yet" in name


def test_slow_classifier_scores_a_sample_of_big_inputs():
    table = Table(pd.DataFrame({"text": ["很好", "差"] * 150, "date": pd.date_range("2026-01-01", periods=300)}), "t")
    res = analyze_sentiment(table, AnalyticsConfig(classifier_max_rows=100), model=_FakeClassifier())
    assert len(res.tables["scored"]) == 100 and res.tables["trend"]["n"].sum() == 100
    assert any("uniform random sample of 100 of 300" in n for n in res.notes)
    lexicon = analyze_sentiment(table, AnalyticsConfig(classifier_max_rows=100, sentiment_model="lexicon"))
    assert len(lexicon.tables["scored"]) == 300  # the fast fallback scores every row
