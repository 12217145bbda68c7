"""Hard rules every returned field obeys, and the cheap repairs tried before asking the model again.

A problem is a short reason string ("too long", "banned word", ...) so that drops can be counted and
reported as "could only produce k of n" with why.
"""

from __future__ import annotations

import re

from assistant.adcopy.channels import FieldSpec
from assistant.adcopy.text import cjk_ratio, contains_term, count_term, find_terms, fold, has_cjk

TOO_LONG = "too long"
BANNED = "banned word"
MISSING = "missing required term"
WRONG_LANGUAGE = "wrong language"
REPEATS = "repeats itself"
TOO_SHORT = "too short for the field"
BRAND_TWICE = "names the brand twice"
DANGLING = "ends mid-phrase"
# Words that cannot end a line of copy: what was to follow them is missing ("Warm linen duvet cover offers",
# "Sheets in linen and", "…，吸水，速干，材质" with the label's value cut off). Words that can end a sentence
# ("slip it on", "choose from", "送给你的") are not listed.
_DANGLING_END = re.compile(
    r"(?:\b(?:a|an|the|and|or|but|with|within|into|via|of|our|your|its|their|than|plus|offers|features|provides|includes|"
    r"including|featuring|ensures)"
    # Chinese has no word ends: 和 ends 温和 and 柔和, 及 ends 触手可及, so only words that never end one are listed
    r"|以及|采用|[，、,]\s*(?:材质|尺寸|规格|颜色|款式|面料|功能|特点|产地)"
    r"|(?<=\s)[&+])[\s,，、:：;；-]*$"  # "Explore the Comfort &": the sign promises more, as "and" does
    # a clause separator or an ellipsis last: the model stopped mid-list ("品质优良，价格实惠；", "节日： 送礼盒…")
    r"|[，、；：;:…]\s*$",
    re.IGNORECASE)
# A headline-sized field names the brand once: "极光套，极光极光好" and "细细的极光，极光很细腻" (the 0.5B model with the
# adcopy adapter) spend the few characters there are on the name. Longer texts may name it again.
BRAND_ONCE_UP_TO = 45
# Under 12 characters and under a quarter of a roomy field says next to nothing ("价格：259元" as a 40-character
# WeChat text, "保暖蓬松鹅绒。" as a 300-character Xiaohongshu body): ask for another. A 27-character Weibo post is
# short, not empty, and stays.
SHORT_ROOM, SHORT_SHARE, SHORT_CHARS = 20, 0.25, 12
ECHO = "repeats the instructions"
# Words of the prompt, not of an ad: the 0.5B model wrote "每条都原样引用，不再编造" and "适合朋友圈广告使用" into feed
# copy. An item that says them is refused and another is asked for.
_PROMPT_WORDS = re.compile(r"原样引用|编造|朋友圈广告|小红书笔记|广告标题|广告描述|广告正文|搜索广告|文案|卖点|角度|简报|"
                           r"quote as given|invent nothing|selling points?|google ads|wechat moments|responsive search|"
                           r"\bad (?:text|copy|headline)s?\b|\bthe brief\b|风格参考|不要照抄"
                           # the brief's own labels ("Product: Teapot Lane Gift Box" given back as a description)
                           r"|(?:^|[|｜]\s*)(?:product|details|产品|商品|详情)\s*[:：]", re.IGNORECASE)
REPAIRABLE = (TOO_LONG, BANNED, MISSING)

# Places where an ad line can be cut and still read as a whole: clause ends and separators.
_BOUNDARY = re.compile(r"(?:\s+[|｜–—-]\s+|[|｜]|[。！？!?；;，,、：:]\s*|\.\s+)")
_TRAILING = " ,，、;；:：-–—|｜"
# "Experience a cozy, warm linen duvet": a comma between two adjectives of one noun phrase is no clause end. Told by an
# article or possessive one word before the comma and a lower-case word after it.
_DETERMINER = r"\b(?:a|an|the|our|your|its|their|this|these|every)\s+[a-z][\w'-]*"
_OPEN_PHRASE = re.compile(_DETERMINER + "$", re.IGNORECASE)
_OPEN_LIST = re.compile(_DETERMINER + r"(?:,\s*[a-z0-9][\w'-]*)+$", re.IGNORECASE)  # "a cozy, warm" (no noun yet)


