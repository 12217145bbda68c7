"""Brief in, ranked on-brand variants out: prompt -> LLM -> check -> repair -> score -> rank.

Each field is written as a numbered list, several items per call. Every item is checked against the
channel's limit, the banned words and the required terms; a broken item gets a cheap cut first, then one
"shorten/rewrite these" call, then a fresh round; only then is it dropped, and the drops are counted so the
result can say "could only produce k of n" with reasons. Nothing over a limit is ever returned.
The rounds that fill one field are in field_rounds.py; the brief, the model calls and the ranking are here.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from assistant.adcopy.brand import BrandProfile, pick_brand
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import FieldSpec, get_channel
from assistant.adcopy.checks import REPAIRABLE, problems
from assistant.adcopy.claim_reader import claim_reader_for
from assistant.adcopy.config import AdCopyConfig
from assistant.adcopy.facts import FactChecker
from assistant.adcopy.field_rounds import COVER_FIELD_CHARS, FieldRounds, Job, copy_key
from assistant.adcopy.lint import Linter
from assistant.adcopy.prompts import (
    block_messages,
    count_complete_items,
    examples_for,
    is_long_field,
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
from assistant.adcopy.text import contains_term, fold
from assistant.errors import InputError
from assistant.llm.base import LLMBackend, Message

# What callers import from here; the field rounds and the result types live in their own modules.
__all__ = ["COVER_FIELD_CHARS", "AdCopyGenerator", "GenerationResult", "Variant", "coverage_terms"]

log = logging.getLogger(__name__)


def coverage_terms(brief: Brief) -> list[str]:
    """What the `keywords` score counts: the brief's keywords, then its selling points."""
    return list(dict.fromkeys([*brief.keywords, *brief.attributes]))


def _stuck(text: str) -> bool:
    """The last three finished items are one line repeated: the model is looping, stop paying for it."""
    done = parse_items(text[: text.rfind("\n") + 1])
    return len(done) >= 3 and len({copy_key(t) for t in done[-3:]}) == 1


class AdCopyGenerator(FieldRounds):
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
        self.brand = pick_brand(brand, self.settings, self.cfg.brand_file)
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
        words = self.cfg.word_check == "always" or (self.cfg.word_check == "feed" and (brief.from_feed
                                                                                      or bool(brief.details)))
        if words not in self._checkers:
            # None: the claims file decides (on unless it says word_check: false); False: listed facts only.
            reader = (claim_reader_for(self.cfg.claim_reader, self.backend, self.settings, self.cfg.flag_score)
                      if words else None)
            self._checkers[words] = FactChecker(self.cfg.claims_file or None, words=None if words else False,
                                                reader=reader)
        fact_checker = self._checkers[words]
        sources = fact_checker.sources(*brief.facts(), *self.brand.fact_list(brief.language),
                                       exemplars=self.brand.exemplar_texts()) if self.cfg.check_facts else None
        checker = fact_checker if sources is not None else NoFacts()
        names = [brief.product, *self.brand.all_names()]  # "MUJI" there is a name, not shouting
        return Guard(checker, Linter(banned, self.cfg.lint_rules_file or None, names), sources, brief.language,
                     brief.channel)

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


    # ---- derived fields ------------------------------------------------------------------------------------
    def _derive(self, job: Job, names: list[str]) -> dict[str, str]:
        """Display paths and the like: built from the brief's keywords (then product words), cut to fit."""
        # From the product's name, a figure keeps its unit ("1.8米床" was split into 1, 8 and the path "米床"), and
        # neither a size nor a word too long for the path is one (a Chinese run cut to fit: "北欧简约风纯").
        keywords = job.brief.keywords
        words = keywords or re.findall(r"\d[\d.,x×*]*[A-Za-z\u4e00-\u9fff]*|[A-Za-z][A-Za-z0-9]*|[\u4e00-\u9fff]+",
                                       job.brief.product)
        out, pending = {}, list(names)
        for word in words:
            if not pending:
                break
            spec = job.channel.field(pending[0])
            slug = re.sub(r"[^\w\u4e00-\u9fff]+", "-", word.strip()).strip("-")
            if not keywords and (slug[:1].isdigit() or not spec.fits(slug)):
                continue
            while slug and not spec.fits(slug):
                slug = slug[:-1].rstrip("-")
            # A path that breaks a lint rule (a keyword "FREE shipping", "最好床品") failed the final check of every
            # variant it was put on, so the whole result came back empty: such a word is skipped, and the next one
            # fills the path (Path 2 without Path 1 is no display path either).
            if (slug and not problems(slug, spec, "", job.banned, [])
                    and (job.guard is None or job.guard.passes(slug, pending[0]))):
                out[pending.pop(0)] = slug
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
        job = Job(brief, channel, banned, required, carrier,
                   echoes={copy_key(e) for f in gen_names for e in examples_for(self.brand, channel, f, brief.language)},
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

    def _final_check(self, job: Job, fields: dict[str, str]) -> bool:
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
        job = Job(brief, channel, banned, required, name)
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
