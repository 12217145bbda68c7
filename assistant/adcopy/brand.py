"""A brand voice profile: who the brand is, exemplar ads, banned words, required terms, do/don't notes.

Loaded from YAML (see the demo shop's `data/brand_demo.yaml`). Exemplars become few-shot context in the prompt;
banned words and required terms are hard checks on every returned variant. Lists may be one list for all
languages or a mapping per language (`{zh: [...], en: [...]}`), since brand names differ by script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.adcopy.text import fold
from assistant.config import load_yaml_file
from assistant.errors import InputError

DEMO_BRAND_FILE = Path(__file__).with_name("data") / "brand_demo.yaml"


@dataclass(frozen=True)
class Exemplar:
    channel: str
    language: str
    fields: dict[str, str]


@dataclass
class BrandProfile:
    name: str
    names: dict[str, str] = field(default_factory=dict)  # language -> brand name in that language
    description: dict[str, str] = field(default_factory=dict)
    voice: dict[str, str] = field(default_factory=dict)
    do: dict[str, list[str]] = field(default_factory=dict)
    dont: dict[str, list[str]] = field(default_factory=dict)
    banned_words: dict[str, list[str]] = field(default_factory=dict)  # "*" = every language
    required_terms: dict[str, list[str]] = field(default_factory=dict)
    # Standing claims any ad may make ("free returns within 30 days"): the invented-fact check accepts them.
    # Exemplars are not facts (they are another product's copy), and neither is the description.
    facts: dict[str, list[str]] = field(default_factory=dict)
    exemplars: list[Exemplar] = field(default_factory=list)

    def name_in(self, language: str) -> str:
        return self.names.get(language) or self.name

    def all_names(self) -> list[str]:
        """The brand's name in every language it has one."""
        return [self.name, *self.names.values()]

    def _pick(self, table: dict, language: str) -> list[str]:
        return list(table.get("*", [])) + list(table.get(language, []))

    def banned(self, language: str) -> list[str]:
        # Banned words hold in every language: a zh ad must not say an English banned word either.
        words: list[str] = []
        for lang_words in self.banned_words.values():
            words.extend(lang_words)
        return list(dict.fromkeys(words))

    def required(self, language: str) -> list[str]:
        return self._pick(self.required_terms, language)

    def fact_list(self, language: str) -> list[str]:
        return [self.name, *self.names.values(), *self._pick(self.facts, language)]

    def exemplar_texts(self) -> list[str]:
        """Every exemplar's every field: copy for other products, whose clauses an ad must not borrow."""
        return [text for ex in self.exemplars for text in ex.fields.values() if text]

    def notes(self, table: dict, language: str) -> list[str]:
        return self._pick(table, language)


def _per_language(value, where: str, text: bool = False) -> dict:
    """Normalise 'one list for all' or '{lang: list}' to {lang: list} ('*' = all languages)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        out = {}
        for lang, v in value.items():
            if text:
                if not isinstance(v, str):
                    raise InputError(f"brand {where}.{lang} must be text, got {v!r}")
                out[str(lang)] = v
            else:
                out[str(lang)] = _as_list(v, f"{where}.{lang}")
        return out
    if text:
        if not isinstance(value, str):
            raise InputError(f"brand {where} must be text or a per-language mapping, got {value!r}")
        return {"*": value}
    return {"*": _as_list(value, where)}


def _as_list(value, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise InputError(f"brand {where} must be a list of words, got {value!r}")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_brand(data, source: str = "brand file") -> BrandProfile:
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a YAML mapping with at least 'name', got {type(data).__name__}")
    unknown = set(data) - {"name", "names", "description", "voice", "do", "dont", "banned_words",
                           "required_terms", "facts", "exemplars"}
    if unknown:
        raise InputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{source}: 'name' must be the brand's name")
    exemplars = []
    for i, ex in enumerate(data.get("exemplars") or []):
        if not isinstance(ex, dict) or not isinstance(ex.get("fields"), dict):
            raise InputError(f"{source}: exemplars[{i}] must have 'channel', 'language' and 'fields'")
        exemplars.append(Exemplar(str(ex.get("channel", "")), str(ex.get("language", "en")),
                                  {str(k): str(v) for k, v in ex["fields"].items()}))
    brand = BrandProfile(
        name=name.strip(),
        names={str(k): str(v) for k, v in (data.get("names") or {}).items()},
        description=_per_language(data.get("description"), "description", text=True),
        voice=_per_language(data.get("voice"), "voice", text=True),
        do=_per_language(data.get("do"), "do"),
        dont=_per_language(data.get("dont"), "dont"),
        banned_words=_per_language(data.get("banned_words"), "banned_words"),
        required_terms=_per_language(data.get("required_terms"), "required_terms"),
        facts=_per_language(data.get("facts"), "facts"),
        exemplars=exemplars,
    )
    check_consistent(brand)
    return brand


def check_consistent(brand: BrandProfile) -> None:
    """A required term that contains a banned word makes every variant impossible: say so up front."""
    banned = [fold(w) for words in brand.banned_words.values() for w in words]
    for words in brand.required_terms.values():
        for term in words:
            clash = [b for b in banned if b and b in fold(term)]
            if clash:
                raise InputError(
                    f"brand requires {term!r} but bans {clash[0]!r}: no variant could satisfy both"
                )


def brand_for(settings) -> BrandProfile:
    """The configured shop's brand: adcopy.brand_file, else shop.brand_file, else a plain profile made from
    the shop: section (its names and description, no voice rules): never another shop's brand."""
    path = settings.adcopy.brand_file or getattr(settings.shop, "brand_file", "")
    if path:
        from assistant.config import resolve_path

        return load_brand(resolve_path(path))
    shop = settings.shop
    names = {k: v for k, v in shop.name.items() if v}
    first = names.get(shop.default_language) or next(iter(names.values()))
    return parse_brand({"name": first, "names": names, "description": dict(shop.description)},
                       source="the shop: section")


def load_brand(path: str | Path | None = None) -> BrandProfile:
    """A brand profile from YAML; no path = the demo shop's brand (benchmarks and shipped training data)."""
    p = Path(path) if path else DEMO_BRAND_FILE
    data = load_yaml_file(p, what="brand file", error=InputError)
    return parse_brand(data, source=f"brand file {p}")


def pick_brand(brand: BrandProfile | str | Path | None, settings=None, brand_file: str = "") -> BrandProfile:
    """The brand a generator writes for: `brand` itself, or the YAML file it names; else the configured shop's
    (`settings` with a shop: section); else `brand_file` (adcopy.brand_file), else the demo brand. One function,
    so a feed run can key its rows by the brand before (or without) building the generator."""
    if isinstance(brand, BrandProfile):
        return brand
    if brand:
        return load_brand(brand)
    if settings is not None and "shop" in getattr(settings, "sections", ()):
        return brand_for(settings)
    return load_brand(brand_file or None)
