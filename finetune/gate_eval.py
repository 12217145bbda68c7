"""The gate's side-by-side evaluation: the served adapter (or the bare base model) and a candidate, in one run.

support: the answer bench's dev-shop questions (bench/data/answers, never the held-out shop) through the
knowledge base's answer path, scored by the bench's own rules. adcopy: a fixed set of the demo briefs through
the ad-copy generator, every returned field checked again (limits, lint, invented facts), plus the model's own
first-pass items. Both sides share one llama.cpp backend (one base model, a LoRA per side) and take turns
going first, so a machine whose load drifts slows both alike. Besides seconds, the tokens each side generated
are counted: on a shared machine seconds are noisy, tokens are not.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path

log = logging.getLogger(__name__)

SIDES = ("served", "candidate")


def evaluate(task: str, candidate_gguf: str, served_gguf: str | None, settings, cfg, size: int | None = None,
             progress=None, pause=None) -> dict:
    """{"served": figures, "candidate": figures, ...} for `task`; `served_gguf` None = the bare base model.
    `pause()` runs before each side of each question, outside the timed part."""
    backend = Counting(_backend(settings, cfg, candidate_gguf, served_gguf, task))
    adapters = {"served": "served" if served_gguf else None, "candidate": "candidate"}
    run = evaluate_support if task == "support" else evaluate_adcopy
    out = run(backend, adapters, settings, cfg, size, progress, pause or (lambda: 0.0))
    for side in SIDES:
        out[side]["tokens"] = backend.tokens.get(adapters[side], 0)
    return out


def streamed(pieces, on_done):
    """Yields `pieces` and hands their text to `on_done` when the stream ends, also when a reader closes it
    early (the ad-copy generator stops once it has enough items)."""
    text = ""
    try:
        for piece in pieces:
            text += piece
            yield piece
    finally:
        on_done(text)


class Counting:
    """Counts the tokens the model generates per adapter: how much each side wrote, whatever the load."""

    def __init__(self, backend):
        self.backend, self.name, self.tokens = backend, backend.name, {}

    def _count(self, adapter, text: str) -> None:
        count = getattr(self.backend, "count_tokens", None)
        self.tokens[adapter] = self.tokens.get(adapter, 0) + (count(text) if count and text else len(text.split()))

    def generate(self, messages, **opts):
        text = self.backend.generate(messages, **opts)
        self._count(opts.get("adapter"), text)
        return text

    def stream(self, messages, **opts):
        yield from streamed(self.backend.stream(messages, **opts), lambda text: self._count(opts.get("adapter"), text))


def _backend(settings, cfg, candidate: str, served: str | None, task: str):
    import dataclasses

    from assistant.llm import build_backend

    adapters = {"candidate": candidate, **({"served": served} if served else {})}
    llm = settings.llm
    temperature = 0.0 if task == "support" else llm.temperature  # ad copy needs variety; seeds keep it fair
    return build_backend(dataclasses.replace(
        llm, backend="llamacpp", adapters=adapters, temperature=temperature, startup_probe=False,
        n_threads=cfg.threads or llm.n_threads))


# --------------------------------------------------------------------------------------------- support
def pick_questions(questions: list, size: int) -> list:
    """`size` questions spread over every kind (answerable, unanswerable, follow-ups...), in file order."""
    kinds: dict[str, list] = {}
    for q in questions:
        kinds.setdefault(q.kind, []).append(q)
    spread = [q for row in zip_longest(*kinds.values()) for q in row if q is not None]
    return spread[:size] if size else spread


def support_figures(questions: list, answers: list[tuple[str, bool, float, bool]], doc_numbers: set[str],
                    product_texts: list[str]) -> dict:
    """One side's figures from its answers (text, declined by the pipeline, seconds, the LLM wrote it), scored
    as the answer bench scores them."""
    from bench import answers as bench

    scores = []
    for q, (text, abstained, _, _) in zip(questions, answers, strict=True):
        s = bench.score_answer(q, text, {"action": "fallback"} if abstained else None, doc_numbers, product_texts)
        scores.append(s)
    seconds = [a[2] for a in answers]
    out = bench.summarize(questions, scores, seconds, routed=False)
    out["drafts_sent"] = sum(a[3] for a in answers)  # answers the model's draft passed the checks
    out["seconds"] = round(sum(seconds), 1)  # the same questions on both sides: totals compare
    return out


def evaluate_support(backend, adapters: dict, settings, cfg, size: int | None, progress=None,
                     pause=lambda: 0.0) -> dict:
    from assistant.llm.base import Message
    from assistant.shop import Shop
    from bench import answers as bench
    from knowledge_base import KnowledgeBase

    shop = bench.load_shop("dev")  # the held-out shop is for honest reporting only, never for decisions
    questions = pick_questions(shop.questions, cfg.support_questions if size is None else size)
    with tempfile.TemporaryDirectory(prefix="gate-support-") as tmp:
        shop_settings = bench.shop_settings(shop, Path(tmp), settings.llm.model,
                                            {"knowledge_base": {"answer_style": cfg.support_answer_style}})
        kb = KnowledgeBase.from_config(shop_settings.knowledge_base)
        report = kb.ingest([shop.docs], progress=False)
        if report.errors:
            from assistant.errors import IngestError

            raise IngestError("; ".join(str(f.error) for f in report.errors))
        voice = Shop.from_config(shop_settings.shop)
        product_texts = bench._product_declines(shop_settings)
        answers: dict[str, list] = {side: [] for side in SIDES}
        for i, q in enumerate(questions):
            for side in (SIDES if i % 2 == 0 else SIDES[::-1]):
                pause()
                history: list[Message] = []
                for turn in q.turns:  # a follow-up's earlier turns are answered by the same side
                    start = time.perf_counter()
                    result = kb.answer(turn, backend, history, adapter=adapters[side], shop=voice)
                    seconds = time.perf_counter() - start
                    history += [Message("user", turn), Message("assistant", result.text)]
                answers[side].append((result.text, result.abstained, seconds, result.mode in ("llm", "translated")))
            if progress:
                progress(f"support {i + 1}/{len(questions)} {q.id}: served {answers['served'][-1][2]:.1f} s, "
                         f"candidate {answers['candidate'][-1][2]:.1f} s")
        doc_numbers = bench.shop_numbers(shop)
    out = {side: support_figures(questions, answers[side], doc_numbers, product_texts) for side in SIDES}
    out.update(questions=len(questions), shop=shop.meta["name"]["en"], answer_style=cfg.support_answer_style)
    return out


# --------------------------------------------------------------------------------------------- adcopy
class _FirstPass:
    """Wraps the backend and keeps the model's first-pass replies (not the repair calls): its own yield, before
    the generator's checks and repairs make up for it."""

    def __init__(self, backend):
        self.backend, self.name, self.replies = backend, backend.name, []

    def stream(self, messages, **opts):
        ask = messages[-1].content
        if "Rewrite each line" in ask or "改写" in ask:  # a repair call, not the model's first pass
            yield from self.backend.stream(messages, **opts)
            return
        yield from streamed(self.backend.stream(messages, **opts), self.replies.append)

    def generate(self, messages, **opts):
        return "".join(self.stream(messages, **opts))


