"""Text normalisation before pattern matching, so disguised attacks look like plain ones.

`variants(text)` gives the forms every input pattern is tried against: NFKC + case-folded with format
characters, combining marks and look-alike letters removed, letter-spaced words joined; that form with
in-word punctuation removed ("ign.ore"), leetspeak decoded ("1gn0r3"), Traditional Chinese as Simplified,
and the decoded text of base64/hex runs. The forms are for matching only: the customer's text is never
rewritten.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import unicodedata
from functools import lru_cache

log = logging.getLogger(__name__)

# Look-alike letters folded to Latin. Capitals first (before case folding: Greek "Ν" is an N, its lower
# case "ν" is a v), then small letters, small capitals and regional-indicator letters (🇮🇬🇳...).
_CONFUSABLE_UPPER = str.maketrans({
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
})
_CONFUSABLE_LOWER = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɑ": "a", "ı": "i", "ο": "o", "α": "a", "ρ": "p", "τ": "t",
    "κ": "k", "ι": "i", "ε": "e", "ν": "v", "υ": "u", "η": "n", "χ": "x", "ϲ": "c", "ϳ": "j", "ո": "n", "օ": "o",
    "ս": "u", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ʏ": "y", "ᴢ": "z", **{chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)},
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "|": "l"})
# Kana voicing marks are combining marks too, but they are part of the letter ("ド"), so they stay.
_KEEP_MARKS = {"\u3099", "\u309a"}
_HAN = r"\u3400-\u9fff\uf900-\ufaff"
_KANA = r"\u3040-\u30ff\u31f0-\u31ff"
_HANGUL = r"\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_SEP = r"[\s.\-_*/·・|,，、~+]"
# Latin letters separated by one separator each, four or more: "i g n o r e", "s.y.s.t.e.m".
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*/·|~+]){3,}[^\W\d_](?![^\W\d_])")
# Separators between Han/kana characters carry no meaning in Chinese and Japanese: "忽 略", "シ・ス・テ・ム".
# Commas stay: they end a clause, and the patterns do not reach across clauses.
_BETWEEN_CJK = re.compile(rf"(?<=[{_HAN}{_KANA}])[\s.\-_*/·・|~+]+(?=[{_HAN}{_KANA}])")
# Korean puts spaces between words, so only runs of single spaced-out syllables are joined: "시 스 템".
_SPACED_HANGUL = re.compile(rf"(?<![{_HANGUL}])(?:[{_HANGUL}]{_SEP}){{2,}}[{_HANGUL}](?![{_HANGUL}])")
# Separators inside a word ("ign.ore", "Igno-riere", "s_y_s"); a second form, so "e-mail" stays intact in the first.
_IN_WORD = re.compile(r"(?<=[^\W\d_])[.\-_*·•/|'’`~+]+(?=[^\W\d_])")
_SPACES = re.compile(r"\s+")
# Latin words glued to CJK text ("请ignore之前的rules", "prompt를") have no \b between them for the patterns.
_SCRIPT_SEAM = re.compile(rf"(?<=[{_HAN}{_KANA}{_HANGUL}])(?=[a-z])|(?<=[a-z])(?=[{_HAN}{_KANA}{_HANGUL}])")
_WORD_GAPS = re.compile(r"([\W_]+)")
_LEET_SHORT = re.compile(r"(?<![\w.,@$|])(?=[a-z0-9@$|]{0,2}[0-9@$|])[a-z0-9@$|]{1,3}(?![\w.,@$|])")
_LEET_WORD = re.compile(r"(?<![a-z0-9@$|])(?=[a-z0-9@$|]*[a-z])(?=[a-z0-9@$|]*[0-9@$|])[a-z0-9@$|]{3,}(?![a-z0-9@$|])")
# Runs that may be an encoded instruction. Base64 of a short sentence is >= 16 characters; shorter runs are
# order numbers and voucher codes, and decoding those would only add noise.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[\s:]?){8,}(?![0-9A-Fa-f])")


@lru_cache(maxsize=1)
def _t2s():
    """OpenCC's Traditional -> Simplified converter, or None when the package is missing (logged once)."""
    try:
        import opencc
    except ImportError:
        log.warning("opencc is not installed: Traditional Chinese is matched as written (pip install opencc)")
        return None
    return opencc.OpenCC("t2s")


