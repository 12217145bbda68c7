"""Sliding-window rate limits (N events per window per key) and the client address they are keyed by.

One implementation for the customer chat (per session and per client address), handoff tickets, votes and
the OpenAI-compatible API (per key or address), so all answer the same way: a `RateLimitError` (HTTP 429)
that says how long to wait. The client address is the peer's, unless the peer is a configured trusted proxy:
only then does X-Forwarded-For count, read from the right so a client cannot forge its way past the proxy.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence

from assistant.errors import RateLimitError

WINDOW_S = 60.0
# Any of these says a proxy passed the request on (a plain nginx proxy_pass may add only some, or only
# X-Forwarded-Host/-Proto; a CDN its own): such a request is never "from this machine".
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto",
                      "x-forwarded-server", "x-client-ip", "cf-connecting-ip", "true-client-ip", "fastly-client-ip",
                      "x-cluster-client-ip", "via")


def _per(window: float) -> str:
    return {60.0: "a minute", 3600.0: "an hour"}.get(float(window), f"per {window:g} s")


def check_window(recent: deque, limit: int, now: float | None = None, window: float = WINDOW_S,
                 what: str = "messages") -> None:
    """Admit one event into `recent` (times of the latest events) or raise RateLimitError; 0 = no limit."""
    if not limit:
        return
    now = time.monotonic() if now is None else now
    while recent and now - recent[0] > window:
        recent.popleft()
    if len(recent) >= limit:
        wait = max(1, int(window - (now - recent[0])) + 1)
        exc = RateLimitError(f"too many {what}: at most {limit} {_per(window)}, please wait {wait} s")
        exc.retry_after_s = wait  # for an HTTP Retry-After header
        raise exc
    recent.append(now)


class RateLimiter:
    """Per-key windows, thread-safe and bounded: the least recently seen keys are forgotten first."""

    def __init__(self, limit_per_minute: int, max_keys: int = 100_000, window: float = WINDOW_S,
                 what: str = "messages"):
        self.limit = limit_per_minute  # events per `window` (a minute unless said otherwise)
        self.max_keys, self.window, self.what = max_keys, window, what
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
            check_window(recent, self.limit, now, self.window, self.what)

    def __len__(self) -> int:
        return len(self._windows)


# --- who is the client -----------------------------------------------------------------------------------
def _ip(text: str | None):
    """An ip_address from a header value or peer ("1.2.3.4", "1.2.3.4:80", "[::1]:80"), or None."""
    text = (text or "").strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted)


def is_trusted_proxy(peer: str | None, trusted_proxies: Sequence[str] = ()) -> bool:
    """Whether the peer is one of app.trusted_proxies, whose forwarding headers are believed."""
    peer_ip = _ip(peer)
    return peer_ip is not None and any(peer_ip in n for n in _networks(tuple(trusted_proxies)))


def client_address(peer: str | None, headers: Mapping[str, str] | None = None,
                   trusted_proxies: Sequence[str] = ()) -> str:
    """The client's address. X-Forwarded-For is read only when the peer is a trusted proxy, from the right:
    the first hop that is not itself a trusted proxy is the client (left of it, anyone could have written it).
    """
    peer_ip = _ip(peer)
    if peer_ip is None:
        return peer or "unknown"
    if not is_trusted_proxy(peer, trusted_proxies):
        return str(peer_ip)
    networks = _networks(tuple(trusted_proxies))
    getlist = getattr(headers, "getlist", None)  # several X-Forwarded-For lines count as one list
    forwarded = ",".join(getlist("x-forwarded-for")) if getlist else (headers or {}).get("x-forwarded-for") or ""
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        ip = _ip(hop)
        if ip is None:
            break  # garbage is never a trusted proxy's doing: stop at the last proxy we trust
        if not any(ip in n for n in networks):
            return str(ip)
    return str(peer_ip)


def limit_key(address: str) -> str:
    """The key a client is counted under: its IPv4 address, or its IPv6 /64 (one customer owns a whole /64)."""
    ip = _ip(address)
    if ip is None:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def is_loopback(address: str | None) -> bool:
    ip = _ip(address)
    if ip is None:
        return address in ("localhost",)
    return ip.is_loopback or bool(ip.version == 6 and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback)


def via_proxy(headers: Mapping[str, str] | None) -> bool:
    """True when a request carries forwarding headers: a proxy stands between the client and us."""
    return any((headers or {}).get(h) for h in FORWARDING_HEADERS)
