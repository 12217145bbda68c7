"""Optional public FAQ sets for the `support` adapter's pairs (`python -m finetune support-data --shared-data DIR`):
stackfaq (FAQ rows + paraphrased queries) and bank_faqs as answerable pairs, afqmc's Chinese customer questions
of another trade as NOT_FOUND material. Every file is optional; a missing one is skipped.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from finetune.support_data import Pair, best_sentences
from knowledge_base.grounding import Evidence, _context
from knowledge_base.retrieval import SearchHit

# Shop names for rows that come from other people's FAQs: the adapter must not learn one shop's name.
OTHER_SHOPS = [{"en": "Northwind Outfitters", "zh": "北风户外"}, {"en": "Lumen Books", "zh": "流明书店"},
               {"en": "Harbor Bank", "zh": "海港银行"}, {"en": "Pixel Forge", "zh": "像素工坊"},
               {"en": "Green Cup Tea", "zh": "绿杯茶舍"}]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _faq_evidence(row_id: str, question: str, answer: str, source: str) -> Evidence:
    meta = {"kind": "faq", "question": question, "answer": answer, "row_id": row_id, "heading": question}
    hit = SearchHit(id=row_id, score=1.0, text=f"{question}\n{answer}", source=source, title=question,
                    chunk_id=row_id, metadata=meta)
    return Evidence(answer, hit, 1.0, _context(hit))


def shared_pairs(folder: Path, rng: random.Random, max_stack: int = 60, max_bank: int = 40
                 ) -> tuple[list[Pair], list[str]]:
    """Positives from stackfaq (its paraphrased queries) and bank_faqs; afqmc's Chinese questions (no answers)
    come back as a pool for NOT_FOUND pairs. Missing files are skipped."""
    pairs: list[Pair] = []
    zh_questions: list[str] = []
    stack, queries = folder / "stackfaq" / "faq_corpus.csv", folder / "stackfaq" / "dev_queries.csv"
    if stack.is_file():
        rows = {r["faq_id"]: r for r in _read_csv(stack) if 20 <= len(r["answer"]) <= 400}
        asked = _read_csv(queries) if queries.is_file() else []
        found = []
        for r in rows.values():
            e = _faq_evidence(r["faq_id"], r["question"], r["answer"], "stackfaq")
            for q in [r["question"]] + [a["query"] for a in asked if a["faq_id"] == r["faq_id"]]:
                kind = "faq" if q == r["question"] else "paraphrase"
                found.append(Pair(q, best_sentences(q, r["answer"]), [e], kind, f"stackfaq:{r['faq_id']}",
                                  "stackfaq", OTHER_SHOPS[3]))
        pairs += rng.sample(found, min(max_stack, len(found)))
    bank = folder / "bank_faqs" / "faq_corpus.csv"
    if bank.is_file():
        rows = [r for r in _read_csv(bank) if 20 <= len(r["answer"]) <= 260 and len(r["question"]) <= 140]
        for r in rng.sample(rows, min(max_bank, len(rows))):
            e = _faq_evidence(r["faq_id"], r["question"].strip(), r["answer"].strip(), "bank_faqs")
            pairs.append(Pair(r["question"].strip(), best_sentences(r["question"], r["answer"].strip()), [e], "faq",
                              f"bank:{r['faq_id']}", "bank_faqs", OTHER_SHOPS[2]))
    afqmc = folder / "afqmc" / "train_pairs.csv"
    if afqmc.is_file():
        seen = set()
        for r in _read_csv(afqmc):
            for q in (r["sentence1"], r["sentence2"]):
                if 6 <= len(q) <= 40 and q not in seen:
                    seen.add(q)
                    zh_questions.append(q)
    return pairs, zh_questions
