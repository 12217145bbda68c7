"""Staff logins for the agent and admin views and the admin API: salted PBKDF2 hashes, never plain passwords.

Customers are anonymous. Staff accounts come from `app.users` (config file or env). In demo mode, with no
account configured and the server on loopback, two well-known demo accounts exist (for clients on this machine
only) and the UI says so loudly; in production mode there is no default password at all (staff views stay
locked until an account is configured). Failed logins back off per client address and username.
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
from collections import OrderedDict
from dataclasses import dataclass, field

from assistant.app_config import AppConfig
from assistant.errors import InputError
from assistant.rate_limit import is_loopback, limit_key

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


LOCK_AFTER = 5  # misses per (client address, username) before each further try waits
ADDRESS_LOCK_AFTER = 20  # misses per client address over all usernames (one address trying many names)
MAX_DELAY_S = 60.0
MAX_TRACKED = 10_000  # (address, username) and address entries kept; the least recently failed go first


class LoginThrottle:
    """Back-off after failed logins, per (client address, username) and per address; bounded and thread-safe.

    Keyed by address, so guesses from a stranger's address never lock the real admin out of theirs. Each
    attempt is counted as a miss *before* its password is checked (and forgiven when it succeeds): parallel
    guesses cannot all slip through between the check and the count.
    """

    def __init__(self, max_keys: int = MAX_TRACKED, clock=time.monotonic):
        self.max_keys, self.clock = max_keys, clock
        self._misses: OrderedDict[tuple, tuple[int, float]] = OrderedDict()  # key -> (misses, wait until)
        self._lock = threading.Lock()

    @staticmethod
    def _delay(misses: int, after: int) -> float:
        # After `after` misses, each further try waits 2^(n-after) s (capped at a minute).
        return min(MAX_DELAY_S, 2.0 ** (misses - after)) if misses >= after else 0.0

    def begin(self, address: str, username: str) -> bool:
        """False while this address (or this address for this username) must wait; otherwise count a miss."""
        keys = (((address, username), LOCK_AFTER), ((address, None), ADDRESS_LOCK_AFTER))
        with self._lock:
            now = self.clock()
            if any(now < self._misses.get(key, (0, 0.0))[1] for key, _ in keys):
                return False
            for key, after in keys:
                misses = self._misses.pop(key, (0, 0.0))[0] + 1
                self._misses[key] = (misses, now + self._delay(misses, after))  # most recent last
            while len(self._misses) > self.max_keys:
                self._misses.popitem(last=False)
            return True

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._misses.pop((address, username), None)
            misses, until = self._misses.get((address, None), (0, 0.0))
            if misses > 1:
                self._misses[(address, None)] = (misses - 1, until)
            else:
                self._misses.pop((address, None), None)

    def __len__(self) -> int:
        return len(self._misses)


@dataclass
class Authenticator:
    """Checks staff credentials; slows down repeated failures per client address and username."""

    accounts: dict[str, Account] = field(default_factory=dict)
    demo: bool = False
    throttle: LoginThrottle = field(default_factory=LoginThrottle, repr=False)

    @classmethod
    def from_config(cls, cfg: AppConfig, demo_iterations: int = 20_000, host: str | None = None) -> Authenticator:
        """Accounts from `app.users`; the demo accounts only in demo mode, with no account configured, and
        when the server listens on loopback (`host`, default app.host): never on an address others reach."""
        accounts = {}
        for username, entry in cfg.users.items():
            role, _, hashed = entry.partition(":")
            accounts[username] = Account(username, role, hashed)
        demo = False
        host = host or cfg.host
        if not accounts and cfg.demo_mode and is_loopback(host):
            demo = True
            for role, (username, password) in DEMO_ACCOUNTS.items():
                accounts[username] = Account(username, role, hash_password(password, demo_iterations))
            log.warning(DEMO_WARNING)
        elif not accounts and cfg.demo_mode:
            log.warning("demo mode on %s, which is not loopback: no demo logins, agent/admin views are locked "
                        "until app.users has an account (`python -m assistant.web hash-password`)", host)
        elif not accounts:
            log.warning("no staff account configured (app.users) and demo mode is off: agent/admin views are locked")
        return cls(accounts=accounts, demo=demo)

    @property
    def enabled(self) -> bool:
        return bool(self.accounts)

    def login(self, username: str, password: str, address: str | None = None, proxied: bool = False) -> str | None:
        """The account's role, or None for a wrong username/password (never says which was wrong).

        `address` is the client's address (`assistant.rate_limit.client_address`) and `proxied` whether the
        request carried forwarding headers; every network edge passes both. None = an in-process caller.
        Demo accounts answer only a loopback client that came through no proxy.
        """
        username = (username or "").strip()
        remote = proxied or (address is not None and not is_loopback(address))
        if self.demo and username in self.accounts and remote:
            log.info("demo login for %r refused from %s: demo accounts work only from this machine",
                     username, address)
            return None
        who = limit_key(address) if address is not None else "local"
        if not self.throttle.begin(who, username[:128]):  # a made-up name cannot grow the table's keys
            return None
        account = self.accounts.get(username)
        # Hash even for unknown users so the response time does not reveal which usernames exist.
        hashed = account.hashed if account else next(iter(self.accounts.values()), Account("", "", "")).hashed
        ok = verify_password(password or "", hashed) and account is not None
        if ok:
            self.throttle.succeeded(who, username[:128])
        return account.role if ok else None


def exposure_problem(cfg: AppConfig, host: str) -> str | None:
    """Why the app must not start on `host` as configured (one line), or None.

    Demo mode with no account on an address other machines reach would publish the demo passwords' power:
    refused unless app.allow_demo_on_public_host says to start with the staff views locked instead.
    """
    if is_loopback(host) or cfg.users or not cfg.demo_mode or cfg.allow_demo_on_public_host:
        return None
    return (f"app.demo_mode is on and app.users is empty: refusing to listen on {host} with the public demo "
            "passwords; create a staff account with `python -m assistant.web hash-password --role admin` and put "
            "it in app.users (or set app.demo_mode: false, or app.allow_demo_on_public_host: true to start with "
            "the staff views locked)")


def allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]