def pick_briefs(briefs: list[dict], size: int, adapter_fields: list[str]) -> list[tuple[dict, str]]:
    """(brief, field) pairs for channels that have a field the adapter writes, zh and en taking turns."""
    from assistant.adcopy import get_channel

    usable: dict[str, list] = {"zh": [], "en": []}
    for b in briefs:
        generate = list(get_channel(b["channel"]).generate)
        fields = [f for f in generate if not adapter_fields or f in adapter_fields]
        if fields and b.get("language") in usable:
            usable[b["language"]].append((b, fields[0]))
    spread = [p for row in zip_longest(usable["zh"], usable["en"]) for p in row if p is not None]
    return spread[:size] if size else spread


def evaluate_adcopy(backend, adapters: dict, settings, cfg, size: int | None, progress=None,
                    pause=lambda: 0.0) -> dict:
    import dataclasses

    import yaml

    from assistant.adcopy import AdCopyGenerator, Brief, get_channel, load_brand
    from assistant.adcopy.checks import problems
    from assistant.adcopy.prompts import parse_items
    from assistant.config import REPO_ROOT

    ad_cfg = settings.adcopy
    raw = yaml.safe_load((REPO_ROOT / "assistant/adcopy/data/demo_briefs.yaml").read_text(encoding="utf-8"))
    picked = pick_briefs(raw, cfg.adcopy_briefs if size is None else size, list(ad_cfg.adapter_fields))
    brand = load_brand()  # the demo briefs are the demo shop's
    totals = {side: dict.fromkeys(("requested", "produced", "fields", "compliant", "items", "usable_items"), 0)
              for side in SIDES}
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    for i, (b, field_name) in enumerate(picked):
        brief = Brief.from_dict({**b, "n": cfg.adcopy_variants, "fields": [field_name]})
        spec = get_channel(brief.channel).field(field_name)
        banned = list(dict.fromkeys(brand.banned(brief.language) + brief.banned_words))
        for side in (SIDES if i % 2 == 0 else SIDES[::-1]):
            pause()
            recorder = _FirstPass(backend)
            side_cfg = dataclasses.replace(ad_cfg, adapter=adapters[side] or "", embedder="ngram", sentiment=False)
            gen = AdCopyGenerator(recorder, side_cfg, brand, adapters={k: "" for k in SIDES})
            # the product's own rules for this brief (a sparse brief: exact facts only; a feed row: every
            # claim-bearing word), applied afresh: the gate does not take the generator's word for it
            guard = gen.guard(brief, banned)
            start = time.perf_counter()
            result = gen.generate(brief)
            seconds[side].append(time.perf_counter() - start)
            t = totals[side]
            t["requested"] += brief.n
            t["produced"] += result.produced
            for v in result.variants:
                for name, text in v.fields.items():
                    t["fields"] += 1
                    t["compliant"] += get_channel(brief.channel).field(name).fits(text) and guard.passes(text, name)
            for item in (it for reply in recorder.replies for it in parse_items(reply)):
                t["items"] += 1
                t["usable_items"] += (not problems(item, spec, brief.language, banned, [])
                                      and guard.passes(item, field_name))
        if progress:
            progress(f"adcopy {i + 1}/{len(picked)} {brief.language} {brief.channel}: served "
                     f"{seconds['served'][-1]:.1f} s, candidate {seconds['candidate'][-1]:.1f} s")
    out: dict = {side: adcopy_figures(totals[side], seconds[side]) for side in SIDES}
    out["briefs"] = len(picked)
    return out


def adcopy_figures(t: dict, seconds: list[float]) -> dict:
    def share(a, b):
        return round(t[a] / t[b], 3) if t[b] else None

    return {"produced_share": share("produced", "requested"), "compliant_share": share("compliant", "fields"),
            "item_yield": share("usable_items", "items"), "items": t["items"],
            "seconds": round(sum(seconds), 1), "median_s": round(statistics.median(seconds), 2) if seconds else None}


def stderr_progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)
