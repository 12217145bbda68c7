"""Answer-quality bench: would a real shop's customers get right answers? Six fictional shops
(bench/data/answers: three dev shops the pipeline may be tuned on, `dev`, `dev2` and `dev3`, and three held-out shops
reported only in aggregate: `heldout`, and `heldout2` and `heldout3`, written after the pipeline they measure and
never used for tuning, `heldout3` by someone who had not read the pipeline), each
ingested into its own temporary collection and served by the real app; every customer question goes through
`/v1/chat/completions` (model `support`, one conversation each) and is scored for facts, declines, invented
figures, misroutes and leaks, side by side with two baselines in the same run:

- **snippet**: the top retrieved chunk's text returned verbatim (retrieval alone, no LLM);
- **no_docs**: the same LLM answering with the shop's persona only (`/v1`, model `base`), no documents.

    .venv/bin/python -m bench.answers [--shop dev|dev2|dev3|heldout|heldout2|heldout3|both] [--quick]
    .venv/bin/python -m bench --only answers          # the full run: all six shops, both baselines

The full run takes about 70 minutes for the six shops on 2 busy cores (the default 0.5B model).
`--quick` (and `python -m bench --quick`) asks 12 fixed dev questions and skips the no-documents LLM. A dev
shop's per-question answers go to bench/out/answers/<dev|dev2|dev3>.jsonl; the held-out shops' never leave memory: only
their aggregate figures are printed. `--shop both` is dev + heldout; `--shop heldout2` measures the second held-out shop.

How the answers are scored (`score_answer`, `summarize`): bench/answers_scoring.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "answers"
sys.path.insert(0, str(REPO))

from bench.answers_scoring import (  # noqa: E402 - after the repository is on the path
    ALL_KINDS,
    DATA,
    KINDS,  # noqa: F401 - importable from here, as before the scoring moved
    MIN_COUNTS,  # noqa: F401
    QUESTION_SETS,
    SHOPS,
    Question,
    Shop,
    _product_declines,
    contains,  # noqa: F401
    failing_ids,
    is_decline,  # noqa: F401
    leaks_in,  # noqa: F401
    load_shop,
    normalize,  # noqa: F401
    numbers_in,  # noqa: F401
    score_answer,
    shop_numbers,
    summarize,
)

READABLE = ("dev", "dev2", "dev3")  # shops whose failures may be read and tuned on
# A fixed, cheap subset for `python -m bench --quick`: every kind and both languages of the dev shop.
QUICK_IDS = ("fp01", "fp10", "pf07", "pf15", "tf04", "cl01", "un01", "un06", "fu03", "an01", "yn01", "yn03")
SYSTEMS = ("ours", "snippet", "no_docs")

GOALS = {"answerable_accuracy": ">= 0.85", "decline_rate": ">= 0.90", "invented_rate": "0", "median_s": "<= 5"}
BASELINE = ("the top retrieved chunk returned verbatim (snippet) and the same LLM with the shop's persona and no "
            "documents (no_docs); same questions, same app, same run")
# a headline figure of a shop: what it says, the baseline beside it, the goal
_FIGURES = {"answerable_accuracy": ("answerable questions right, ours vs best snippet", "snippet", ">= 0.85"),
            "decline_rate": ("unanswerables declined, ours vs no documents", "no_docs", ">= 0.90"),
            "invented_rate": ("answers with invented facts (rate)", "no_docs", "0"),
            "wrong_answers": ("answerable questions answered wrong (count), ours vs best snippet", "snippet", "0"),
            "median_s": ("median seconds per answer, ours vs no documents", "no_docs", "<= 5 s")}


def _shop_headlines(key: str, name: str, figures: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    return [(f"{name}: {_FIGURES[f][0]}", f"{key}.ours.{f}", f"{key}.{_FIGURES[f][1]}.{f}", _FIGURES[f][2])
            for f in figures]


HEADLINES = [
    *[(f"{name}: broad policy questions right, the page's main terms vs sentence by sentence",
       f"{key}_overview.ours.answerable_accuracy", f"{key}_overview_off.ours.answerable_accuracy", ">= 0.85")
      for key, name in (("dev", "dev shop"), ("dev2", "second dev shop"), ("heldout", "held-out shop"),
                        ("heldout2", "second held-out shop"))],
    *[(f"{name}: broad questions about a policy it does not have, declined, vs sentence by sentence",
       f"{key}_overview.ours.decline_rate", f"{key}_overview_off.ours.decline_rate", ">= 0.90")
      for key, name in (("heldout", "held-out shop"), ("heldout2", "second held-out shop"))],
    *[(f"{name}: yes/no questions whether a policy covers one item, right, with the policy's main terms vs "
       "sentence by sentence", f"{key}_item.ours.answerable_accuracy", f"{key}_item_off.ours.answerable_accuracy",
       ">= 0.85")
      for key, name in (("dev", "dev shop"), ("dev2", "second dev shop"), ("heldout", "held-out shop"),
                        ("heldout2", "second held-out shop"))],
    *[(f"{name}: item questions its documents do not answer, declined, with the policy's main terms vs sentence by "
       "sentence", f"{key}_item.ours.decline_rate", f"{key}_item_off.ours.decline_rate", ">= 0.90")
      for key, name in (("heldout", "held-out shop"), ("heldout2", "second held-out shop"))],
    ("dev shop: answerable questions right, ours vs best snippet", "dev.ours.answerable_accuracy",
     "dev.snippet.answerable_accuracy", ">= 0.85"),
    ("dev shop: unanswerables declined, ours vs no documents", "dev.ours.decline_rate", "dev.no_docs.decline_rate",
     ">= 0.90"),
    ("dev shop: answers with invented facts (rate)", "dev.ours.invented_rate", "dev.no_docs.invented_rate", "0"),
    ("dev shop: median seconds per answer, ours vs no documents", "dev.ours.median_s", "dev.no_docs.median_s",
     "<= 5 s"),
    ("dev shop: seconds to the first piece of an answer p50, ours vs no documents",
     "dev.ours.first_piece_median_s", "dev.no_docs.first_piece_median_s", "much sooner than the answer"),
    ("second dev shop (camping gear): answerable questions right, ours vs best snippet",
     "dev2.ours.answerable_accuracy", "dev2.snippet.answerable_accuracy", ">= 0.85"),
    ("second dev shop: unanswerables declined, ours vs no documents", "dev2.ours.decline_rate",
     "dev2.no_docs.decline_rate", ">= 0.90"),
    ("second dev shop: answerable questions answered wrong (count), ours vs best snippet", "dev2.ours.wrong_answers",
     "dev2.snippet.wrong_answers", "0"),
    ("held-out shop: answerable questions right, ours vs best snippet", "heldout.ours.answerable_accuracy",
     "heldout.snippet.answerable_accuracy", ">= 0.85"),
    ("held-out shop: unanswerables declined, ours vs no documents", "heldout.ours.decline_rate",
     "heldout.no_docs.decline_rate", ">= 0.90"),
    ("held-out shop: answers with invented facts (rate)", "heldout.ours.invented_rate",
     "heldout.no_docs.invented_rate", "0"),
    ("held-out shop: answerable questions answered wrong (count), ours vs best snippet", "heldout.ours.wrong_answers",
     "heldout.snippet.wrong_answers", "0"),
    ("held-out shop: median seconds per answer, ours vs no documents", "heldout.ours.median_s",
     "heldout.no_docs.median_s", "<= 5 s"),
    ("held-out shop: seconds to the first piece of an answer p50, ours vs no documents",
     "heldout.ours.first_piece_median_s", "heldout.no_docs.first_piece_median_s", "much sooner than the answer"),
    ("second held-out shop: answerable questions right, ours vs best snippet", "heldout2.ours.answerable_accuracy",
     "heldout2.snippet.answerable_accuracy", ">= 0.85"),
    ("second held-out shop: unanswerables declined, ours vs no documents", "heldout2.ours.decline_rate",
     "heldout2.no_docs.decline_rate", ">= 0.90"),
    ("second held-out shop: answers with invented facts (rate)", "heldout2.ours.invented_rate",
     "heldout2.no_docs.invented_rate", "0"),
    ("second held-out shop: answerable questions answered wrong (count), ours vs best snippet",
     "heldout2.ours.wrong_answers", "heldout2.snippet.wrong_answers", "0"),
    ("second held-out shop: median seconds per answer, ours vs no documents", "heldout2.ours.median_s",
     "heldout2.no_docs.median_s", "<= 5 s"),
    ("second held-out shop: seconds to the first piece of an answer p50, ours vs no documents",
     "heldout2.ours.first_piece_median_s", "heldout2.no_docs.first_piece_median_s", "much sooner than the answer"),
    *_shop_headlines("dev3", "third dev shop (fountain pens)",
                     ("answerable_accuracy", "decline_rate", "wrong_answers")),
    *_shop_headlines("heldout3", "third held-out shop (eyewear, written blind to the pipeline)",
                     ("answerable_accuracy", "decline_rate", "invented_rate", "wrong_answers", "median_s")),
]


# --------------------------------------------------------------------------------------------- running
def role_prompt(shop: Shop) -> str:
    """The shop's role and voice as one system prompt, for code without a `shop:` config section."""
    name, desc = shop.meta["name"], shop.meta.get("description", {})
    return (f"You are the customer-service assistant of {name['en']} ({name['zh']}), {desc.get('en', 'a shop')}. "
            f"{shop.persona} Use only facts from the provided shop information; if you do not know, say so and "
            "offer to connect the customer with a human colleague. Never invent prices, dates, discounts or policies.")


