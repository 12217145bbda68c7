"""bench/classifiers.py: the summary keeps the shipped choice first and every method run beside it by name."""

from __future__ import annotations

from bench.classifiers import DATASET_EXTRA_METHODS, HEADLINES, METHODS, summarise


def _row(method: str, accuracy: float, wall: float) -> dict:
    return {"dataset": "zh_sentiment", "method": method, "accuracy": accuracy, "macro_f1": accuracy,
            "train_wall_s": wall, "goal": 0.92, "met": accuracy >= 0.92}


def test_summary_names_each_method_beside_the_shipped_choice():
    results = {"rows": [_row("auto->linear", 0.9145, 300.0), _row("ngrams", 0.913, 100.0),
                        _row("e5-ensemble", 0.925, 2400.0)],
               "baselines": {"zh_sentiment": {"snownlp": {"accuracy": 0.818}}}}
    entry = summarise(results)["zh_sentiment"]
    assert entry["method"] == "auto->linear" and entry["accuracy"] == 0.9145 and entry["met"] is False
    assert entry["ngrams_accuracy"] == 0.913
    assert entry["e5-ensemble_accuracy"] == 0.925 and entry["e5-ensemble_train_wall_s"] == 2400.0
    assert entry["snownlp_accuracy"] == 0.818


def test_extra_methods_and_their_headlines_exist():
    for methods in DATASET_EXTRA_METHODS.values():
        assert all(m in METHODS for m in methods)
    keys = {h[1] for h in HEADLINES}
    assert "summary.zh_sentiment.e5-ensemble_accuracy" in keys
