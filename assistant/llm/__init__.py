"""LLM backends behind one protocol: fake (tests), llamacpp (CPU default), transformers (+peft), openai."""

from assistant.llm.base import GenerationOptions, LLMBackend, Message, fit_to_context, to_messages
from assistant.llm.config import LLMConfig
from assistant.llm.factory import build_backend
from assistant.llm.fake import FakeBackend

__all__ = [
    "FakeBackend", "GenerationOptions", "LLMBackend", "LLMConfig", "Message", "build_backend",
    "fit_to_context", "to_messages",
]