def shop_config(shop: Shop, workdir: Path) -> dict:
    """The config file this shop would write: who it is, its own collection, no demo shop. The one function
    that knows how a shop is configured."""
    from assistant.config import SECTIONS
    from assistant.storage import sqlite_url

    contact = shop.meta.get("contact", {})
    config: dict[str, dict] = {
        "knowledge_base": {"db_path": str(workdir / "kb"), "chroma_host": "", "collection": f"bench-{shop.folder.name}",
                           "faq_files": [str(p) for p in sorted(shop.docs.rglob("*.csv"))]},
        "app": {"ingest_demo_kb": False, "api_rate_limit_per_minute": 0},
        "storage": {"url": sqlite_url(workdir / "assistant.db")},  # tickets and events stay in the temp dir
    }
    # Every question comes from 127.0.0.1: the per-client limits (where this version has them) are lifted.
    from assistant.app_config import AppConfig

    app_fields = {f.name for f in dataclasses.fields(AppConfig)}
    config["app"].update({k: 0 for k in ("client_rate_limit_per_minute", "handoffs_per_client_per_hour")
                          if k in app_fields})
    if "shop" in SECTIONS:
        config["shop"] = {"name": shop.meta["name"], "description": shop.meta.get("description", {}),
                          "persona": shop.persona, "contact_email": contact.get("email", ""),
                          "contact_phone": contact.get("phone", ""), "hours": contact.get("hours", {}),
                          "currency": shop.meta.get("currency", "CNY"),
                          "default_language": shop.meta.get("default_language", "en")}
    else:  # before the `shop:` section existed, the persona was the chat's system prompt
        config["chat"] = {"system_prompt": role_prompt(shop)}
    try:  # what the app writes (uploads, gap answers, translations…) stays in the temp dir, as `init` puts it
        from assistant.scaffold import SHOP_DATA_PATHS
    except ImportError:  # a version before the shop folder's paths
        SHOP_DATA_PATHS = {}
    for (section, key), path in SHOP_DATA_PATHS.items():
        config.setdefault(section, {})[key] = str(workdir / path)
    for section, vals in (shop.meta.get("settings") or {}).items():
        config.setdefault(section, {}).update(vals)
    return config


