"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) by base URL.

The task adapter's name is sent as the model name, which is how vLLM serves many LoRAs on one base: scaling
out is a config change (`llm.backend: openai`, `llm.base_url: ...`), not a code change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from assistant.errors import GenerationError, ModelLoadError, NotFoundError
from assistant.llm.base import GenerationOptions, Message, options_from, to_messages
from assistant.llm.config import LLMConfig


class OpenAIBackend:
    name = "openai"

    def __init__(self, cfg: LLMConfig):
        try:
            import openai
        except ImportError as exc:  # pragma: no cover
            raise ModelLoadError(f"the openai backend needs the openai client: pip install openai ({exc})") from None
        self._openai = openai
        self.cfg = cfg
        # Retries are ours (_request): the client's own retried a timeout too, so a customer waited twice
        # llm.timeout_s (240 s by default) before the "cannot answer" line.
        self.client = openai.OpenAI(
            base_url=cfg.base_url, api_key=cfg.api_key or "not-needed", timeout=cfg.timeout_s, max_retries=0
        )
        self.defaults = GenerationOptions(
            max_tokens=cfg.max_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
            stop=list(cfg.stop), seed=cfg.seed,
        )

    def model_for(self, adapter: str | None) -> str:
        if adapter is None:
            return self.cfg.model_name or self.cfg.model
        return adapter

    def _request(self, messages: Sequence[Message], opts: dict, stream: bool):
        o = options_from(self.defaults, opts)
        msgs = to_messages(messages)
        for attempt in range(2):
            try:
                return self.client.chat.completions.create(
                    model=self.model_for(o.adapter), messages=[m.as_dict() for m in msgs], max_tokens=o.max_tokens,
                    temperature=o.temperature, top_p=o.top_p, stop=o.stop or None, seed=o.seed, stream=stream,
                )
            except self._openai.NotFoundError as exc:
                raise NotFoundError(f"the server at {self.cfg.base_url} has no model {self.model_for(o.adapter)!r}: {exc}") from None
            except self._openai.APITimeoutError:
                raise GenerationError(f"the LLM server at {self.cfg.base_url} did not answer within "
                                      f"{self.cfg.timeout_s:g} s (llm.timeout_s)") from None
            except self._openai.APIConnectionError as exc:
                if attempt == 0:  # a dropped keep-alive connection or a server restarting: one more try at once
                    continue
                raise GenerationError(f"cannot reach the LLM server at {self.cfg.base_url}: {exc}") from None
            except self._openai.APIError as exc:
                raise GenerationError(f"the LLM server at {self.cfg.base_url} failed: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def generate(self, messages: Sequence[Message], **opts) -> str:
        resp = self._request(messages, opts, stream=False)
        return resp.choices[0].message.content or ""

    def stream(self, messages: Sequence[Message], **opts) -> Iterator[str]:
        resp = self._request(messages, opts, stream=True)
        try:
            for chunk in resp:
                if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except self._openai.APIError as exc:
            raise GenerationError(f"the LLM server at {self.cfg.base_url} failed mid-answer: {exc}") from None