def _mid_phrase(text: str, m: re.Match) -> bool:
    """The boundary `m` of `text` is a comma inside an English noun phrase (see _OPEN_PHRASE)."""
    return (m.group(0).strip() == "," and bool(_OPEN_PHRASE.search(text[: m.start()]))
            and bool(re.match(r"[a-z0-9]", text[m.end():])))


def problems(text: str, spec: FieldSpec, language: str, banned: list[str], required: list[str]) -> list[str]:
    """Why `text` may not be returned in this field (empty list = it may)."""
    out: list[str] = []
    if not spec.fits(text):
        out.append(TOO_LONG)
    if find_terms(text, banned):
        out.append(BANNED)
    if any(not contains_term(text, t) for t in required):
        out.append(MISSING)
    if language == "zh" and cjk_ratio(text) < 0.3 or language == "en" and has_cjk(text):
        out.append(WRONG_LANGUAGE)
    if dedupe_clauses(text) != text:
        out.append(REPEATS)
    if spec.capacity_chars(text) <= BRAND_ONCE_UP_TO and any(count_term(text, t) > 1 for t in required):
        out.append(BRAND_TWICE)
    if _DANGLING_END.search(text.strip()):
        out.append(DANGLING)
    if _PROMPT_WORDS.search(text):
        out.append(ECHO)
    room = spec.capacity_chars(text)
    if spec.unit != "sms_segments" and room >= SHORT_ROOM and len(text.strip()) < min(SHORT_CHARS, SHORT_SHARE * room):
        out.append(TOO_SHORT)
    return out


def dedupe_clauses(text: str) -> str:
    """`text` with every clause said a second time (whole, or as a piece of an earlier one) left out.

    Small models loop: "连衣裙圆领，线条流畅，连衣裙圆领，线条流畅，…" (qwen2.5-0.5b on a 140-character weibo post,
    measured 2026-11-30). The first time each clause is said stays, so the repair keeps the model's own words.
    """
    parts = _BOUNDARY.split(text)
    seps = [m.group(0) for m in _BOUNDARY.finditer(text)]
    kept, seen = [], []
    for i, part in enumerate(parts):
        key = re.sub(r"\W+", "", fold(part))
        # Said before, whole or as a piece of an earlier clause: a loop cut off mid-clause ends "…，连衣裙圆".
        if len(key) >= 2 and any(key in earlier for earlier in seen):
            continue
        seen.append(key)
        kept.append(part + (seps[i] if i < len(seps) else ""))
    out = "".join(kept).rstrip(_TRAILING).strip()
    if out == text.rstrip(_TRAILING).strip():
        return text
    end = text.rstrip()[-1:]
    # Keep the sentence's own end mark when the repeats took the last one away.
    return out + end if end and end in "。！？!?." and out[-1:] not in "。！？!?." else out


def lists_terms(text: str, terms: list[str]) -> bool:
    """Mostly the brief's own words between commas ("考虑：宽松、显瘦、灰色、街头、…"): a list, not copy.

    At least four clauses, over 60 % of them exactly one of `terms` (the product, its selling points, the
    keywords). qwen2.5-0.5b wrote such lists for 5 of 8 advertisegen rows (2026-11-30).
    """
    # "材质：鹅绒" is a term and so are its parts: a list may name the label or the value alone
    keys = {re.sub(r"\W+", "", fold(p)) for t in terms for p in [t, *_BOUNDARY.split(t)]} - {""}
    clauses = [k for k in (re.sub(r"\W+", "", fold(c)) for c in _BOUNDARY.split(text)) if k]
    return len(clauses) >= 4 and sum(c in keys for c in clauses) > 0.6 * len(clauses)


