"""Staff logins for the agent and admin views and the admin API: salted PBKDF2 hashes, never plain passwords.

Customers are anonymous. Staff accounts come from `app.users` (config file or env). In demo mode, with no
account configured, two well-known demo accounts exist and the UI says so loudly; in production mode there
is no default password at all (staff views stay locked until an account is configured).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from assistant.app_config import AppConfig
from assistant.errors import InputError

log = logging.getLogger(__name__)

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
# Demo accounts exist only in demo mode and only while no real account is configured.
DEMO_ACCOUNTS = {"agent": ("agent", "demo-agent"), "admin": ("admin", "demo-admin")}
DEMO_WARNING = (
    "Demo mode: staff logins use the public demo passwords (agent / demo-agent, admin / demo-admin). "
    "Set app.demo_mode: false and configure app.users before real use."
)
# Each role may do what the roles before it may: an admin can also work the agent console.
ROLE_RANK = {"agent": 1, "admin": 2}


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$ITER$SALT$HASH` (base64): the only form a password is ever stored in."""
    if not isinstance(password, str) or len(password) < 8:
        raise InputError("password must be at least 8 characters")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"{ALGORITHM}${iterations}${b64(salt)}${b64(digest)}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        algorithm, iterations, salt, digest = hashed.split("$")
        if algorithm != ALGORITHM:
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def new_api_key() -> tuple[str, str]:
    """A fresh random key for /v1 and the 'sha256:HEX' form that goes into app.api_keys."""
    key = "sk-shop-" + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # Keys are 256-bit random, so one SHA-256 is enough (no password stretching needed) and costs ~1 µs a request.
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_allowed(key: str | None, allowed_hashes: list[str]) -> bool:
    if not allowed_hashes:
        return True
    if not key:
        return False
    got = hash_api_key(key)
    return any(hmac.compare_digest(got, h) for h in allowed_hashes)


@dataclass
class Account:
    username: str
    role: str
    hashed: str


@dataclass
class Authenticator:
    """Checks staff credentials; slows down repeated failures per username (simple brute-force brake)."""

    accounts: dict[str, Account] = field(default_factory=dict)
    demo: bool = False
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, cfg: AppConfig, demo_iterations: int = 20_000) -> Authenticator:
        accounts = {}
        for username, entry in cfg.users.items():
            role, _, hashed = entry.partition(":")
            accounts[username] = Account(username, role, hashed)
        demo = False
        if not accounts and cfg.demo_mode:
            demo = True
            for role, (username, password) in DEMO_ACCOUNTS.items():
                accounts[username] = Account(username, role, hash_password(password, demo_iterations))
            log.warning(DEMO_WARNING)
        elif not accounts:
            log.warning("no staff account configured (app.users) and demo mode is off: agent/admin views are locked")
        return cls(accounts=accounts, demo=demo)

    @property
    def enabled(self) -> bool:
        return bool(self.accounts)

    def login(self, username: str, password: str) -> str | None:
        """The account's role, or None for a wrong username/password (never says which was wrong)."""
        username = (username or "").strip()
        with self._lock:
            count, until = self._failures.get(username, (0, 0.0))
        if time.monotonic() < until:
            return None
        account = self.accounts.get(username)
        # Hash even for unknown users so the response time does not reveal which usernames exist.
        hashed = account.hashed if account else next(iter(self.accounts.values()), Account("", "", "")).hashed
        ok = verify_password(password or "", hashed) and account is not None
        with self._lock:
            if ok:
                self._failures.pop(username, None)
            else:
                count += 1
                # After 5 misses, each further try waits 2^(n-5) s (capped at a minute).
                delay = min(60.0, 2.0 ** (count - 5)) if count >= 5 else 0.0
                self._failures[username] = (count, time.monotonic() + delay)
        return account.role if ok else None


def allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]
