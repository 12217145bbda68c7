"""Fits the weighed second reading (knowledge_base/reading_weights.py) on the answer bench's development shops and
measures it shop against shop: fitted on the others, scored on the one left out, beside the reader's plain YES/NO.

For every question (its first turn; not the FAQ's own questions, which are answered verbatim) the five
best-scoring evidence sentences are read by the second reader (its log odds of YES) and labelled: a sentence of
an answerable question states the answer when it holds every expected fact (for a yes/no question the first fact
is its polarity, "no" / "不能", in the same words); none of an unanswerable question's does. Two-fact and follow-up
questions are left out (their facts belong to parts, and the app reads a later part the plain way). Decisions
here are simulated on the recorded readings, not the app's whole path: the baseline counts a YES (log odds > 0)
among the three best sentences, the weighing either chooses the first sentence reaching its threshold among the
five or vetoes a baseline YES under its veto bar. `python -m bench.answers --set knowledge_base.verify_weights=''`
measures the app with and without.

Known gaps: the app weighs a message's first question with the question as it was searched (a follow-up carries
the turn before it), while the fit uses the customer's first turn as written; the features are stored with the
readings, so a change to `features()` needs `--fresh`.

    .venv/bin/python -m bench.reader_weights [--write] [--fresh]

The sentences and log odds are kept in bench/out/reader_weights/<shop>.json, so a second run only refits.
`--write` fits on every dev shop and writes knowledge_base/reading_weights.json (the shipped weights).
The held-out shops (heldout, heldout2, heldout3) are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = REPO / "bench" / "out" / "reader_weights"
SHOPS = ("dev", "dev2", "dev3")
FIT_KINDS = ("faq_paraphrase", "prose_fact", "cross_language", "annoyed_faq", "unanswerable", "yes_no")
THRESHOLDS = (0.3, 0.4, 0.5)


def collect(key: str, fresh: bool = False) -> list[dict]:
    """Each fitted question's five best sentences, their features and labels. Questions read in an earlier run are
    taken from bench/out/reader_weights (unless `fresh`); only the others are read."""
    from bench.answers import load_shop

    path = OUT / f"{key}.json"
    kept = {} if fresh or not path.exists() else {it["id"]: it for it in json.loads(path.read_text(encoding="utf-8"))}
    shop = load_shop(key)
    wanted = [q for q in shop.questions if q.kind in FIT_KINDS]
    missing = [q for q in wanted if q.id not in kept]
    if missing:
        kept.update({it["id"]: it for it in _read(shop, missing)})
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(list(kept.values()), ensure_ascii=False, indent=1), encoding="utf-8")
    return [kept[q.id] for q in wanted if q.id in kept and not kept[q.id].get("faq_match")]


def states(question, text: str) -> bool:
    """Whether a sentence holds the question's expected facts; for a yes/no question its first fact is the polarity
    ("no", "不能"), which the sentence must state in the same words."""
    from bench.answers import contains, normalize

    norm = normalize(text)
    return not question.decline and all(any(contains(norm, f) for f in forms) for forms in question.expect)


def _read(shop, questions) -> list[dict]:
    from tqdm import tqdm

    from bench.answers import serve_shop
    from knowledge_base.reading_weights import CANDIDATES, features

    runtime, *_ = serve_shop(shop, Path(tempfile.mkdtemp(prefix="reader-weights-")))
    kb, reader = runtime.kb, runtime.verifier
    if reader is None or not hasattr(reader.backend, "yes_log_odds"):
        raise SystemExit("the second reader is off or cannot give log odds (knowledge_base.verify_model)")
    items = []
    for q in tqdm(questions, desc=shop.key, unit="question"):
        question = q.turns[0]
        if kb.faq_match(question) is not None:  # answered verbatim, never read
            items.append({"id": q.id, "kind": q.kind, "question": question, "decline": q.decline, "sentences": [],
                          "faq_match": True})
            continue
        ranked = kb.evidence_finder.find(question, kb.search(question, k=kb.cfg.context_chunks))[:CANDIDATES]
        sentences = []
        for rank, sentence in enumerate(ranked):
            odds = reader.backend.yes_log_odds(reader.messages(question, sentence.quoted))
            sentences.append({"text": sentence.quoted, "states": states(q, sentence.quoted), "log_odds": odds,
                              "features": features(question, sentence, rank, odds)})
        items.append({"id": q.id, "kind": q.kind, "question": question, "decline": q.decline,
                      "sentences": sentences})
    return items


def fit(items: list[dict], threshold: float, shops: list[str]):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from knowledge_base.reading_weights import FEATURES, ReadingWeights

    x = np.array([[s["features"][f] for f in FEATURES] for it in items for s in it["sentences"]])
    y = np.array([int(s["states"]) for it in items for s in it["sentences"]])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    return ReadingWeights({f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)},
                          round(float(model.intercept_[0]), 4), threshold=threshold, fitted_on=shops)


def decide(items: list[dict], counts) -> dict:
    """Answerable questions answered from a sentence that states the answer, and unanswerables declined, when
    `counts(sentence)` says which sentences answer (the first that does, best first)."""
    right = answerable = declined = unanswerable = 0
    for it in items:
        chosen = next((s for s in it["sentences"] if counts(s)), None)
        if it["decline"]:
            unanswerable += 1
            declined += chosen is None
        else:
            answerable += 1
            right += chosen is not None and chosen["states"]
    return {"answered_right": right, "answerable": answerable, "declined": declined, "unanswerable": unanswerable}


def _line(name: str, r: dict) -> str:
    return (f"  {name:34s} answered right {r['answered_right']:3d}/{r['answerable']:<3d} "
            f"({r['answered_right'] / max(1, r['answerable']):.2f})   declined {r['declined']:2d}/{r['unanswerable']:<2d} "
            f"({r['declined'] / max(1, r['unanswerable']):.2f})")


BASELINE = "the second reader's plain YES over the sentences close to the best (today's reading without weights)"
GOALS = {"answered_right_share": "reported (answer bench goal 0.85)", "declined_share": "reported (goal 0.90)"}
HEADLINES = [(f"second reading, fitted on the other dev shops: {what} on {shop}, YES with the weighing's veto vs "
              "reader's YES", f"{shop}.veto_0.3.{key}", f"{shop}.baseline.{key}", goal)
             for shop in SHOPS for what, key, goal in (("answered right", "answered_right_share", "reported"),
                                                        ("unanswerables declined", "declined_share", "reported"))]


def measure(data: dict[str, list[dict]]) -> dict:
    """Shop against shops: fitted on the other dev shops, the decisions on the one left out, beside the reader's
    plain YES."""
    report: dict = {}
    for test in data:
        others = [key for key in data if key != test]
        train = [it for key in others for it in data[key]]
        # the app's reading without weights: the sentences that scored close to the best (up to 3), a YES counts
        report[test] = {"fitted_on": others,
                        "baseline": decide(data[test], lambda s: s["features"]["rank"] < 3 and s["log_odds"] > 0)}
        for t in THRESHOLDS:
            weights = fit(train, t, others)
            report[test][f"weighed_{t}"] = decide(data[test],
                                                  lambda s, w=weights: w.probability(s["features"]) >= w.threshold)
        # the shipped mode: the plain YES stands only when the weighing reaches the veto bar
        report[test][f"veto_{weights.veto}"] = decide(
            data[test], lambda s, w=weights: (s["features"]["rank"] < 3 and s["log_odds"] > 0
                                              and w.probability(s["features"]) >= w.veto))
    for per_shop in report.values():
        for r in per_shop.values():
            if isinstance(r, dict):
                r["answered_right_share"] = round(r["answered_right"] / max(1, r["answerable"]), 3)
                r["declined_share"] = round(r["declined"] / max(1, r["unanswerable"]), 3)
    return report


def run(quick: bool = False) -> dict:
    """For `python -m bench`: the sentences read in the last run are reused (bench/out/reader_weights)."""
    return measure({key: collect(key) for key in SHOPS})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="fit on every dev shop and write the shipped weights")
    ap.add_argument("--fresh", action="store_true", help="read the sentences again instead of the last run's")
    ap.add_argument("--threshold", type=float, default=0.4, help="the shipped weights' threshold")
    args = ap.parse_args(argv)
    from knowledge_base.reading_weights import SHIPPED

    data = {key: collect(key, args.fresh) for key in SHOPS}
    report = measure(data)
    for test, per_shop in report.items():
        print(f"fitted on {', '.join(per_shop['fitted_on'])}, scored on {test}:")
        print(_line("reader's YES (baseline)", per_shop["baseline"]))
        for t in THRESHOLDS:
            print(_line(f"weighed, threshold {t}", per_shop[f"weighed_{t}"]))
        veto = next(k for k in per_shop if k.startswith("veto_"))
        print(_line(f"reader's YES, weighing's veto {veto[5:]}", per_shop[veto]))
    if args.write:
        weights = fit([it for key in SHOPS for it in data[key]], args.threshold, list(SHOPS))
        SHIPPED.write_text(weights.to_json(), encoding="utf-8")
        print(f"wrote {SHIPPED.relative_to(REPO)}: {weights.weights}, bias {weights.bias}")
    (OUT / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
