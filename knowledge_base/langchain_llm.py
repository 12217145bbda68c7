"""A LangChain chat model over the project's `LLMBackend`, so LangChain chains (and their streaming) run on
whatever backend the config picked: llama.cpp, transformers, an OpenAI-compatible server or the fake.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.llm.base import Message

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_backend_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    out = []
    for m in messages:
        role = _ROLES.get(m.type)
        if role is None:  # tool/function messages have no place in a support chat prompt
            continue
        out.append(Message(role, m.content if isinstance(m.content, str) else str(m.content)))
    return out


def to_langchain_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


class BackendChatModel(BaseChatModel):
    """`BackendChatModel(backend=build_backend(cfg), adapter="support")` — generate and stream."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    backend: Any
    adapter: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None

    @property
    def _llm_type(self) -> str:
        return f"shop-assistant-{getattr(self.backend, 'name', 'backend')}"

    def _options(self, stop: list[str] | None) -> dict:
        opts: dict[str, Any] = {"adapter": self.adapter, "max_tokens": self.max_tokens,
                                "temperature": self.temperature}
        if stop:
            opts["stop"] = list(stop)
        return {k: v for k, v in opts.items() if v is not None}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = self.backend.generate(to_backend_messages(messages), **self._options(stop))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in self.backend.stream(to_backend_messages(messages), **self._options(stop)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
