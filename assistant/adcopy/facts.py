"""No invented facts: every number (with its unit), material, certification and product claim an ad states must
be stated by the product's row or the brand file's facts; a clause that states one they do not is removed.

What counts as a checkable fact is data (`data/claims.yaml`); numbers are found in code (digits, Chinese
numerals, English number words via knowledge_base.grounding, plus the unit after them), model codes too.
A small model phrases well and invents easily ("100%纯棉" for a cotton blend, "2-year warranty" for none):
this is the plain-code check that stands between it and the shop's customers.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.adcopy.checks import drop_clauses
from assistant.adcopy.text import contains_term, fold
from assistant.config import load_yaml_file
from assistant.errors import ConfigError
from knowledge_base.grounding import codes_in, numbers_in, zh_number

DEFAULT_CLAIMS_FILE = Path(__file__).with_name("data") / "claims.yaml"
TERM_KINDS = ("materials", "colours", "certifications", "claims")
_ZH_NUM = "零〇一二两三四五六七八九十百千万"
_CURRENCY = "¥￥$€£"
# A number after these is a price ("price 129" in a feed row): it supports "$129" or "129元", not "129 cm".
_PRICE_WORDS = r"(?:price|sale|was|售价|促销价|原价|价格|到手价|现价)"


@dataclass(frozen=True)
class Claim:
    kind: str  # number | material | colour | certification | claim | code
    name: str  # canonical: "30 day", "linen", "oeko-tex", "waterproof", "x200"
    text: str  # as the copy wrote it

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r}" + (f" ({self.name})" if self.name != fold(self.text) else "")


@dataclass
class Sources:
    """What the row and the brand state, prepared once per product."""

    text: str
    folded: str
    pairs: set[tuple[float, str | None]] = field(default_factory=set)  # (value, unit) as stated
    bare: set[float] = field(default_factory=set)  # values stated without a unit
    codes: set[str] = field(default_factory=set)
    groups: set[tuple[str, str]] = field(default_factory=set)  # (kind, canonical) the sources state


@dataclass(frozen=True)
class _Vocab:
    units: dict[str, str]  # alias -> canonical unit
    unit_re: re.Pattern
    number_words: tuple[str, ...]
    terms: tuple[tuple[str, str, str], ...]  # (alias folded, kind, canonical), longest alias first
    generic_cert: tuple[str, ...]
    patterns: tuple[tuple[str, re.Pattern], ...] = ()  # (language, claim shape)
    ignore: frozenset[str] = frozenset()
    ordinary: frozenset[str] = frozenset()  # words any ad may use (listed, plus common to the headline lists)


@lru_cache(maxsize=4)
def load_vocab(path: str | None = None) -> _Vocab:
    p = Path(path) if path else DEFAULT_CLAIMS_FILE
    data = load_yaml_file(p, what="claims vocabulary", error=ConfigError)
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in ("units", *TERM_KINDS)):
        raise ConfigError(f"claims vocabulary {p} needs mappings units, {', '.join(TERM_KINDS)}")
    units = {fold(str(a)): str(u) for u, aliases in data["units"].items() for a in aliases}
    # Longest alias first ("个月" before "月", "mah" before "m"); a Latin unit must end at a word boundary.
    alts = sorted(units, key=len, reverse=True)
    unit_re = re.compile("(?:" + "|".join(re.escape(a) + (r"(?![a-z])" if a[-1].isalpha() and a.isascii() else "")
                                           for a in alts) + ")")
    words = data.get("number_words") or {}
    number_words = tuple(sorted({fold(w) for ws in words.values() for w in ws}, key=len, reverse=True))
    terms = [(fold(str(a)), kind.rstrip("s"), str(name)) for kind in TERM_KINDS
             for name, aliases in (data.get(kind) or {}).items() for a in aliases]
    terms.sort(key=lambda t: -len(t[0]))
    generic = tuple(fold(w) for w in data.get("generic_certification") or [])
    try:
        patterns = tuple((lang, re.compile(p, re.IGNORECASE)) for lang, ps in (data.get("claim_patterns") or {}).items()
                         for p in ps)
    except re.error as exc:
        raise ConfigError(f"claims vocabulary {p}: bad claim pattern: {exc}") from None
    ignore = frozenset(fold(w) for w in data.get("claim_pattern_ignore") or [])
    ordinary = {fold(str(w)) for ws in (data.get("ordinary_words") or {}).values() for w in ws} | _shared_words()
    return _Vocab(units, unit_re, number_words, tuple(terms), generic, patterns, ignore, frozenset(ordinary))


def _words(text: str) -> list[str]:
    """Content-word candidates: English words, and Chinese words of two or more characters (jieba)."""
    t = fold(text or "")
    words = re.findall(r"[a-z][a-z'-]+", t)
    if re.search(r"[\u4e00-\u9fff]", t):
        import jieba

        jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
        words += [w for w in jieba.lcut(t) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)]
    return words


def _shared_words(min_products: int = 3) -> set[str]:
    """Words that the shipped headline lists use for several products: ordinary ad vocabulary, not facts."""
    from assistant.adcopy.training_data import HEADLINE_LISTS

    data = load_yaml_file(HEADLINE_LISTS, what="headline lists", error=ConfigError) or {}
    seen: dict[str, set[int]] = {}
    for i, product in enumerate(data.get("products") or []):
        for line in (product.get("headlines") or {}).values():
            for w in _words(str(line)):
                seen.setdefault(w, set()).add(i)
    return {w for w, products in seen.items() if len(products) >= min_products}


def _loose(text: str) -> str:
    return re.sub(r"[-\s]+", " ", text.replace("不易", "不"))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _value(raw: str) -> float | None:
    if raw[0] in _ZH_NUM:
        if raw == "一":  # a lone 一 is an article ("一款"), not a quantity
            return None
        v = zh_number(raw)
        return float(v) if v is not None else None
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


class FactChecker:
    """`claims(text)`, `unsupported(text, sources)`, `repair(text, sources)`; vocabulary from YAML."""

    def __init__(self, vocab_file: str | Path | None = None):
        self.vocab = load_vocab(str(vocab_file) if vocab_file else None)
        self._num = re.compile(
            rf"(?P<cur>[{_CURRENCY}]\s*|{_PRICE_WORDS}\s*[:：]?\s*)?(?P<num>\d+(?:[.,]\d+)*|[{_ZH_NUM}]+)\s*(?:-\s*)?(?P<unit>{self.vocab.unit_re.pattern})?")

    # ---- what a text states --------------------------------------------------------------------------------
    def _mask_words(self, text: str) -> str:
        """Idioms whose numerals are no quantity (十分, 百搭, one-of-a-kind) blanked, keeping positions."""
        for w in self.vocab.number_words:
            text = re.sub((r"(?<![a-z])" + re.escape(w) + r"(?![a-z])") if w.isascii() else re.escape(w),
                          lambda m: " " * len(m.group(0)), text)
        return text

    def numbers(self, text: str) -> list[tuple[float, str | None, str]]:
        """(value, canonical unit or None, as written) for every number the text states."""
        t = self._mask_words(fold(unicodedata.normalize("NFKC", text or "")))
        out, rest = [], list(t)
        for m in self._num.finditer(t):
            value = _value(m.group("num"))
            if value is None:
                continue
            unit = "money" if m.group("cur") else (self.vocab.units.get(m.group("unit")) if m.group("unit") else None)
            out.append((value, unit, m.group(0).strip()))
            rest[m.start():m.end()] = " " * (m.end() - m.start())
        # English number words ("thirty days") through the knowledge base's extractor; no unit attached.
        out += [(v, None, f"{v:g}") for v in numbers_in("".join(rest))]
        return out

    def terms(self, text: str, overlaps: bool = False) -> list[tuple[str, str, str]]:
        """(kind, canonical, alias) for every material, certification and claim, longest alias first.

        In copy an alias inside a longer one is not a claim of its own ("棉" in "记忆棉"); in the sources it is
        support ("stainless steel" supports "steel"), so the sources are read with `overlaps`."""
        t = fold(text or "")
        taken: list[tuple[int, int]] = []
        out = []
        for alias, kind, name in self.vocab.terms:
            start = 0
            while (i := t.find(alias, start)) >= 0:
                start = i + 1
                j = i + len(alias)
                if (not overlaps and any(a < j and i < b for a, b in taken)) \
                        or not contains_term(t[max(0, i - 1):j + 1], alias):
                    continue
                taken.append((i, j))
                out.append((kind, name, alias))
        for alias in self.vocab.generic_cert:
            if contains_term(t, alias) and not any(a <= t.find(alias) < b for a, b in taken):
                out.append(("certification", "certified", alias))
        return out

    def _codes(self, text: str) -> set[str]:
        units = set(self.vocab.units)
        # "30cm", "2-year" are numbers with units (checked as numbers), not model codes.
        return {c for c in codes_in(text)
                if not ((m := re.fullmatch(r"[\d.]+-?([a-z%]+)", c)) and m.group(1) in units)}

    def sources(self, *texts: str) -> Sources:
        text = "\n".join(t for t in texts if t)
        src = Sources(text, fold(text))
        for value, unit, _ in self.numbers(text):
            src.pairs.add((value, unit))
            if unit is None:
                src.bare.add(value)
        src.codes = self._codes(text)
        src.groups = {(kind, name) for kind, name, _ in self.terms(text, overlaps=True)}
        return src

    # ---- the check ----------------------------------------------------------------------------------------
    def unsupported(self, text: str, sources: Sources | str) -> list[Claim]:
        src = sources if isinstance(sources, Sources) else self.sources(sources)
        out: list[Claim] = []
        for value, unit, written in self.numbers(text):
            if (value, unit) in src.pairs or value in src.bare or (unit is None and any(v == value for v, _ in src.pairs)):
                continue
            out.append(Claim("number", f"{value:g} {unit or ''}".strip(), written))
        have_cert = any(kind == "certification" for kind, _ in src.groups)
        for kind, name, alias in self.terms(text):
            if (kind, name) in src.groups or (name == "certified" and have_cert):
                continue
            out.append(Claim(kind, name, alias))
        out += [Claim("code", c, c) for c in sorted(self._codes(text) - src.codes) if c not in src.folded]
        named = " ".join(c.text for c in out)
        # "不变形" is what "不易变形" says too, and "oven-safe" what "oven safe" says
        loose = _loose(src.folded)
        out += [Claim("claim", fold(s), s) for s in self.shapes(text)
                if _loose(fold(s)) not in loose and fold(s) not in fold(named)]
        return list(dict.fromkeys(out))

    def novel_words(self, text: str, sources: Sources | str) -> list[str]:
        """Words of the copy that are neither in the product's data nor ordinary ad vocabulary: not proof of an
        invented claim, a pointer for the person who approves it (FeedGen calls these "words not in the input")."""
        src = sources if isinstance(sources, Sources) else self.sources(sources)
        stems = {_stem(w) for w in re.findall(r"[a-z][a-z'-]+", src.folded)}
        return list(dict.fromkeys(w for w in _words(text) if w not in self.vocab.ordinary and w not in src.folded
                                  and _stem(w) not in stems and w not in self.vocab.ignore))

    def shapes(self, text: str) -> list[str]:
        """Phrases shaped like a product claim ("PFOA-free", "防摔", "食品级"), from `claim_patterns`."""
        out = []
        for _, pattern in self.vocab.patterns:
            out += [m.group(0) for m in pattern.finditer(text or "") if fold(m.group(0)) not in self.vocab.ignore]
        return list(dict.fromkeys(out))

    def repair(self, text: str, sources: Sources | str) -> tuple[str, list[Claim]]:
        """(text without the clauses that state unsupported facts, those facts); "" when nothing true is left."""
        src = sources if isinstance(sources, Sources) else self.sources(sources)
        bad = self.unsupported(text, src)
        if not bad:
            return text, []
        fixed = drop_clauses(text, lambda clause: bool(self.unsupported(clause, src)))
        if fixed == text or self.unsupported(fixed, src) or not re.sub(r"\W+", "", fixed):
            return "", bad
        return fixed, bad