def shop_settings(shop: Shop, workdir: Path, model: str | None = None, overrides: dict | None = None):
    """Settings as the app loads them for this shop: default.yaml < the shop's config file < overrides."""
    import yaml

    from assistant.config import load_config

    path = workdir / "shop-config.yaml"
    path.write_text(yaml.safe_dump(shop_config(shop, workdir), allow_unicode=True, sort_keys=False), encoding="utf-8")
    layer = {"llm": {"model": model}} if model else {}
    for section, vals in (overrides or {}).items():
        layer.setdefault(section, {}).update(vals)
    return load_config(path, overrides=layer)


def persona_prompt(settings, shop: Shop, lang: str) -> str:
    """The no-documents baseline's system prompt: the product's own prompt for this shop, persona included."""
    try:
        from assistant.shop import Shop as ProductShop

        return ProductShop.from_config(settings.shop).system_prompt(lang)
    except (ImportError, AttributeError):
        return settings.chat.system_prompt or role_prompt(shop)


def ask(client, url: str, model: str, turns: list[str], system: str | None = None
        ) -> tuple[str, dict | None, float, float | None]:
    """The turns one by one, as a customer types them (streamed, as the widget reads them), each answer kept in the
    history the client sends; returns the last answer, its route, its seconds and the seconds to its first piece
    of text (an HTTP failure is answer '' with route 'error')."""
    messages = [{"role": "system", "content": system}] if system else []
    text, route, seconds, first = "", None, 0.0, None
    for turn in turns:
        messages.append({"role": "user", "content": turn})
        start = time.perf_counter()
        try:
            reply = streamed_completion(client, url, {"model": model, "messages": messages, "stream": True})
            if reply.error:
                raise RuntimeError(reply.error)
            text, route, first = reply.text, reply.route, reply.first_s
        except Exception as exc:  # noqa: BLE001 - one failed request is one wrong answer, not a lost run
            text, route, first = "", {"action": "error", "reasons": [f"{type(exc).__name__}: {exc}"[:300]]}, None
        seconds = time.perf_counter() - start
        messages.append({"role": "assistant", "content": text})
    return text, route, seconds, first


