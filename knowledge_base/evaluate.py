"""Measure retrieval (hit@k, MRR) and calibrate the two trust thresholds from labelled questions.

Calibration, not hand-picking: for each labelled question we record the best vector similarity (abstain
decision) and the closest FAQ question's similarity (verbatim-answer decision), then choose the threshold that
separates the labels best; leave-one-out accuracy says how well that generalises.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from knowledge_base.retrieval import rank_metrics

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
    """Lowest threshold with no false positive (a wrong verbatim answer is worse than an LLM answer)."""
    above = max(neg, default=-1.0)
    higher = [s for s in pos if s > above]
    if not higher:
        return best_threshold(pos, neg)[0]
    return float((above + min(higher)) / 2)


def calibrate(kb, path: str | Path) -> dict:
    """Thresholds from a question,label CSV (label = FAQ row id | 'answerable' | 'none')."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("question", "").strip()]
    best_sim, faq_sim, faq_ok, labels = [], [], [], []
    for r in rows:
        q, label = r["question"], r["label"].strip()
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


def write_calibration(embedder_name: str, result: dict) -> None:
    from knowledge_base.kb import CALIBRATION_FILE

    try:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[embedder_name] = {k: result[k] for k in ("abstain", "faq", "abstain_balanced_accuracy",
                                                  "abstain_leave_one_out_accuracy", "faq_verbatim_wrong",
                                                  "faq_paraphrases_caught", "questions")}
    data[embedder_name]["how"] = "python -m knowledge_base calibrate --write (demo KB + calibration_questions.csv)"
    CALIBRATION_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
