"""Training pairs for the `support` adapter: evidence sentences + a customer question -> a short answer that
restates the fact, or exactly NOT_FOUND, rendered with `knowledge_base.answer.Answerer.messages` so the prompt
the adapter learns is, by construction, the prompt the product sends.

Built offline from a shop's own documents (FAQ rows, spec lines, tables), hand-written questions about them
(`finetune/data/support_questions.yaml` for the demo shop) and, optionally, public FAQ sets
(`--shared-data DIR` with stackfaq/, bank_faqs/, afqmc/). `python -m finetune support-data` is the entry point.

The `Sentence` and `Pair` records and the pairs made from the documents alone (FAQ rows, spec lines, table rows,
rows asked in the other language) are in `finetune.support_pairs`; they are importable from here as before.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.language import answer_language
from finetune.support_pairs import (
    Pair,
    Sentence,
    best_sentences,  # noqa: F401 - importable from here, as before the pairs moved (finetune.support_public)
    cross_language_pairs,
    faq_pairs,
    spec_pair,
    split_answer,  # noqa: F401 - importable from here, as before the pairs moved
    table_pairs,
)
from knowledge_base.answer import NOT_FOUND, Answerer, Lookup
from knowledge_base.grounding import Evidence, _context, numbers_in, sentences_of
from knowledge_base.retrieval import SearchHit

log = logging.getLogger(__name__)

QUESTIONS_FILE = Path(__file__).resolve().parent / "data" / "support_questions.yaml"
KINDS = ("faq", "paraphrase", "spec", "prose", "yes_no", "two_fact", "cross_language", "not_found")


# --- the shop's documents ----------------------------------------------------------------------------------
def _hit(chunk) -> SearchHit:
    m = chunk.metadata
    return SearchHit(id=chunk.doc_id, score=1.0, text=chunk.text, source=m.get("source", ""),
                     title=m.get("title", ""), chunk_id=chunk.id, metadata=dict(m))


def load_kb(folders: Sequence[str | Path]) -> list[Sentence]:
    """Every evidence sentence of the documents in `folders`, cut exactly as the knowledge base cuts them."""
    from knowledge_base.config import KnowledgeBaseConfig
    from knowledge_base.ingest import IngestReport, build_chunks, collect_files
    from knowledge_base.loaders import TableOptions

    cfg, report = KnowledgeBaseConfig(), IngestReport()
    files = collect_files(folders, report)
    if report.errors:
        raise InputError(report.errors[0].error)
    out: list[Sentence] = []
    for path in files:
        for chunk in build_chunks(path, cfg, TableOptions()):
            hit = _hit(chunk)
            faq = hit.metadata.get("kind") == "faq"
            group = f"faq:{_faq_key(hit.metadata.get('row_id', ''))}" if faq else \
                f"doc:{hit.source}#{hit.metadata.get('heading', '')}"
            for s in sentences_of(hit):
                out.append(Sentence(Evidence(s, hit, 1.0, _context(hit)), group, answer_language(s)))
    return out


def _faq_key(row_id: str) -> str:
    """Rows that translate each other share a key: `en-hours` and `zh-hours` are one fact in two languages."""
    return re.sub(r"^(en|zh)[-_]", "", row_id)


# --- hand-written questions --------------------------------------------------------------------------------
def load_questions(path: Path) -> list[dict]:
    import yaml

    from assistant.cli_support import read_text_lines

    text = "\n".join(read_text_lines(path, "questions file"))  # missing, binary, GBK: one line naming the file
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of questions")
    for i, item in enumerate(data, 1):
        evidence = item.get("evidence") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not (
                evidence is None or isinstance(evidence, list) and all(isinstance(e, str) for e in evidence)):
            raise InputError(f"{path}: question {i} must be a mapping with a 'question' text and an 'evidence' "
                             "list of texts (format: finetune/data/support_questions.yaml)")
    return data


def written_pairs(items: Iterable[dict], sentences: Sequence[Sentence], shop: dict) -> list[Pair]:
    """Hand-written questions; `evidence` names the sentence(s) by a piece of their text, so an item whose
    sentence is no longer in the documents is skipped (and counted) instead of teaching a stale fact."""
    out, stale = [], 0
    for item in items:
        found = []
        for piece in item.get("evidence") or []:
            s = next((s for s in sentences if piece in s.text), None)
            if s is None:
                break
            found.append(s)
        else:
            answer = item.get("answer") or NOT_FOUND
            kind = item.get("kind") or ("not_found" if answer == NOT_FOUND else "prose")
            if answer != NOT_FOUND and numbers_in(answer) - numbers_in(" ".join(s.text for s in found)):
                stale += 1
                continue
            group = found[0].group if found and answer != NOT_FOUND else f"q:{item['question']}"
            out.append(Pair(item["question"], answer, [s.evidence for s in found], kind, group, "written", shop))
            continue
        stale += 1
    if stale:
        log.warning("%d hand-written question(s) skipped: their evidence is not in these documents", stale)
    return out


# --- negatives and distractors -------------------------------------------------------------------------------
def _unrelated(candidate: Sentence, pair: Pair) -> bool:
    """A sentence that cannot answer `pair`: another group, no figure of the answer, few of its words."""
    if candidate.group == pair.group or candidate.text in pair.answer or pair.answer in candidate.text:
        return False
    if numbers_in(pair.answer) & numbers_in(candidate.text):
        return False
    return _overlap(pair.answer, candidate.text) < 0.34


@functools.lru_cache(maxsize=100_000)
def _words(text: str) -> frozenset[str]:
    from knowledge_base.text import tokenize

    return frozenset(tokenize(text))


def _overlap(question: str, text: str) -> float:
    """knowledge_base.grounding.word_overlap, with each text tokenised once (pools are scanned per row)."""
    q = _words(question)
    return len(q & _words(text)) / len(q) if q else 0.0


def nearest(question: str, pool: Sequence[Sentence], keep, n: int, rng: random.Random) -> list[Sentence]:
    """Up to n sentences of `pool` that pass `keep`, the question's nearest neighbours by shared words first
    (what retrieval would bring), with some randomness so not every row gets the same ones."""
    scored = [(_overlap(question, s.text) + rng.random() * 0.15, i) for i, s in enumerate(pool) if keep(s)]
    scored.sort(reverse=True)
    return [pool[i] for _, i in scored[:n]]


def add_distractors(pairs: Sequence[Pair], pool: Sequence[Sentence], rng: random.Random) -> None:
    """Runtime evidence is up to three sentences, not all relevant: most positives get one or two others."""
    for p in pairs:
        if p.faq is not None or p.kind == "not_found" or rng.random() < 0.3:
            continue
        room = 3 - len(p.evidence)  # the runtime quotes at most three sentences; the pair's own always stay
        if room <= 0:
            continue
        extra = nearest(p.question, pool, lambda s, p=p: _unrelated(s, p), min(room, rng.choice((1, 2))), rng)
        ev = list(p.evidence) + [s.evidence for s in extra]
        if rng.random() < 0.35 and len(ev) > 1:  # the right sentence is not always ranked first
            ev.insert(rng.randrange(1, len(ev)), ev.pop(0))
        p.evidence = ev


def negatives(pairs: Sequence[Pair], pool: Sequence[Sentence], rng: random.Random, share: float) -> list[Pair]:
    """NOT_FOUND pairs: a question with the nearest sentences of *other* facts (what retrieval returns for a
    question the documents do not answer)."""
    out = []
    for p in pairs:
        if p.kind == "not_found" or rng.random() >= share:
            continue
        ev = nearest(p.question, pool, lambda s, p=p: _unrelated(s, p), rng.choice((1, 2, 3)), rng)
        if ev:
            out.append(Pair(p.question, NOT_FOUND, [s.evidence for s in ev], "not_found", p.group, p.source, p.shop))
    return out


# --- rendering -------------------------------------------------------------------------------------------------
def render(pair: Pair, answerer_for) -> dict:
    """One JSONL row in the OpenAI-messages format, prompt from the product's own Answerer."""
    lang = pair.lang
    lookup = Lookup(pair.question, lang, faq=pair.faq, evidence=list(pair.evidence), answerable=True)
    msgs = answerer_for(pair.shop).messages(lookup, pair.question)
    facts = sorted(m.group() for m in re.finditer(r"\d+(?:[.,:]\d+)*", pair.answer)) if pair.answer != NOT_FOUND else []
    return {"messages": [{"role": m.role, "content": m.content} for m in msgs] + [
        {"role": "assistant", "content": pair.answer}],
        "gold": [NOT_FOUND] if pair.answer == NOT_FOUND else facts,
        "kind": pair.kind, "lang": lang, "source": pair.source, "group": pair.group}


