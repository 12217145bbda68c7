"""Saved adapters and merged models: the safetensors weights get the same permissions as the files beside them."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@contextmanager
def umask(mask: int):
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027], ids=["umask-022", "umask-027"])
def test_a_saved_adapters_weights_follow_the_umask_like_its_config(tiny_model, tiny_tokenizer, tmp_path, mask):
    # safetensors >= 0.8 renames a 0600 temporary file into place: adapter_model.safetensors was -rw------- beside a
    # -rw-r--r-- adapter_config.json, and a llama.cpp / vLLM server running as another user could not read it
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.methods import get_peft_config
    from finetune.trainer import History, TrainState, save_adapter

    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj"])))
    with umask(mask):
        out = save_adapter(TrainState(model, 0, History(), 0, 0), tiny_tokenizer, tmp_path / "adapter", "tiny", {})
    assert mode(out / "adapter_model.safetensors") == mode(out / "adapter_config.json") == 0o666 & ~mask
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # the probe file is gone


def test_a_merged_models_shards_follow_the_umask(tiny_model, tiny_tokenizer, tmp_path):
    from peft import get_peft_model

    from finetune.config import FinetuneConfig
    from finetune.export import export_merged
    from finetune.methods import get_peft_config

    model = get_peft_model(tiny_model, get_peft_config(FinetuneConfig(r=2, target_modules=["q_proj"])))
    with umask(0o022):
        out = export_merged(model, tiny_tokenizer, tmp_path / "merged")
    shards = list(out.glob("*.safetensors"))
    assert shards and all(mode(p) == mode(out / "config.json") == 0o644 for p in shards)
