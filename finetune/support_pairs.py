"""The records of the `support` adapter's training data and the pairs made from the shop's documents alone.

`Sentence` is one evidence sentence as the runtime quotes it; `Pair` is a question with its target answer
(a restatement of the fact, or NOT_FOUND) and the evidence it is asked over. The builders here turn the
documents' own sentences into pairs: FAQ rows asked as written, spec lines ("Weight: 38 kg."), two-column
table rows, and FAQ rows asked in the other language. `finetune.support_data` loads the documents, adds the
hand-written questions, negatives and distractors, and writes the JSONL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.language import answer_language
from knowledge_base.answer import FaqHit
from knowledge_base.grounding import Evidence, numbers_in, word_overlap

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