def _answerers():
    from assistant.shop import Shop, ShopConfig

    cache: dict[str, Answerer] = {}

    def get(name: dict) -> Answerer:
        key = json.dumps(name, sort_keys=True)
        if key not in cache:
            shop = Shop(ShopConfig(name=dict(name)))
            # The adapter serves the "phrase" style (the LLM restates the evidence); the "extract" style sends the
            # evidence itself and uses the LLM only to translate, which these rows also cover (FAQ form).
            cache[key] = Answerer(lambda lang, s=shop: s.text("answer_prompt", lang),
                                  lambda lang, s=shop: s.text("abstain", lang), style="phrase")
        return cache[key]

    return get


def held_out(group: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < fraction


@dataclass
class BuildReport:
    train: int = 0
    heldout: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # "zh/faq" -> rows (train + held-out)

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return f"{self.train} training rows, {self.heldout} held-out rows ({parts})"


def build(kb_folders: Sequence[str | Path], output: str | Path, shop_name: dict[str, str],
          questions: Sequence[Path] = (), shared_data: Path | None = None, heldout_output: Path | None = None,
          heldout_fraction: float = 0.12, negative_share: float = 0.45, zh_copies: int = 2,
          seed: int = 42) -> BuildReport:
    """Write the training JSONL (and a group-disjoint held-out JSONL); returns what was written."""
    rng = random.Random(seed)
    sentences = load_kb(kb_folders) if kb_folders else []
    pairs = faq_pairs(sentences, shop_name) + cross_language_pairs(sentences, shop_name) + \
        table_pairs(sentences, shop_name) + [p for s in sentences if (p := spec_pair(s, shop_name))]
    for path in questions:
        pairs += written_pairs(load_questions(Path(path)), sentences, shop_name)
    zh_pool: list[str] = []
    if shared_data is not None:
        if Path(shared_data).is_dir():
            from finetune.support_public import shared_pairs

            extra, zh_pool = shared_pairs(Path(shared_data), rng)
            pairs += extra
        else:
            log.warning("no shared data at %s: building from the documents only", shared_data)
    if not pairs:
        # Prose becomes evidence and negatives, never a pair by itself: say what does make pairs.
        raise InputError("no question/answer pairs could be built: pairs come from FAQ tables (CSV with question and "
                         "answer columns), spec lines ('Weight: 38 kg' on a titled page), markdown table rows, "
                         "--questions FILE.yaml about the documents, or --shared-data; prose alone gives none")
    # Negatives and distractors come from every sentence we have: the shop's and the public FAQs' answers.
    pool = [s for s in sentences if re.search(r"\w{2}", s.text)]  # not a table's |---|---| line
    seen = {s.text for s in pool}
    for p in pairs:
        for e in p.evidence:
            if e.text not in seen:
                seen.add(e.text)
                pool.append(Sentence(e, p.group, answer_language(e.text)))
    rows = negatives(pairs, pool, rng, negative_share)
    zh_sentences = [s for s in pool if s.lang == "zh"]
    for q in rng.sample(zh_pool, min(len(zh_pool), 60)):  # Chinese questions from another trade: NOT_FOUND
        ev = nearest(q, zh_sentences, lambda s: True, rng.choice((1, 2)), rng) if zh_sentences else []
        if ev:
            rows.append(Pair(q, NOT_FOUND, [s.evidence for s in ev], "not_found", f"afqmc:{q}", "afqmc", shop_name))
    # The shop's Chinese rows are few next to the public English FAQs: a second copy of each, with other
    # distractors, keeps Chinese near half of what the adapter sees.
    pairs += [dataclasses.replace(p, evidence=list(p.evidence)) for p in pairs
              if p.lang == "zh" and p.source in ("kb", "written") for _ in range(zh_copies - 1)]
    add_distractors(pairs, pool, rng)
    rows = pairs + rows
    rng.shuffle(rows)
    answerer_for = _answerers()
    report = BuildReport()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Both files are written under temporary names and renamed in at the end: an interrupted or refused build
    # leaves the previous files as they were, never a half-written JSONL that trains without complaint.
    tmp = output.with_name(output.name + ".tmp")
    heldout_tmp = Path(heldout_output).with_name(Path(heldout_output).name + ".tmp") if heldout_output else None
    heldout_fh = None
    if heldout_tmp is not None:
        heldout_tmp.parent.mkdir(parents=True, exist_ok=True)
        heldout_fh = heldout_tmp.open("w", encoding="utf-8")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for p in rows:
                if not p.evidence and p.faq is None:
                    continue
                row = render(p, answerer_for)
                line = json.dumps(row, ensure_ascii=False) + "\n"
                if heldout_fh is not None and held_out(p.group, heldout_fraction, seed):
                    heldout_fh.write(line)
                    report.heldout += 1
                else:
                    fh.write(line)
                    report.train += 1
                key = f"{row['lang']}/{row['kind']}"
                report.counts[key] = report.counts.get(key, 0) + 1
        if not report.train:
            held = f" (all {report.heldout} held out: lower --heldout-fraction)" if report.heldout else ""
            raise InputError(f"no training pairs left to write to {output}{held}; give more documents")
        if heldout_tmp is not None:
            heldout_fh.close()
            heldout_tmp.replace(heldout_output)
        tmp.replace(output)
    finally:
        if heldout_fh is not None:
            heldout_fh.close()
        for leftover in (tmp, heldout_tmp):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
    return report
