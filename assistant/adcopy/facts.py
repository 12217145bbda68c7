"""No invented facts: every number (with its unit), material, certification and product claim an ad states must
be stated by the product's row or the brand file's facts; a clause that states one they do not is removed.

Two layers. Exact facts are matched by kind (`data/claims.yaml`): numbers with their unit (digits, Chinese
numerals, English number words via knowledge_base.grounding), materials, colours and certifications as alias
groups across languages, claim shapes, model codes. Every other claim-bearing word must be supported too
(support.py: in the sources, or a generic marketing word of `data/generic_words.yaml`), so open-ended inventions
("packs into its own pocket", "附赠猫薄荷") are caught without a list of them, unless the word sits in a frame that
names the customer's world rather than the product ("into your bag", "in the shower": `in_scene`). A small model
phrases well and invents easily ("100%纯棉" for a cotton blend, "2-year warranty" for none): this is the plain-code
check that stands between it and the shop's customers.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.adcopy.checks import clauses, drop_clauses
from assistant.adcopy.scene_frames import in_scene
from assistant.adcopy.support import SourceWords, WordSupport, WordSupportConfig, stem
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
# A model code written against Chinese text ("IPX4防水", "A5大小"): letters then a digit, no Latin neighbour.
_GLUED_CODE = re.compile(r"(?<![a-z0-9])[a-z]+\d[a-z0-9]*(?![a-z0-9])")
# English number words are facts.py's (via numbers_in), not the word check's: blanked before it runs.
_EN_NUMBER_WORDS = re.compile(r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                              r"(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty|"
                              r"hundred|thousand|million|dozen|half|once|twice|single|double)\b")


@dataclass(frozen=True)
class Claim:
    kind: str  # number | material | colour | certification | claim | code | word (a claim-bearing word nothing backs)
    name: str  # canonical: "30 day", "linen", "oeko-tex", "waterproof", "x200"
    text: str  # as the copy wrote it
    why: str = field(default="", compare=False)  # for a word: why it needs support ("names a thing", "an effect")

    def __str__(self) -> str:
        return (f"{self.kind} {self.text!r}" + (f" ({self.name})" if self.name != fold(self.text) else "")
                + (f": {self.why}" if self.why else ""))


@dataclass
class Sources:
    """What the row and the brand state, prepared once per product."""

    text: str
    folded: str
    pairs: set[tuple[float, str | None]] = field(default_factory=set)  # (value, unit) as stated
    bare: set[float] = field(default_factory=set)  # values stated without a unit
    codes: set[str] = field(default_factory=set)
    groups: set[tuple[str, str]] = field(default_factory=set)  # (kind, canonical) the sources state
    words: SourceWords | None = None  # for the word check (None: it is off)
    # Clauses of the brand's exemplar ads with words these sources do not state ("今晚就睡得更好" of a linen set's ad):
    # the exemplars teach a voice, and copied onto another product such a clause states that product's facts.
    borrowed: tuple[str, ...] = ()


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
    word_check: bool = True  # every other claim-bearing word must be supported too (support.py)
    generic_words: str = ""  # that check's generic-word file; "" = the shipped one
    scene_frames: bool = True  # word flags in a frame that states nothing about the product are cleared (in_scene)


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
    # A shop's own claims file (adcopy.claims_file) can turn the word check off or point at its own generic words.
    words_file = str(data.get("generic_words_file") or "")
    if words_file and not Path(words_file).is_absolute():
        words_file = str(p.parent / words_file)
    return _Vocab(units, unit_re, number_words, tuple(terms), generic, patterns, ignore, frozenset(ordinary),
                  bool(data.get("word_check", True)), words_file, bool(data.get("scene_frames", True)))


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


def _borrowed_clauses(exemplars, folded_sources: str, common: frozenset[str]) -> tuple[str, ...]:
    """The exemplars' clauses long enough to be a statement (4 Chinese characters, 3 English words) that name
    something the sources do not: a content word (jieba's for Chinese; no stop word in English) that is neither in
    them nor in `common`, the words any ad may use."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out = []
    for example in exemplars:
        for clause, _ in clauses(fold(example or "")):
            piece = clause.strip().strip(".!?。！？…")
            long_enough = len(re.findall(r"[\u4e00-\u9fff]", piece)) >= 4 or len(re.findall(r"[a-z]+", piece)) >= 3
            if not long_enough or piece in folded_sources:
                continue
            content = [w for w in _words(piece) if w not in ENGLISH_STOP_WORDS and w not in common]
            if any(w not in folded_sources and _stem(w) not in folded_sources for w in content):
                out.append(piece)
    return tuple(dict.fromkeys(out))


def _near_copy(piece: str, clause: str) -> bool:
    """An exemplar's clause copied with a word changed ("点击看看哪个适合你的餐桌" for "…哪一只…")."""
    from difflib import SequenceMatcher

    return abs(len(piece) - len(clause)) <= 0.3 * len(piece) and SequenceMatcher(None, piece, clause).ratio() >= 0.8


def _loose(text: str) -> str:
    return re.sub(r"[-\s]+", " ", text.replace("不易", "不"))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Conversions trivial enough to trust: the metric prefixes and hours, counts, 成 (tenths: 六成 = 60 %), weeks and months
# as the days an offer counts ("两个月" for "60天"). Inches and pounds are not converted (a rounded conversion would let
# "61 cm" pass for "24 inch").
_BASE_UNITS = {"mm": ("mm", 1), "cm": ("mm", 10), "m": ("mm", 1000), "g": ("g", 1), "kg": ("g", 1000),
               "ml": ("ml", 1), "l": ("ml", 1000), "minute": ("minute", 1), "hour": ("minute", 60),
               # 支 is a thread count ("400支") and a measure word for tubes and pens ("3支装" = 3 pieces)
               "thread_count": ("piece", 1), "piece": ("piece", 1), "percent": ("percent", 1),
               "tenth": ("percent", 10), "day": ("day", 1), "week": ("day", 7), "month": ("day", 30)}
# Spoken lengths: "1米5" and "一米半" are 1.5 m, "1米8的床" a 1.8 m bed.
_SPOKEN_LENGTH = re.compile(r"(\d|[一两二三四五六七八九])米([1-9一二三四五六七八九半])(?![\d.厘毫])")
_ZH_DIGIT = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"两": "2", "半": "5"}
# Multiples the knowledge base's number reader does not take as numbers ("triple filter" states 三重过滤).
_MULTIPLES = {"triple": 3.0, "treble": 3.0, "quadruple": 4.0}
_MEASURE_NAMES = {**dict.fromkeys(("g", "kg", "lb"), "weight 重量"), **dict.fromkeys(("ml", "l"), "capacity 容量"),
                  **dict.fromkeys(("mm", "cm", "m", "inch"), "size 尺寸 length 长度")}
