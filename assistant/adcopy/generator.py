"""Brief in, ranked on-brand variants out: prompt -> LLM -> check -> repair -> score -> rank.

Each field is written as a numbered list, several items per call. Every item is checked against the
channel's limit, the banned words and the required terms; a broken item gets a cheap cut first, then one
"shorten/rewrite these" call, then a fresh round; only then is it dropped, and the drops are counted so the
result can say "could only produce k of n" with reasons. Nothing over a limit is ever returned.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from assistant.adcopy.brand import BrandProfile, brand_for, load_brand
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import ChannelSpec, FieldSpec, get_channel
from assistant.adcopy.checks import (
    REPAIRABLE,
    add_required,
    echoes_example,
    has_copy,
    lists_terms,
    problems,
    shortenings,
)
from assistant.adcopy.claim_reader import claim_reader_for
from assistant.adcopy.config import AdCopyConfig
from assistant.adcopy.facts import FactChecker
from assistant.adcopy.lint import Linter
from assistant.adcopy.prompts import (
    block_messages,
    count_complete_items,
    cover_messages,
    examples_for,
    generation_messages,
    is_long_field,
    paragraph_messages,
    paragraph_text,
    parse_items,
    prompt_budget,
    repair_messages,
)
from assistant.adcopy.result import GenerationResult, Variant
from assistant.adcopy.review import Guard, NoFacts
from assistant.adcopy.scoring import (
    NEUTRAL_TONE,
    Similarity,
    base_scores,
    load_embedder,
    load_sentiment,
    rank_variants,
    tone_score,
)
from assistant.adcopy.text import contains_term, fold, jaccard
from assistant.errors import InputError
from assistant.llm.base import LLMBackend, Message

log = logging.getLogger(__name__)


@dataclass
class _Job:
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


def coverage_terms(brief: Brief) -> list[str]:
    """What the `keywords` score counts: the brief's keywords, then its selling points."""
    return list(dict.fromkeys([*brief.keywords, *brief.attributes]))


def _key(text: str) -> str:
    """What two texts share when they are the same copy in different punctuation, case or script."""
    return re.sub(r"\W+", "", fold(text))


def _stuck(text: str) -> bool:
    """The last three finished items are one line repeated: the model is looping, stop paying for it."""
    done = parse_items(text[: text.rfind("\n") + 1])
    return len(done) >= 3 and len({_key(t) for t in done[-3:]}) == 1


