"""Build the configured backend. The only place that imports llama_cpp / torch / openai for serving."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from assistant.errors import ConfigError, ModelLoadError
from assistant.llm.base import LLMBackend
from assistant.llm.config import BACKENDS, LLMConfig
from assistant.llm.embedded import resolve_embedded

log = logging.getLogger(__name__)


def resolve_gguf(cfg: LLMConfig) -> Path:
    embedded = resolve_embedded(cfg.model, cfg.cache_dir)
    if embedded is not None:
        return embedded.path
    path = Path(os.path.expanduser(cfg.model))
    if not path.exists() and (path.suffix == ".gguf" or os.sep in cfg.model):
        raise ModelLoadError(f"model file not found: {path}")
    if not path.exists():
        raise ModelLoadError(
            f"llm.model {cfg.model!r} is neither an embedded profile (qwen2.5-0.5b, qwen2.5-1.5b, smollm2-135m) nor an existing file"
        )
    return path


def build_backend(cfg: LLMConfig) -> LLMBackend:
    if cfg.backend == "fake":
        from assistant.llm.fake import FakeBackend

        return FakeBackend(cfg.fake_replies)
    if cfg.backend == "llamacpp":
        from assistant.llm.llamacpp_backend import LlamaCppBackend

        return LlamaCppBackend(cfg, resolve_gguf(cfg))
    if cfg.backend == "transformers":
        from assistant.llm.transformers_backend import TransformersBackend

        return TransformersBackend(cfg)
    if cfg.backend == "openai":
        from assistant.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(cfg)
    raise ConfigError(f"llm.backend must be one of {', '.join(BACKENDS)}, got {cfg.backend!r}")
