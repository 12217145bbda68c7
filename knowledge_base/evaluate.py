"""Measure retrieval (hit@k, MRR) and calibrate the two trust thresholds from labelled questions.

Calibration, not hand-picking: for each labelled question we record the best vector similarity (abstain
decision) and the closest FAQ question's similarity (verbatim-answer decision), then choose the threshold that
separates the labels best; leave-one-out accuracy says how well that generalises.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from assistant.cli_support import read_csv_rows
from assistant.config import resolve_path
from assistant.errors import InputError
from knowledge_base.retrieval import rank_metrics

log = logging.getLogger(__name__)

DEMO_CALIBRATION = Path(__file__).with_name("calibration_questions.csv")


def evaluate(kb, pairs: list[tuple[str, str]], k: int = 5, mode: str = "hybrid") -> dict[str, float]:
    """hit@1, hit@k, MRR over (query, expected document id) pairs."""
    ranked = []
    for query, _ in pairs:
        # Ask for extra hits: several chunks of one document collapse to one rank.
        ranked.append([h.id for h in kb.search(query, k=max(k, 10), mode=mode)])
    return rank_metrics(ranked, [gold for _, gold in pairs], ks=(1, k))


def best_threshold(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """Threshold t (answer when score >= t) maximising balanced accuracy; the middle of the best range."""
    scores = sorted(set(pos) | set(neg))
    if not pos or not neg:
        return (min(pos) if pos else max(neg, default=0.0) + 1e-3), 1.0
    cuts = [scores[0] - 1e-3] + [(a + b) / 2 for a, b in zip(scores, scores[1:], strict=False)] + [scores[-1] + 1e-3]
    p, n = np.asarray(pos), np.asarray(neg)
    acc = [((p >= t).mean() + (n < t).mean()) / 2 for t in cuts]
    top = max(acc)
    best = [t for t, a in zip(cuts, acc, strict=True) if a >= top - 1e-9]
    return float(best[len(best) // 2]), float(top)


def strict_threshold(pos: list[float], neg: list[float]) -> float:
    """Lowest threshold with no false positive (a wrong verbatim answer is worse than an LLM answer). When no
    right match scores above the worst wrong one, just above that wrong one: no FAQ answer is given verbatim on
    this evidence (the other questions still get the reader's answer), rather than one the shop labelled wrong."""
    above = max(neg, default=-1.0)
    higher = [s for s in pos if s > above]
    if not higher:
        return float(above + 1e-3) if neg else best_threshold(pos, neg)[0]
    return float((above + min(higher)) / 2)


LABEL_HELP = "question,label CSV (label: a FAQ row id, 'answerable' or 'none')"


def read_labelled(path: str | Path) -> list[tuple[str, str]]:
    """(question, label) pairs; no file, missing columns, no question or only one kind of label is a one-line
    InputError: thresholds fitted on nothing (0.001) would let almost any question match an FAQ row."""
    _, rows = read_csv_rows(path, ("question", "label"), f"calibrate needs a {LABEL_HELP}")
    pairs = []
    for n, r in enumerate(rows, start=1):
        question, label = r.get("question") or "", (r.get("label") or "").strip()
        if not question.strip():
            continue
        if not label:
            raise InputError(f"{path}: question {n} ({question.strip()[:40]!r}) has no label ({LABEL_HELP})")
        # "None" or "Answerable" as typed in a spreadsheet: the two words, not FAQ row ids
        pairs.append((question, label.lower() if label.lower() in ("none", "answerable") else label))
    if not pairs:
        raise InputError(f"{path}: no labelled questions; calibrate needs a {LABEL_HELP}")
    answerable = sum(label != "none" for _, label in pairs)
    if answerable in (0, len(pairs)):
        raise InputError(f"{path}: the thresholds separate answerable questions from out-of-scope ones: label "
                         f"some questions 'none' and some with a FAQ row id or 'answerable' (all {len(pairs)} are "
                         f"{'none' if not answerable else 'answerable'})")
    return pairs


def check_labels(kb, pairs: list[tuple[str, str]], path: str | Path) -> None:
    """FAQ row ids the questions name must be in the collection: none there means the questions are about another
    knowledge base (e.g. the demo shop's on a shop's own collection), and its thresholds would be meaningless."""
    wanted = {label for _, label in pairs if label not in ("none", "answerable")}
    if not wanted:
        return
    held = {str(m.get("row_id")) for _, _, m in kb.store.iter_all(documents=False) if m.get("kind") == "faq"}
    missing = wanted - held
    if missing == wanted:
        raise InputError(f"{path}: none of its {len(wanted)} FAQ row ids (e.g. {sorted(wanted)[0]!r}) is in collection "
                         f"{kb.cfg.collection!r}: these questions are about another knowledge base; give the shop's "
                         f"own {LABEL_HELP}")
    if missing:
        log.warning("%s: %d FAQ row id(s) not in collection %r (e.g. %r): their questions count as missed",
                    path, len(missing), kb.cfg.collection, sorted(missing)[0])


def holds_demo(kb) -> bool:
    """Whether the collection holds the demo shop's documents (the default calibration questions are about it)."""
    from knowledge_base.ingest import source_key

    demo = resolve_path(kb.cfg.demo_path)
    root = source_key(demo).rstrip("/") + "/" if demo else None
    return root is not None and any(str(m.get("source", "")).startswith(root)
                                    for _, _, m in kb.store.iter_all(documents=False))


def calibrate(kb, path: str | Path) -> dict:
    """Thresholds from a question,label CSV (label = FAQ row id | 'answerable' | 'none')."""
    pairs = read_labelled(path)
    check_labels(kb, pairs, path)
    rows = [{"question": q, "label": label} for q, label in pairs]
    best_sim, faq_sim, faq_ok, labels = [], [], [], []
    for r in rows:
        q, label = r["question"], r["label"]
        hits = kb.search(q, k=kb.cfg.context_chunks)
        best_sim.append(max((h.vector_score or 0.0 for h in hits), default=0.0))
        cand = kb.faq_candidate(q)
        faq_sim.append(cand.score if cand else -1.0)
        faq_ok.append(bool(cand) and cand.row_id == label)
        labels.append(label)
    answerable = [lab != "none" for lab in labels]
    pos = [s for s, a in zip(best_sim, answerable, strict=True) if a]
    neg = [s for s, a in zip(best_sim, answerable, strict=True) if not a]
    abstain, acc = best_threshold(pos, neg)
    # Leave-one-out: how often a threshold fitted without a question decides that question right.
    loo = 0
    for i in range(len(rows)):
        p = [s for j, (s, a) in enumerate(zip(best_sim, answerable, strict=True)) if a and j != i]
        n = [s for j, (s, a) in enumerate(zip(best_sim, answerable, strict=True)) if not a and j != i]
        t, _ = best_threshold(p, n)
        loo += (best_sim[i] >= t) == answerable[i]
    fpos = [s for s, ok in zip(faq_sim, faq_ok, strict=True) if ok]
    fneg = [s for s, ok in zip(faq_sim, faq_ok, strict=True) if not ok]
    faq = strict_threshold(fpos, fneg)
    verbatim = [s >= faq for s in faq_sim]
    return {
        "questions": len(rows), "answerable": sum(answerable), "unanswerable": len(rows) - sum(answerable),
        "abstain": round(abstain, 4), "abstain_balanced_accuracy": round(acc, 4),
        "abstain_leave_one_out_accuracy": round(loo / max(1, len(rows)), 4),
        "faq": round(faq, 4),
        "faq_verbatim_answers": sum(verbatim),
        "faq_verbatim_wrong": sum(v and not ok for v, ok in zip(verbatim, faq_ok, strict=True)),
        "faq_paraphrases_caught": f"{sum(v and ok for v, ok in zip(verbatim, faq_ok, strict=True))}/"
                                  f"{sum(lab not in ('none', 'answerable') for lab in labels)}",
        "data": str(path),
    }
