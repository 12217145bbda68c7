"""Reading a text file that is not UTF-8: the encodings a Chinese or English shop's files come in, tried in an order
that fits them. charset_normalizer alone guesses from too little text: a one-row GBK FAQ table (what Excel on a
Chinese Windows saves) came back as Korean (cp949), and a Windows-1252 page with curly quotes as cp852."""

from __future__ import annotations

import re
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u9fff]")
# Bytes 0x80-0x9F of Windows-1252 that are punctuation and symbols (curly quotes, dashes, the euro, …): other
# single-byte encodings use them for letters or nothing, so text holding them is almost surely Windows-1252.
_CP1252_TYPOGRAPHY = set("‘’“”–—…€•™")


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """The 3,755 most used simplified characters (GB 2312 level 1) and the 5,401 of Big5's level 1."""
    chars = set()
    for first in range(0xB0, 0xD8):
        for second in range(0xA1, 0xFF):
            try:
                chars.add(bytes([first, second]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    for first in range(0xA4, 0xC7):
        for second in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            try:
                chars.add(bytes([first, second]).decode("big5"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def _chinese(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) as GB 18030 (GBK, GB 2312) or Big5 when it decodes to Chinese made of common characters.
    Latin-1 or Korean bytes decode as GB 18030 too, but into rare characters."""
    common = _common_hanzi()
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        hanzi = _CJK.findall(text)
        beyond_ascii = [ch for ch in text if ord(ch) > 127]
        # Chinese full-width punctuation (，。？) and common characters make up what is not ASCII
        plain = sum(ch in common or 0xFF00 <= ord(ch) <= 0xFFEF or 0x3000 <= ord(ch) <= 0x303F for ch in beyond_ascii)
        if hanzi and plain >= 0.95 * len(beyond_ascii):
            return text, encoding
    return None


def decode_non_utf8(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of bytes that are not UTF-8; None when no encoding fits."""
    chinese = _chinese(data)
    if chinese is not None:
        return chinese
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    letters = [ch for ch in western or "" if ch.isalpha()]
    # A Western European page is mostly ASCII letters; Cyrillic or Greek read as Windows-1252 is mostly accented ones
    if western is not None and sum(not ch.isascii() for ch in letters) > 0.3 * len(letters):
        western = None
    if western is not None and any(ch in _CP1252_TYPOGRAPHY for ch in western):
        return western, "cp1252"
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return (western, "cp1252") if western is not None else None
    best = matches[0]
    # Among equally clean readings, Western European (the shop's English pages) before Central European or DOS
    # code pages: "crème" and "£5", not "crčme" and "Ł5".
    if western is not None and any(m.encoding in ("cp1252", "latin_1", "iso8859_15") and m.chaos <= best.chaos + 1e-9
                                   for m in matches):
        return western, "cp1252"
    return str(best), best.encoding
