"""default_classifiers: trained once on first use, then loaded from the cache folder."""

from pathlib import Path

from assistant.classifiers import ClassifierConfig, LabelledTexts, default_classifiers
from assistant.classifiers.defaults import intent_training_data, load_or_train, sentiment_training_data


def test_cached_after_first_use(default_pair, demo_cfg):
    intent, sentiment = default_pair
    assert "human_agent" in intent.labels and "out_of_scope" in intent.labels
    assert set(sentiment.labels) == {"negative", "neutral", "positive"}
    # Same config in the same process: the very same objects, nothing retrained.
    assert default_classifiers(demo_cfg)[0] is intent
    # A fresh process would load the folder: same fingerprint, so no retraining.
    cfg = ClassifierConfig(**{**vars(demo_cfg), "seed": 7})
    again = load_or_train(Path(cfg.intent_model), intent_training_data(cfg), cfg, "intent")
    assert again.meta["trained"]["created"] == intent.meta["trained"]["created"]


def test_corrupt_cache_is_set_aside_and_retrained(tmp_path):
    data = LabelledTexts(["good", "great", "nice", "love it", "bad", "awful", "poor", "hate it"] * 2,
                         ["pos"] * 4 + ["neg"] * 4 + ["pos"] * 4 + ["neg"] * 4)
    cfg = ClassifierConfig(use_embeddings=False)
    folder = tmp_path / "m"
    load_or_train(folder, data, cfg, "test")
    (folder / "classifier.json").write_text("garbage", encoding="utf-8")
    clf = load_or_train(folder, data, cfg, "test")
    assert clf.predict(["awful"])[0].label == "neg"
    assert len(list(tmp_path.glob("m.corrupt-*"))) == 1


def test_sentiment_data_adds_shared_reviews(shared_data):
    cfg = ClassifierConfig(shared_data_dir=str(shared_data), sentiment_shared_rows=5)
    data = sentiment_training_data(cfg)
    shipped = sentiment_training_data(ClassifierConfig(sentiment_shared_rows=0))
    assert len(shipped) < len(data) <= len(shipped) + 20
    assert set(data.labels) == {"negative", "neutral", "positive"}
