"""Which language a text is in, by script: the one rule every part of the product uses (chat, router,
knowledge base, widget, ad copy), cheap enough to run on every message, no model needed.

The shop answers in Chinese or English, so the question that matters is "zh or en" (`answer_language`);
other scripts are named so the router can fall back politely. Latin-script text is reported as "en" (we do
not tell French from English), text with no letters at all (emoji, digits, punctuation) as "und".
Mixed text is weighed word against word: "Can I return the 北欧 lamp?" is en, "我的order还没到" is zh.
"""

from __future__ import annotations

import re

# Scripts we can name from Unicode ranges alone.
_SCRIPTS = {
    "zh": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    # kana: Japanese even when mixed with kanji; but "の" alone is Chinese shops' and customers' stylish "的"
    # ("小熊の杯子可以退货吗？"), which had made a Chinese question Japanese, answered in the shop's default language
    "ja": re.compile(r"[\u3040-\u306d\u306f-\u30ff]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "th": re.compile(r"[\u0e00-\u0e7f]"),
}
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
# A Chinese word is ~1.5 characters: weigh Han characters so "我的order还没到" is zh and
# "Where is my order 订单" is en.
_HAN_PER_WORD = 1.5


def _word_counts(sample: str) -> dict[str, float]:
    """Words per script, Han characters weighed as words."""
    counts = {lang: float(len(rx.findall(sample))) for lang, rx in _SCRIPTS.items() if lang != "ja"}
    counts["zh"] = counts["zh"] / _HAN_PER_WORD
    counts["en"] = float(len(_LATIN_WORD.findall(sample)))
    # Other scripts count per character too: compare them with words roughly like Han.
    for lang in ("ko", "ru", "ar", "th"):
        counts[lang] = counts[lang] / 4.0
    return counts


def detect_language(text: str) -> str:
    """'zh', 'en', 'ja', 'ko', 'ru', 'ar', 'th', or 'und' when the text has no letters."""
    if not text:
        return "und"
    sample = text[:2000]  # the first lines decide; a 100k-char paste must not cost more
    if _SCRIPTS["ja"].search(sample):
        return "ja"
    counts = _word_counts(sample)
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else "und"


def language_share(text: str, lang: str) -> float:
    """The share of a text's words that are in `lang` ('zh' or 'en'), 0 when it has no words: a translation that
    left a product name in the original ("Cloud雾温控手冲壶 K1 – Power: 1200 Watts") is still mostly translated."""
    counts = _word_counts((text or "")[:2000])
    total = sum(counts.values())
    return counts.get(lang, 0.0) / total if total else 0.0


def answer_language(text: str, default: str = "en") -> str:
    """'zh' or 'en': the language to answer `text` in ('default' when the text says nothing, or is in
    another language the shop does not write: the shop's default is the best guess then)."""
    lang = detect_language(text)
    return lang if lang in ("zh", "en") else default


def other_language(language: str) -> str:
    """The shop's other language: "en" for "zh", "zh" for anything else."""
    return "en" if language == "zh" else "zh"


def chinese_share(texts, sample: int = 500) -> float:
    """Share of the first `sample` texts detected as Chinese: what picks methods and encoders for a data set."""
    head = list(texts[:sample])
    return sum(detect_language(t) == "zh" for t in head) / max(1, len(head))