def trim_to_clause(text: str, spec: FieldSpec, required: list[str]) -> str | None:
    """The longest prefix ending at a clause boundary that fits and keeps the required terms.

    Refuses cuts that keep less than 40 % of the room: a stub is worse than asking the model to shorten.
    """
    best = None
    for m in _BOUNDARY.finditer(text):
        if _mid_phrase(text, m):
            continue
        cand = text[: m.start()].rstrip(_TRAILING).strip()
        if m.group(0).strip() in ("。", "！", "？", "!", "?", "."):
            cand = text[: m.start() + 1].strip()  # keep a sentence's own end mark
        if cand and spec.fits(cand) and all(contains_term(cand, t) for t in required):
            best = cand
    if best is None or len(best) < 0.4 * spec.capacity_chars(best):
        return None
    return best


def add_required(text: str, spec: FieldSpec, required: list[str], language: str) -> str:
    """Put a missing brand term in front ("<term>｜..." / "<term> | ...") when it still fits."""
    for term in required:
        if contains_term(text, term):
            continue
        cand = f"{term}｜{text}" if language == "zh" else f"{term} | {text}"
        if spec.fits(cand):
            text = cand
    return text


# An English cut must not end on a word that promises more ("Soft linen for" reads as broken).
_DANGLING = {"a", "an", "the", "and", "or", "but", "for", "with", "of", "to", "in", "on", "at", "by", "from",
             "your", "our", "my", "is", "are", "that", "which", "so", "as", "into", "every", "each", "its",
             "under", "over", "about", "through", "after", "before", "than", "when", "while", "if", "will",
             "can", "this", "these", "like", "without", "within", "per", "all", "more", "most", "very", "&", "+"}


def _word_cuts(text: str) -> list[str]:
    """English prefixes ending at a word boundary (never mid-word), longest first, no dangling last word."""
    words = text.split()
    out = []
    for i in range(len(words) - 1, 0, -1):
        cand = " ".join(words[:i]).rstrip(_TRAILING + ".")
        split_list = words[i - 1].endswith(",") and not words[i][:1].isupper() and _OPEN_PHRASE.search(cand)
        if cand and cand.split()[-1].lower().strip("'\"") not in _DANGLING and not split_list \
                and not _OPEN_LIST.search(cand):
            out.append(cand)
    return out


# A run of clauses that starts with one of these leans on what came before it ("而且材质轻盈", "such as the
# living room"): a fragment, not copy. Measured 2026-11-29 on qwen2.5-0.5b's zh headlines.
_CONNECTOR_START = re.compile(
    r"^(?:而且|并且|以及|例如|比如|如|确保|从而|因此|所以|但是|但|并|且|和|与|或|还|也|等|即|就|让|使|"
    r"(?:and|or|but|which|that|so|such as|with|for|to|as|like|including|e\.g\.|"
    # a run that opens on a verb has lost its subject ("is on sale at the Teapot Lane")
    r"is|are|was|were|has|have|had|can|will|does|do)\b)",
    re.IGNORECASE,
)
_ENUMERATION = "、"  # a cut at an enumeration comma splits a list ("客厅、厨房、浴室等")


def _clause_spans(text: str) -> list[str]:
    """Runs of whole clauses, keeping the model's own words and order: prefixes first, then later runs.

    A run never starts or ends inside a list (at 、) and a later run never starts with a connector.
    """
    bounds = list(_BOUNDARY.finditer(text))
    cuts = [(0, "")] + [(m.end(), m.group(0).strip()) for m in bounds]
    ends = [(m.start() + (1 if m.group(0).strip() in ("。", "！", "？", "!", "?", ".") else 0), m.group(0).strip(),
             _mid_phrase(text, m)) for m in bounds] + [(len(text), "", False)]
    spans = []
    for i, (a, before) in enumerate(cuts):
        if before == _ENUMERATION or (a and _CONNECTOR_START.match(text[a:].lstrip())):
            continue
        for b, after, mid_phrase in ends[i:]:
            if after == _ENUMERATION or mid_phrase:
                continue
            cand = text[a:b].strip().rstrip(_TRAILING).strip()
            if cand and cand not in spans:
                spans.append(cand)
    return spans


