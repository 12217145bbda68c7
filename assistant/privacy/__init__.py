"""PII detection and redaction for logs, transcripts, tickets, exported feedback and training data.

`redact(text)` replaces e-mails, phones, payment cards, Chinese IDs, IBANs, IPs and street addresses with
placeholders such as `<PHONE>`; `Redactor(cfg).find(text)` returns the entities. Offline: regex + checksums.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field

from assistant.errors import ConfigError, InputError
from assistant.privacy.recognizers import RECOGNIZERS, find_phones, fold_width

ENTITY_TYPES = ("EMAIL", "PHONE", "CARD", "CN_ID", "IBAN", "IP", "ADDRESS")
# When two candidates overlap, the one whose type comes first wins: checksummed types are the most certain,
# and an e-mail such as 13812345678@qq.com must stay one e-mail, not become a phone plus debris.
PRIORITY = ("CN_ID", "IBAN", "CARD", "EMAIL", "IP", "PHONE", "ADDRESS")
# Where redaction is applied; each place can be switched off on its own (`privacy.apply_to`).
PLACES = ("logs", "transcripts", "tickets", "feedback_export", "training_data", "agent_view")


@dataclass
class PrivacyConfig:
    entities: list[str] = field(default_factory=lambda: list(ENTITY_TYPES),
                                metadata={"help": f"entity types to detect, any of {', '.join(ENTITY_TYPES)}"})
    placeholders: dict[str, str] = field(default_factory=dict,
                                         metadata={"help": "type -> replacement text; default '<TYPE>'"})
    phone_regions: list[str] = field(default_factory=lambda: ["CN", "US"],
                                     metadata={"help": "regions whose national phone formats are recognised "
                                                       "(+country numbers are found regardless)"})
    allow: list[str] = field(default_factory=list,
                             metadata={"help": "values never redacted, e.g. the shop's own hotline and e-mail"})
    apply_to: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(PLACES, True),
                                      metadata={"help": f"where redaction is applied: {', '.join(PLACES)}"})
    max_chars: int = field(default=200_000, metadata={"help": "longest text redacted in one call"})

    def __post_init__(self):
        self.entities = [e.upper() for e in self.entities]
        bad = [e for e in self.entities if e not in ENTITY_TYPES]
        if bad:
            raise ConfigError(f"entities must be among {', '.join(ENTITY_TYPES)}, got {bad[0]!r}")
        bad = [k for k in self.placeholders if k.upper() not in ENTITY_TYPES]
        if bad:
            raise ConfigError(f"placeholders keys must be entity types ({', '.join(ENTITY_TYPES)}), got {bad[0]!r}")
        self.placeholders = {k.upper(): v for k, v in self.placeholders.items()}
        self.phone_regions = [r.upper() for r in self.phone_regions]
        for region in self.phone_regions:
            if not re.fullmatch(r"[A-Z]{2}", region):
                raise ConfigError(f"phone_regions must be two-letter region codes such as CN, got {region!r}")
        bad = [k for k in self.apply_to if k not in PLACES]
        if bad:
            raise ConfigError(f"apply_to keys must be among {', '.join(PLACES)}, got {bad[0]!r}")
        self.apply_to = {**dict.fromkeys(PLACES, True), **self.apply_to}
        if self.max_chars < 1:
            raise ConfigError(f"max_chars must be >= 1, got {self.max_chars}")

    def applies_to(self, place: str) -> bool:
        """Whether text bound for `place` (one of PLACES) must be redacted."""
        if place not in PLACES:
            raise ConfigError(f"apply_to has no place {place!r} (known: {', '.join(PLACES)})")
        return self.apply_to[place]


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    text: str


def canonical(entity_type: str, value: str) -> str:
    """A comparable form: phones/cards/IDs by their digits, e-mails and IBANs case-folded, no spaces."""
    value = fold_width(value).strip()  # "１３８…" typed in full-width mode is the same phone as "138…"
    if entity_type in {"PHONE", "CARD"}:
        digits = re.sub(r"\D", "", value)
        # +86 138... and 138... are the same customer's phone
        return digits[2:] if entity_type == "PHONE" and digits.startswith("86") and len(digits) == 13 else digits
    return re.sub(r"\s+", "", value).lower()


class Redactor:
    """Finds and replaces PII. Build once and reuse: construction validates the config."""

    def __init__(self, cfg: PrivacyConfig | None = None):
        self.cfg = cfg or PrivacyConfig()
        self._allowed = {fold_width(value).strip().lower() for value in self.cfg.allow}
        self._allowed |= {re.sub(r"\D", "", fold_width(v)) for v in self.cfg.allow if sum(c.isdigit() for c in v) >= 6}

    def _is_allowed(self, entity_type: str, value: str) -> bool:
        return bool(self._allowed) and (fold_width(value).strip().lower() in self._allowed
                                        or canonical(entity_type, value) in self._allowed)

    def find(self, text: str) -> list[Entity]:
        """Entities in `text`, sorted by position, never overlapping."""
        if not isinstance(text, str):
            raise InputError(f"text must be a string, got {type(text).__name__}")
        if len(text) > self.cfg.max_chars:
            raise InputError(f"text is {len(text)} characters, over privacy.max_chars={self.cfg.max_chars}")
        # Matched in ASCII form, so an e-mail, card or ID typed in full-width mode is found too; same length,
        # so the spans are the original text's.
        folded = fold_width(text)
        candidates: list[tuple[int, int, int, str]] = []  # (priority, start, end, type)
        for rank, entity_type in enumerate(PRIORITY):
            if entity_type not in self.cfg.entities:
                continue
            if entity_type == "PHONE":
                spans = find_phones(folded, tuple(self.cfg.phone_regions))
            else:
                spans = RECOGNIZERS[entity_type](folded)
            candidates += [(rank, s, e, entity_type) for s, e in spans]
        # Most certain type first, then the longest span: the same phone found as "138 1234 5678" by the
        # regex and "+86 138 1234 5678" by phonenumbers keeps the longer one.
        candidates.sort(key=lambda c: (c[0], -(c[2] - c[1]), c[1]))
        # Taken spans never overlap, so sorted by start one bisect finds the only neighbours that could clash
        # (a linear scan made a 150k-character log take seconds per thousand entities).
        starts: list[int] = []
        taken: list[Entity] = []
        for _, start, end, entity_type in candidates:
            i = bisect.bisect_right(starts, start)
            if (i and taken[i - 1].end > start) or (i < len(taken) and taken[i].start < end):
                continue
            value = text[start:end]
            if not self._is_allowed(entity_type, value):
                starts.insert(i, start)
                taken.insert(i, Entity(entity_type, start, end, value))
        return taken

    def placeholder(self, entity_type: str) -> str:
        return self.cfg.placeholders.get(entity_type, f"<{entity_type}>")

    def redact(self, text: str) -> str:
        out, last = [], 0
        for entity in self.find(text):
            out += [text[last:entity.start], self.placeholder(entity.type)]
            last = entity.end
        out.append(text[last:])
        return "".join(out)

    def redact_for(self, place: str, text: str) -> str:
        """Redact when the config applies redaction to `place` (logs, tickets, ...), else return text as is."""
        return self.redact(text) if self.cfg.applies_to(place) else text


_default: Redactor | None = None


def redact(text: str, cfg: PrivacyConfig | None = None) -> str:
    """`text` with every PII entity replaced by its placeholder."""
    global _default
    if cfg is not None:
        return Redactor(cfg).redact(text)
    if _default is None:
        _default = Redactor()
    return _default.redact(text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message, so PII never reaches a log file."""

    def __init__(self, redactor: Redactor | None = None):
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            record.msg, record.args = self.redactor.redact(message), None
        except InputError:
            record.msg, record.args = "<log message withheld: too long to redact>", None
        # A traceback ends with the exception's message ("cannot deliver to 138…"; SQLAlchemy errors quote the
        # row's parameters), and the formatter prints `exc_text` when set: set it to the redacted traceback.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for attr in ("exc_text", "stack_info"):
            if text := getattr(record, attr, None):
                try:
                    setattr(record, attr, self.redactor.redact(text))
                except InputError:
                    setattr(record, attr, "<traceback withheld: too long to redact>")
        return True


