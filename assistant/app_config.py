"""Settings of the web app (UI + widget + API on one server), staff credentials included."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from assistant.errors import ConfigError

ROLES = ("agent", "admin")


@dataclass
class AppConfig:
    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=7860, metadata={"help": "port to listen on"})
    title: str = field(default="", metadata={"help": "shown in the UI; '' = the shop's name + ' · Shop Assistant' "
                                                     "(' · 智能客服' for a zh shop: message page_title)"})
    concurrency_limit: int = field(default=4, metadata={"help": "chat requests generated at the same time"})
    max_queue: int = field(default=64, metadata={"help": "requests waiting before new ones are refused"})
    max_message_chars: int = field(default=4000, metadata={"help": "longer customer messages are refused"})
    demo_mode: bool = field(default=True, metadata={"help": "demo credentials allowed (with a warning)"})
    ingest_demo_kb: bool = field(default=True, metadata={"help": "ingest the demo shop's documents on first start"})
    warm_up: bool = field(
        default=True, metadata={"help": "load the model, classifiers and KB in the background as the server starts"}
    )
    # Staff accounts: username -> "role:hash" where hash comes from `python -m assistant.web hash-password`.
    # Only hashes are ever stored; set them in a --config file or ASSISTANT_APP__USERS='{alice: "admin:pbkdf2..."}'.
    users: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "staff logins: username -> 'agent:HASH' or 'admin:HASH' (never a plain password)"},
    )
    max_upload_mb: int = field(default=20, metadata={"help": "largest document an admin may upload"})
    upload_dir: str = field(default="data/uploads", metadata={
        "help": "where the Admin tab keeps uploaded documents (and its Sync re-reads them); one folder per shop"})
    max_request_kb: int = field(
        default=1024, metadata={"help": "largest JSON body /v1 and the widget accept (413 beyond)"}
    )
    # OpenAI-compatible API (/v1): keys are stored as 'sha256:HEX' from `python -m assistant.web new-api-key`.
    # Empty = no key needed (fine on 127.0.0.1; the server warns when it listens elsewhere without keys).
    api_keys: list[str] = field(
        default_factory=list, metadata={"help": "hashes of the keys /v1 accepts ('sha256:HEX'); empty = open"}
    )
    api_rate_limit_per_minute: int = field(
        default=60, metadata={"help": "/v1 requests a minute per API key (or per client address); 0 = no limit"}
    )
    # Safe defaults when the app faces the internet (see docs/app.md, "Exposed to the internet").
    allow_demo_on_public_host: bool = field(
        default=False,
        metadata={"help": "demo mode on a non-loopback host: false = refuse to start; true = start with the staff "
                          "views locked (demo logins never work off loopback)"},
    )
    trusted_proxies: list[str] = field(
        default_factory=list,
        metadata={"help": "addresses/networks of reverse proxies whose X-Forwarded-For names the client; "
                          "empty = the peer address is the client"},
    )
    public_url: str = field(
        default="", metadata={"help": "the address shops embed the widget from (e.g. https://chat.shop.example): the "
                                      "snippet and example page use it; '' = as the request came in, or as a trusted "
                                      "proxy forwarded it (X-Forwarded-Proto/-Host)"})
    client_rate_limit_per_minute: int = field(
        default=60, metadata={"help": "customer chat messages a minute per client address (UI + widget); 0 = none"}
    )
    handoffs_per_client_per_hour: int = field(
        default=10, metadata={"help": "'talk to a human' tickets an hour per client address; 0 = no limit"}
    )
    votes_per_client_per_minute: int = field(
        default=30, metadata={"help": "thumbs up/down a minute per client address; 0 = no limit"}
    )

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be in [1, 65535], got {self.port}")
        if self.concurrency_limit < 1:
            raise ConfigError(f"concurrency_limit must be >= 1, got {self.concurrency_limit}")
        if self.max_queue < 1:
            raise ConfigError(f"max_queue must be >= 1, got {self.max_queue}")
        if self.max_message_chars < 1:
            raise ConfigError(f"max_message_chars must be >= 1, got {self.max_message_chars}")
        if self.max_upload_mb < 1:
            raise ConfigError(f"max_upload_mb must be >= 1, got {self.max_upload_mb}")
        if self.max_request_kb < 1:
            raise ConfigError(f"max_request_kb must be >= 1, got {self.max_request_kb}")
        if self.api_rate_limit_per_minute < 0:
            raise ConfigError(f"api_rate_limit_per_minute must be >= 0, got {self.api_rate_limit_per_minute}")
        for name in ("client_rate_limit_per_minute", "handoffs_per_client_per_hour", "votes_per_client_per_minute"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.public_url and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(?:/[\w./\-~%]*)?", self.public_url):
            raise ConfigError(f"public_url must be an http(s) address such as https://chat.shop.example, got "
                              f"{self.public_url!r}")
        for i, entry in enumerate(self.trusted_proxies):
            try:
                ipaddress.ip_network(str(entry).strip(), strict=False)
            except ValueError:
                raise ConfigError(f"trusted_proxies[{i}] must be an IP address or network (e.g. 10.0.0.0/8), "
                                  f"got {entry!r}") from None
        for i, entry in enumerate(self.api_keys):
            hexpart = str(entry).removeprefix("sha256:")
            if not str(entry).startswith("sha256:") or len(hexpart) != 64 or not all(
                    c in "0123456789abcdef" for c in hexpart):
                raise ConfigError(f"api_keys[{i}] must be 'sha256:HEX' from `python -m assistant.web new-api-key` "
                                  f"(never the key itself), got {str(entry)[:16]!r}")
        for name, entry in self.users.items():
            role, _, hashed = str(entry).partition(":")
            if role not in ROLES or not hashed.startswith("pbkdf2_sha256$"):
                raise ConfigError(
                    f"users.{name} must be 'agent:HASH' or 'admin:HASH' with a hash from "
                    f"`python -m assistant.web hash-password`, got {str(entry)[:24]!r}"
                )
