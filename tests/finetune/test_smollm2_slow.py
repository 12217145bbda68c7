"""The real thing, small: SmolLM2 trains a few steps, exports a GGUF LoRA, llama.cpp serves it.

The GGUF is checked against transformers: the change the adapter makes to the next-token logits in
llama.cpp must point the same way as in transformers (cosine of the two logit deltas).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    from finetune.config import FinetuneConfig
    from finetune.data import demo_path
    from finetune.pipeline import run_train

    tmp = tmp_path_factory.mktemp("smol")
    data = tmp / "slice.jsonl"
    data.write_text("\n".join(demo_path("support").read_text(encoding="utf-8").splitlines()[:10]) + "\n",
                    encoding="utf-8")
    cfg = FinetuneConfig(method="lora", max_steps=3, learning_rate=5e-3, batch_size=2, max_seq_len=256,
                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], num_samples=0, metric_examples=0,
                         register=False, eval_fraction=0.2, device="cpu")
    result = run_train(cfg, data, tmp / "adapter", progress=False)
    return result


def test_gguf_lora_changes_llama_cpp_like_it_changes_transformers(trained):
    import numpy as np
    import torch
    from llama_cpp import Llama

    from assistant.llm.embedded import smollm2_path
    from finetune.export import load_adapter

    assert trained.gguf is not None and trained.gguf.exists()
    assert (trained.output / "report.md").exists()
    model, tok, _ = load_adapter(trained.output)
    prompt = tok.apply_chat_template([{"role": "user", "content": "Do you offer free shipping?"}],
                                     tokenize=False, add_generation_prompt=True)
    base = Llama(model_path=str(smollm2_path()), n_ctx=256, logits_all=True, verbose=False, n_threads=2)
    ids = base.tokenize(prompt.encode(), add_bos=False, special=True)
    base.eval(ids)
    cpp_base = np.array(base.scores[: len(ids)])
    lora = Llama(model_path=str(smollm2_path()), lora_path=str(trained.gguf), n_ctx=256, logits_all=True,
                 verbose=False, n_threads=2)
    lora.eval(ids)
    cpp_lora = np.array(lora.scores[: len(ids)])
    with torch.no_grad():
        x = torch.tensor([ids])
        hf_lora = model(input_ids=x).logits[0].numpy()
        with model.disable_adapter():
            hf_base = model(input_ids=x).logits[0].numpy()
    d_cpp, d_hf = (cpp_lora - cpp_base)[-8:].ravel(), (hf_lora - hf_base)[-8:].ravel()
    assert np.linalg.norm(d_hf) > 1.0  # the adapter does change the model
    cosine = float(d_cpp @ d_hf / (np.linalg.norm(d_cpp) * np.linalg.norm(d_hf)))
    assert cosine > 0.9, cosine


def test_llamacpp_backend_serves_the_trained_adapter(trained):
    from assistant.llm import LLMConfig, build_backend

    backend = build_backend(LLMConfig(backend="llamacpp", model="smollm2-135m", n_ctx=512, max_tokens=24,
                                      temperature=0.0, adapters={"support": str(trained.gguf)}))
    question = [("user", "How long is the warranty on furniture?")]
    base, tuned = backend.generate(question), backend.generate(question, adapter="support")
    assert tuned and tuned != base
