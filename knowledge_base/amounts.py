"""The amounts a question names ("a 30 ml bottle", "50 毫升的", "the 1.5 kg bag"), and whether a sentence is about
another one.

Shops sell one thing in several sizes, each with its own price ("30 毫升瓶装: 58 元", "100 毫升瓶装: 148 元", "3 ml sample
vials of every ink, ¥10 each"), and the sentence closest to "How much is a 30 ml bottle?" was the 3 ml vial's. A
sentence that names one amount of the kind asked (a volume, a weight, a length) and not the amount asked is about
another size. Ranges and limits ("2–4 kg", "up to 500 ml", "20 公斤以上") name no size, so "my parcel is 25 kg" is
still answered by "parcels over 20 kg cost ¥10 more".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# unit as written -> (what it measures, factor to that measure's base unit)
_UNITS = {"ml": ("volume", 1.0), "毫升": ("volume", 1.0), "l": ("volume", 1000.0), "litre": ("volume", 1000.0),
          "liter": ("volume", 1000.0), "升": ("volume", 1000.0),
          "g": ("weight", 1.0), "gram": ("weight", 1.0), "克": ("weight", 1.0), "kg": ("weight", 1000.0),
          "公斤": ("weight", 1000.0), "千克": ("weight", 1000.0),
          "mm": ("length", 1.0), "毫米": ("length", 1.0), "cm": ("length", 10.0), "厘米": ("length", 10.0)}
_NUMBER = r"\d+(?:[.,]\d+)?"
_UNIT = r"(?:ml|毫升|千克|公斤|毫米|厘米|升|克|kg|mm|cm|grams?|g|litres?|liters?|l)(?![a-z])"
_AMOUNT = re.compile(rf"(?<![\d.,])({_NUMBER})\s*({_UNIT})", re.IGNORECASE)
# a range ("2–4 kg", "2 to 4 kg", "30-50ml") or a limit ("up to 500 ml", "超过 20 公斤", "20 公斤以上") names no size
_RANGE = re.compile(rf"{_NUMBER}\s*(?:{_UNIT})?\s*(?:[-–—~～至到]|to)\s*{_NUMBER}\s*{_UNIT}", re.IGNORECASE)
_LIMIT_BEFORE = re.compile(r"(?:up to|over|under|more than|less than|at least|at most|max(?:imum)?|min(?:imum)?|"
                           r"above|below|exceeding|capacity|load|limit|超过|不超过|至少|最多|最大|最小|不足|低于|高于|"
                           r"大于|小于|承重|载重|限重|[<>≤≥])\s*[:：]?\s*$", re.IGNORECASE)
# the customer's own measure ("I'm 182 cm tall", "我体重 80 公斤") is no size of a product
_OWN_MEASURE = re.compile(r"(?:\bi'm|\bi am|\bi weigh|\bmy|\bme\b|我|身高|体重|腰围|胸围|头围|脚长)[^,.;，。？?]{0,10}$",
                          re.IGNORECASE)
_LIMIT_AFTER = re.compile(r"^\s*(?:以上|以下|以内|之内|起|or (?:more|less|under|over)|and (?:up|above|over|under))",
                          re.IGNORECASE)


def _unit(written: str) -> tuple[str, float]:
    key = written.lower().rstrip("s") if written.isascii() else written
    return _UNITS[key]


def amounts(text: str) -> dict[str, set[float]]:
    """The sizes `text` names, per measure, in its base unit (ml, g, mm); ranges and limits left out."""
    ranges = [m.span() for m in _RANGE.finditer(text)]
    out: dict[str, set[float]] = {}
    for m in _AMOUNT.finditer(text):
        if any(a <= m.start() < b for a, b in ranges) or _LIMIT_BEFORE.search(text[max(0, m.start() - 16):m.start()]) \
                or _LIMIT_AFTER.search(text[m.end():m.end() + 16]):
            continue
        number = m.group(1)  # "1,500 L" is fifteen hundred, "1,5 L" one and a half
        number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", number) else number.replace(",", ".")
        measure, factor = _unit(m.group(2))
        out.setdefault(measure, set()).add(round(float(number) * factor, 3))
    return out


@dataclass(frozen=True)
class AskedAmount:
    """The sizes a question names, and what a sentence says of them (`about`)."""

    sizes: dict[str, set[float]]

    def about(self, text: str) -> bool | None:
        """False when `text` names sizes of a measure asked, none of them asked (it is about another size); else True
        when it names a size asked; None when it names no size of the measures asked."""
        named = amounts(text)
        if any(named.get(measure) and not named[measure] & sizes for measure, sizes in self.sizes.items()):
            return False
        return True if any(named.get(measure, set()) & sizes for measure, sizes in self.sizes.items()) else None

    def about_another(self, text: str) -> bool:
        return self.about(text) is False


def asked_amount(question: str) -> AskedAmount | None:
    """The sizes `question` names ("a 30 ml bottle"); None when it names none, or names the customer's own measure."""
    own = [m for m in _AMOUNT.finditer(question) if _OWN_MEASURE.search(question[:m.start()])
           or re.match(r"\s*(?:tall|high|heavy)\b", question[m.end():], re.IGNORECASE)]
    sizes = amounts(question)
    return AskedAmount(sizes) if sizes and not own else None
