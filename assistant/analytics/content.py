"""Personalised e-mail and product-recommendation text for each customer segment.

Uses the ad-copy module's e-mail writer (`assistant.adcopy.generate_email`: brief machinery, brand voice,
checked channel limits) when it is importable; otherwise one plain prompt per segment through the LLM
backend, with the e-mail channel's subject/body limits enforced here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

from assistant.analytics.config import AnalyticsConfig
from assistant.errors import GenerationError, InputError

log = logging.getLogger(__name__)

SUBJECT_LIMIT, BODY_LIMIT = 60, 1200  # the e-mail channel's limits when the ad-copy specs are not installed

EMAIL_SYSTEM = ("You write short marketing e-mails for an online shop. Reply exactly in this form:\n"
                "Subject: <one line>\nBody: <under 90 words, plain text>\nRecommendation: <one sentence "
                "naming what to recommend to this segment>. Use only the facts given; invent no prices or discounts.")


def _email_limits() -> tuple[int, int]:
    try:
        from assistant.adcopy.channels import get_channel

        email = get_channel("email")
        return email.field("subject").limit, email.field("body").limit
    except Exception:  # the ad-copy specs are optional here: fall back to the documented defaults
        return SUBJECT_LIMIT, BODY_LIMIT


def parse_email(text: str) -> dict[str, str]:
    """Split 'Subject: … Body: … Recommendation: …' (any order, missing parts tolerated)."""
    parts = {"subject": "", "body": "", "recommendation": ""}
    pattern = re.compile(r"(subject|body|recommendation|主题|正文|推荐)\s*[:：]", re.I)
    alias = {"主题": "subject", "正文": "body", "推荐": "recommendation"}
    marks = list(pattern.finditer(text))
    if not marks:
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        parts["subject"] = lines[0] if lines else ""
        parts["body"] = " ".join(lines[1:])
        return parts
    for i, m in enumerate(marks):
        key = alias.get(m.group(1), m.group(1).lower())
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        parts[key] = " ".join(text[m.end():end].split())
    return parts


def _adcopy_writer(backend: Any, adcopy_cfg: Any):
    """`(audience, product, language) -> EmailDraft` from the ad-copy module, or None when it is absent.

    One generator serves every segment, so its collaborators (tone classifier, embedder) load once.
    """
    try:
        from assistant.adcopy import AdCopyGenerator, generate_email
    except ImportError:
        return None
    gen = AdCopyGenerator(backend, adcopy_cfg)
    return lambda audience, product, language: generate_email(backend, audience, product, language, generator=gen)


def segment_emails(profiles: pd.DataFrame, backend: Any, cfg: AnalyticsConfig | None = None,
                   product: str = "our bestsellers", language: str = "en", adcopy_cfg: Any = None) -> pd.DataFrame:
    """One row per segment: subject, body, recommendation, the numbers it is based on, and the writer used.

    The product promoted is the segment's most-bought product (`top_product`, from the orders) when known.
    `adcopy_cfg` (Settings or AdCopyConfig) goes to the ad-copy generator: brand, tone scoring, embedder.
    """
    from assistant.llm import Message

    cfg = cfg or AnalyticsConfig()
    if backend is None:
        raise InputError("writing e-mails needs an LLM backend")
    if "persona_basis" not in profiles:
        raise InputError("profiles must come from analyze_segments (no persona_basis column)")
    subject_limit, body_limit = _email_limits()
    writer = _adcopy_writer(backend, adcopy_cfg)
    rows = []
    for _, seg in profiles.iterrows():
        top = seg.get("top_product")
        top = None if top is None or pd.isna(top) or not str(top).strip() else str(top)  # NaN promoted "nan"
        what = top or product
        audience = seg["persona_basis"] + (f" Persona: {seg['persona']}" if seg.get("persona") else "")
        row = {"segment": seg["segment"], "label": seg.get("label", ""), "product": what, "subject": "",
               "preheader": "", "body": "", "cta": "", "recommendation": "", "based_on": seg["persona_basis"]}
        try:
            if writer is not None:
                draft = writer(audience, what, language)
                row.update(subject=draft.subject, preheader=draft.preheader, body=draft.body, cta=draft.cta,
                           recommendation=f"{what} (most bought in this segment)" if top else what,
                           writer="assistant.adcopy.generate_email")
            else:
                ask = (f"Write the e-mail in {'Chinese' if language == 'zh' else 'English'} about {what} for this "
                       f"customer segment. {audience}")
                text = backend.generate([Message("system", EMAIL_SYSTEM), Message("user", ask)],
                                        max_tokens=max(cfg.persona_max_tokens, 160), temperature=0.5, seed=cfg.seed)
                email = parse_email(text)
                row.update(subject=email["subject"][:subject_limit], body=email["body"][:body_limit],
                           recommendation=email["recommendation"] or what, writer="prompt (ad-copy module not installed)")
        except GenerationError as exc:
            log.warning("e-mail for segment %s failed: %s", seg["segment"], exc)
            row["writer"] = f"failed: {exc}"
        rows.append(row)
    return pd.DataFrame(rows)
