"""Builds the long-lived objects (backend, chat service) once from settings and shares them."""

from __future__ import annotations

import threading

from assistant.chat import ChatService
from assistant.config import Settings, load_config
from assistant.llm import build_backend
from assistant.llm.base import LLMBackend


class Runtime:
    """Lazily built, process-wide objects: the model loads once, on first use, not at import."""

    def __init__(self, settings: Settings | None = None, backend: LLMBackend | None = None):
        self.settings = settings or load_config()
        self._backend = backend
        self._chat: ChatService | None = None
        self._lock = threading.RLock()

    @property
    def backend(self) -> LLMBackend:
        with self._lock:
            if self._backend is None:
                self._backend = build_backend(self.settings.llm)
            return self._backend

    @property
    def chat(self) -> ChatService:
        with self._lock:
            if self._chat is None:
                adapters = tuple(self.settings.llm.adapters)
                self._chat = ChatService(self.backend, self.settings.chat, adapters=adapters)
            return self._chat
