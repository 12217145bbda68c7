"""One field's rounds of copy: ask the model for k items, check each, cut or repair what breaks a rule, guard
against invented facts and the lint, refuse repeats, and count every drop, until enough are kept or the budget ends.

`FieldRounds` is the part of `AdCopyGenerator` that does this; it relies on the generator's `cfg`, `brand`,
`calls` and `_ask` (one model call), which stay in generator.py with the rest of the brief-level work.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest

from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import ChannelSpec, FieldSpec
from assistant.adcopy.checks import (
    REPAIRABLE,
    add_required,
    echoes_example,
    has_copy,
    lists_terms,
    problems,
    shortenings,
)
from assistant.adcopy.prompts import (
    block_messages,
    cover_messages,
    generation_messages,
    is_long_field,
    paragraph_messages,
    paragraph_text,
    parse_items,
    prompt_budget,
    repair_messages,
)
from assistant.adcopy.review import Guard
from assistant.adcopy.text import contains_term, fold, jaccard


@dataclass
class Job:
    """What one generation needs to know while it checks and repairs items."""

    brief: Brief
    channel: ChannelSpec
    banned: list[str]
    required: list[str]
    carrier: str  # the field that must carry the required terms (the roomiest one generated)
    rejected: Counter = field(default_factory=Counter)
    echoes: set[str] = field(default_factory=set)  # the prompt's own examples: copying one is no new copy
    start: float = field(default_factory=time.perf_counter)
    out_of_time: bool = False
    guard: Guard | None = None  # invented facts + compliance lint
    fixes: dict[str, list[str]] = field(default_factory=dict)  # returned text -> what the guard changed
    rewrites: dict[str, str] = field(default_factory=dict)  # selling-point rewrite -> the draft it replaced

    def rules(self, name: str) -> tuple[FieldSpec, list[str]]:
        return self.channel.field(name), (self.required if name == self.carrier else [])


# Fields with room for a paragraph (weibo, xiaohongshu body, Meta primary text) get the selling-point rewrite;
# a Google description has room for one sentence, and the extra call would cost every feed row its time.
COVER_FIELD_CHARS = 100


def copy_key(text: str) -> str:
    """What two texts share when they are the same copy in different punctuation, case or script."""
    return re.sub(r"\W+", "", fold(text))


class FieldRounds:
    """Fills one field's pool for `AdCopyGenerator` (a mixin: see the module docstring for what it relies on)."""

    def _accept(self, job: Job, name: str, text: str, pool: list[str], seen: set[str]) -> bool:
        """Adds `text` (or its first deterministic repair that is new copy) to the pool.

        True when the item is settled (added, or a duplicate / copied example: asking the model to shorten
        it would not make new copy); False when it still breaks a rule the model may fix.
        """
        spec, required = job.rules(name)
        lang = job.brief.language
        brief = job.brief
        # the row's description and the brand term count as its words too: "茶壶巷｜紫砂壶，西施壶，200毫升，原矿紫泥"
        if is_long_field(spec, lang) and lists_terms(
                text, [brief.product, *brief.attributes, *brief.keywords, brief.details, brief.offer, *required]):
            job.rejected[f"{name}: lists the selling points, not copy"] += 1
            return True  # a rewrite of a list is a shorter list: the next round asks afresh
        fixes = [t for t in shortenings(text, spec, lang, required) if not problems(t, spec, lang, job.banned, required)]
        if not fixes:
            return False
        if job.guard is not None:
            fixes = self._guarded(job, name, fixes)
            if not fixes:  # every cut states an unsupported fact or breaks the lint beyond repair: counted
                return True
        fixes = [t for t in fixes if has_copy(t, required)]
        if not fixes:  # the brand term alone was all the model wrote
            job.rejected[f"{name}: nothing but the brand"] += 1
            return True
        new = [t for t in fixes if copy_key(t) not in seen and not echoes_example(copy_key(t), job.echoes)]
        # Near-duplicates are refused here, not only merged at ranking time, so the rounds go on until
        # `target` distinct items are in the pool instead of ending with n and merging down to fewer.
        fresh = [t for t in new if all(jaccard(t, p) < self.cfg.dedup_ngram for p in pool)]
        if fresh:
            seen.add(copy_key(fresh[0]))
            pool.append(fresh[0])
        elif new:
            job.rejected[f"{name}: near-duplicate"] += 1
        elif echoes_example(copy_key(fixes[0]), job.echoes):
            job.rejected[f"{name}: copied an example"] += 1
        else:
            job.rejected[f"{name}: duplicate"] += 1
        return True

    def _guarded(self, job: Job, name: str, texts: list[str]) -> list[str]:
        """The texts as the guard repairs them (still within every rule), remembering what it changed."""
        spec, required = job.rules(name)
        out, reason = [], ""
        for text in texts:
            review = job.guard.review(text, name)
            fixed = add_required(review.text, spec, required, job.brief.language) if review.text else ""
            if fixed and not problems(fixed, spec, job.brief.language, job.banned, required):
                if review.fixes:
                    job.fixes[fixed] = review.fixes
                out.append(fixed)
            else:
                reason = reason or review.reason or "too little left after removing unsupported facts"
        if not out:
            job.rejected[f"{name}: {reason}"] += 1
        return out

    def _drop(self, job: Job, name: str, text: str) -> None:
        spec, required = job.rules(name)
        for reason in problems(text, spec, job.brief.language, job.banned, required) or ["unusable"]:
            job.rejected[f"{name}: {reason}"] += 1

    def _fill_field(self, job: Job, name: str, target: int) -> list[str]:
        """Rounds of k items (fresh angles and seed each round) until `target` are kept or the budget ends."""
        spec, required = job.rules(name)
        lang = job.brief.language
        pool: list[str] = []
        seen: set[str] = set()
        for rnd in range(self.cfg.max_rounds):
            need = target - len(pool)
            if need <= 0 or (rnd and self._over_budget(job)):
                break
            k = min(self.cfg.batch_size, need + max(1, math.ceil(need * self.cfg.oversample)))
            if spec.style == "block":
                k = 1
                msgs = block_messages(job.brief, spec, "", self.brand)
                items = [self._ask(msgs, 0, spec, lang, seed=self._seed(rnd)).strip()]
            elif self.cfg.paragraph_per_call and job.brief.attributes and is_long_field(spec, lang):
                k = need  # one paragraph per call: a dropped one is asked for again next round
                msgs = paragraph_messages(job.brief, job.channel, name, self.brand, required)
                items = []
                for i in range(k):  # one call a paragraph: the budget is looked at before each
                    if (i or rnd) and self._over_budget(job):
                        break
                    items.append(paragraph_text(self._ask(msgs, 0, spec, lang, seed=self._seed(rnd) + i), lang))
            else:
                # Each round starts at new angles: the same prompt with a new seed mostly repeats itself.
                msgs = generation_messages(job.brief, job.channel, name, k, self.brand, required,
                                           angle_offset=rnd * self.cfg.batch_size)
                items = parse_items(self._ask(msgs, k, spec, lang, seed=self._seed(rnd)))
            if not any(items):
                job.rejected[f"{name}: unparseable reply"] += 1
                continue
            broken = [it for it in items[: k + 4] if not self._accept(job, name, it, pool, seen)]
            fixable = [it for it in broken if set(problems(it, spec, lang, job.banned, required)) <= set(REPAIRABLE)]
            # A model stuck on one line repeats it k times: rewriting it once is enough.
            unique = list({copy_key(it): it for it in reversed(fixable)}.values())[::-1]
            if len(fixable) > len(unique):
                job.rejected[f"{name}: duplicate"] += len(fixable) - len(unique)
            fixable = unique
            for it in broken:
                if it not in fixable:
                    self._drop(job, name, it)
            if fixable and len(pool) < target and not self._over_budget(job):
                msgs = repair_messages(job.brief, spec, fixable, required, job.banned, self.brand)
                reply = self._ask(msgs, len(fixable), spec, lang, seed=self._seed(rnd) + 7)
                repaired = parse_items(reply) if spec.style == "line" else [reply.strip()]
                for orig, new in zip_longest(fixable, repaired[: len(fixable)]):
                    if orig is None:
                        break
                    if new is None or not self._accept(job, name, new, pool, seen):
                        self._drop(job, name, orig)
            elif len(pool) < target:
                for it in fixable:
                    self._drop(job, name, it)
        return pool

    def _cover(self, job: Job, name: str, text: str) -> str:
        """A long field that left selling points out gets one call to work them in (adcopy.cover_selling_points).

        The rewrite replaces the text only when it passes every rule, is no list, and names more of them."""
        spec, required = job.rules(name)
        brief, lang = job.brief, job.brief.language
        missing = [a for a in brief.attributes if not contains_term(text, a)]
        roomy = prompt_budget(spec, lang) >= COVER_FIELD_CHARS
        if not (self.cfg.cover_selling_points and missing and roomy) or self._over_budget(job):
            return text
        reply = self._ask(cover_messages(brief, spec, text, missing, required, job.banned, self.brand), 1, spec, lang,
                          seed=self._seed(0) + 13)
        new = (parse_items(reply) or [reply.strip()])[0]
        pool: list[str] = []
        if not new or not self._accept(job, name, new, pool, set()) or not pool:
            job.rejected[f"{name}: selling-point rewrite not usable"] += 1
            return text
        added = [a for a in missing if contains_term(pool[0], a)]
        if len([a for a in brief.attributes if contains_term(pool[0], a)]) <= len(brief.attributes) - len(missing):
            job.rejected[f"{name}: selling-point rewrite named no more of them"] += 1
            return text
        job.fixes[pool[0]] = job.fixes.get(pool[0], []) + [f"selling points worked in: {', '.join(added)}"]
        job.rewrites[pool[0]] = text
        return pool[0]

    def _over_budget(self, job: Job) -> bool:
        """adcopy.time_budget_s: after it, no new call starts (the one under way finishes) but a field's first."""
        over = bool(self.cfg.time_budget_s) and time.perf_counter() - job.start > self.cfg.time_budget_s
        if over and not job.out_of_time:
            job.out_of_time = True
            job.rejected[f"stopped at the time budget of {self.cfg.time_budget_s:g} s"] += 1
        return over

    def _seed(self, rnd: int) -> int:
        return 1000 + 31 * rnd + 7 * self.calls