class StreamedReply(NamedTuple):
    text: str
    route: dict | None
    first_s: float | None  # seconds to the first piece of text (None: no text came)
    seconds: float  # seconds to the end of the stream
    pieces: int  # pieces with text as they came (more than one: the text streamed)
    error: str  # the HTTP status or the stream's error object ('' when none)


def streamed_completion(client, url: str, body: dict) -> StreamedReply:
    """One streamed /v1 completion (`body` with "stream": true), read to its end and timed from this call. The last
    chunk carries the route, and the final text when the output check replaced what had streamed."""
    start = time.perf_counter()
    pieces, route, first, error, streamed = [], None, None, "", 0
    with client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        if r.is_error:
            r.read()
            error = f"HTTP {r.status_code}: {r.text[:200]}"
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: "):])
            if "error" in chunk:
                error = str(chunk["error"].get("message", chunk["error"]))[:300]
                continue
            piece = (chunk["choices"][0].get("delta") or {}).get("content") or ""
            if piece.strip() and first is None:
                first = time.perf_counter() - start
            streamed += bool(piece)
            pieces.append(piece)
            route = chunk.get("route", route)
            if chunk.get("replaced"):
                pieces = [chunk.get("text") or ""]
    return StreamedReply("".join(pieces), route, first, time.perf_counter() - start, streamed, error)


def best_snippet(kb, turns: list[str]) -> tuple[str, float]:
    """Baseline: the top hit's text, verbatim (an FAQ row's answer); a follow-up searches all its user turns."""
    start = time.perf_counter()
    hits = kb.search(" ".join(turns), k=1)
    text = (hits[0].metadata.get("answer") or hits[0].snippet) if hits else ""
    return text, time.perf_counter() - start


def _load_avg() -> str:
    import os

    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def serve_shop(shop: Shop, workdir: Path, model: str | None = None, overrides: dict | None = None):
    """The app's runtime for this shop, its documents ingested and every chat stage built and warm: (runtime, the
    ingest report, ingest seconds, warm-up seconds)."""
    from assistant.llm.base import Message
    from assistant.runtime import Runtime

    runtime = Runtime(shop_settings(shop, workdir, model, overrides))
    if runtime.kb is None:
        raise RuntimeError(f"the knowledge base could not be built: {runtime.degraded.get('knowledge_base')}")
    start = time.perf_counter()
    report = runtime.kb.ingest([shop.docs], progress=False)  # what `python -m knowledge_base ingest` runs
    if report.errors:
        raise RuntimeError("; ".join(str(f.error) for f in report.errors))
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    runtime.chat  # noqa: B018 - builds every stage the chat uses (model, classifiers when routed, KB)
    runtime.backend.generate([Message("user", "hi")], max_tokens=1)  # llama.cpp maps its weights
    return runtime, report, ingest_s, time.perf_counter() - start


