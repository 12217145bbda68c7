"""Text normalisation before pattern matching, so disguised attacks look like plain ones.

Full-width forms and compatibility characters (NFKC), zero-width characters, look-alike Cyrillic/Greek
letters, spaced-out letters ("i g n o r e"), spaces between Han characters and leetspeak ("1gn0r3").
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# Cyrillic and Greek letters that render like Latin ones ("іgnore" with a Cyrillic і).
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ν": "v", "ο": "o", "α": "a", "ρ": "p", "τ": "t",
    "κ": "k", "ι": "i", "ε": "e",
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "|": "l"})
# Letters separated by one separator each, at least four in a row: "i g n o r e", "s.y.s.t.e.m".
_SPACED = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][ .\-_*/]){3,}[A-Za-z](?![A-Za-z])")
_HAN = r"\u3400-\u9fff"
_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])[\s\-_*.·・/|]+(?=[{_HAN}])")
_SPACES = re.compile(r"\s+")
_LEET_WORD = re.compile(r"(?<![a-z0-9@$|])(?=[a-z0-9@$|]*[a-z])(?=[a-z0-9@$|]*[0-9@$|])[a-z0-9@$|]{3,}(?![a-z0-9@$|])")


def _join_spaced(match: re.Match) -> str:
    return re.sub(r"[ .\-_*/]", "", match.group())


def normalize(text: str) -> str:
    """Lower-case NFKC text with disguises removed; what the input patterns are written against."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text).translate(_HOMOGLYPHS).lower()
    text = _SPACED.sub(_join_spaced, text)
    text = _BETWEEN_HAN.sub("", text)
    return _SPACES.sub(" ", text).strip()


def deleet(text: str) -> str:
    """Leetspeak decoded inside words that mix letters and digits/symbols ("1gn0re" -> "ignore").

    Only mixed words are touched, so order numbers and prices stay as they are.
    """
    return _LEET_WORD.sub(lambda m: m.group().translate(_LEET), text)


def variants(text: str) -> tuple[str, ...]:
    """The forms a pattern is tried against: normalised, and normalised with leetspeak decoded."""
    plain = normalize(text)
    decoded = deleet(plain)
    return (plain,) if decoded == plain else (plain, decoded)


def has_han(text: str) -> bool:
    return re.search(f"[{_HAN}]", text) is not None
