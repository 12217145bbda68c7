"""What a copywriter asks for: product, audience, tone, language, channel, how many, which words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from assistant.adcopy.text import detect_language
from assistant.errors import InputError

LANGUAGES = ("zh", "en")


def split_words(value) -> list[str]:
    """'a, b，c' or ['a', 'b'] -> ['a', 'b', 'c'] (ASCII and Chinese commas both separate)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass
class Brief:
    product: str
    channel: str = "google_rsa"
    n: int = 5
    audience: str = ""
    tone: str = ""
    language: str = ""  # "" = detected from the product text
    attributes: list[str] = field(default_factory=list)  # selling points
    offer: str = ""  # price or promotion, quoted as given (never invented)
    details: str = ""  # the product's description (a feed row's): facts the copy may state
    keywords: list[str] = field(default_factory=list)  # should appear: scored as coverage
    banned_words: list[str] = field(default_factory=list)  # must not appear: hard check
    required_terms: list[str] = field(default_factory=list)  # must appear in every variant: hard check
    fields: list[str] = field(default_factory=list)  # channel fields to write; [] = the channel's default
    # A catalogue row (feed mode): its every claim-bearing word needs support (adcopy.word_check: feed), even when
    # the row has no description; a hand-written brief of a name and two selling points keeps the exact checks.
    from_feed: bool = False

    def __post_init__(self):
        if not isinstance(self.product, str) or not self.product.strip():
            raise InputError("product must describe what to advertise, got an empty text")
        self.product = self.product.strip()
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise InputError(f"n must be a whole number, got {self.n!r}")
        if self.n < 1:
            raise InputError(f"n must be at least 1, got {self.n}")
        self.language = (self.language or detect_language(" ".join([self.product, *self.attributes]))).lower()
        if self.language not in LANGUAGES:
            raise InputError(f"language must be one of {', '.join(LANGUAGES)}, got {self.language!r}")
        for name in ("attributes", "keywords", "banned_words", "required_terms", "fields"):
            setattr(self, name, split_words(getattr(self, name)))

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Brief:
        if not isinstance(data, dict):
            raise InputError(f"a brief must be a mapping, got {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"brief has unknown key(s) {', '.join(sorted(unknown))}")
        return cls(**data)

    def facts(self) -> list[str]:
        """Everything the brief states: what an ad for it may claim (besides the brand file's facts)."""
        return [self.product, *self.attributes, self.offer, self.details, *self.keywords]

    def summary(self) -> str:
        """The brief as the model (and a fine-tuning row's `input`) sees it."""
        zh = self.language == "zh"
        lines = [("产品：" if zh else "Product: ") + self.product]
        if self.attributes:
            lines.append(("卖点：" if zh else "Selling points: ") + ("；" if zh else "; ").join(self.attributes))
        if self.details:
            lines.append(("详情：" if zh else "Details: ") + self.details)
        if self.offer:
            lines.append(("优惠（原样引用，不要编造）：" if zh else "Offer (quote as given, invent nothing): ") + self.offer)
        if self.audience:
            lines.append(("目标人群：" if zh else "Audience: ") + self.audience)
        if self.tone:
            lines.append(("语气：" if zh else "Tone: ") + self.tone)
        if self.keywords:
            lines.append(("尽量使用关键词：" if zh else "Use these keywords: ") + ", ".join(self.keywords))
        return "\n".join(lines)