def run_shop(key: str, question_ids=None, model: str | None = None, no_docs: bool = True,
             overrides: dict | None = None, quiet: bool = False, question_set: str = "main",
             details: str = "") -> dict:
    """Ingest one shop, serve it, ask its questions (ours + baselines) and score them; a readable shop's answers go
    to bench/out/answers/<details or key[-question_set]>.jsonl."""
    import httpx

    from assistant.web.server import BackgroundServer, create_app

    shop = load_shop(key, question_set)
    questions = [q for q in shop.questions if question_ids is None or q.id in question_ids]
    doc_numbers = shop_numbers(shop)
    load_before = _load_avg()
    systems = [s for s in SYSTEMS if no_docs or s != "no_docs"]
    answers: dict[str, list[tuple[str, dict | None, float, float | None]]] = {s: [] for s in systems}
    with tempfile.TemporaryDirectory(prefix="answers-bench-") as tmp:
        runtime, report, ingest_s, warm_s = serve_shop(shop, Path(tmp), model, overrides)
        settings = runtime.settings
        product_texts = _product_declines(settings)
        with closing(runtime), BackgroundServer(create_app(runtime)) as server, httpx.Client(timeout=900) as client:
            for i, q in enumerate(questions, start=1):
                answers["ours"].append(ask(client, server.url, "support", q.turns))
                snippet, snippet_s = best_snippet(runtime.kb, q.turns)
                answers["snippet"].append((snippet, None, snippet_s, snippet_s))
                if no_docs:
                    answers["no_docs"].append(ask(client, server.url, "base", q.turns,
                                                  system=persona_prompt(settings, shop, q.lang)))
                if not quiet:  # the held-out shop shows progress only, never a question or an answer
                    label = f"{q.id} {q.kind}" if key == "dev" else "question"
                    print(f"  {key} {i}/{len(questions)} {label}: {answers['ours'][-1][2]:.1f} s",
                          file=sys.stderr, flush=True)
    result: dict = {"shop": shop.meta["name"]["en"], "model": settings.llm.model,
                    "questions": len(questions), "answerable": sum(not q.decline for q in questions),
                    "zh": sum(q.lang == "zh" for q in questions), "en": sum(q.lang == "en" for q in questions),
                    "chunks": report.chunks_added, "ingest_s": round(ingest_s, 1), "warm_up_s": round(warm_s, 1)}
    scored = {}
    for system, rows in answers.items():
        scored[system] = [score_answer(q, text, route, doc_numbers, product_texts) for q, (text, route, *_) in
                          zip(questions, rows, strict=True)]
        for s, (_, route, *_) in zip(scored[system], rows, strict=True):
            if (route or {}).get("action") == "error":  # a failed request is wrong, but invents nothing
                s.update(correct=False, declined=False, invented=False)
        result[system] = summarize(questions, scored[system], [r[2] for r in rows], routed=system == "ours",
                                   first_pieces=[r[3] for r in rows])
        result[system]["errors"] = sum((route or {}).get("action") == "error" for _, route, *_ in rows)
    result["load_avg_before"], result["load_avg_after"] = load_before, _load_avg()
    if key in READABLE:  # the held-out shops' failures are never listed or written
        result["failing_ids"] = failing_ids(questions, scored["ours"])
        write_details(details or (key if question_set == "main" else f"{key}-{question_set}"), questions, answers,
                      scored)
    return result


