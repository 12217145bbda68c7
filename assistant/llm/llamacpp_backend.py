"""The CPU default: llama-cpp-python on a GGUF file, with an optional GGUF LoRA per task.

llama.cpp takes a LoRA at load time, so each task adapter gets its own `Llama` over the same GGUF; the
weights are mmap-ed, so the copies share one set of pages in memory. `set_adapters` swaps a task's adapter
while the app runs: a generation holds the `Llama` it started on, so requests in flight finish on the old
adapter and the next ones load the new one.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import GenerationError, ModelLoadError, NotFoundError
from assistant.llm.base import GenerationOptions, Message, fit_to_context, options_from, to_messages
from assistant.llm.config import LLMConfig
from assistant.llm.embedded import check_gguf
from assistant.llm.prompt_snapshots import PromptSnapshots

log = logging.getLogger(__name__)
YES_WORDS = ("YES", "Yes", "yes")
NO_WORDS = ("NO", "No", "no")


def import_llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelLoadError(
            f"the llamacpp backend needs llama-cpp-python: pip install llama-cpp-python==0.3.36 ({exc})"
        ) from None
    return llama_cpp


def _file_key(path: str) -> tuple[str, int]:
    try:
        return str(path), Path(path).stat().st_mtime_ns
    except OSError:
        return str(path), 0  # loading it says what is wrong


class LlamaCppBackend:
    name = "llamacpp"

    def __init__(self, cfg: LLMConfig, model_path: Path):
        self.cfg = cfg
        self.model_path = check_gguf(model_path)
        self.defaults = GenerationOptions(
            max_tokens=cfg.max_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
            stop=list(cfg.stop), seed=cfg.seed,
        )
        # Keyed by the LoRA file and its mtime (None = the bare base), not by task: a swap loads only what
        # changed, and a file rewritten in place is loaded afresh.
        self._models: dict[tuple[str, int] | None, object] = {}
        self._locks: dict[tuple[str, int] | None, threading.Lock] = {}
        self._snapshots: dict[tuple[str, int] | None, PromptSnapshots] = {}
        self._load_lock = threading.Lock()
        self._get(None)  # load the base now: a bad file should fail at start-up, not at the first customer

    def set_adapters(self, adapters: dict[str, str]) -> None:
        """Serve `adapters` (task -> GGUF LoRA) from the next request on. Models of adapters no longer served
        are dropped here; a generation still running on one keeps it alive until it ends."""
        with self._load_lock:
            self.cfg = dataclasses.replace(self.cfg, adapters=dict(adapters))
            wanted = {_file_key(p) for p in adapters.values()}
            for key in [k for k in self._models if k is not None and k not in wanted]:
                del self._models[key], self._locks[key], self._snapshots[key]

    def _lora_for(self, adapter: str | None) -> tuple[str, int] | None:
        if adapter is None:
            return None
        if adapter not in self.cfg.adapters:
            raise NotFoundError(
                f"no adapter named {adapter!r} is configured (llm.adapters has: "
                f"{', '.join(self.cfg.adapters) or 'none'})"
            )
        return _file_key(self.cfg.adapters[adapter])

    def _get(self, adapter: str | None):
        with self._load_lock:
            key = self._lora_for(adapter)
            if key in self._models:
                return self._models[key], self._locks[key]
            lora = None
            if key is not None:
                lora = str(check_gguf(Path(key[0])))
                from assistant.llm.adapter_registry import base_model_id, check_adapter_base

                # llama.cpp only checks the architecture; a LoRA from another base of it would load silently.
                check_adapter_base(lora, base_model_id(self.cfg.model, self.cfg.cache_dir))
            llama_cpp = import_llama_cpp()
            try:
                model = llama_cpp.Llama(
                    model_path=str(self.model_path), n_ctx=self.cfg.n_ctx, n_threads=self.cfg.threads,
                    seed=self.cfg.seed, verbose=False, lora_path=lora,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                what = f"adapter {lora} on {self.model_path}" if lora else str(self.model_path)
                raise ModelLoadError(f"llama.cpp could not load {what}: {exc}") from None
            for stale in [k for k in self._models if k is not None and k[0] == key[0]] if key else []:
                del self._models[stale], self._locks[stale], self._snapshots[stale]  # the file before a rewrite
            self._models[key] = model
            self._locks[key] = threading.Lock()
            self._snapshots[key] = PromptSnapshots(self.cfg.prompt_snapshots)
            return model, self._locks[key]

    @contextmanager
    def _session(self, adapter: str | None, msgs: list[Message]):
        """The model for one request, held under its lock, with the KV cache of the last prompt under the same
        system prompt put back first (assistant.llm.prompt_snapshots) and this prompt's recorded after it."""
        model, lock = self._get(adapter)
        with self._load_lock:
            snapshots = self._snapshots.get(self._lora_for(adapter)) or PromptSnapshots(0)
        system = msgs[0].content if msgs and msgs[0].role == "system" else ""
        with lock:  # one llama.cpp context serves one request at a time
            snapshots.before(model, system)
            done = False
            try:
                yield model
                done = True
            finally:
                if done:
                    snapshots.after(model, system)
                else:  # failed, or the caller stopped reading: what the cache holds is not recorded
                    snapshots.forget()

    @property
    def llama(self):
        """The base `llama_cpp.Llama` (benchmarks compare against it)."""
        return self._get(None)[0]

    def close(self) -> None:
        """Free every loaded model now (weights, KV caches, prompt snapshots) rather than when the last reference
        goes; a generation still running finishes first. The next request loads the base again."""
        with self._load_lock:
            models, locks = list(self._models.items()), dict(self._locks)
            self._models.clear(), self._locks.clear(), self._snapshots.clear()
        for key, model in models:
            with locks[key]:
                model.close()

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _prepare(self, messages, opts):
        options = options_from(self.defaults, opts)
        msgs = fit_to_context(to_messages(messages), self.count_tokens, self.cfg.n_ctx, options.max_tokens or 0)
        return msgs, options

    def _kwargs(self, msgs: list[Message], o: GenerationOptions, stream: bool) -> dict:
        return dict(
            messages=[m.as_dict() for m in msgs], max_tokens=o.max_tokens, temperature=o.temperature,
            top_p=o.top_p, stop=o.stop or None, seed=o.seed, stream=stream,
        )

    def generate(self, messages: Sequence[Message], **opts) -> str:
        return "".join(self.stream(messages, **opts))

    def stream(self, messages: Sequence[Message], **opts) -> Iterator[str]:
        msgs, o = self._prepare(messages, opts)
        with self._session(o.adapter, msgs) as model:
            try:
                for chunk in model.create_chat_completion(**self._kwargs(msgs, o, stream=True)):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (RuntimeError, ValueError) as exc:
                raise GenerationError(f"llama.cpp failed while answering: {exc}") from None

    def yes_log_odds(self, messages: Sequence[Message], yes: Sequence[str] = YES_WORDS,
                     no: Sequence[str] = NO_WORDS, **opts) -> float:
        """log P(yes) - log P(no) of the reply's first token: how sure the model is, where a sampled YES/NO throws
        that away (a threshold can then be set on data). Casings of each word are added up. The prompt goes
        through the same chat template and prompt cache as `stream`."""
        import numpy as np

        msgs, o = self._prepare(messages, {**opts, "max_tokens": 1})
        seen: dict[str, np.ndarray] = {}

        def keep_logits(_input_ids, scores):
            seen["logits"] = np.array(scores, dtype=np.float64)
            return scores

        with self._session(o.adapter, msgs) as model:
            try:
                model.create_chat_completion(messages=[m.as_dict() for m in msgs], max_tokens=1, temperature=0.0,
                                             logits_processor=import_llama_cpp().LogitsProcessorList([keep_logits]))
            except (RuntimeError, ValueError) as exc:
                raise GenerationError(f"llama.cpp failed while reading: {exc}") from None
        if "logits" not in seen:
            raise GenerationError("llama.cpp returned no logits for the reply's first token")
        logp = seen["logits"] - np.logaddexp.reduce(seen["logits"])

        def first_tokens(words: Sequence[str]) -> list[int]:
            return sorted({model.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words})

        return float(np.logaddexp.reduce(logp[first_tokens(yes)]) - np.logaddexp.reduce(logp[first_tokens(no)]))
