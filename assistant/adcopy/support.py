"""Words not in the input, as a hard check: every claim-bearing word of an asset must be stated by the product's
row, the brand file or the channel's boilerplate, or be a generic marketing word that states nothing about the
product (`data/generic_words.yaml`, zh + en). What is left is a claim the row does not make ("waterproof",
"免费安装", "lifetime support", "附赠猫薄荷"), and facts.py removes the clause that makes it.

A vocabulary of claim words only finds the claims someone thought of; open-ended inventions are in ordinary words
("packs into its own pocket"), so the check runs the other way round: what is not supported is suspect. Numbers,
materials, colours, certifications and model codes are masked before this check: facts.py matches those exactly
(same value and unit, alias groups across languages). English is stemmed (PyStemmer, Snowball English).

Chinese is cut with jieba, with parts of speech, and only claim-bearing words need support: words that name a
thing (nouns, place and proper names, nominal verbs, abbreviations: 摄像头, 匈牙利, 欧盟), words that begin with an
effect verb or a degree word (除螨, 降噪, 超轻), and verbs said as a capability (能开盖, 支持配对). Other verbs,
adjectives, adverbs and idioms are how a copywriter says things (软乎乎, 稳, 翻身也安静); word lists chasing them
fitted the copy they were written from and no other. Superlatives and efficacy idioms (最轻, 立竿见影) are the
compliance lint's, which rewrites them; comparisons over time (越穿越显高) are a claim shape of claims.yaml.
In English the words left unsupported on real copy are nouns as often as not, so English keeps the full check
(suffix rules for verbs and adjectives bought no false alarms and lost claims).

jieba tags some everyday verb-object words as nouns ("塞进包里", "挡风"), so the usage reading stays: a word made of
an everyday verb (a one-character verb jieba's own dictionary counts often) and then only what the row states
("遛狗" for a leash whose row says 狗狗), a direction (进, 出, 起 ...) or a particle is usage, not a claim. Verbs
that state an effect (防, 除, 杀, 降, 保 ... `zh_claim_verbs`) never count as everyday.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.adcopy.text import fold
from assistant.config import load_yaml_file
from assistant.errors import ConfigError

DEFAULT_WORDS_FILE = Path(__file__).with_name("data") / "generic_words.yaml"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Comparative and superlative endings: "softer" is a claim "soft" does not make, while "washing" is what
# "washable" says. A prefix match across one of these endings is no support.
_DEGREE = ("er", "est", "r", "st", "ier", "iest")
# Directional complements and aspect particles: after a verb they say where or whether, not what ("塞进", "睡着").
# A closed grammatical class, so listed here; result complements (碎, 透, 断) are claims and are not in it.
_ZH_DIRECTIONS = frozenset("进出起回来去上下过着了")
# Degree adverbs jieba tags d like any adverb: inside a longer word they make a superlative or a comparison
# ("最轻便", "越穿越显高"), a claim.
_ZH_DEGREE = frozenset("最极绝顶超越更")
# jieba tags most one-character verbs v; a few everyday ones (挡, 丢, 穿) carry the tag zg, which also holds some
# nouns: harmless here, since the rest of the word must then be stated by the row.
_ZH_VERB_TAGS = ("v", "zg")
_CONTRACTIONS = ((r"\bwon't\b", "will not"), (r"\bcan't\b", "can not"), (r"n't\b", " not"), (r"'ll\b", " will"),
                 (r"'re\b", " are"), (r"'ve\b", " have"), (r"'d\b", " would"), (r"'s\b", ""), (r"s'(?=\s|$)", "s"))


@dataclass
class WordSupportConfig:
    """How strictly copy words must be backed by the product data."""

    words_file: str = field(default="", metadata={"help": "generic words, synonyms and claim markers (YAML); "
                                                          "'' = assistant/adcopy/data/generic_words.yaml"})
    min_prefix: int = field(default=4, metadata={"help": "an English stem at least this long that begins a source "
                                                         "word's stem, or the reverse, is supported ('wash' by "
                                                         "'washable')"})
    # Off by default: on the shipped headline lists one-character nouns (手, 锅, 纹) were mostly harmless, and
    # on the planted development sets every claim they flagged had a longer unsupported word beside it.
    zh_single_nouns: bool = field(default=False, metadata={"help": "check one-character Chinese nouns too (猫, 锅); "
                                                                   "other one-character words are never checked"})
    zh_everyday_verb_freq: int = field(default=100, metadata={
        "help": "a one-character verb jieba's dictionary counts at least this often is an everyday action: a word "
                "of it and what the row states ('塞进' for a hat that folds, '遛狗' for a leash row that says 狗狗) "
                "is usage, not a claim; "
                "0 turns this off"})

    def __post_init__(self):
        if self.zh_everyday_verb_freq < 0:
            raise ConfigError(f"zh_everyday_verb_freq must be >= 0, got {self.zh_everyday_verb_freq}")
        if self.min_prefix < 3:
            raise ConfigError(f"min_prefix must be at least 3 (shorter stems match almost anything), got {self.min_prefix}")


@dataclass(frozen=True)
class Lexicon:
    generic_en: frozenset[str]  # stems of English words any ad may use
    generic_zh: frozenset[str]  # Chinese words (and single characters) any ad may use
    markers: frozenset[str]  # comparison / absolute words: checked even where the part of speech says "function word"
    synonyms: tuple[frozenset[str], ...]  # groups: one member in the sources supports the others
    skip_pos: tuple[str, ...]  # jieba parts of speech that carry no claim (particles, adverbs, pronouns ...)
    claim_verbs: frozenset[str] = frozenset()  # one-character verbs that state an effect (防, 除, 杀): never everyday
    claim_pos: tuple[str, ...] = ("n", "vn", "j")  # jieba parts of speech that name a thing: always checked
    capability: frozenset[str] = frozenset()  # words after which a verb states what the product can do (能, 支持)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer: Snowball English, C speed

        return Stemmer.Stemmer("english").stemWord
    except ImportError:  # a crude fallback keeps the check working (PyStemmer is a declared dependency)
        def crude(word: str) -> str:
            for suffix in ("ing", "ed", "es", "s", "ly"):
                if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                    return word[: -len(suffix)]
            return word

        return crude


def stem(word: str) -> str:
    return _stemmer()(word)


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    p = Path(path) if path else DEFAULT_WORDS_FILE
    data = load_yaml_file(p, what="generic words file", error=ConfigError)
    if not isinstance(data, dict) or not isinstance(data.get("en"), dict) or not isinstance(data.get("zh"), dict):
        raise ConfigError(f"generic words file {p} needs mappings 'en' and 'zh' (groups of word lists)")

    def words(lang: str) -> list[str]:
        out = []
        for name, ws in data[lang].items():
            if not isinstance(ws, list):
                raise ConfigError(f"generic words file {p}: {lang}.{name} must be a list")
            odd = [w for w in ws if not isinstance(w, str)]
            if odd:  # YAML reads bare yes/no/on/off/true as booleans: the word would silently be lost
                raise ConfigError(f"generic words file {p}: {lang}.{name} has {odd[0]!r}, not text; quote it")
            out += [fold(w).strip() for w in ws if w.strip()]
        return out

    en = set()
    for w in words("en"):
        en |= {w, stem(w)} if " " not in w else {stem(x) for x in w.split()}
    groups = tuple(frozenset(fold(str(w)) for w in g) for g in data.get("synonyms") or [] if isinstance(g, list))
    markers = frozenset(fold(str(w)) for w in data.get("claim_markers") or [])
    skip = tuple(str(t) for t in data.get("zh_skip_pos") or ("u", "p", "c", "r", "d", "y", "e", "o", "m", "q", "x"))
    claim_verbs = frozenset(fold(str(w)) for w in data.get("zh_claim_verbs") or [])
    claim_pos = tuple(str(t) for t in data.get("zh_claim_pos") or ("n", "vn", "j"))
    capability = frozenset(fold(str(w)) for w in data.get("zh_capability_words") or [])
    return Lexicon(frozenset(en - markers), frozenset(set(words("zh")) - markers), markers, groups, skip, claim_verbs,
                   claim_pos, capability)


@lru_cache(maxsize=4)
def everyday_verbs(min_freq: int) -> frozenset[str]:
    """One-character Chinese verbs that jieba's dictionary counts at least `min_freq` times: 睡, 跑, 塞, 遛, 挡.
    Derived from the dictionary jieba already loads, not listed by hand, so it does not grow with the test sets."""
    if min_freq <= 0:
        return frozenset()
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.check_initialized()
    freq = jieba.dt.FREQ
    return frozenset(w for w, tag in pseg.dt.word_tag_tab.items()
                     if len(w) == 1 and _CJK.match(w) and tag in _ZH_VERB_TAGS and freq.get(w, 0) >= min_freq)


@dataclass
class SourceWords:
    """The sources, prepared once per product for the word check."""

    folded: str
    stems: frozenset[str]
    chars: frozenset[str]


def en_words(text: str) -> list[str]:
    """Lower-case English words of a folded text, contractions spelt out, hyphenated words in parts, no digits."""
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    return [w for w in re.findall(r"[a-z0-9]+", text) if len(w) > 1 and not any(c.isdigit() for c in w)]


class WordSupport:
    """`index(sources)` once per product, then `unsupported(text, index)`: the copy's words that nothing backs."""

    def __init__(self, cfg: WordSupportConfig | None = None):
        self.cfg = cfg or WordSupportConfig()
        self.lex = load_lexicon(self.cfg.words_file or None)

    def index(self, folded_sources: str) -> SourceWords:
        stems = frozenset(stem(w) for w in en_words(folded_sources))
        return SourceWords(folded_sources, stems, frozenset(_CJK.findall(folded_sources)))

    # ---- English ----------------------------------------------------------------------------------------------
    def _en_supported(self, word: str, src: SourceWords) -> bool:
        s = stem(word)
        if s in self.lex.generic_en or word in self.lex.generic_en or s in src.stems:
            return True
        for t in src.stems:  # "washing" by "washable"; not "softer" by "soft"
            short, long_ = (s, t) if len(s) <= len(t) else (t, s)
            if len(short) >= self.cfg.min_prefix and long_.startswith(short) and long_[len(short):] not in _DEGREE:
                return True
        return self._synonym_in(word, src) or self._synonym_in(s, src) or self._generic_comparative(word)

    def _generic_comparative(self, word: str) -> bool:
        """"softer", "cooler nights": the comparative of a generic feel word, with nothing compared, is puffery;
        "softer than cotton" is caught by its marker, and superlatives ("coldest") stay claims."""
        if not word.endswith("er") or len(word) < 5:
            return False
        base = word[:-2]
        bases = {base, base + "e", base[:-1] + "y" if base.endswith("i") else base,
                 base[:-1] if len(base) > 2 and base[-1] == base[-2] else base}
        return any(b in self.lex.generic_en or stem(b) in self.lex.generic_en for b in bases)

    # ---- Chinese ----------------------------------------------------------------------------------------------
    def _zh_piece(self, piece: str, src: SourceWords) -> bool:
        if len(piece) == 1:
            return piece in src.chars or piece in self.lex.generic_zh
        return piece in src.folded or piece in self.lex.generic_zh or self._synonym_in(piece, src)

    def _function_piece(self, piece: str) -> bool:
        """A piece jieba's dictionary tags as a function word (adverb, particle ...): "随身" of "随身带". On its own
        such a word is never checked; inside a longer one it states nothing either, unless it is a degree word."""
        import jieba.posseg as pseg

        # "x" is also what an unknown piece gets below, so it cannot mean "function word" here
        tags = tuple(t for t in self.lex.skip_pos if t != "x")
        return (piece[0] not in _ZH_DEGREE and piece not in self.lex.markers
                and pseg.dt.word_tag_tab.get(piece, "x").startswith(tags))

    def _zh_supported(self, word: str, src: SourceWords) -> bool:
        """The word, or a cut of it into pieces each stated by the sources, generic or function words ("超轻便" =
        超 + 轻便, "随身带" = 随身 + 带)."""
        if self._zh_piece(word, src):
            return True
        # A stated word with one character more is the same thing named more fully: 燃气灶 for 燃气, 陈香足 for 陈香
        if len(word) >= 3 and (word[:-1] in src.folded or word[1:] in src.folded):
            return True
        ok = [True] + [False] * len(word)  # ok[i]: word[:i] can be cut into supported pieces
        for i in range(len(word)):
            if ok[i]:
                for j in range(i + 1, len(word) + 1):
                    if not ok[j] and (j - i < len(word)) and (self._zh_piece(word[i:j], src)
                                                              or self._function_piece(word[i:j])):
                        ok[j] = True
        return ok[-1] or self._zh_usage(word, src)

    def _zh_usage(self, word: str, src: SourceWords) -> bool:
        """An everyday verb, then only what the row states or directions: "遛狗" (row: 狗狗), "塞进", "挡风" (row:
        防风). The verb's object must be stated, so "开盖" for a cup whose row names no lid stays a claim."""
        verb, rest = word[0], word[1:]
        if verb in self.lex.claim_verbs or verb not in everyday_verbs(self.cfg.zh_everyday_verb_freq):
            return False
        ok = [True] + [False] * len(rest)  # ok[i]: rest[:i] is stated stretches and directions
        for i in range(len(rest)):
            if ok[i]:
                for j in range(i + 1, len(rest) + 1):
                    piece = rest[i:j]
                    if not ok[j] and ((piece in src.chars if len(piece) == 1 else piece in src.folded)
                                      or piece in _ZH_DIRECTIONS):
                        ok[j] = True
        return ok[-1]

    def _synonym_in(self, word: str, src: SourceWords) -> bool:
        return any((m in src.folded) if _CJK.search(m) else (stem(m) in src.stems or m in src.folded)
                   for group in self.lex.synonyms if word in group for m in group if m != word)

    def _covered(self, text: str, src: SourceWords) -> list[bool]:
        """Which characters of `text` lie inside a stretch the sources state or a generic word, wherever jieba
        cuts: "极光好睡床品" is cut 极光/好/睡床/品, yet 好睡 is generic and 床品 is in the row."""
        cover = [False] * len(text)
        for i in range(len(text)):
            for j in range(min(len(text), i + 8), i + 1, -1):  # the longest stated stretch from i
                piece = text[i:j]
                if _CJK_RUN.fullmatch(piece) and (piece in src.folded or piece in self.lex.generic_zh):
                    cover[i:j] = [True] * (j - i)
                    break
        return cover

    def _zh_reason(self, word: str, pos: str, after: str) -> str:
        """Why a Chinese word needs support ("" when it is style, not a claim). `after`: the word before it, adverbs
        skipped ("能直接堆肥": 能)."""
        if pos.startswith(self.lex.skip_pos):  # particles, adverbs, pronouns ... ("通过", "极其"): never a claim
            return ""
        if word[0] in _ZH_DEGREE:
            return "a degree or comparison"
        if word[0] in self.lex.claim_verbs:
            return "an effect"
        if pos.startswith(self.lex.claim_pos):
            return "names a thing"
        # "一只手就能开盖", "支持立体声配对": a verb after 能 / 支持 says what the product does. jieba sometimes glues 能
        # to the word before ("用完能"), so a word ending in a capability word counts too.
        if after in self.lex.capability or (after and after[-1] in self.lex.capability):
            return "a capability"
        return ""

    def _zh_words(self, text: str, src: SourceWords) -> list[tuple[str, str]]:
        """(word, why) for the claim-bearing words of `text` (jieba, with parts of speech) that no stated stretch
        covers and nothing supports."""
        import jieba
        import jieba.posseg as pseg

        jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
        cover, at, out, after = self._covered(text, src), 0, [], ""
        for token in pseg.lcut(text):
            word, pos, start = token.word, token.flag, at
            at += len(token.word)
            if not _CJK.search(word):
                after = ""  # punctuation or a number ends the clause
                continue
            if word in self.lex.markers:
                if word not in src.folded:
                    out.append((word, "a comparison or absolute"))
            elif len(word) > 1 or (self.cfg.zh_single_nouns and pos.startswith("n")):
                why = self._zh_reason(word, pos, after)
                if why and not all(cover[start:at]) and not self._zh_supported(word, src):
                    out.append((word, why))
            if not pos.startswith(("d", "ad")):
                after = word
        return out

    # ---- the check --------------------------------------------------------------------------------------------
    def unsupported(self, masked: str, src: SourceWords) -> list[str]:
        """Words of `masked` (folded copy, checked facts blanked out) that neither the sources nor the generic
        lists back, in order, each once."""
        return [w for w, _ in self.explain(masked, src)]

    def explain(self, masked: str, src: SourceWords) -> list[tuple[str, str]]:
        """(word, why it needs support) for each word `unsupported` returns.

        Copy in one language for a row in the other (Chinese copy, English-only row) has no words to be backed
        by and is left to the exact checks (numbers, materials ... across languages). A few Latin words in Chinese
        copy are names and acronyms ("Vibram大底"), and are checked."""
        latin, cjk = len(re.findall(r"[a-z]", masked)), len(_CJK.findall(masked))
        out: list[tuple[str, str]] = []
        if src.stems or cjk:
            words = en_words(masked)
            for i, w in enumerate(words):
                after = words[i + 1] if i + 1 < len(words) else ""
                if w in self.lex.markers:
                    # "never greasy" says what "not greasy" says; a bare "never" or "ever" is an absolute claim
                    if w not in src.folded and not (w == "never" and after and
                                                    re.search(rf"\b(?:not|no) {re.escape(after)}", src.folded)):
                        out.append((w, "a comparison or absolute"))
                elif not self._en_supported(w, src):
                    out.append((w, "not in the product data nor a generic ad word"))
        if cjk and (src.chars or cjk < latin):
            out += self._zh_words(masked, src)
        first: dict[str, str] = {}
        for word, why in out:
            first.setdefault(word, why)
        return list(first.items())
