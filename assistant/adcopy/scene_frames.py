"""Frames in which a word a product row does not state is about the customer's world, not the product: the word
check (facts.FactChecker) clears its flag there. Kept apart from the checker so each frame can be measured on its
own (bench/claim_scorer.py --frames).
"""

from __future__ import annotations

import re

# Frames in which a word the row does not state names the customer's world or how they use the product, which no row
# could back: a thing of theirs ("into your bag"), a place or moment ("in the shower", "gentle on skin", "书包里", "塞进柜子"),
# what they do ("so you can fill it", "Pop it in", "hours of listening"), a phrasal verb ("soaks up"), a simile,
# the measure of a stated size ("45 cm square", "两米见方") or a unit named without a number ("a kilo of": the number
# check reads quantities). Invented parts, materials, origins and effects are not said this way ("with a pencil
# holder", "woven in Italy", "stimulates hair growth"); a name, a comparison or a degree is never cleared.
_EN_FRAMES = (
    r"\b(?:your|my|their|his|her)\s+{w}\b",
    r"\b(?:in|on|into|at|for|after|through|across|over|under)\s+(?:the|a|an|your|my)\s+{w}\b",
    r"\b(?:in|on|for|to|at|through|after)\s+{w}(?=\s*(?:[.,;:!?)]|$))",
    r"\byou(?:'ll|\s+can|\s+could|\s+will|\s+just)?\s+{w}\b",
    r"(?:^|[.!?:;]\s+){w}\s+(?:it|them|this|these|your|the|a|an|up|on|out|off|in|into|over|back)\b",
    r"\b{w}\s+(?:up|down|off|out|away)\b",
    r"\bof\s+{w}\b(?<=ing)",  # an activity: "30 hours of listening"
    r"\b(?:as|like)\s+{w}\b",  # a simile: "clear as water"
)
_ZH_FRAMES = (r"{w}[里中上边旁下]", r"(?:进|往|到){w}")  # locative suffixes and verbs of direction
_MEASURE = r"(?:\d|[一二两三四五六七八九十])\s*(?:cm|mm|m|厘米|毫米|米|公分|inch|inches)\s*"
_FRAMED_WHY = ("not in the product data nor a generic ad word", "names a thing")
_ZH_NAME_TAGS = ("nr", "ns", "nt", "nz")  # jieba's person, place, organisation and other names


def in_scene(word: str, why: str, text: str, units=(), en_frames=_EN_FRAMES, zh_frames=_ZH_FRAMES,
             measure: bool = True) -> bool:
    """True when the flagged `word` of `text` sits in a frame that states nothing about the product (above).
    The frames can be given, to measure each on its own (bench/claim_scorer.py --frames)."""
    if why not in _FRAMED_WHY:
        return False
    w = re.escape(word)
    if measure and re.search(_MEASURE + w + r"(?![a-z])", text, flags=re.IGNORECASE):
        return True
    if not word.isascii():
        import jieba.posseg as pseg

        if pseg.dt.word_tag_tab.get(word, "").startswith(_ZH_NAME_TAGS):
            return False
        return any(re.search(f.format(w=w), text) for f in zh_frames)
    lower = text.lower()
    # A capital inside a sentence makes it a name (Italy, Gore-Tex): an origin or a brand is a claim.
    if any(text[m.start()].isupper() and not re.search(r"(^|[.!?:;]\s*)$", text[:m.start()].rstrip(" "))
           for m in re.finditer(rf"(?<![a-z]){w}(?![a-z])", lower)):
        return False
    return word in units or any(re.search(f.format(w=w), lower) for f in en_frames)
