"""transformers backend: the embedded GGUF dequantised, peft adapters hot-swapped; bnb 4-bit on CUDA."""

import pytest

from assistant.errors import ModelLoadError, NotFoundError
from assistant.llm import LLMConfig, Message, build_backend
from assistant.llm.quantization import cuda_available, get_quantization_config


@pytest.fixture(scope="module")
def tf_backend(tmp_path_factory):
    pytest.importorskip("transformers")
    return build_backend(LLMConfig(backend="transformers", model="smollm2-135m", max_tokens=12, temperature=0.0))


@pytest.mark.slow
def test_transformers_backend_generates_and_streams(tf_backend):
    msgs = [Message("user", "What is the capital of France? One word.")]
    whole = tf_backend.generate(msgs)
    assert "Paris" in whole
    pieces = list(tf_backend.stream(msgs))
    assert "".join(pieces) == whole


@pytest.mark.slow
def test_transformers_backend_hot_swaps_peft_adapters(tf_backend, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model

    # Two adapters with different random B matrices give different outputs than the base.
    base = tf_backend.model
    for name, seed in (("support", 1), ("adcopy", 2)):
        torch.manual_seed(seed)
        peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"]))
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                torch.nn.init.normal_(p, std=0.5)
        peft_model.save_pretrained(tmp_path / name)
        base = peft_model.unload()
    tf_backend.model = base
    tf_backend.load_adapter("support", str(tmp_path / "support"))
    tf_backend.load_adapter("adcopy", str(tmp_path / "adcopy"))
    msgs = [Message("user", "Say hello.")]
    plain = tf_backend.generate(msgs)
    sup = tf_backend.generate(msgs, adapter="support")
    ad = tf_backend.generate(msgs, adapter="adcopy")
    assert sup != plain and ad != plain and sup != ad
    assert tf_backend.generate(msgs) == plain, "the base must come back unchanged after adapter calls"
    with pytest.raises(NotFoundError):
        tf_backend.generate(msgs, adapter="nope")


def test_4bit_without_cuda_is_a_clear_error():
    if cuda_available():
        pytest.skip("CUDA present")
    with pytest.raises(ModelLoadError, match="needs a CUDA GPU"):
        get_quantization_config(True)
    assert get_quantization_config(False) is None


@pytest.mark.gpu
def test_bnb_4bit_backend_on_cuda(gpu_base_model):
    backend = build_backend(LLMConfig(backend="transformers", model=gpu_base_model, load_in_4bit=True,
                                      max_tokens=8, temperature=0.0))
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in backend.model.modules())
    assert backend.generate([Message("user", "Say hi.")])
