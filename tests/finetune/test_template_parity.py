"""Template parity: what an adapter is trained on is what llama.cpp serves it.

(a) The prompt token ids of training (finetune.dataset.encode, the tokenizer transformers loads from the GGUF)
    equal the ids llama.cpp evaluates when the app's llamacpp backend answers the same messages, for 20
    conversations (system prompts, several turns, Chinese and English).
(b) A briefly trained LoRA answers the same, greedily, from the merged transformers model and from llama.cpp
    with the GGUF LoRA on a full-precision (f32) GGUF of the very base weights transformers trained on, for
    the same 20 conversations. (Against the shipped Q4 file the outputs differ by quantisation alone.)
"""

from __future__ import annotations

import pytest

SYSTEMS = {
    "en": "You are the support assistant of Aurora Home. Answer in one or two sentences.\n\nFacts:\n- Shipping is "
          "¥15, free from ¥199.\n- Returns: within 30 days.",
    "zh": "你是极光家居的客服助手。只用下面的资料回答，一两句话。\n\n资料:\n- 运费15元，满199元包邮。\n- 30天内可退货。",
}
TURNS = {
    "en": ["Do you ship to Macau?", "How much is it?", "  What about returns — 30 days?  ", "OK 👍 thanks!",
           "Order #A-1029: where is it?\nIt was due Monday.", "Is the oak table (120 x 80 cm) in stock?"],
    "zh": ["你们发货到澳门吗？", "运费多少钱？", "退货政策是什么？ 30天吗", "好的👍谢谢！", "订单号A-1029到哪了？\n说好周一到的。",
           "橡木餐桌（120 x 80 cm）有货吗？"],
}
ANSWERS = {"en": "Yes: shipping to Macau costs ¥45.", "zh": "可以，发往澳门运费45元。"}


def conversations() -> list[list[dict]]:
    """20 conversations: with and without a system prompt, 1 to 3 user turns, in both languages."""
    out = []
    for lang in ("en", "zh"):
        turns = TURNS[lang]
        for i in range(10):
            msgs = [{"role": "system", "content": SYSTEMS[lang]}] if i % 2 == 0 else []
            for j in range(1 + i % 3):
                if j:
                    msgs.append({"role": "assistant", "content": ANSWERS[lang]})
                msgs.append({"role": "user", "content": turns[(i + j) % len(turns)]})
            out.append(msgs)
    return out


def training_tokenizer(profile: str):
    """The tokenizer `python -m finetune train` uses (assistant.llm.hf_loading.load_causal_lm), without the weights."""
    import transformers

    from assistant.llm.embedded import default_cache_dir
    from assistant.llm.hf_loading import resolve_model_source

    folder, gguf_file, model_id = resolve_model_source(profile)
    cached = default_cache_dir() / "hf" / model_id.replace("/", "--")
    if (cached / "config.json").exists():
        folder, gguf_file = str(cached), None
    return transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)


def training_prompt_ids(tok, messages: list[dict]) -> list[int]:
    """The ids training puts before the answer it learns: encode(conversation + answer), up to the answer."""
    from finetune.dataset import IGNORE, encode

    ids, labels = encode(tok, [*messages, {"role": "assistant", "content": "ANSWER"}])
    start = max(i for i in range(1, len(labels)) if labels[i] != IGNORE and labels[i - 1] == IGNORE)
    return ids[:start]


class _Captured(Exception):
    pass


def serving_prompt_ids(backend, messages: list[dict]) -> list[int]:
    """The ids llama.cpp evaluates when the app's backend answers `messages` (its chat handler's prompt)."""
    seen = {}

    def capture(prompt, **_):
        seen["ids"] = list(prompt)
        raise _Captured

    backend.llama.create_completion = capture
    with pytest.raises(_Captured):
        backend.generate([(m["role"], m["content"]) for m in messages])
    return seen["ids"]


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["smollm2-135m", "qwen2.5-0.5b"])
def test_training_and_serving_prompt_ids_are_identical(profile):
    pytest.importorskip("llama_cpp")
    from assistant.llm import LLMConfig
    from assistant.llm.embedded import resolve_embedded
    from assistant.llm.llamacpp_backend import LlamaCppBackend

    tok = training_tokenizer(profile)
    backend = LlamaCppBackend(LLMConfig(backend="llamacpp", model=profile, n_ctx=2048, max_tokens=8),
                              resolve_embedded(profile).path)
    convs = conversations()
    assert len(convs) == 20 and {len(c) for c in convs} >= {1, 2, 4, 5}
    mismatched = []
    for msgs in convs:
        train, serve = training_prompt_ids(tok, msgs), serving_prompt_ids(backend, msgs)
        if train != serve:
            mismatched.append((msgs[-1]["content"], tok.decode(train[-12:]), tok.decode(serve[-12:])))
    assert not mismatched, mismatched