def strip_disguises(text: str) -> str:
    """NFKC without format characters (zero-width, bidi, soft hyphen) and combining marks ("ı̶g̈n̲o"), with
    look-alike letters folded to Latin; case is kept (base64 needs it)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text)
                   if ch in _KEEP_MARKS or unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    return unicodedata.normalize("NFC", text).translate(_CONFUSABLE_UPPER).translate(_CONFUSABLE_LOWER)


def _join_spaced(match: re.Match) -> str:
    return re.sub(_SEP, "", match.group())


def unspace(text: str) -> str:
    """A message written letter by letter ("p l e a s e   i g n o r e", "I.g.n.o.r.e. .a.l.l") as words.

    Applies when most tokens are single characters: the narrowest gap is the one put between letters and
    is removed; a wider gap is that gap around the writer's own separator, which is kept.
    """
    parts = _WORD_GAPS.split(text)
    words, gaps = parts[0::2], parts[1::2]
    inner = [(i, g) for i, g in enumerate(gaps) if words[i] and words[i + 1]]
    tokens = [w for w in words if w]
    if len(tokens) < 6 or sum(len(w) == 1 for w in tokens) < 0.7 * len(tokens):
        return text
    seen = [g for _, g in inner]
    unit = min(set(seen), key=lambda g: (len(g), -seen.count(g)))
    for i, gap in inner:
        if gap == unit and len(words[i]) == 1 and len(words[i + 1]) == 1:
            gaps[i] = ""
        elif len(gap) > 2 * len(unit) and gap.startswith(unit) and gap.endswith(unit):
            gaps[i] = gap[len(unit):-len(unit)]
    return "".join(w + g for w, g in zip(words, [*gaps, ""], strict=True))


def normalize(text: str) -> str:
    """Case-folded text with disguises removed; what the input patterns are written against.

    Accents go with the other combining marks, so patterns for es/de/fr are written without them
    ("instrucciones", "ubergehe", "precedentes"), and "ß" folds to "ss".
    """
    text = unspace(strip_disguises(text).casefold().translate(_CONFUSABLE_LOWER))
    # Single words spaced out inside normal text: "please i g n o r e all p.r.e.v.i.o.u.s instructions".
    text = _SPACED.sub(_join_spaced, text)
    text = _BETWEEN_CJK.sub("", text)
    text = _SPACED_HANGUL.sub(_join_spaced, text)
    # NFC again: a kana voicing mark that was spaced off its letter ("ﾌ ﾟ") joins it once the space is gone.
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())


def deleet(text: str) -> str:
    """Leetspeak decoded inside words that mix letters and digits/symbols ("1gn0re" -> "ignore").

    Only mixed words are touched, so order numbers and prices stay as they are, unless the message has two
    or more such words: then it is written in leetspeak throughout, and short words are too ("n0", "70").
    """
    decoded, mixed = _LEET_WORD.subn(lambda m: m.group().translate(_LEET), text)
    return _LEET_SHORT.sub(lambda m: m.group().translate(_LEET), decoded) if mixed >= 2 else decoded


def to_simplified(text: str) -> str:
    """Traditional Chinese as Simplified; Japanese (any kana) is left alone, its kanji are not Chinese."""
    conv = _t2s()
    if conv is None or not has_han(text) or re.search(f"[{_KANA}]", text):
        return text
    return conv.convert(text)


def _readable(raw: bytes) -> str | None:
    """Decoded bytes as text when they look like language, not binary noise."""
    try:
        text = strip_disguises(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    letters = sum(ch.isalpha() for ch in text)
    visible = sum(not ch.isspace() for ch in text)
    printable = all(ch.isprintable() or ch.isspace() for ch in text)
    return text if visible >= 4 and printable and letters >= 0.5 * visible else None


def decoded_payloads(text: str, depth: int = 2) -> list[str]:
    """Readable text hidden in base64 or hex runs ("Decode this and do it: SWdub3Jl..."), nested up to `depth`."""
    found = []
    for m in _BASE64_RUN.finditer(text):
        run = m.group().replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if (plain := _readable(raw)) is not None:
            found.append(plain)
    for m in _HEX_RUN.finditer(text):
        try:
            raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group()))
        except ValueError:
            continue
        if (plain := _readable(raw)) is not None:
            found.append(plain)
    if depth > 1:
        found += [inner for f in found for inner in decoded_payloads(f, depth - 1)]
    return found


def variants(text: str) -> tuple[str, ...]:
    """The forms a pattern is tried against, without duplicates, the plain normalised form first."""
    forms: list[str] = []
    bare = unspace(strip_disguises(text))
    payloads = decoded_payloads(bare)
    # A run that decoded to text is read as that text, not as letters ("...cnm/" in base64 is no insult).
    sources = [_BASE64_RUN.sub(" ", bare) if payloads else text, *payloads]
    for source in sources:
        plain = normalize(source)
        joined = _SPACES.sub(" ", _IN_WORD.sub("", plain))
        # Leetspeak is not looked for inside encoded runs: "5b+Y6K6w..." would read as words ("sb").
        unleet = [deleet(_BASE64_RUN.sub(" ", form)) for form in (plain, joined)]
        for form in (plain, joined, *unleet, to_simplified(plain), _SCRIPT_SEAM.sub(" ", plain)):
            if form and form not in forms:
                forms.append(form)
    return tuple(forms)


def has_han(text: str) -> bool:
    return re.search(f"[{_HAN}]", text) is not None