_SESSION_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{8})[0-9a-f]{24}(?![0-9a-f])")


def short_session_ids(text: str) -> str:
    """A conversation's id (32 hex) cut to its first 8: the whole id is the key to a conversation (its agent
    replies, a verification still valid), so a log reader must not be able to replay it."""
    return _SESSION_ID.sub(r"\1…", text)


class ShortSessionIds(logging.Filter):
    """For the web server's access log, whose request lines carry `?session_id=…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(short_session_ids(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = short_session_ids(record.msg)
        return True


def install_log_redaction(cfg: PrivacyConfig | None = None, logger: logging.Logger | None = None) -> None:
    """Attach a RedactingFilter to every handler of `logger` (root by default) when logs are redacted."""
    cfg = cfg or PrivacyConfig()
    if not cfg.applies_to("logs"):
        return
    target = logger or logging.getLogger()
    redaction = RedactingFilter(Redactor(cfg))
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redaction)


__all__ = [
    "ENTITY_TYPES", "PLACES", "Entity", "PrivacyConfig", "RedactingFilter", "Redactor", "canonical",
    "ShortSessionIds", "install_log_redaction", "redact", "short_session_ids", "with_shop_contacts",
]


def with_shop_contacts(settings):
    """The privacy config with the shop's own phone and e-mail allowed: the hotline the assistant gave a customer
    is no customer's data, and an agent reading "call us on <PHONE>" in a ticket cannot tell what was said."""
    import dataclasses

    privacy, shop = settings.privacy, getattr(settings, "shop", None)
    own = [v for v in (getattr(shop, "contact_phone", ""), getattr(shop, "contact_email", ""))
           if isinstance(v, str) and v.strip() and v not in privacy.allow]
    return dataclasses.replace(privacy, allow=[*privacy.allow, *own]) if own else privacy
