"""A "no" in a shop's sentence, and the same sentence without it.

The second reader (knowledge_base/second_reading.py) asked "does this TEXT state what the QUESTION asks?" answers
NO to a sentence that answers a yes/no question with no: "Do not use the stove inside a tent or in a tent
vestibule" for "Is it OK to run the stove in my tent vestibule?", "不要使用柔顺剂" for "能加柔顺剂吗". It reads the
answer's polarity as a mismatch. Read once more with the "no" taken out ("use the stove inside a tent…"), the
sentence is about what was asked, and the reader says so; the customer is then sent the sentence as written.
"""

from __future__ import annotations

import re

# A "no" in a sentence: the words that say one, not any 不 ("304 不锈钢", "不同颜色")
NEGATION = re.compile(r"\b(?:no(?![.:]\s*\d)|not|never|cannot|can[’']t|don[’']t|doesn[’']t|won[’']t|isn[’']t|aren[’']t|"
                      r"mustn[’']t)\b|不(?:能|可|会|要|得|行|支持|提供|包括|包含|含|接受|予|适用|参与|建议|在|退|换|需)|没有|无法|"
                      r"禁止|请勿|切勿|谢绝|除外", re.IGNORECASE)

_APOSTROPHE = r"[’']"
# Turned as well, although NEGATION (a feature the reading weights were fitted on) does not list them
_MORE_NOS = re.compile(rf"\b(?:shouldn|wasn|weren|couldn|hasn|haven|didn|wouldn){_APOSTROPHE}t\b|"
                       r"不用|无需|不必|不允许|勿", re.IGNORECASE)
# A "no" whose turning says something else than its sentence: a quantifier or a phrase in its scope ("Not all
# products ship to Hong Kong" is no "all products ship…"), or an idiom that says no "no" at all.
_UNTURNABLE = re.compile(rf"(?:\b(?:not|no|never)|n{_APOSTROPHE}t)\s+(?:all|every|each|always|necessarily|only|just|"
                         r"longer|more than|less than|matter|later than|until|problem|questions asked|worries|"
                         r"hesitate|worry)\b|\bneed\s+not\b|"
                         rf"\b(?:do|does|don{_APOSTROPHE}t|please)\s+(?:not\s+)?(?:hesitate|worry)\b|"
                         rf"(?:\b(?:not|never)|n{_APOSTROPHE}t)\b[^.,;:!?]*\buntil\b|"
                         r"没问题|不用担心|不用谢|不但|不仅|不只|不论|不管|不超过|不少于|不低于|不高于|不多于|不晚于|不早于|无论",
                         re.IGNORECASE)
# (pattern, replacement), in order: the longer forms first ("不可以" before "不可")
_AFFIRMATIONS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"^\s*no\s*[,.!;:]\s*", ""),  # "No, we do not…": the opening "no" goes; what follows is turned below
    (r"\b(?:do|does|did)\s+not\s+", ""),
    (rf"\b(?:don|doesn|didn){_APOSTROPHE}t\s+", ""),
    (rf"\bcan(?:not|\s+not|{_APOSTROPHE}t)\b", "can"),
    (rf"\bwon{_APOSTROPHE}t\b", "will"),
    (rf"\b(is|are|was|were|would|should|must|could|has|have){_APOSTROPHE}?n{_APOSTROPHE}t\b", r"\1"),
    (r"\b(is|are|was|were|will|would|should|must|may|could|has|have)\s+not\b", r"\1"),
    (r"\bnever\s+", ""),
    (r"\bnot\s+", ""),
    (r"\bno\s+(?=[a-z])", ""),  # "no cash on delivery"; not "No. 5"
    (r"(?:暂时?|目前)(?=不)", ""),  # "暂不支持寄送台湾" -> "支持寄送台湾", not "暂支持…" ("for now supports")
    (r"概不", ""), (r"不用", ""), (r"无需", "需要"), (r"不必", "要"), (r"不允许", "允许"), (r"勿", ""),
    (rf"\b(should|was|were|could|has|have|did|would)n{_APOSTROPHE}t\b", r"\1"),
    (r"不可以", "可以"), (r"不能", "能"), (r"不可", "可"), (r"不会", "会"), (r"不要", ""), (r"不得", "可"),
    (r"不行", "行"), (r"不支持", "支持"), (r"不提供", "提供"), (r"不包括", "包括"), (r"不包含", "包含"), (r"不含", "含"),
    (r"不接受", "接受"), (r"不予", "予以"), (r"不适用", "适用"), (r"不参与", "参与"), (r"不建议", "建议"), (r"不在", "在"),
    (r"不退", "退"), (r"不换", "换"), (r"不需", "需"), (r"没有", "有"), (r"无法", "可以"), (r"禁止", ""), (r"请勿", "请"),
    (r"切勿", ""), (r"谢绝", "接受"),
))


def says_no(text: str) -> bool:
    """Whether `text` has a word that says no (不能, do not, …; not the 不 of 不锈钢)."""
    return bool(NEGATION.search(text or ""))


def affirmed(text: str) -> str | None:
    """`text` with the words that say no taken out or turned ("Do not use the stove in a tent" -> "use the stove in a
    tent", "不支持寄送台湾" -> "支持寄送台湾"); None when it has none that can be turned (除外), or one whose turning
    would say something else ("Not all products…", "no later than", "不超过 30 天", "No problem")."""
    if not (says_no(text) or _MORE_NOS.search(text or "")) or _UNTURNABLE.search(text):
        return None
    out = text
    for pattern, replacement in _AFFIRMATIONS:
        out = pattern.sub(replacement, out)
    out = re.sub(r"\s{2,}", " ", out).strip()
    return out if out and out != text.strip() else None
