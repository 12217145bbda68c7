"""Sliding-window rate limits: N events a minute per key (a chat session, an API key, a client address).

One implementation for the customer chat (per session) and the OpenAI-compatible API (per key or address),
so both answer the same way: a `RateLimitError` (HTTP 429) that says how long to wait.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from assistant.errors import RateLimitError

WINDOW_S = 60.0


def check_window(recent: deque, limit: int, now: float | None = None, window: float = WINDOW_S) -> None:
    """Admit one event into `recent` (times of the latest events) or raise RateLimitError; 0 = no limit."""
    if not limit:
        return
    now = time.monotonic() if now is None else now
    while recent and now - recent[0] > window:
        recent.popleft()
    if len(recent) >= limit:
        wait = max(1, int(window - (now - recent[0])) + 1)
        raise RateLimitError(f"too many messages: at most {limit} a minute, please wait {wait} s")
    recent.append(now)


class RateLimiter:
    """Per-key windows, thread-safe and bounded: the least recently seen keys are forgotten first."""

    def __init__(self, limit_per_minute: int, max_keys: int = 100_000):
        self.limit = limit_per_minute
        self.max_keys = max_keys
        self._windows: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> None:
        if not self.limit:
            return
        with self._lock:
            recent = self._windows.pop(key, None)
            if recent is None:
                recent = deque()
            self._windows[key] = recent  # most recently seen last
            while len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
            check_window(recent, self.limit, now)
