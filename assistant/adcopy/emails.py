"""A personalised marketing e-mail for one customer segment: subject, preheader, body and call to action.

Built from the same brief machinery as ads: the subject, preheader and CTA are channel fields with hard
limits (checked, repaired, ranked), the body is one free-text field with the same banned/required rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from assistant.adcopy.brief import Brief
from assistant.adcopy.generator import AdCopyGenerator
from assistant.errors import GenerationError, InputError


@dataclass
class EmailDraft:
    subject: str
    preheader: str
    body: str
    cta: str
    language: str
    segment: str
    alternatives: list[dict[str, str]] = field(default_factory=list)  # the next-ranked subject lines etc.
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def as_text(self) -> str:
        return f"Subject: {self.subject}\nPreheader: {self.preheader}\n\n{self.body}\n\n[{self.cta}]\n"


def generate_email(backend, segment_description: str, product: str, language: str = "", *, tone: str = "",
                   offer: str = "", keywords=(), attributes=(), brand=None, cfg=None, candidates: int = 3,
                   generator: AdCopyGenerator | None = None) -> EmailDraft:
    """Write one e-mail for a segment (e.g. "customers who bought bedding last winter")."""
    if not (segment_description or "").strip():
        raise InputError("segment_description must say who the e-mail is for, got an empty text")
    gen = generator or AdCopyGenerator(backend, cfg, brand)
    brief = Brief(product=product, channel="email", n=max(1, candidates), audience=segment_description.strip(),
                  tone=tone, language=language, offer=offer, keywords=list(keywords), attributes=list(attributes),
                  fields=["subject", "preheader", "cta"])
    result = gen.generate(brief)
    if not result.variants:
        raise GenerationError("could not write a subject line within limits: " + "; ".join(result.notes))
    top = result.variants[0]
    zh = brief.language == "zh"
    instruction = (
        f"给这个客户群写一封营销邮件的正文：{brief.audience}。开头称呼读者，两到三个短段落，"
        f"最后请读者“{top.fields['cta']}”。" if zh else
        f"Write the body of a marketing e-mail for this customer segment: {brief.audience}. Greet the reader, "
        f"two or three short paragraphs, end by inviting them to \"{top.fields['cta']}\"."
    )
    body = gen.write_block(brief, "body", instruction)
    notes = list(result.notes)
    if not body:
        notes.append("the body could not be written within the rules; write it by hand")
    return EmailDraft(
        subject=top.fields["subject"], preheader=top.fields["preheader"], body=body, cta=top.fields["cta"],
        language=brief.language, segment=brief.audience, scores=top.scores, notes=notes,
        alternatives=[v.fields for v in result.variants[1:]],
    )