def write_details(key: str, questions: list[Question], answers: dict, scored: dict) -> Path:
    """A dev shop's every answer and verdict, for reading failures (bench/out is not committed)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{key}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i, q in enumerate(questions):
            row = {"id": q.id, "kind": q.kind, "lang": q.lang, "turns": q.turns, "expect": q.expect or "decline"}
            for system in answers:
                text, route, sec, first = answers[system][i]
                row[system] = {"answer": text, "route": (route or {}).get("action"), "seconds": round(sec, 2),
                               "first_piece_s": None if first is None else round(first, 2),
                               **scored[system][i]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def run(quick: bool = True, shops: tuple[str, ...] = tuple(SHOPS), model: str | None = None) -> dict:
    """`python -m bench` entry: quick = 12 dev questions without the no-documents LLM; else every question."""
    if quick:
        return {"dev": {**run_shop("dev", QUICK_IDS, model, no_docs=False), "quick": True}}
    results = {key: _guarded(run_shop, key, model=model) for key in shops}
    for key in shops:  # broad policy questions: the page's main terms, and the same pipeline sentence by sentence
        if not (DATA / SHOPS[key] / QUESTION_SETS["overview"]).exists():  # the later shops have the main set only
            continue
        results[f"{key}_overview"] = _guarded(run_shop, key, model=model, no_docs=False, question_set="overview")
        results[f"{key}_overview_off"] = _guarded(run_shop, key, model=model, no_docs=False, question_set="overview",
                                                  overrides={"knowledge_base": {"overview_sentences": 0}},
                                                  details=f"{key}-overview-off")
        # "Can I return the lamp?": the policy's main terms when nothing retrieved names the item with it
        item_on = {"knowledge_base": {"item_policy_overview": True}}
        item_off = {"knowledge_base": {"item_policy_overview": False}}
        results[f"{key}_item"] = _guarded(run_shop, key, model=model, no_docs=False, question_set="item",
                                          overrides=item_on)
        results[f"{key}_item_off"] = _guarded(run_shop, key, model=model, no_docs=False, question_set="item",
                                              overrides=item_off, details=f"{key}-item-off")
    return results


def _guarded(fn, key: str, **kwargs) -> dict:
    """One shop's failure is reported in its place; the other shop's figures are kept."""
    try:
        return fn(key, **kwargs)
    except Exception as exc:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


def render(results: dict) -> str:
    lines = []
    for key, r in results.items():
        if "error" in r:
            lines.append(f"\n{key} shop: not measured ({r['error']})")
            continue
        systems = [s for s in SYSTEMS if s in r]
        lines += [f"\n{key} shop: {r['shop']}, {r['questions']} questions ({r['answerable']} answerable; "
                  f"zh {r['zh']}, en {r['en']}), model {r['model']}, load average {r['load_avg_before']} -> "
                  f"{r['load_avg_after']}", f"{'':28}" + "".join(f"{s:>10}" for s in systems)]
        rows = ["answerable_accuracy", "answerable_accuracy_zh", "answerable_accuracy_en", "decline_rate",
                "invented_rate", "wrong_answers", "misroute_rate", "leaks", "wrong_shop_named", "other_language_answers",
                "errors", "median_s", "p95_s", "first_piece_median_s", "first_piece_p95_s"]
        for row in rows:
            lines.append(f"{row:28}" + "".join(f"{str(r[s].get(row, '-')):>10}" for s in systems))
        for kind in ALL_KINDS:
            if kind in r[systems[0]]["by_kind"]:
                lines.append(f"{'  ' + kind:28}" + "".join(f"{str(r[s]['by_kind'].get(kind)):>10}" for s in systems))
        for group, ids in r.get("failing_ids", {}).items():
            lines.append(f"  failing ({group}): {' '.join(ids)}")
    return "\n".join(lines)


def _overrides(settings: list[str], parser: argparse.ArgumentParser) -> dict:
    """--set SECTION.KEY=VALUE pairs as config overrides (values read as YAML: 0.5, null, true, text)."""
    import yaml

    out: dict = {}
    for item in settings:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not (sep and dot and section and name):
            parser.error(f"--set wants SECTION.KEY=VALUE, got {item!r}")
        out.setdefault(section, {})[name] = yaml.safe_load(value) if value else ""
    return out


def main(argv=None) -> int:
    import logging

    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.splitlines()[0])
    parser.add_argument("--shop", choices=(*SHOPS, "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="12 dev questions, no no-documents baseline")
    parser.add_argument("--model", help="llm.model profile or path (default: the configured one)")
    parser.add_argument("--ids", help="comma-separated question ids to ask (a shop that may be read: "
                                      "dev, dev2 or dev3)")
    parser.add_argument("--no-baseline-llm", action="store_true", help="skip the no-documents LLM baseline")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--questions", choices=tuple(QUESTION_SETS), default="main",
                        help="the question set: main (questions.yaml), overview (broad policy questions) or item "
                             "(yes/no questions whether a policy covers one item)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a config value for this run (repeatable), e.g. knowledge_base.verify_weights=''; the "
                             "answers go to bench/out/answers/<shop>-variant.jsonl")
    args = parser.parse_args(argv)
    overrides = _overrides(args.set, parser)
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        results = run(quick=True, model=args.model)
    elif args.ids:
        shop = "dev" if args.shop == "both" else args.shop
        if shop not in READABLE:
            parser.error(f"--ids is for the shops that may be read ({', '.join(READABLE)}): a held-out shop "
                         "reports aggregate figures only")
        results = {shop: run_shop(shop, set(args.ids.split(",")), args.model, not args.no_baseline_llm,
                                  question_set=args.questions, overrides=overrides, details=f"{shop}-ids")}
    else:
        keys = ("dev", "heldout") if args.shop == "both" else (args.shop,)
        results = {}
        for k in keys:  # each shop printed as soon as it is measured
            name = k if args.questions == "main" else f"{k}_{args.questions}"
            results[name] = _guarded(run_shop, k, model=args.model, no_docs=not args.no_baseline_llm,
                                     question_set=args.questions, overrides=overrides,
                                     details=f"{name}-variant" if overrides else "")
            print(json.dumps({name: results[name]}, ensure_ascii=False) if args.json
                  else render({name: results[name]}), flush=True)
        return 1 if any("error" in r for r in results.values()) else 0
    print(json.dumps(results, ensure_ascii=False, indent=1) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
