"""transformers + peft: one base model, many task adapters switched per request (hot-swap).

Slower than llama.cpp on a CPU, but it is the path that serves freshly trained peft adapters as they are
and the one that runs 4-bit (bitsandbytes) on a GPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

from assistant.errors import GenerationError, ModelLoadError, NotFoundError
from assistant.llm.base import GenerationOptions, Message, fit_to_context, options_from, to_messages
from assistant.llm.config import LLMConfig
from assistant.llm.hf_loading import load_causal_lm
from assistant.llm.quantization import get_quantization_config


class TransformersBackend:
    name = "transformers"

    def __init__(self, cfg: LLMConfig):
        self.cfg = cfg
        self.defaults = GenerationOptions(
            max_tokens=cfg.max_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
            stop=list(cfg.stop), seed=cfg.seed,
        )
        qcfg = get_quantization_config(cfg.load_in_4bit)
        self.model, self.tokenizer, self.model_id = load_causal_lm(cfg.model, cfg.cache_dir, qcfg, cfg.device)
        self.adapters: list[str] = []
        for task, path in cfg.adapters.items():
            self.load_adapter(task, path)
        self._lock = threading.Lock()

    def load_adapter(self, task: str, path: str) -> None:
        try:
            from peft import PeftModel
        except ImportError as exc:  # pragma: no cover
            raise ModelLoadError(f"adapters need peft: pip install peft==0.21.2 ({exc})") from None
        from assistant.llm.adapter_registry import check_adapter_base

        check_adapter_base(path, self.model_id)  # never serve an adapter on a base it was not trained on
        try:
            if not self.adapters:
                self.model = PeftModel.from_pretrained(self.model, path, adapter_name=task)
            else:
                self.model.load_adapter(path, adapter_name=task)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"could not load adapter {task!r} from {path}: {exc}") from None
        self.model.eval()
        self.adapters.append(task)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _adapter_context(self, adapter: str | None):
        if adapter is None:
            return self.model.disable_adapter() if self.adapters else nullcontext()
        if adapter not in self.adapters:
            raise NotFoundError(
                f"no adapter named {adapter!r} is loaded (have: {', '.join(self.adapters) or 'none'})"
            )
        self.model.set_adapter(adapter)
        return nullcontext()

    def _inputs(self, msgs: list[Message]):
        ids = self.tokenizer.apply_chat_template(
            [m.as_dict() for m in msgs], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {k: v.to(self.model.device) for k, v in ids.items()}

    def _gen_kwargs(self, o: GenerationOptions) -> dict:
        import torch

        if o.seed is not None:
            torch.manual_seed(o.seed)
        sample = (o.temperature or 0) > 0
        kw = dict(max_new_tokens=o.max_tokens, do_sample=sample, pad_token_id=self.tokenizer.pad_token_id)
        if sample:
            kw.update(temperature=o.temperature, top_p=o.top_p)
        if o.stop:
            kw.update(stop_strings=o.stop, tokenizer=self.tokenizer)
        return kw

    def generate(self, messages: Sequence[Message], **opts) -> str:
        return "".join(self.stream(messages, **opts))

    def stream(self, messages: Sequence[Message], **opts) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        o = options_from(self.defaults, opts)
        msgs = fit_to_context(to_messages(messages), self.count_tokens, self.cfg.n_ctx, o.max_tokens or 0)
        if o.adapter is not None and o.adapter not in self.adapters:
            raise NotFoundError(f"no adapter named {o.adapter!r} is loaded (have: {', '.join(self.adapters) or 'none'})")
        with self._lock:
            inputs = self._inputs(msgs)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            errors: list[BaseException] = []

            def run():
                try:
                    with self._adapter_context(o.adapter):
                        self.model.generate(**inputs, **self._gen_kwargs(o), streamer=streamer)
                except BaseException as exc:  # surfaced in the caller's thread below
                    errors.append(exc)
                    streamer.end()

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            text = ""
            for piece in streamer:
                if o.stop and any(s in text + piece for s in o.stop):
                    cut = min((text + piece).index(s) for s in o.stop if s in text + piece)
                    if cut > len(text):
                        yield (text + piece)[len(text):cut]
                    break
                text += piece
                if piece:
                    yield piece
            worker.join()
            if errors:
                exc = errors[0]
                if isinstance(exc, NotFoundError | ModelLoadError):
                    raise exc
                raise GenerationError(f"transformers failed while answering: {exc}") from None