class AdCopyGenerator:
    """`AdCopyGenerator(backend, cfg, brand).generate(Brief(...)) -> GenerationResult`.

    `cfg` is an `AdCopyConfig` or the whole `Settings` (then `llm.adapters` and `classifiers` are used too).
    `brand`: a BrandProfile, a YAML path, or None for the configured shop's brand (`brand.brand_for`).
    `sentiment` (texts -> P(positive)) and `embedder` (`embed_documents`) may be injected; by default they
    load lazily from assistant.classifiers / knowledge_base.embeddings, with documented fallbacks.
    """

    def __init__(self, backend: LLMBackend, cfg=None, brand: BrandProfile | str | Path | None = None, *,
                 adapters=None, sentiment=None, embedder=None, long_backend=None):
        self.backend = backend
        # The long fields' writer (adcopy.long_text_model): injected, or built on the first long field.
        self._long_backend = long_backend
        self.settings = cfg if hasattr(cfg, "sections") else None
        self.cfg: AdCopyConfig = getattr(cfg, "adcopy", None) if self.settings is not None else (cfg or AdCopyConfig())
        if not isinstance(self.cfg, AdCopyConfig):
            self.cfg = AdCopyConfig()
        if adapters is None:
            # What the backend serves decides (the runtime builds it with the registered adapters);
            # the settings' own list is the fall-back for a backend that does not say.
            adapters = getattr(getattr(backend, "cfg", None), "adapters", None)
            if adapters is None and self.settings is not None:
                adapters = getattr(getattr(self.settings, "llm", None), "adapters", None)
            adapters = adapters or {}
        self.adapter = self.cfg.adapter if self.cfg.adapter and self.cfg.adapter in adapters else None
        if isinstance(brand, BrandProfile):
            self.brand = brand
        elif brand:
            self.brand = load_brand(brand)
        elif self.settings is not None and "shop" in self.settings.sections:
            self.brand = brand_for(self.settings)
        else:
            self.brand = load_brand(self.cfg.brand_file or None)
        self._sentiment, self._embedder = sentiment, embedder
        self._loaded = {"sentiment": sentiment is not None, "embedder": embedder is not None}
        self._fallback_notes: list[str] = []
        self._checkers: dict[bool, FactChecker] = {}  # by whether the word check runs
        self.calls = 0

    # ---- collaborators, loaded on first use --------------------------------------------------------------
    def _get_sentiment(self):
        if not self._loaded["sentiment"]:
            self._loaded["sentiment"] = True
            if self.cfg.sentiment:
                self._sentiment, why = load_sentiment(self.settings)
            else:
                why = f"tone scoring is off (adcopy.sentiment: false); tone scored neutral {NEUTRAL_TONE}"
            if why:
                self._fallback_notes.append(why)
        return self._sentiment

    def _get_similarity(self) -> Similarity:
        if not self._loaded["embedder"]:
            self._loaded["embedder"] = True
            self._embedder, why = load_embedder(self.cfg.embedder)
            if why:
                self._fallback_notes.append(why)
        return Similarity(self._embedder, self.cfg.dedup_embedding, self.cfg.dedup_ngram)

    def guard(self, brief: Brief, banned: list[str]) -> Guard:
        """Invented-fact check against the brief (a feed row) and the brand's facts, and the compliance lint."""
        words = self.cfg.word_check == "always" or (self.cfg.word_check == "feed" and bool(brief.details))
        if words not in self._checkers:
            # None: the claims file decides (on unless it says word_check: false); False: listed facts only.
            reader = (claim_reader_for(self.cfg.claim_reader, self.backend, self.settings, self.cfg.flag_score)
                      if words else None)
            self._checkers[words] = FactChecker(self.cfg.claims_file or None, words=None if words else False,
                                                reader=reader)
        fact_checker = self._checkers[words]
        sources = fact_checker.sources(*brief.facts(), *self.brand.fact_list(brief.language)) \
            if self.cfg.check_facts else None
        checker = fact_checker if sources is not None else NoFacts()
        return Guard(checker, Linter(banned, self.cfg.lint_rules_file or None), sources, brief.language, brief.channel)

    def with_long_text_model(self, model: str) -> AdCopyGenerator:
        """This generator with another writer of the long fields (`adcopy.long_text_model`: '' = the chat model),
        sharing its scorers and checkers: what a copywriter's "larger model for long texts" switch asks for."""
        import copy
        import dataclasses

        if model == self.cfg.long_text_model:
            return self
        cfg = dataclasses.replace(self.cfg, long_text_model=model)  # validated like the config file's value
        self._get_sentiment(), self._get_similarity()  # loaded once, here, so both generators hold them
        other = copy.copy(self)
        other.cfg, other._long_backend = cfg, None
        other._loaded, other._fallback_notes = dict(self._loaded), list(self._fallback_notes)
        return other

    # ---- the LLM -----------------------------------------------------------------------------------------
    def _writer_for(self, spec: FieldSpec, language: str) -> tuple[LLMBackend, bool]:
        """The backend that writes this field, and whether the task adapter may be used with it: the long-text
        model for long fields when one is set (its own llama.cpp context; no adapter, which was trained for the
        chat model), else the chat backend."""
        if not self.cfg.long_text_model or not is_long_field(spec, language):
            return self.backend, True
        if self._long_backend is None:
            cfg = getattr(self.backend, "cfg", None)
            if getattr(self.backend, "name", "") != "llamacpp" or getattr(cfg, "model", None) == self.cfg.long_text_model:
                self._long_backend = self.backend  # a fake or remote backend, or already that model
            else:
                import dataclasses

                from assistant.llm import build_backend

                self._long_backend = build_backend(dataclasses.replace(
                    cfg, model=self.cfg.long_text_model, adapters={}, n_ctx=max(2048, cfg.n_ctx), fake_replies=[]))
        return self._long_backend, self._long_backend is self.backend

    def _adapter_for(self, spec: FieldSpec) -> str | None:
        fields = self.cfg.adapter_fields
        return self.adapter if self.adapter and (not fields or spec.name in fields) else None

    def _ask(self, messages: list[Message], k: int, spec: FieldSpec, language: str, seed: int) -> str:
        """One call; stops streaming as soon as k numbered items are complete."""
        per_item = prompt_budget(spec, language) * (1.0 if language == "zh" else 0.3) + 8
        max_tokens = min(1536, int(max(k, 1) * per_item * 1.2) + 24)  # k = 0: one free-text item
        self.calls += 1
        # Stopping at "k+1." ends the list in the backend itself, even where streaming cannot be cut short.
        stop = [f"\n{k + 1}."] if k > 1 else []
        writer, adapter_ok = self._writer_for(spec, language)
        stream = writer.stream(messages, max_tokens=max_tokens, temperature=self.cfg.temperature,
                               seed=seed, adapter=self._adapter_for(spec) if adapter_ok else None, stop=stop)
        text = ""
        # A line three times the limit is a model stuck repeating itself: stop paying for it.
        runaway = 3 * spec.budget_for(language) + 20
        try:
            for piece in stream:
                text += piece
                if k > 1 and "\n" in piece and (count_complete_items(text) >= k or _stuck(text)):
                    break
                if spec.style == "line" and len(text) - text.rfind("\n") > runaway:
                    log.info("stopped a runaway line after %d characters", runaway)
                    text = text[: text.rfind("\n") + 1]
                    break
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()  # releases the backend's lock when we stop early
        return text

    # ---- one field ---------------------------------------------------------------------------------------
    def _accept(self, job: _Job, name: str, text: str, pool: list[str], seen: set[str]) -> bool:
        """Adds `text` (or its first deterministic repair that is new copy) to the pool.

        True when the item is settled (added, or a duplicate / copied example: asking the model to shorten
        it would not make new copy); False when it still breaks a rule the model may fix.
        """
        spec, required = job.rules(name)
        lang = job.brief.language
        brief = job.brief
        if is_long_field(spec, lang) and lists_terms(
                text, [brief.product, *brief.attributes, *brief.keywords]):
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
        new = [t for t in fixes if _key(t) not in seen and not echoes_example(_key(t), job.echoes)]
        # Near-duplicates are refused here, not only merged at ranking time, so the rounds go on until
        # `target` distinct items are in the pool instead of ending with n and merging down to fewer.
        fresh = [t for t in new if all(jaccard(t, p) < self.cfg.dedup_ngram for p in pool)]
        if fresh:
            seen.add(_key(fresh[0]))
            pool.append(fresh[0])
        elif new:
            job.rejected[f"{name}: near-duplicate"] += 1
        elif echoes_example(_key(fixes[0]), job.echoes):
            job.rejected[f"{name}: copied an example"] += 1
        else:
            job.rejected[f"{name}: duplicate"] += 1
        return True

    def _guarded(self, job: _Job, name: str, texts: list[str]) -> list[str]:
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

    def _drop(self, job: _Job, name: str, text: str) -> None:
        spec, required = job.rules(name)
        for reason in problems(text, spec, job.brief.language, job.banned, required) or ["unusable"]:
            job.rejected[f"{name}: {reason}"] += 1

    def _fill_field(self, job: _Job, name: str, target: int) -> list[str]:
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
                items = [paragraph_text(self._ask(msgs, 0, spec, lang, seed=self._seed(rnd) + i), lang)
                         for i in range(k)]
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
            unique = list({_key(it): it for it in reversed(fixable)}.values())[::-1]
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

    def _cover(self, job: _Job, name: str, text: str) -> str:
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

    def _over_budget(self, job: _Job) -> bool:
        """adcopy.time_budget_s: after it, no new call starts (the one under way finishes)."""
        over = bool(self.cfg.time_budget_s) and time.perf_counter() - job.start > self.cfg.time_budget_s
        if over and not job.out_of_time:
            job.out_of_time = True
            job.rejected[f"stopped at the time budget of {self.cfg.time_budget_s:g} s"] += 1
        return over

    def _seed(self, rnd: int) -> int:
        return 1000 + 31 * rnd + 7 * self.calls

    # ---- derived fields ------------------------------------------------------------------------------------
    def _derive(self, job: _Job, names: list[str]) -> dict[str, str]:
        """Display paths and the like: built from the brief's keywords (then product words), cut to fit."""
        words = job.brief.keywords or re.findall(r"[A-Za-z0-9]+|[\u4e00-\u9fff]+", job.brief.product)
        out = {}
        for name, word in zip(names, words, strict=False):
            spec = job.channel.field(name)
            slug = re.sub(r"[^\w\u4e00-\u9fff]+", "-", word.strip()).strip("-")
            while slug and not spec.fits(slug):
                slug = slug[:-1].rstrip("-")
            if slug and not problems(slug, spec, "", job.banned, []):
                out[name] = slug
        return out

    # ---- the whole brief ------------------------------------------------------------------------------------
    def generate(self, brief: Brief) -> GenerationResult:
        start, calls0 = time.perf_counter(), self.calls
        channel = get_channel(brief.channel, self.cfg.channels_file or None)
        notes: list[str] = []
        n = brief.n
        if n > self.cfg.max_variants:
            notes.append(f"asked for {n} variants; capped at adcopy.max_variants = {self.cfg.max_variants}")
            n = self.cfg.max_variants
        names = brief.fields or list(channel.generate)
        for f in names:
            channel.field(f)  # unknown field -> NotFoundError naming the channel's fields
        gen_names = [f for f in names if not channel.field(f).derive]
        derived = [f for f in channel.fields if channel.field(f).derive and (f in names or not brief.fields)]
        if not gen_names:
            raise InputError(f"fields {', '.join(names)} are derived from keywords; ask for a written field too")
        banned = list(dict.fromkeys(self.brand.banned(brief.language) + brief.banned_words))
        required = list(dict.fromkeys(self.brand.required(brief.language) + brief.required_terms))
        clash = [(t, b) for t in required for b in banned if fold(b) in fold(t)]
        if clash:
            raise InputError(f"required term {clash[0][0]!r} contains the banned word {clash[0][1]!r}: "
                             "no variant can satisfy both")
        if any(contains_term(brief.product, b) for b in banned):
            notes.append("the product text itself contains a banned word; variants must avoid repeating it")
        carrier = max(gen_names, key=lambda f: channel.field(f).budget_for(brief.language))
        job = _Job(brief, channel, banned, required, carrier,
                   echoes={_key(e) for f in gen_names for e in examples_for(self.brand, channel, f, brief.language)},
                   guard=self.guard(brief, banned))

        # Each call asks for a share more than needed (adcopy.oversample), so merging usually still leaves n.
        pools = {name: self._fill_field(job, name, n) for name in gen_names}
        derived_fields = self._derive(job, derived) if derived else {}
        count = min(len(p) for p in pools.values())
        candidates = []
        for i in range(count):
            fields = {name: self._cover(job, name, pools[name][i]) for name in gen_names}
            candidates.append({"fields": fields, "scores": base_scores(channel, fields, coverage_terms(brief), brief.language)})
        self._score_tone(candidates, brief)
        ranked, merged = rank_variants(candidates, self._get_similarity(), self.cfg.weights, n)
        variants = []
        for it in ranked:
            fields = {**it["fields"], **derived_fields}
            if self._final_check(job, fields):
                fixes = [f"{name}: {fix}" for name, text in fields.items() for fix in job.fixes.get(text, [])]
                review = list(dict.fromkeys(w for t in fields.values() for w in job.guard.novel(t)))
                variants.append(Variant(fields, it["scores"], len(variants) + 1, it.get("merged", 0), fixes, review))
        if merged:
            job.rejected["near-duplicates merged"] += merged
        if len(variants) < n:
            why = "; ".join(f"{k} ×{v}" for k, v in job.rejected.most_common()) or "the model returned too few items"
            notes.append(f"could only produce {len(variants)} of {n}: {why}")
        notes.extend(self._fallback_notes)
        return GenerationResult(
            channel=channel.id, variants=variants, requested=brief.n, produced=len(variants), notes=notes,
            rejected=dict(job.rejected), seconds=time.perf_counter() - start, language=brief.language,
            adapter=self.adapter, llm_calls=self.calls - calls0,
            rewrites={t: job.rewrites[t] for v in variants for t in v.fields.values() if t in job.rewrites},
        )

    def _final_check(self, job: _Job, fields: dict[str, str]) -> bool:
        """The last guard before anything leaves: limits, banned words, required terms, every field."""
        ok = all(not problems(t, job.channel.field(f), "", job.banned, []) for f, t in fields.items())
        ok = ok and (job.guard is None or all(job.guard.passes(t, f) for f, t in fields.items()))
        has_required = all(any(contains_term(t, r) for t in fields.values()) for r in job.required)
        if not (ok and has_required):
            log.error("a variant failed the final check and was dropped: %s", fields)
        return ok and has_required

    def _score_tone(self, candidates: list[dict], brief: Brief) -> None:
        fn = self._get_sentiment() if candidates else None
        probs = [NEUTRAL_TONE] * len(candidates)
        if fn is not None:
            try:
                probs = fn([" ".join(c["fields"].values()) for c in candidates])
            except Exception as exc:  # noqa: BLE001 - scoring must not sink a generation
                self._fallback_notes.append(f"sentiment scoring failed ({exc}); tone scored neutral")
                probs = [NEUTRAL_TONE] * len(candidates)
        for c, p in zip(candidates, probs, strict=True):
            c["scores"]["tone"] = tone_score(p, brief.tone) if fn is not None else NEUTRAL_TONE

    def write_block(self, brief: Brief, name: str, instruction: str) -> str:
        """One free-text field (an e-mail body), checked and repaired like the rest; '' if impossible."""
        channel = get_channel(brief.channel, self.cfg.channels_file or None)
        spec = channel.field(name)
        banned = list(dict.fromkeys(self.brand.banned(brief.language) + brief.banned_words))
        required = list(dict.fromkeys(self.brand.required(brief.language) + brief.required_terms))
        job = _Job(brief, channel, banned, required, name)
        pool: list[str] = []
        for rnd in range(self.cfg.max_rounds):
            text = self._ask(block_messages(brief, spec, instruction, self.brand), 0, spec, brief.language,
                             seed=self._seed(rnd)).strip()
            if self._accept(job, name, text, pool, set()) and pool:
                return pool[0]
            if set(problems(text, spec, brief.language, banned, required)) <= set(REPAIRABLE):
                fixed = self._ask(repair_messages(brief, spec, [text], required, banned, self.brand), 0, spec,
                                  brief.language, seed=self._seed(rnd) + 7)
                fixed = re.sub(r"^\s*1[.)、]\s*", "", fixed.strip())
                if self._accept(job, name, fixed, pool, set()) and pool:
                    return pool[0]
        return ""