def shortenings(text: str, spec: FieldSpec, language: str, required: list[str]) -> list[str]:
    """Deterministic repairs (no LLM call), best first; each fits and carries the required terms.

    Over the limit: runs of whole clauses (a clause-boundary prefix or a later run), longest first, then
    (English) word-boundary prefixes; a missing brand term goes in front, and room is kept for it. Stubs under 40 % of the
    room are refused: asking the model to shorten beats a two-word fragment. A text that already fits is
    only given its brand term. Several candidates let the caller skip one that duplicates earlier copy.
    """
    text = dedupe_clauses(text)
    if spec.fits(text) and not _DANGLING_END.search(text.strip()):
        fixed = add_required(text, spec, required, language)
        return [fixed] if all(contains_term(fixed, t) for t in required) else []
    whole = [trim_to_clause(text, spec, required)] if required else []
    whole += _clause_spans(text)
    out: list[str] = []
    # Whole clauses before cuts between words: a word cut keeps more of the text but mostly ends mid-phrase
    # ("Experience a cozy, warm" of "... warm linen duvet"), which no list of dangling words can tell.
    for pieces in (whole, _word_cuts(text) if language != "zh" else []):
        fitting: list[str] = []
        for piece in pieces:
            if not piece:
                continue
            cand = add_required(piece, spec, required, language)
            if (spec.fits(cand) and all(contains_term(cand, t) for t in required)
                    and len(piece) >= 0.4 * spec.capacity_chars(piece) and cand not in out + fitting):
                fitting.append(cand)
        # Longest first: the cut that keeps most of what the model wrote (prefixes win ties by order).
        out += sorted(fitting, key=lambda c: -len(c))
    return out


def echoes_example(key: str, examples: set[str]) -> bool:
    """An example copied whole or in part (its first three words out of its first four, say)."""
    return any(key in e or (e in key and len(e) >= 0.7 * len(key)) for e in examples)


def has_copy(text: str, required: list[str]) -> bool:
    """More than the brand term: at least two letters/characters once required terms are taken out."""
    rest = fold(text)
    for term in required:
        rest = rest.replace(fold(term), " ")
    return len(re.sub(r"\W+", "", rest)) >= 2


def clauses(text: str) -> list[tuple[str, str]]:
    """`text` as (clause, the separator after it) pairs; joining them all gives `text` back."""
    parts = _BOUNDARY.split(text)
    seps = [m.group(0) for m in _BOUNDARY.finditer(text)]
    return [(p, seps[i] if i < len(seps) else "") for i, p in enumerate(parts)]


def drop_clauses(text: str, doomed) -> str:
    """`text` without the clauses for which `doomed(clause)` is true, keeping the rest in the model's words.

    A removed clause takes its separator along; the sentence keeps its own end mark ("。", ".", "!")."""
    pairs = clauses(text)
    if not any(c.strip() and doomed(c) for c, _ in pairs):
        return text
    out, gap = "", False
    for clause, sep in pairs:
        if not clause.strip():  # between two marks ("!!"): the mark stays with the text before it, or goes with it
            out += sep if out and not gap else ""
        elif doomed(clause):
            gap = True
        else:
            # "Soft sheets!! Cures insomnia. Order now" without its middle: the words on either side stay apart
            if gap and out and not out[-1].isspace() and clause[:1].isascii() and clause[:1].isalnum():
                out += " "
            out, gap = out + clause + sep, False
    out = out.strip().rstrip(_TRAILING).strip()
    out = out.lstrip(_TRAILING + "。.!！?？").strip()
    end = text.rstrip()[-1:]
    if out and end in "。！？!?." and out[-1:] not in "。！？!?.":
        out += end
    if text[:1].isupper() and out[:1].islower():  # an English sentence still starts with a capital
        out = out[0].upper() + out[1:]
    return out