# IEC 60529: IPX7 and IPX8 are immersion ratings (waterproof), IPX4 to IPX6 splash and jet ratings.
_IP_RATING = re.compile(r"ipx([4-8])")


def _in_base(value: float, unit: str | None) -> tuple[float, str | None]:
    base, factor = _BASE_UNITS.get(unit or "", (unit, 1))
    return round(value * factor, 6), base


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
    """`unsupported(text, sources)`, `repair(text, sources)`; vocabulary and generic words from YAML.

    `words`: the word check's config, or False to check only the listed kinds of fact (numbers, materials ...);
    None: as the claims file says (`word_check`, `generic_words_file`), on by default. `reader`: a second
    reading of word flags (claim_reader.ClaimReader), asked only when word flags are all a text has."""

    def __init__(self, vocab_file: str | Path | None = None, words: WordSupportConfig | bool | None = None,
                 reader=None, scene_frames: bool | None = None):
        self.vocab = load_vocab(str(vocab_file) if vocab_file else None)
        self.reader = reader
        # word flags in a scene frame (in_scene) are cleared; None: as the claims file says, on by default
        self.scene_frames = self.vocab.scene_frames if scene_frames is None else scene_frames
        if words is None:
            words = WordSupportConfig(words_file=self.vocab.generic_words) if self.vocab.word_check else False
        self.support = WordSupport(words) if isinstance(words, WordSupportConfig) else (
            WordSupport() if words is True else None)
        self._num = re.compile(
            rf"(?P<cur>[{_CURRENCY}]\s*|{_PRICE_WORDS}\s*[:：]?\s*)?(?<![a-wyz])(?<![a-z]x)(?P<num>\d+(?:[.,]\d+)*|[{_ZH_NUM}]+)\s*(?:-\s*)?(?P<unit>{self.vocab.unit_re.pattern})?")

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
        t = _SPOKEN_LENGTH.sub(lambda m: "{}.{}米".format(*(_ZH_DIGIT.get(d, d) for d in m.groups())), t)
        out, rest, ends = [], list(t), []
        for m in self._num.finditer(t):
            value = _value(m.group("num"))
            if value is None:
                continue
            unit = "money" if m.group("cur") else (self.vocab.units.get(m.group("unit")) if m.group("unit") else None)
            # "200x230cm": the first side is in cm too, not "200 times"; "220x240" with no unit is a size all the same
            if out and out[-1][1] == "times" and not t[ends[-1]:m.start()].strip() and unit not in ("times", "money"):
                out[-1] = (out[-1][0], unit, out[-1][2])
            out.append((value, unit, m.group(0).strip()))
            ends.append(m.end())
            rest[m.start():m.end()] = " " * (m.end() - m.start())
        for m in _GLUED_CODE.finditer(t):  # the 8 of "IPX8" is the code's, checked as a code
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

    def sources(self, *texts: str, exemplars: tuple[str, ...] | list[str] = ()) -> Sources:
        """What `texts` (the row, the brand's facts) state; `exemplars`: the brand's example ads, whose clauses the
        copy must not repeat unless these texts state their words too."""
        text = "\n".join(t for t in texts if t)
        src = Sources(text, fold(text))
        if exemplars:
            common = self.vocab.ordinary | (self.support.lex.generic_zh | self.support.lex.generic_en
                                            if self.support else frozenset())
            src.borrowed = _borrowed_clauses(exemplars, src.folded, common)
        for value, unit, _ in self.numbers(text):
            src.pairs.add((value, unit))
            if unit is None:
                src.bare.add(value)
        # a multiple supports the bare numeral ("三重"), not a quantity with a unit ("3个月")
        src.pairs |= {(v, "times") for w, v in _MULTIPLES.items() if re.search(rf"\b{w}\b", src.folded)}
        src.codes = self._codes(text)
        src.groups = {(kind, name) for kind, name, _ in self.terms(text, overlaps=True)}
        for m in _IP_RATING.finditer(src.folded):
            src.groups |= {("claim", "water-repellent")} | ({("claim", "waterproof")} if m.group(1) >= "7" else set())
        if self.support:
            src.words = self.support.index(src.folded)
            # A stated quantity names its measure: "2.1 kg" is the weight ("weighs 2.1 kg", "重2.1公斤"). Only in the
            # row's own languages: a name in the other would open copy in that language to the word check.
            names = {n for _, u in src.pairs if u in _MEASURE_NAMES for n in _MEASURE_NAMES[u].split()}
            names = {n for n in names if (src.words.stems if n.isascii() else src.words.chars)}
            if names:
                src.words = self.support.index(src.folded + "\n" + " ".join(sorted(names)))
        return src

    def _masked(self, text: str) -> str:
        """The folded copy with what the exact checks cover blanked out: numbers and units, listed terms, model
        codes, claim shapes. The word check reads the rest."""
        t = self._mask_words(fold(text or ""))
        spans = [m.span() for m in self._num.finditer(t)] + [m.span() for m in _EN_NUMBER_WORDS.finditer(t)]
        found = [alias for _, _, alias in self.terms(t)] + [fold(c) for c in self._codes(text)]
        found += _GLUED_CODE.findall(t)
        found += [fold(s) for s in self.shapes(text)]
        for piece in found:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(piece), t)]
        chars = list(t)
        for a, b in spans:
            chars[a:b] = " " * (b - a)
        return "".join(chars)

    # ---- the check ----------------------------------------------------------------------------------------
    def unsupported(self, text: str, sources: Sources | str) -> list[Claim]:
        src = sources if isinstance(sources, Sources) else self.sources(sources)
        out: list[Claim] = []
        same_scale = {_in_base(v, u) for v, u in src.pairs}
        for value, unit, written in self.numbers(text):
            if (value, unit) in src.pairs or value in src.bare or (unit is None and any(v == value for v, _ in src.pairs)):
                continue
            if unit in _BASE_UNITS and _in_base(value, unit) in same_scale:  # 1.8 m = 180 cm, 1 l = 1000 ml
                continue
            out.append(Claim("number", f"{value:g} {unit or ''}".strip(), written))
        have_cert = any(kind == "certification" for kind, _ in src.groups)
        for kind, name, alias in self.terms(text):
            if (kind, name) in src.groups or (name == "certified" and have_cert):
                continue
            out.append(Claim(kind, name, alias))
        # "87-key" is what "87 keys" says; a code glued to Chinese ("IPX8防水") has no word boundary for codes_in
        loose_src = _loose(src.folded)
        codes = self._codes(text) | set(_GLUED_CODE.findall(fold(text or "")))
        out += [Claim("code", c, c) for c in sorted(codes - src.codes)
                if c not in src.folded and _loose(c) not in loose_src]
        if src.borrowed:
            folded = fold(text or "")
            mine = [c.strip() for c, _ in clauses(folded) if len(c.strip()) >= 4]
            out += [Claim("copied", piece, piece, "a brand exemplar's words about another product")
                    for piece in src.borrowed if piece in folded or any(_near_copy(piece, c) for c in mine)]
        named = " ".join(c.text for c in out)
        # "不变形" is what "不易变形" says too, and "oven-safe" what "oven safe" says
        stated = {alias for kind, name, alias in self.terms(text) if (kind, name) in src.groups}
        out += [Claim("claim", fold(s), s) for s in self.shapes(text)
                if _loose(fold(s)) not in loose_src and fold(s) not in fold(named) and fold(s) not in stated]
        if self.support and src.words is not None:
            out += [Claim("word", w, w, why) for w, why in self.support.explain(self._masked(text), src.words)
                    if not (self.scene_frames and in_scene(w, why, text, self.vocab.units))]
        out = list(dict.fromkeys(out))
        # An exact fact already fails the text: reading its word flags too would cost model calls for nothing.
        if self.reader is not None and out and all(c.kind == "word" for c in out):
            out = self.reader.keep(text, src.text, out)
        return out

    def novel_words(self, text: str, sources: Sources | str) -> list[str]:
        """Words of the copy that are neither in the product's data nor ordinary ad vocabulary: not proof of an
        invented claim, a pointer for the person who approves it. With the word check on, what it let through
        without the row saying it literally: a paraphrase ("装好" for "安装", "washing" for "washable")."""
        src = sources if isinstance(sources, Sources) else self.sources(sources)
        stems = {_stem(w) for w in re.findall(r"[a-z][a-z'-]+", src.folded)}
        generic = self.support.lex.generic_zh | self.support.lex.generic_en if self.support else frozenset()
        return list(dict.fromkeys(w for w in _words(text) if w not in self.vocab.ordinary and w not in src.folded
                                  and _stem(w) not in stems and w not in self.vocab.ignore and w not in generic
                                  and (not w.isascii() or stem(w) not in generic)))

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
