"""The linear classifier trained on the shipped demo sets: predictions, calibration, bad input, folders."""

import json
from pathlib import Path

import pytest

from assistant.classifiers import Prediction, load_classifier
from assistant.errors import InputError, ModelLoadError

# Phrasings that are not in the shipped training set.
NOVEL = [
    ("my parcel hasn't arrived, where is it?", {"shipping", "order_status"}),
    ("我想把这个退了，怎么退款", {"returns_refund"}),
    ("can I get my money back for the broken chair", {"returns_refund"}),
    ("请帮我转接人工客服", {"human_agent"}),
    ("let me speak to a person please", {"human_agent"}),
    ("你们的东西质量太差了，非常生气", {"complaint"}),
    ("hello!", {"greeting"}),
    ("支付宝付款失败了", {"payment"}),
    ("I forgot my password", {"account"}),
    ("这个沙发有没有蓝色", {"product_question"}),
    ("who wrote Hamlet?", {"out_of_scope"}),
    ("帮我写一首诗", {"out_of_scope"}),
]


def test_predicts_new_phrasings(intent_clf):
    preds = intent_clf.predict([t for t, _ in NOVEL])
    right = [p.label in ok for p, (_, ok) in zip(preds, NOVEL, strict=True)]
    assert sum(right) >= 9, [(t, p.label, round(p.score, 2)) for p, (t, _) in zip(preds, NOVEL, strict=True)]


def test_scores_are_probabilities(intent_clf):
    [pred] = intent_clf.predict(["Where is my order?"])
    assert isinstance(pred, Prediction)
    assert set(pred.scores) == set(intent_clf.labels)
    assert sum(pred.scores.values()) == pytest.approx(1.0, abs=1e-6)
    assert pred.score == max(pred.scores.values())


def test_training_report_and_calibration(intent_clf, demo_cfg):
    folder = Path(demo_cfg.intent_model)
    meta = intent_clf.meta
    assert meta["method"] == "linear" and meta["trained"]["rows"] > 300
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["accuracy"] >= 0.7 and report["macro_f1"] >= 0.65
    # Temperature scaling minimises dev NLL, so it can only improve on T = 1.
    assert report["nll"] <= report["uncalibrated_nll"] + 1e-9
    assert intent_clf.temperature != pytest.approx(1.0)
    assert 0.0 <= intent_clf.threshold < 1.0
    assert (folder / "report_confusion_matrix.png").stat().st_size > 1000


def test_sentiment_demo_model(sentiment_clf):
    preds = sentiment_clf.predict(["太棒了，非常喜欢", "terrible, it broke after a day, I am angry",
                                   "这东西太差劲了，很失望", "Great service, thank you!"])
    assert [p.label for p in preds] == ["positive", "negative", "negative", "positive"]


def test_bad_inputs_are_handled(intent_clf):
    texts = ["", "   ", "😀😀😀", "我的order到哪了? where is it", "订单" * 50_000, "x" * 100_000]
    preds = intent_clf.predict(texts)
    assert len(preds) == len(texts)
    empty, blank = preds[0], preds[1]
    assert empty.low_confidence and blank.low_confidence and empty.label == "out_of_scope"
    assert preds[3].label in {"order_status", "shipping"}
    assert all(p.label in intent_clf.labels for p in preds)
    assert intent_clf.predict([]) == []
    with pytest.raises(InputError, match="list of texts"):
        intent_clf.predict("Where is my order?")


def test_save_load_round_trip(intent_clf, tmp_path):
    folder = intent_clf.save(tmp_path / "m")
    again = load_classifier(folder)
    texts = ["退货运费谁出", "is the lamp in stock?", ""]
    assert [p.label for p in again.predict(texts)] == [p.label for p in intent_clf.predict(texts)]
    assert [p.score for p in again.predict(texts)] == pytest.approx([p.score for p in intent_clf.predict(texts)])


def test_missing_and_corrupt_folders(intent_clf, tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_classifier(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="classifier.json is missing"):
        load_classifier(tmp_path / "empty")

    folder = intent_clf.save(tmp_path / "damaged")
    weights = folder / "linear.joblib"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="linear.joblib is missing or damaged"):
        load_classifier(folder)

    folder = intent_clf.save(tmp_path / "badjson")
    (folder / "classifier.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_classifier(folder)


def test_auto_picks_per_language_and_size(monkeypatch):
    import torch

    from assistant.classifiers.model import resolve_method

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    english = [f"how do I top up card number {i}" for i in range(2500)]
    intents = [f"intent_{i % 20}" for i in range(2500)]
    assert resolve_method("auto", english, intents) == "ensemble"  # English intents on a CPU
    assert resolve_method("auto", english[:300], intents[:300]) == "linear"  # small: stays fast
    assert resolve_method("auto", english, ["pos", "neg"] * 1250) == "linear"  # sentiment: not measured better
    chinese = [f"我的订单{i}什么时候到" for i in range(2500)]
    assert resolve_method("auto", chinese, intents) == "linear"  # the LoRA encoder is English-only
    assert resolve_method("linear", english, intents) == "linear"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_method("auto", english, intents) == "lora"


def test_embeddings_are_memoised_while_training_only(monkeypatch):
    """Training shares embeddings between the dev model and the refit; serving must not keep a memo that grows
    with every message the router classifies (and a bench must not time memo hits)."""
    import numpy as np

    from assistant.classifiers import ClassifierConfig, LabelledTexts, linear, train_classifier

    embedded: list[str] = []

    def fake_embed(texts, num_threads=2, batch_size=64, progress=False):
        embedded.extend(texts)
        return np.array([[len(t) % 7, t.count("o"), 1.0] + [0.0] * 381 for t in texts], dtype=np.float32)

    monkeypatch.setattr(linear, "embed_texts", fake_embed)
    texts = ["great product", "I love it", "excellent", "very happy", "terrible", "I hate it", "awful", "very bad"]
    data = LabelledTexts(texts * 3, (["pos"] * 4 + ["neg"] * 4) * 3)
    clf, _ = train_classifier(data, ClassifierConfig(method="linear", dev_fraction=0.25), progress=False)
    assert len(embedded) == len(set(texts)), "training embeds each distinct text once (refit reuses them)"
    embedded.clear()
    for _ in range(3):
        clf.predict(["new message about a parcel"])
    assert embedded == ["new message about a parcel"] * 3  # computed each time, never memoised
    assert clf.backend._emb_cache is None
