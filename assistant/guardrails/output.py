"""Checks on the LLM's answer before a customer sees it: system prompt echoed, another customer's PII,
promises the shop's policy does not make (invented discounts, coupons, refunds, guarantees).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.guardrails.normalize import normalize, to_simplified
from assistant.privacy import Entity, Redactor, canonical
from assistant.privacy.recognizers import fold_width

# ------------------------------------------------------------------------------------ system prompt echo
_SELF_DISCLOSURE = re.compile(
    r"\b(?:my|the) (?:system prompt|system message|initial instructions|hidden instructions)\b"
    r"|\bi (?:was|have been) (?:instructed|told|programmed) to\b|我的(?:系统提示|系统指令|提示词|初始指令)|我被设定为"
)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _shingles(text: str, han: bool) -> set[str]:
    # Words for alphabetic text, characters for Chinese (no spaces between words there). Only Chinese characters
    # count as characters: with the spaces gone, a 16-letter shop name ("Pawsome Supplies") made a 14-character
    # shingle, and every answer naming the shop was blocked as a leak of the prompt that names it.
    if han:
        chars = "".join(_HAN.findall(text))
        return {chars[i:i + 14] for i in range(max(len(chars) - 13, 0))}
    words = re.findall(r"\w+", text)
    return {" ".join(words[i:i + 8]) for i in range(max(len(words) - 7, 0))}


def echoes_system_prompt(output: str, system_prompt: str) -> str | None:
    """Why the output looks like it repeats the system prompt, or None."""
    # Simplified Chinese on both sides: a prompt asked for "in Traditional characters" (or answered so to a customer
    # from Taiwan or Hong Kong) shares no 14-character shingle with the Simplified original otherwise.
    out = to_simplified(normalize(output))
    m = _SELF_DISCLOSURE.search(out)
    if m:
        return f"talks about its own instructions ({m.group()!r})"
    if not system_prompt.strip():
        return None
    prompt = to_simplified(normalize(system_prompt))
    for han in (False, True):
        shared = _shingles(out, han) & _shingles(prompt, han)
        if shared:
            return f"repeats the system prompt ({next(iter(shared))[:40]!r}...)"
    return None


# ------------------------------------------------------------------------------------------ foreign PII
def foreign_pii(output: str, redactor: Redactor, allowed: Iterable[str]) -> list[Entity]:
    """PII in the output that is not the current customer's own (`allowed`) nor the shop's (privacy.allow)."""
    allowed = [fold_width(v) for v in allowed]  # the customer's "１３８…" is the answer's "138…"
    known = {value.strip().lower() for value in allowed}
    known |= {re.sub(r"\D", "", v) for v in allowed if sum(c.isdigit() for c in v) >= 6}
    known |= {canonical("PHONE", v) for v in allowed}
    return [e for e in redactor.find(output)
            if fold_width(e.text).strip().lower() not in known and canonical(e.type, e.text) not in known]


# ------------------------------------------------------------------------------------- policy promises
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PERCENT_OFF = re.compile(r"(\d{1,3})\s?%\s?(?:off|discount|rebate|cashback|折扣|优惠|的折扣|的优惠)|"
                          r"(?:discount|rebate|cashback) of (\d{1,3})\s?%|(?:优惠|折扣|减免)\s?(\d{1,3})\s?%")
_ZH_FOLD = re.compile(r"打?([1-9一二两三四五六七八九])(?:\.(\d))?折")
_WINDOW = re.compile(r"(\d{1,4})\s?(?:days?|天|日)")
_RETURN_WORDS = re.compile(r"return|refund|exchange|退货|退款|换货|退换")
# Decisions a bot must leave to people. Stating the published policy ("returns within 30 days are refunded")
# passes; committing to money, goods or guarantees ("I've approved a full refund", "送您一张优惠券") does not.
_PROMISES = [
    (re.compile(r"\bi(?:'ve| have)? (?:issued|approved|processed|authori[sz]ed|granted|applied)\b[^.!?\n]{0,40}"
                r"\b(?:refund|discount|coupon|voucher|compensation|credit|free)"), "commits to a refund, discount or credit"),
    (re.compile(r"\b(?:i|we)(?:'ll| will| shall)? (?:give|send|offer|refund|credit|compensate|waive)\b[^.!?\n]{0,40}"
                r"\b(?:full refund|in full|extra|additional|bonus|discount|coupon|voucher|compensation|for free|free of charge|"
                r"gift card|store credit)"),
     "offers money, a coupon or free goods"),
    (re.compile(r"\b(?:i|we) (?:promise|guarantee)\b|\bguaranteed (?:delivery|refund|by)\b"), "makes a guarantee"),
    # codes are upper case or contain a digit ("WELCOME10", "x7k2p"): matched case-sensitively on purpose
    (re.compile(r"\b(?i:coupon|voucher|promo|discount) (?i:code)\b[^.!?\n]{0,20}?\b([A-Z][A-Z0-9]{3,}|[A-Za-z]*\d[A-Za-z0-9]{2,})\b|"
                r"\b(?i:use (?:the )?code) ([A-Z][A-Z0-9]{3,}|[A-Za-z]*\d[A-Za-z0-9]{2,})\b"), "hands out a code"),
    (re.compile(r"(?:我|我们)(?:已经?|会|将|可以|马上|立即)?(?:为您|给您|帮您)?(?:批准|发放|退还|补偿|赔偿|赠送|送您|送你|免单|全额退款)"
                r"[^。！？\n]{0,20}?(?:退款|优惠券|代金券|红包|补偿|赔偿|免单|礼品|\d+\s*元)"), "commits to a refund, coupon or compensation"),
    (re.compile(r"(?:给您|送您|为您|给你|送你)[^。！？\n]{0,8}?(?:优惠券|代金券|红包|折扣|免单|返现)"), "offers a coupon or discount"),
    (re.compile(r"(?:我|我们)(?:向您)?(?:保证|承诺)"), "makes a guarantee"),
    (re.compile(r"(?:优惠码|折扣码|券码)\s*[:：是为]?\s*([A-Za-z0-9]{4,})"), "hands out a code"),
]
# English phrasings match whatever their case ("We guarantee", "I HAVE APPROVED"); codes keep theirs.
_PROMISES = [(p if "(?i:" in p.pattern else re.compile(p.pattern, re.I), why) for p, why in _PROMISES]


def policy_violation(output: str, max_discount_percent: int, refund_window_days: int,
                     allowed_promotions: Iterable[str] = ()) -> str | None:
    """Why the output promises more than the policy allows, or None."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", output)).strip()
    allowed = [a.lower() for a in allowed_promotions if a.strip()]
    if allowed and any(a in text.lower() for a in allowed):
        # A promotion the shop has published may be quoted as written; strip it, check the rest.
        for a in allowed:
            text = re.sub(re.escape(a), " ", text, flags=re.IGNORECASE)
    for m in _PERCENT_OFF.finditer(text):
        pct = int(next(g for g in m.groups() if g))
        if pct > max_discount_percent:
            return f"offers {pct}% off, over the {max_discount_percent}% the policy allows"
    for m in _ZH_FOLD.finditer(text):
        tenths = int(m.group(1)) if m.group(1).isdigit() else _ZH_DIGITS[m.group(1)]
        pct = 100 - tenths * 10 - (int(m.group(2)) if m.group(2) else 0)
        if pct > max_discount_percent:
            return f"offers {m.group()} ({pct}% off), over the {max_discount_percent}% the policy allows"
    if _RETURN_WORDS.search(text.lower()):
        for m in _WINDOW.finditer(text):
            if int(m.group(1)) > refund_window_days:
                return f"states a {m.group(1)}-day return/refund window; the policy says {refund_window_days}"
    for pattern, why in _PROMISES:
        if pattern.search(text):
            return why
    return None
