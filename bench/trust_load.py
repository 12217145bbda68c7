"""Rate limits and login lockout under a bounded local load: the whole app (API, widget, admin API) on the fake
LLM, served by uvicorn on 127.0.0.1 in this process, hit by a thread pool; it stops by itself.

Phases, each from its own client address (sent through X-Forwarded-For by a trusted proxy on 127.0.0.1, the
way a shop behind nginx is set up; the test config trusts only 127.0.0.1):
1. one session sends more messages than `chat.rate_limit_per_minute`;
2. one address drops its session id on every message (rotating sessions) past `app.client_rate_limit_per_minute`;
3. several addresses do the same at once: each has its own budget;
4. made-up session ids ask for a human past `app.handoffs_per_client_per_hour`;
5. an attacker address fires parallel password guesses at the admin account while the real admin logs in
   from another address.
Reported: accepted / limited counts against what the limits allow, whether the admin still got in, how many
password hashes the attack cost the server, and request latency (accepted vs limited). The model is fake, so
latency is the web layer's and the limiters' own.

    .venv/bin/python bench/trust_load.py [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROXY = "127.0.0.1"
ADMIN_PASSWORD = "correct horse battery staple"
TIME_BUDGET_S = {True: 30.0, False: 120.0}  # a phase that is not done by then stops sending


def _limits(quick: bool) -> dict:
    # Full: the shipped defaults. Quick: smaller budgets, same shape, a few seconds in all.
    if quick:
        return {"session_per_minute": 5, "client_per_minute": 12, "handoffs_per_hour": 4, "addresses": 4,
                "guesses": 24, "guess_threads": 6, "hash_iterations": 20_000, "workers": 6}
    return {"session_per_minute": 20, "client_per_minute": 60, "handoffs_per_hour": 10, "addresses": 8,
            "guesses": 64, "guess_threads": 8, "hash_iterations": 200_000, "workers": 8}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _latency(samples: list[tuple[int, float]]) -> dict:
    ok = [s for code, s in samples if code == 200]
    limited = [s for code, s in samples if code == 429]
    ms = lambda v: None if v is None else round(1000 * v, 1)  # noqa: E731
    return {"accepted_p50_ms": ms(_percentile(ok, 0.5)), "accepted_p95_ms": ms(_percentile(ok, 0.95)),
            "limited_p50_ms": ms(_percentile(limited, 0.5)), "limited_p95_ms": ms(_percentile(limited, 0.95))}


def _summary(samples: list[tuple[int, float]], allowed: int) -> dict:
    codes = [code for code, _ in samples]
    # 404: a handoff for a session id that never held a conversation (answered, counted, no ticket opened)
    return {"sent": len(codes), "accepted": codes.count(200), "limited": codes.count(429),
            "not_found": codes.count(404),
            "other": len(codes) - codes.count(200) - codes.count(429) - codes.count(404), "allowed_by_limits": allowed,
            **_latency(samples)}


def _build_app(tmp: Path, limits: dict):
    from assistant.chat import ChatService
    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime
    from assistant.storage import sqlite_url
    from assistant.web.auth import Authenticator, hash_password
    from assistant.web.server import create_app

    users = {"admin": "admin:" + hash_password(ADMIN_PASSWORD, limits["hash_iterations"])}
    settings = load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "storage": {"url": sqlite_url(tmp / "bench.db")},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp / "kb")},
        "chat": {"rate_limit_per_minute": limits["session_per_minute"], "persist_sessions": False},
        "app": {"ingest_demo_kb": False, "demo_mode": False, "users": users, "trusted_proxies": [PROXY],
                "client_rate_limit_per_minute": limits["client_per_minute"],
                "handoffs_per_client_per_hour": limits["handoffs_per_hour"], "warm_up": False}})
    backend = FakeBackend(default="Delivery takes 2-4 working days.")
    # The plain chat service on the fake model: the web layer and its limits are what is measured.
    runtime = Runtime(settings, backend=backend, components={"chat": ChatService(backend, settings.chat)})
    return create_app(runtime, auth=Authenticator.from_config(settings.app)), runtime


class _Load:
    """Timed requests against the served app, from a given client address (via the trusted proxy)."""

    def __init__(self, url: str, deadline: float):
        import httpx

        self.url, self.deadline = url, deadline
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=32))

    def post(self, path: str, body: dict, address: str) -> tuple[int, float]:
        return self._timed("POST", path, address, json=body)

    def get(self, path: str, address: str, headers: dict) -> tuple[int, float]:
        return self._timed("GET", path, address, headers=headers)

    def _timed(self, method: str, path: str, address: str, headers: dict | None = None, **kw) -> tuple[int, float]:
        if time.monotonic() > self.deadline:
            return -1, 0.0  # out of time: not sent
        start = time.perf_counter()
        r = self.http.request(method, self.url + path, headers={"X-Forwarded-For": address, **(headers or {})},
                              **kw)
        r.read()
        return r.status_code, time.perf_counter() - start

    def chat(self, address: str, session_id: str | None = None) -> tuple[int, float]:
        return self.post("/widget/api/chat", {"message": "How long does delivery take?", "session_id": session_id},
                         address)


def _session_id(load: _Load, address: str) -> str:
    r = load.http.post(load.url + "/widget/api/chat", json={"message": "hello"},
                       headers={"X-Forwarded-For": address})
    return json.loads(r.text.split("\n\n")[0].removeprefix("data: "))["session_id"]


def _logins(load: _Load, limits: dict) -> dict:
    """Parallel guesses from an attacker address while the real admin logs in from another."""
    from assistant.web import auth as auth_module

    checks = {"attacker": 0, "admin": 0}
    real_verify = auth_module.verify_password

    def counting(password, hashed):  # how many PBKDF2 hashes each side made the server compute
        checks["admin" if password == ADMIN_PASSWORD else "attacker"] += 1
        return real_verify(password, hashed)

    def basic(password):
        return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}

    attacker, admin_address = "203.0.113.66", "198.51.100.10"
    guesses: list[tuple[int, float]] = []
    admin: list[tuple[int, float]] = []
    auth_module.verify_password = counting
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(limits["guess_threads"] + 1) as pool:
            futures = [pool.submit(load.get, "/api/admin/tickets", attacker, basic(f"guess-{i}"))
                       for i in range(limits["guesses"])]
            time.sleep(0.05)  # the attack is under way when the admin arrives
            for _ in range(3):
                admin.append(load.get("/api/admin/tickets", admin_address, basic(ADMIN_PASSWORD)))
            guesses = [f.result() for f in futures]
        seconds = time.perf_counter() - started
        # The attacker now has the right password too: still waiting out the back-off
        late = load.get("/api/admin/tickets", attacker, basic(ADMIN_PASSWORD))
    finally:
        auth_module.verify_password = real_verify
    lat = [s for _, s in admin]
    return {"guesses": len(guesses), "guesses_refused": sum(code == 401 for code, _ in guesses),
            "guesses_accepted": sum(code == 200 for code, _ in guesses),
            "attacker_password_checks": checks["attacker"], "attacker_in_with_right_password": late[0] == 200,
            "attack_seconds": round(seconds, 2), "admin_logins": len(admin),
            "admin_logins_ok": sum(code == 200 for code, _ in admin),
            "admin_login_p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
            "guess_p50_ms": round(1000 * (_percentile([s for _, s in guesses], 0.5) or 0), 1)}


def run(quick: bool = True) -> dict:
    """Run every phase once against a fresh app on 127.0.0.1; returns the figures (nothing is written)."""
    from assistant.web.server import BackgroundServer

    limits = _limits(quick)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trust-load-") as tmp, \
            BackgroundServer(_build_app(Path(tmp), limits)[0]) as server:
        load = _Load(server.url, time.monotonic() + TIME_BUDGET_S[quick])
        per_session, per_client = limits["session_per_minute"], limits["client_per_minute"]
        out: dict = {"limits": {k: limits[k] for k in ("session_per_minute", "client_per_minute",
                                                         "handoffs_per_hour")}}
        with ThreadPoolExecutor(limits["workers"]) as pool:
            # 1. one session, past its per-session budget (its address has room to spare)
            sid = _session_id(load, "192.0.2.1")
            one = [load.chat("192.0.2.1", sid) for _ in range(per_session + 5)]
            out["one_session"] = _summary(one, per_session - 1)  # the session's first message made its id
            # 2. rotating session ids from one address
            rotating = list(pool.map(lambda _: load.chat("192.0.2.2"), range(per_client + 20)))
            out["rotating_sessions_one_address"] = _summary(rotating, per_client)
            # 3. several addresses at once, each rotating its session ids
            addresses = [f"198.51.100.{i + 1}" for i in range(limits["addresses"])]
            jobs = [a for a in addresses for _ in range(per_client + 5)]
            several = list(pool.map(load.chat, jobs))
            out["several_addresses"] = {**_summary(several, per_client * len(addresses)),
                                        "addresses": len(addresses)}
            # 4. handoff requests with made-up session ids from one address: none opens a ticket (404), and
            #    past the hourly budget they are refused before the look-up (429)
            made_up = [uuid.uuid4().hex for _ in range(limits["handoffs_per_hour"] + 5)]
            handoffs = list(pool.map(lambda s: load.post("/widget/api/handoff", {"session_id": s}, "192.0.2.3"),
                                     made_up))
            out["handoffs_one_address"] = _summary(handoffs, limits["handoffs_per_hour"])
        # 5. login guesses in parallel while the real admin logs in elsewhere
        out["logins"] = _logins(load, limits)
        load.http.close()
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["quick"] = quick
    out["holds"] = _holds(out)
    return out


def _holds(out: dict) -> dict:
    """Each limit did what it promises (the figures a test asserts)."""
    phases = ("one_session", "rotating_sessions_one_address", "several_addresses", "handoffs_one_address")
    held = {p: out[p]["accepted"] == out[p]["allowed_by_limits"] and out[p]["other"] == 0 and not out[p]["not_found"]
            for p in phases[:3]}
    spam = out["handoffs_one_address"]
    held["handoffs_one_address"] = (spam["accepted"] == 0 and spam["not_found"] == spam["allowed_by_limits"]
                                    and spam["other"] == 0)
    logins = out["logins"]
    held["admin_got_in"] = logins["admin_logins_ok"] == logins["admin_logins"]
    held["attacker_kept_out"] = logins["guesses_accepted"] == 0 and not logins["attacker_in_with_right_password"]
    from assistant.web.auth import LOCK_AFTER

    # After LOCK_AFTER misses each try waits 2^(n - LOCK_AFTER) s: within T seconds at most ~log2(T) more.
    bound = LOCK_AFTER + 1 + int(math.log2(1 + logins["attack_seconds"]))
    held["guesses_mostly_unhashed"] = logins["attacker_password_checks"] <= bound
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets and fewer requests (a few seconds)")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2))
    return 0 if all(result["holds"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
