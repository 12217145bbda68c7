"""The model codes a question names ("the P70", "Canal A6", "HD-41", "沧浪 14K"), and whether a sentence is about
another model.

A shop's spec and price tables give each model its own row ("| 更换平江 P70 笔杆（同色） | 120 元 |", "Canal A5: … Pages
192"), and the row of another model is often the sentence closest to a question about one: "沧浪 14K 的笔杆摔裂了，换一根
笔杆要多少钱" met the P70's barrel price. A sentence that names model codes (with its heading), none of them a code the
question names, is about another model and is not read. A sentence naming no code may still answer ("The barrel is
replaced at cost"), and one naming the code asked beside others ("C1 converter: fits the Pingjiang P70") is read.

A code is a run of letters and digits that starts with a letter ("P70", "H2", "HD-41", "S23", "T1"), or digits with a
letter that is no unit ("14K" gold): "30ml", "3L", "12mm", "2700K" and "2nd" are amounts and ordinals, not models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"(?<![A-Za-z0-9.-])(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
                   r"(?![A-Za-z0-9-])")
# digits then letters that measure or count something: an amount, not a model ("2700K" is a colour temperature,
# "14K" a gold's fineness, which names the model of a gold-nib pen as a shop writes it)
_AMOUNT = re.compile(r"\d+(?:ml|l|mm|cm|m|km|kg|g|mg|w|kw|v|mah|wh|gsm|hz|khz|gb|mb|tb|s|h|hrs?|mins?|x|p|d|st|nd|rd|"
                     r"th|pcs|in|ft|oz|lbs?|mph|c|f|am|pm|ah)|\d{3,}k", re.IGNORECASE)


def model_codes(text: str) -> frozenset[str]:
    """The model codes `text` names, lower case."""
    return frozenset(m.group().lower() for m in _CODE.finditer(text or "") if not _AMOUNT.fullmatch(m.group()))


@dataclass(frozen=True)
class AskedModels:
    """The model codes a question names, and whether a sentence is about them (`about`)."""

    codes: frozenset[str]

    def about(self, text: str) -> bool | None:
        """False when `text` names model codes, none of them asked (it is about another model); True when it names
        one asked; None when it names none."""
        named = model_codes(text)
        if not named:
            return None
        return bool(named & self.codes)


def asked_models(question: str) -> AskedModels | None:
    """The model codes `question` names; None when it names none."""
    codes = model_codes(question)
    return AskedModels(codes) if codes else None
