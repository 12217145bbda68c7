"""Settings of the language model: which backend, which weights, how to sample."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from assistant.errors import ConfigError

BACKENDS = ("fake", "llamacpp", "transformers", "openai")


@dataclass
class LLMConfig:
    backend: str = field(default="llamacpp", metadata={"help": f"one of {BACKENDS}"})
    model: str = field(
        default="qwen2.5-0.5b",
        metadata={"help": "embedded profile (qwen2.5-0.5b, qwen2.5-1.5b, smollm2-135m), a GGUF file, or an HF model path"},
    )
    n_ctx: int = field(default=4096, metadata={"help": "context window in tokens"})
    n_threads: int = field(default=0, metadata={"help": "CPU threads for llama.cpp; 0 = all cores"})
    prompt_snapshots: int = field(
        default=4, metadata={"help": "llama.cpp: KV caches kept per model of the last prompt under each recent system "
                                     "prompt, so switching tasks does not read a system prompt again; 0 = off"})
    max_tokens: int = field(default=256, metadata={"help": "new tokens per answer"})
    temperature: float = field(default=0.3, metadata={"help": "sampling temperature, 0 = greedy"})
    top_p: float = field(default=0.9, metadata={"help": "nucleus sampling mass"})
    seed: int = field(default=42, metadata={"help": "sampling seed, for reproducible answers"})
    stop: list[str] = field(default_factory=list, metadata={"help": "extra stop strings"})
    adapters: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "task -> adapter path (GGUF LoRA for llamacpp, peft folder for transformers)"},
    )
    load_in_4bit: bool = field(default=False, metadata={"help": "bitsandbytes nf4 (transformers, CUDA only)"})
    device: str = field(default="auto", metadata={"help": "transformers device: auto, cpu, cuda"})
    base_url: str = field(default="http://127.0.0.1:8000/v1", metadata={"help": "OpenAI-compatible server URL"})
    api_key: str = field(default="", metadata={"help": "API key for the OpenAI-compatible server"})
    model_name: str = field(default="", metadata={"help": "model name sent to the server for the base model"})
    timeout_s: float = field(default=120.0, metadata={"help": "seconds before a request is given up"})
    cache_dir: str = field(default="", metadata={"help": "where assembled models live; '' = ~/.cache/shop-assistant"})
    fake_replies: list[str] = field(default_factory=list, metadata={"help": "queued replies of the fake backend"})
    startup_probe: bool = field(
        default=True,
        metadata={"help": "before loading llama.cpp in-process, generate a test answer in a child process: a "
                          "build that crashes on this CPU is reported in one line instead of killing the app"})

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not 0 <= self.temperature <= 2:
            raise ConfigError(f"temperature must be in [0, 2], got {self.temperature:g}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p:g}")
        if self.n_ctx < 256:
            raise ConfigError(f"n_ctx must be at least 256, got {self.n_ctx}")
        if not 1 <= self.max_tokens < self.n_ctx:
            raise ConfigError(f"max_tokens must be in [1, n_ctx), got {self.max_tokens}")
        if self.n_threads < 0:
            raise ConfigError(f"n_threads must be >= 0, got {self.n_threads}")
        if self.prompt_snapshots < 0:
            raise ConfigError(f"prompt_snapshots must be >= 0, got {self.prompt_snapshots}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s must be > 0, got {self.timeout_s:g}")
        if not self.model:
            raise ConfigError("model must name an embedded profile, a GGUF file or an HF model path")

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1
