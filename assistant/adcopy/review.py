"""The last word on every item before it is returned: no invented facts (facts.py), no compliance violation
(lint.py). `Guard(...).review(text, field)` gives the item back repaired, with what was changed and why, or
drops it with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.adcopy.facts import FactChecker, Sources
from assistant.adcopy.lint import Linter


@dataclass
class Review:
    text: str  # the item as it may be returned; "" = dropped
    fixes: list[str] = field(default_factory=list)  # "fact number '2-year'", "zh.adlaw.superlative '最舒适'"
    reason: str = ""  # why it was dropped


class Guard:
    """Checks for one product: its sources (row + brand facts), language and channel."""

    def __init__(self, checker: FactChecker, linter: Linter, sources: Sources, language: str, channel: str):
        self.checker, self.linter, self.sources = checker, linter, sources
        self.language, self.channel = language, channel

    def review(self, text: str, field_name: str) -> Review:
        fixed, bad = self.checker.repair(text, self.sources)
        fixes = [f"fact {c.kind} {c.text!r} not in the product data: removed" for c in bad]
        if not fixed:
            return Review("", fixes, "unsupported " + ", ".join(sorted({c.kind for c in bad})))
        lint = self.linter.rewrite(fixed, self.language, self.channel, field_name)
        if lint.ok:
            return Review(fixed, fixes)
        rules = ", ".join(dict.fromkeys(v.rule for v in lint.violations))
        if lint.rewrite is None or self.checker.unsupported(lint.rewrite, self.sources):
            return Review("", fixes, f"lint {rules} (no passing rewrite)")
        fixes += [f"{v.rule} {v.match!r}: rewritten" for v in lint.violations]
        return Review(lint.rewrite, fixes)

    def novel(self, text: str) -> list[str]:
        """Words for the reviewer to check: in no source and no ordinary ad vocabulary (not removed)."""
        return self.checker.novel_words(text, self.sources)

    def passes(self, text: str, field_name: str) -> bool:
        return (not self.checker.unsupported(text, self.sources)
                and not self.linter.check(text, self.language, self.channel, field_name))


class NoFacts:
    """adcopy.check_facts: false: the lint still runs, the fact check passes everything."""

    def repair(self, text, sources):
        return text, []

    def unsupported(self, text, sources):
        return []

    def novel_words(self, text, sources):
        return []
