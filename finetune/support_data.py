"""Training pairs for the `support` adapter: evidence sentences + a customer question -> a short answer that
restates the fact, or exactly NOT_FOUND, rendered with `knowledge_base.answer.Answerer.messages` so the prompt
the adapter learns is, by construction, the prompt the product sends.

Built offline from a shop's own documents (FAQ rows, spec lines, tables), hand-written questions about them
(`finetune/data/support_questions.yaml` for the demo shop) and, optionally, public FAQ sets
(`--shared-data DIR` with stackfaq/, bank_faqs/, afqmc/). `python -m finetune support-data` is the entry point.
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
from knowledge_base.answer import NOT_FOUND, Answerer, FaqHit, Lookup
from knowledge_base.grounding import Evidence, _context, numbers_in, sentences_of, word_overlap
from knowledge_base.retrieval import SearchHit

log = logging.getLogger(__name__)

QUESTIONS_FILE = Path(__file__).resolve().parent / "data" / "support_questions.yaml"
KINDS = ("faq", "paraphrase", "spec", "prose", "yes_no", "two_fact", "cross_language", "not_found")
_SPEC = re.compile(r"^([^:：|]{1,24})[:：]\s*(.{1,160}?)[。.]?$")
_TABLE_ROW = re.compile(r"^\|(.+)\|$")


@dataclass
class Sentence:
    """One evidence sentence as the runtime quotes it, with the group it belongs to (FAQ row or section)."""

    evidence: Evidence
    group: str
    lang: str

    @property
    def text(self) -> str:
        return self.evidence.text


@dataclass
class Pair:
    question: str
    answer: str  # the target: a restatement of the fact, or NOT_FOUND
    evidence: list[Evidence]
    kind: str
    group: str  # rows of one group always land on the same side of the held-out split
    source: str
    shop: dict[str, str] = field(default_factory=dict)
    faq: FaqHit | None = None  # the curated-FAQ prompt form (a row in the other language)

    @property
    def lang(self) -> str:
        return answer_language(self.question)


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


# --- targets -----------------------------------------------------------------------------------------------
def split_answer(text: str) -> list[str]:
    from knowledge_base.chunking import split_sentences

    return [s for s in split_sentences(text.replace("\n", " ")) if len(s) >= 2]


def best_sentences(question: str, answer: str, max_chars: int = 220) -> str:
    """The part of an FAQ answer that answers the question: all of it when short, else its best sentence(s)."""
    zh = answer_language(answer) == "zh"
    if len(answer) <= (90 if zh else 180):
        return answer.strip()
    sents = split_answer(answer)
    if not sents:
        return answer.strip()[:max_chars]
    best = max(range(len(sents)), key=lambda i: (word_overlap(question, sents[i]), -i))
    picked = sents[best]
    if best + 1 < len(sents) and len(picked) < (25 if zh else 60):  # a short sentence needs its follow-up
        picked = (picked if zh else picked + " ") + sents[best + 1]
    return picked[:max_chars].strip()


def spec_pair(s: Sentence, shop: dict) -> Pair | None:
    """"Weight: 38 kg." on the Nordlys table's page -> "What is the weight of the Nordlys ...?"."""
    title = re.split(r"\s+[—–|-]\s+", (s.evidence.hit.title or "").strip())[0]  # "Shipping — Shop" -> "Shipping"
    m = _SPEC.match(s.text.strip())
    if not title or not m or s.evidence.hit.metadata.get("kind") == "faq":
        return None
    key, value = m.group(1).strip(), m.group(2).strip()
    # An attribute name ("Weight", "材质"), not a clause that happens to precede a colon.
    short = len(key) <= 4 if s.lang == "zh" else len(key.split()) <= 2
    long_value = len(value) > (24 if s.lang == "zh" else 60) or value.endswith((",", "，", "、"))
    if not short or long_value or re.search(r"[()（）\d]", key) or not re.search(r"\w", value):
        return None
    if s.lang == "zh":
        q = f"{title}的{key}是多少？" if re.search(r"\d", value) else f"{title}的{key}是什么？"
        a = f"{title}的{key}是{value}。"
    else:
        q, a = f"What is the {key.lower()} of the {title}?", f"The {key.lower()} of the {title} is {value}."
    return Pair(q, a, [s.evidence], "spec", s.group, "kb", shop)


def table_pairs(sentences: Sequence[Sentence], shop: dict) -> list[Pair]:
    """Markdown table rows under their header: | Mattresses | 10 years | -> "What is the warranty for ...?"."""
    out: list[Pair] = []
    header: list[str] | None = None
    for s in sentences:
        m = _TABLE_ROW.match(s.text.strip())
        if not m:
            header = None
            continue
        cells = [c.strip() for c in m.group(1).split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        if header is None:
            header = cells
            continue
        if len(cells) != 2 or len(header) != 2:
            continue
        item, value, what = cells[0], cells[1], header[1]
        item_short = re.sub(r"\s*[（(].*?[)）]", "", item)
        if s.lang == "zh":
            q, a = f"{item_short}的{what}是多久？", f"{item}的{what}是{value}。"
        else:
            q, a = f"What is the {what.lower()} for {item_short.lower()}?", f"The {what.lower()} for {item} is {value}."
        out.append(Pair(q, a, [s.evidence], "spec", s.group, "kb", shop))
    return out


def faq_pairs(sentences: Sequence[Sentence], shop: dict) -> list[Pair]:
    """A FAQ row asked as written, its answer as the evidence (quoted as the runtime quotes FAQ hits)."""
    out = []
    for s in sentences:
        meta = s.evidence.hit.metadata
        if meta.get("kind") != "faq" or not meta.get("question"):
            continue
        q = meta["question"]
        out.append(Pair(q, best_sentences(q, s.text), [s.evidence], "faq", s.group, "kb", shop))
    return out


def cross_language_pairs(sentences: Sequence[Sentence], shop: dict) -> list[Pair]:
    """A question in one language over the FAQ row of the other (rows `en-x` / `zh-x`): the answer is the
    row's translation, so the numbers stay exactly the evidence's."""
    rows: dict[str, dict[str, Sentence]] = {}
    for s in sentences:
        if s.evidence.hit.metadata.get("kind") == "faq":
            rows.setdefault(s.group, {})[s.lang] = s
    out = []
    for group, by_lang in rows.items():
        if set(by_lang) != {"en", "zh"}:
            continue
        for ask, have in (("zh", "en"), ("en", "zh")):
            q_meta, e = by_lang[ask].evidence.hit.metadata, by_lang[have].evidence
            target = best_sentences(q_meta["question"], by_lang[ask].text)
            if numbers_in(target) - numbers_in(e.text):
                continue  # the translation states a figure the evidence does not: not a faithful pair
            faq = FaqHit(str(e.hit.metadata.get("row_id", "")), e.hit.metadata.get("question", ""), e.text,
                         e.hit.source, 0.9, have)
            # Half in the curated-FAQ form (how a row in the other language reaches the LLM), half as evidence.
            use_faq = int(hashlib.md5((group + ask).encode()).hexdigest(), 16) % 2 == 0
            out.append(Pair(q_meta["question"], target, [] if use_faq else [e], "cross_language", group, "kb",
                            shop, faq if use_faq else None))
    return out


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
        raise InputError("no question/answer pairs could be built: give --kb-folder with documents or FAQ tables")
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
