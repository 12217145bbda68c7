"""Who the assistant speaks for: the `shop:` config section and the one catalog of customer-facing texts.

    shop = Shop.from_config(settings.shop)
    shop.text("fallback", "zh")          # "我是<the shop's zh name>的客服助手，…"
    shop.name("en"), shop.language_of("Can I return the 北欧 lamp?")   # -> the shop's name, "en"

Nothing in the code names a shop: the demo shop is the `shop:` section of config/default.yaml, and a
config file with its own `shop:` section replaces that section whole (see assistant.config), so a new
shop never inherits the demo's name or contact details.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigError
from assistant.language import answer_language, detect_language

CATALOG_FILE = Path(__file__).with_name("messages.yaml")
LANGUAGES = ("zh", "en")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ASCII parts, so "我的邮箱是zhang@qq.com，谢谢" keeps its Chinese (a language); bounded (a local part is at most 64
# characters, a domain label 63): unbounded ones made a 100,000-character message without "@" take minutes.
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}", re.ASCII)
# A message's language is read from its start: what language a very long one is in shows there.
_LANGUAGE_SAMPLE = 2000


def _known_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):  # ValueError: "../x", an absolute path
        return False
    return True


@dataclass
class ShopConfig:
    # name, description and hours may also be one plain text (`hours: Mon-Fri 9-17`, as an owner writes it by
    # hand): it is taken as the text in its own language (refused as "must be a mapping" before)
    name: dict[str, str] | str = field(default_factory=lambda: {"en": "our shop", "zh": "本店"},
                                       metadata={"help": "the shop's name per language (zh, en)"})
    description: dict[str, str] | str = field(
        default_factory=dict, metadata={"help": "what the shop is, per language, e.g. {en: an online shop for bikes}"})
    persona: str = field(default="", metadata={"help": "extra instructions for the assistant's voice (any language)"})
    contact_email: str = field(default="", metadata={"help": "support e-mail customers may write to"})
    contact_phone: str = field(default="", metadata={"help": "support phone number"})
    hours: dict[str, str] | str = field(default_factory=dict, metadata={"help": "support hours per language"})
    website: str = field(default="", metadata={"help": "the shop's public site (told to customers who ask for it)"})
    currency: str = field(default="USD", metadata={"help": "ISO 4217 code of the shop's prices"})
    default_language: str = field(default="en", metadata={"help": "zh or en: used when a message has no clue"})
    timezone: str = field(default="UTC", metadata={"help": "the shop's IANA time zone (e.g. Asia/Shanghai): the "
                                                           "day a conversation or a rating counts under in reports"})
    messages: dict[str, dict[str, str]] = field(
        default_factory=dict, metadata={"help": "overrides of the text catalog: key -> {en: ..., zh: ...}"})
    messages_file: str = field(default="", metadata={"help": "a YAML file of catalog overrides (same shape)"})
    brand_file: str = field(default="", metadata={"help": "brand voice for ad copy (YAML); '' = a plain profile "
                                                          "from the name and description"})

    def __post_init__(self):
        if self.default_language not in LANGUAGES:
            raise ConfigError(f"default_language must be one of {', '.join(LANGUAGES)}, got {self.default_language!r}")
        for what in ("name", "description", "hours"):
            if isinstance(text := getattr(self, what), str):
                setattr(self, what, {answer_language(text, self.default_language): text} if text.strip() else {})
        if not any((v or "").strip() for v in self.name.values()):
            raise ConfigError("name must give the shop's name in at least one language, e.g. {en: My Shop}")
        for what in ("name", "description", "hours"):  # "cn:" hours were silently never told to customers
            bad = sorted(set(getattr(self, what) or {}) - set(LANGUAGES))
            if bad:
                raise ConfigError(f"{what} has unknown language {bad[0]!r} (use {', '.join(LANGUAGES)})")
        if self.contact_email and not _EMAIL.match(self.contact_email):
            raise ConfigError(f"contact_email must be an e-mail address, got {self.contact_email!r}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency or ""):
            raise ConfigError(f"currency must be a 3-letter ISO code such as USD or CNY, got {self.currency!r}")
        if not _known_timezone(self.timezone):
            raise ConfigError(f"timezone must be an IANA time zone such as Asia/Shanghai or Europe/Berlin, got "
                              f"{self.timezone!r}")
        for key, texts in self.messages.items():
            if not isinstance(texts, dict):
                raise ConfigError(f"messages.{key} must map languages to texts, got {texts!r}")


def _load_catalog(path: Path) -> dict[str, dict[str, str]]:
    from assistant.config import load_yaml_file

    data = load_yaml_file(path, "message catalog") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must map message keys to {{en: ..., zh: ...}}")
    for key, texts in data.items():
        if not isinstance(texts, dict):
            raise ConfigError(f"{path}: {key} must map languages to texts, e.g. {key}: {{en: ..., zh: ...}}, "
                              f"got {texts!r}")
    # a language left blank (`en:` with nothing after it) is not given: str(None) showed customers "None"
    return {str(k): {str(lang): str(t) for lang, t in v.items() if t is not None} for k, v in data.items()}


class Shop:
    """The configured shop's identity and texts; every customer-facing string comes from `text()`."""

    def __init__(self, cfg: ShopConfig | None = None):
        self.cfg = cfg or ShopConfig()
        self.catalog = _load_catalog(CATALOG_FILE)
        if self.cfg.messages_file:
            from assistant.config import resolve_path

            self._merge(self._checked(_load_catalog(resolve_path(self.cfg.messages_file)), self.cfg.messages_file))
        self._merge(self._checked(self.cfg.messages, "shop.messages"))

    def _checked(self, overrides: dict[str, dict[str, str]], source: str) -> dict[str, dict[str, str]]:
        """`overrides` of catalog texts, refused at load with a ConfigError when one cannot be used: an unknown key
        ("greting" was silently never shown), an unknown language, or a placeholder no caller fills ("{shopname}"
        made every page that shows the text a 500)."""
        import difflib
        from string import Formatter

        known = set(self.fields(self.cfg.default_language))
        for key, texts in overrides.items():
            if key not in self.catalog:
                near = difflib.get_close_matches(key, list(self.catalog), n=1)
                raise ConfigError(f"{source}: unknown message key {key!r}"
                                  + (f" (did you mean {near[0]!r}?)" if near else ""))
            allowed = known | {name for text in self.catalog[key].values()
                               for _, name, _, _ in Formatter().parse(text) if name}
            if key in ("contact_line", "contact_later"):  # the two texts {contact_line_or_later} is made of
                allowed -= {"contact_line_or_later"}
            for lang, text in texts.items():
                if lang not in LANGUAGES:
                    raise ConfigError(f"{source}: {key} has unknown language {lang!r} (use {', '.join(LANGUAGES)})")
                try:
                    used = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
                except ValueError as exc:
                    raise ConfigError(f"{source}: {key} ({lang}) is not a valid text ({exc}; write {{{{ and }}}} "
                                      "for a literal brace)") from None
                if bad := sorted(used - allowed):
                    raise ConfigError(f"{source}: {key} ({lang}) has the placeholder {{{bad[0]}}}, which nothing fills "
                                      f"(it may use {', '.join('{' + n + '}' for n in sorted(allowed))})")
        return overrides

    @classmethod
    def from_config(cls, cfg) -> Shop:
        return cls(cfg if isinstance(cfg, ShopConfig) else None)

    def _merge(self, extra: dict[str, dict[str, str]]) -> None:
        for key, texts in extra.items():
            self.catalog.setdefault(key, {}).update(texts)

    def _pick(self, values: dict[str, str], lang: str) -> str:
        for candidate in (lang, self.cfg.default_language, "en", "zh"):
            if (values.get(candidate) or "").strip():
                return values[candidate]
        return ""

    def name(self, lang: str) -> str:
        return self._pick(self.cfg.name, lang)

    def named_for(self, text: str, lang: str) -> str:
        """`text` with the shop's name in other languages replaced by its name in `lang`: a translation otherwise
        renders the name word by word ("面包时光" became "Bread time" in an English answer). The generic names
        ("本店", "our shop") and a Chinese name under three characters ("面包" is in "全麦面包") are left alone, and
        so is a name inside the name in `lang` ("Slow Ember" in "Slow Ember Coffee")."""
        own = self.name(lang)
        generic = ShopConfig().name
        for other, name in self.cfg.name.items():
            name = (name or "").strip()
            if other == lang or not name or not own or name == own or name == generic.get(other) \
                    or (not name.isascii() and len(name) < 3):
                continue
            # a Latin name only as whole words: "Co" is no shop name inside "Coffee"
            edge = r"(?<![A-Za-z0-9])" if name[0].isascii() else ""
            end = r"(?![A-Za-z0-9])" if name[-1].isascii() else ""
            text = own.join(re.sub(edge + re.escape(name) + end, lambda _: own, piece) for piece in text.split(own))
        return text

    def language_of(self, text: str) -> str:
        """The language to answer `text` in: the product's one rule, the shop's default when unclear."""
        return answer_language(text, self.cfg.default_language)

    @staticmethod
    def says_language(text: str) -> bool:
        """Whether `text` has words of some language: an order number, an e-mail address or an emoji has none."""
        return detect_language(_EMAIL_IN_TEXT.sub(" ", (text or "")[:_LANGUAGE_SAMPLE])) != "und"

    def language_of_conversation(self, user_messages: Sequence[str]) -> str:
        """The language to answer the latest of the customer's `user_messages` (oldest first) in: a message that
        says no language itself ("1111", an e-mail) is answered in the language of the latest one before it that
        did; the shop's default only when none did."""
        for said in reversed(user_messages):
            if self.says_language(said):
                return self.language_of(_EMAIL_IN_TEXT.sub(" ", said[:_LANGUAGE_SAMPLE]))
        return self.cfg.default_language

    def fields(self, lang: str) -> dict[str, str]:
        """The placeholders every catalog text may use, in `lang`."""
        description = self._pick(self.cfg.description, lang).rstrip(" .。")  # catalog texts end the sentence
        hours = self._pick(self.cfg.hours, lang)
        zh = lang == "zh"
        out = {"shop_name": self.name(lang), "description": description, "contact_email": self.cfg.contact_email,
               "contact_phone": self.cfg.contact_phone, "hours": hours, "website": self.cfg.website,
               "currency": self.cfg.currency,
               "description_clause": (f"（{description}）" if zh else f", {description}") if description else ""}
        parts = [self.cfg.contact_email, self.cfg.contact_phone, hours]
        out["contact_line"] = ("、" if zh else ", ").join(p for p in parts if p)
        if self.cfg.contact_email:
            out["contact_line_or_later"] = self._raw("contact_line", lang).format(**out) + ("。" if zh else ".")
        else:
            # formatted too: an override "please call us on {contact_phone}." showed customers the braces
            out["contact_line_or_later"] = self._raw("contact_later", lang).format(**out)
        return out

    def _raw(self, key: str, lang: str) -> str:
        texts = self.catalog.get(key)
        if texts is None:
            raise KeyError(f"no message {key!r} in the catalog")
        return self._pick(texts, lang)

    def text(self, key: str, lang: str, **values) -> str:
        """Catalog text `key` in `lang` (falling back to the shop's default language, then English)."""
        raw = self._raw(key, lang)
        try:
            return raw.format(**{**self.fields(lang), **values}).strip()
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"message {key!r} ({lang}) has a placeholder that cannot be filled: {exc}") from None

    def system_prompt(self, lang: str) -> str:
        """The assistant's role in the shop's voice, plus the shop's own persona instructions."""
        prompt = self.text("system_prompt", lang)
        return f"{prompt}\n{self.cfg.persona.strip()}" if self.cfg.persona.strip() else prompt
