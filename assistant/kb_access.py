"""The knowledge base as the chat holds it when the store could not be opened as the app started.

Replicas and their `chroma run` server usually start together, and the server may come up after the app. The
chat was then built with no knowledge base at all, which is the set-up of a shop without documents: every shop
question went to the model alone (an ungrounded answer where docs/trust.md promises the curated FAQ and the
polite failure), and that stayed so until a restart, although the server answered by then.
`PendingKnowledgeBase` stands in instead: each use tries to open the store again (at most every `retry_s`)
and, until it opens, fails as an unreachable store does (StorageError), so the chat degrades as documented.
"""

from __future__ import annotations

import logging
import threading
import time

from assistant.errors import StorageError

log = logging.getLogger(__name__)

RETRY_S = 10.0


class PendingKnowledgeBase:
    def __init__(self, runtime, retry_s: float = RETRY_S):
        self._runtime, self._retry_s = runtime, retry_s
        self.cfg = runtime.settings.knowledge_base  # read by the chat without a store (places, answer length)
        self._next_try = time.monotonic() + retry_s  # the start has just failed
        self._lock = threading.Lock()

    def opened(self):
        """The real knowledge base once the store opens; StorageError with the reason until then."""
        runtime = self._runtime
        kb = runtime._objects.get("knowledge_base")
        if kb is None and self.cfg.server_mode:  # a local store that failed to open is broken, not late
            with self._lock:
                if time.monotonic() >= self._next_try:
                    self._next_try = time.monotonic() + self._retry_s
                    runtime.forget("knowledge_base")
                    kb = runtime.kb
                    if kb is not None:
                        runtime.degraded.pop("knowledge_base", None)
                        log.info("knowledge base: the store at %s:%s answers now", self.cfg.chroma_host,
                                 self.cfg.chroma_port)
        if kb is None:
            raise StorageError(runtime.degraded.get("knowledge_base") or "the knowledge base is unavailable")
        return kb

    def answerer(self, shop=None):
        """Needs the configuration only: the chat builds it as it is built, and handoff drafts use it."""
        from knowledge_base.kb import KnowledgeBase

        return KnowledgeBase.answerer(self, shop)

    def __getattr__(self, name: str):
        return getattr(self.opened(), name)


def chat_knowledge_base(runtime):
    """runtime.kb, or a PendingKnowledgeBase when it could not be opened."""
    kb = runtime.kb
    return kb if kb is not None else PendingKnowledgeBase(runtime, RETRY_S)
