"""How many wrong verifications the order desk allows per key (an order number, a client address) in a sliding
window: guessing one order from many conversations, or many orders from one address, is limited."""

from __future__ import annotations

import threading
from collections import OrderedDict

# How long a wrong verification counts against its order, its client address and (for /v1) its user id.
WINDOW_SECONDS = 3600.0


class FailureWindows:
    """Distinct wrong verifications per key in the last hour (bounded; per process). Distinct: a /v1 client
    sends its whole history on every turn, and one wrong try resent ten times is still one try."""

    def __init__(self, limit: int, window: float = WINDOW_SECONDS, max_keys: int = 100_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._keys: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> dict[str, float]:
        tries = {t: when for t, when in (self._keys.pop(key, None) or {}).items() if now - when <= self.window}
        self._keys[key] = tries
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return tries

    def exceeded(self, key: str, now: float) -> bool:
        if not self.limit or not key:
            return False
        with self._lock:
            return len(self._recent(key, now)) >= self.limit

    def add(self, key: str, now: float, attempt: str) -> None:
        if key:
            with self._lock:
                self._recent(key, now).setdefault(attempt, now)
