"""The `orders:` config section: which order system answers, how long to wait for it, how much guessing is
allowed. Credentials are never config values: only the names of the environment variables that hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from assistant.errors import ConfigError

BACKENDS = ("embedded", "shopify", "woocommerce", "webhook")


def _loopback(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


@dataclass
class OrdersConfig:
    enabled: bool = field(default=True, metadata={"help": "answer order questions (status, cancel, address, return)"})
    backend: str = field(default="embedded", metadata={"help": "embedded | shopify | woocommerce | webhook"})
    timeout_s: float = field(default=5.0, metadata={"help": "seconds to wait for the order system before handing off"})
    max_wrong_per_session: int = field(default=3, metadata={"help": "wrong verifications before a conversation is "
                                                                    "handed to a human"})
    max_wrong_per_client_per_hour: int = field(default=10, metadata={"help": "wrong verifications an hour per client "
                                                                             "address (when the web layer says it)"})
    max_wrong_per_order_per_hour: int = field(default=5, metadata={"help": "wrong verifications an hour per order "
                                                                           "number, across all conversations"})
    verified_minutes: int = field(default=30, metadata={"help": "a verification is forgotten after this idle time"})
    policy_questions: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "return": {"en": "What is your return policy?", "zh": "退货政策是什么？"},
            "cancel": {"en": "Can I cancel my order?", "zh": "可以取消订单吗？"}},
        metadata={"help": "request kind -> the question whose knowledge-base answer is cited with it"})
    shopify_store: str = field(default="", metadata={"help": "https://SHOP.myshopify.com (the Admin REST API's host)"})
    shopify_api_version: str = field(default="2024-10", metadata={"help": "Admin REST API version"})
    shopify_token_env: str = field(default="SHOPIFY_ACCESS_TOKEN",
                                   metadata={"help": "environment variable holding the Admin API access token"})
    woocommerce_url: str = field(default="", metadata={"help": "the WordPress site's base URL (wp-json/wc/v3 below it)"})
    woocommerce_key_env: str = field(default="WOOCOMMERCE_CONSUMER_KEY",
                                     metadata={"help": "environment variable holding the REST consumer key"})
    woocommerce_secret_env: str = field(default="WOOCOMMERCE_CONSUMER_SECRET",
                                        metadata={"help": "environment variable holding the REST consumer secret"})
    webhook_url: str = field(default="", metadata={"help": "the shop system's endpoint for signed order calls"})
    webhook_secret_env: str = field(default="ORDERS_WEBHOOK_SECRET",
                                    metadata={"help": "environment variable holding the HMAC secret"})

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not 0 < self.timeout_s <= 60:
            raise ConfigError(f"timeout_s must be in (0, 60], got {self.timeout_s:g}")
        if self.max_wrong_per_session < 1:
            raise ConfigError(f"max_wrong_per_session must be >= 1, got {self.max_wrong_per_session}")
        for name in ("max_wrong_per_client_per_hour", "max_wrong_per_order_per_hour"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 (0 = no limit), got {getattr(self, name)}")
        if self.verified_minutes < 1:
            raise ConfigError(f"verified_minutes must be >= 1, got {self.verified_minutes}")
        for name in ("shopify_store", "woocommerce_url", "webhook_url"):
            url = getattr(self, name)
            if url and urlparse(url).scheme not in ("https", "http"):
                raise ConfigError(f"{name} must be an https:// URL, got {url!r}")
            # Credentials travel with every call: plain http only to this machine (tests, a local bridge).
            if url and urlparse(url).scheme == "http" and not _loopback(url):
                raise ConfigError(f"{name} must use https:// (http:// is allowed for 127.0.0.1 only), got {url!r}")
        needed = {"shopify": "shopify_store", "woocommerce": "woocommerce_url", "webhook": "webhook_url"}
        if self.enabled and self.backend in needed and not getattr(self, needed[self.backend]):
            raise ConfigError(f"{needed[self.backend]} must be set when backend is {self.backend}")
        for kind, texts in self.policy_questions.items():
            if not isinstance(texts, dict):
                raise ConfigError(f"policy_questions.{kind} must map languages to questions, got {texts!r}")