@pytest.fixture(scope="module")
def smol_lora(tmp_path_factory):
    """SmolLM2 with a LoRA trained for a few steps (peft folder + GGUF), and an f32 GGUF of its base weights."""
    pytest.importorskip("llama_cpp")
    from assistant.llm.embedded import smollm2_path
    from finetune.config import FinetuneConfig
    from finetune.data import demo_path
    from finetune.export import export_gguf_base
    from finetune.pipeline import run_train

    tmp = tmp_path_factory.mktemp("parity")
    data = tmp / "slice.jsonl"
    data.write_text("\n".join(demo_path("support").read_text(encoding="utf-8").splitlines()[:12]) + "\n",
                    encoding="utf-8")
    cfg = FinetuneConfig(method="lora", max_steps=4, learning_rate=1e-2, batch_size=2, max_seq_len=256,
                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], num_samples=0, metric_examples=0,
                         register=False, eval_fraction=0.2, device="cpu", lora_dropout=0.0)
    result = run_train(cfg, data, tmp / "adapter", progress=False)
    base32 = export_gguf_base(smollm2_path(), tmp / "smollm2-f32.gguf", "f32")
    return result, base32


@pytest.mark.slow
def test_merged_hf_and_gguf_lora_on_f32_base_answer_the_same(smol_lora):
    import torch
    from llama_cpp import Llama

    from finetune.export import load_adapter

    result, base32 = smol_lora
    model, tok, _ = load_adapter(result.output)
    merged = model.merge_and_unload()
    cpp = Llama(model_path=str(base32), lora_path=str(result.gguf), n_ctx=1024, n_threads=1, verbose=False)
    plain = Llama(model_path=str(base32), n_ctx=1024, n_threads=1, verbose=False)
    same, changed_by_lora, diffs = 0, 0, []
    for msgs in conversations():
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            ids = merged.generate(**enc, max_new_tokens=20, do_sample=False, pad_token_id=tok.pad_token_id)
        hf = tok.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        kw = dict(messages=msgs, max_tokens=20, temperature=0.0, seed=0)
        cpp.reset()
        served = cpp.create_chat_completion(**kw)["choices"][0]["message"]["content"].strip()
        plain.reset()
        bare = plain.create_chat_completion(**kw)["choices"][0]["message"]["content"].strip()
        same += hf == served
        changed_by_lora += served != bare
        if hf != served:
            diffs.append((msgs[-1]["content"], hf, served))
    assert changed_by_lora >= 5  # the adapter really changes the answers, so agreeing says something
    assert same == 20, diffs


def test_full_precision_base_keeps_metadata_and_dequantises_every_tensor(tmp_path):
    """export_gguf_base on a small quantised file: same metadata (chat template, tokens), every tensor f32 with
    exactly the values the gguf package dequantises (what transformers loads), file type ALL_F32."""
    import gguf
    import numpy as np

    from finetune.export import export_gguf_base

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((8, 64)).astype(np.float32)
    src = tmp_path / "q8.gguf"
    w = gguf.GGUFWriter(str(src), "llama")
    w.add_string("tokenizer.chat_template", "{{ messages }}")
    w.add_array("tokenizer.ggml.tokens", ["a", "b"])
    w.add_uint32("llama.block_count", 1)
    q8 = gguf.quants.quantize(weight, gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(64, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    out = gguf.GGUFReader(str(export_gguf_base(src, tmp_path / "f32.gguf")))
    assert out.get_field("tokenizer.chat_template").contents() == "{{ messages }}"
    assert out.get_field("tokenizer.ggml.tokens").contents() == ["a", "b"]
    assert out.get_field("llama.block_count").contents() == 1
    assert out.get_field("general.file_type").contents() == gguf.LlamaFileType.ALL_F32
    got = {t.name: t for t in out.tensors}
    q = got["blk.0.attn_q.weight"]
    assert q.tensor_type == gguf.GGMLQuantizationType.F32 and list(q.shape) == [64, 8]
    want = gguf.quants.dequantize(q8, gguf.GGMLQuantizationType.Q8_0)
    np.testing.assert_array_equal(np.asarray(q.data).reshape(8, 64), want)
    assert np.abs(want - weight).max() > 0  # Q8_0 really lost precision: the copy is of the quantised values
