"""Fixtures for the fine-tuning tests: a tiny random Llama + a byte-level chat tokenizer (TRL style)."""

from __future__ import annotations

import json

import pytest

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """Byte-level BPE without merges (one token per byte) plus ChatML specials: offline, instant."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|im_end|>",
                                  additional_special_tokens=["<|im_start|>"])
    tok.chat_template = CHATML
    return tok


def make_tiny_model(tiny_tokenizer):
    """A fresh 2-layer random Llama (fp32) whose vocab matches the tiny tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      pad_token_id=tiny_tokenizer.pad_token_id, eos_token_id=tiny_tokenizer.eos_token_id,
                      bos_token_id=None, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = tiny_tokenizer.pad_token_id
    return model


@pytest.fixture
def tiny_model(tiny_tokenizer):
    return make_tiny_model(tiny_tokenizer)


@pytest.fixture
def tiny_cfg():
    """A FinetuneConfig sized for the tiny model: a handful of fast steps, no dropout."""
    from finetune.config import FinetuneConfig

    return FinetuneConfig(max_seq_len=256, batch_size=2, max_steps=6, learning_rate=1e-2, lora_dropout=0.0,
                          num_samples=2, metric_examples=3, sample_max_tokens=4, eval_every=3, r=2,
                          adalora_init_r=4, device="cpu")


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def demo_slice(tmp_path):
    """The first 12 shipped support dialogues (en + zh), as its own file."""
    from finetune.data import demo_path

    lines = demo_path("support").read_text(encoding="utf-8").splitlines()[:12]
    path = tmp_path / "slice.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True, scope="package")
def one_torch_thread():
    """Tiny matmuls on a shared 2-core box: one thread avoids OpenMP contention (10x faster here)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
