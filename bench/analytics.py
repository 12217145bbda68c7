"""Analytics bench: churn AUC vs baselines, segmentation silhouette vs random, sentiment throughput.

Side by side in one run on the seeded synthetic shop (`assistant.analytics.demo`):
- churn: held-out AUC of our model vs the named baselines "majority class" (AUC 0.5 by construction) and
  "recency only" (logistic regression on recency_days alone), same split;
- segmentation: silhouette of the chosen K-means k vs a random assignment into the same k groups;
- sentiment: messages/s over 100k generated reviews (quick: 10k) for the lexicon fallback, and for the
  project classifier (timed on a slice, since it is much slower) when it loads.

    .venv/bin/python bench/analytics.py [--quick] [--json OUT.json] [--big]   (--big: load a 2M-row CSV)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.analytics import AnalyticsConfig, analyze_churn, analyze_segments  # noqa: E402
from assistant.analytics.demo import demo_frames, reviews  # noqa: E402
from assistant.analytics.io import Table, load_csv  # noqa: E402
from assistant.analytics.lexicon import LexiconSentiment  # noqa: E402
from assistant.analytics.sentiment import score_texts  # noqa: E402

HEADLINES = [
    ("churn prediction AUC", "churn.auc_model", "churn.auc_recency_only_baseline", "reported (beats recency-only)"),
    ("segmentation silhouette", "segmentation.silhouette", "segmentation.silhouette_random_baseline", "reported"),
]


def churn_figures(customers: pd.DataFrame, cfg: AnalyticsConfig) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    res = analyze_churn(Table(customers, "customers.csv"), cfg)
    y = customers["churned"]
    Xtr, Xte, ytr, yte = train_test_split(customers[["recency_days"]], y, test_size=cfg.test_size, stratify=y,
                                          random_state=cfg.seed)  # the same split analyze_churn uses
    recency = roc_auc_score(yte, LogisticRegression().fit(Xtr, ytr).predict_proba(Xte)[:, 1])
    f = res.facts
    return {"customers": len(customers), "churn_rate": round(f["base_rate"], 3), "model": f["model"],
            "auc_model": round(f["auc"], 3), "auc_logistic": round(f["auc_logistic"], 3),
            "auc_boosting": round(f["auc_boosting"], 3), "auc_majority_baseline": 0.5,
            "auc_recency_only_baseline": round(recency, 3), "precision": round(f["precision"], 3),
            "recall": round(f["recall"], 3), "brier": round(f["brier"], 3)}


def segment_figures(orders: pd.DataFrame, cfg: AnalyticsConfig) -> dict:
    from sklearn.metrics import silhouette_score

    from assistant.analytics.segment import _scale, rfm_features

    res = analyze_segments(Table(orders, "orders.csv"), cfg)
    k = res.facts["k"]
    Z = _scale(rfm_features(orders, "customer_id", "order_date", "amount", []))
    rand = np.random.default_rng(cfg.seed).integers(0, k, size=len(Z))
    return {"customers": res.facts["customers"], "k": k, "silhouette": round(res.facts["silhouette"], 3),
            "silhouette_random_baseline": round(float(silhouette_score(Z, rand)), 3),
            "silhouette_by_k": {int(a): round(b, 3) for a, b in res.facts["silhouettes"].items()}}


def throughput(texts: list[str], model, limit: int | None = None) -> dict:
    part = texts if limit is None else texts[:limit]
    t = time.perf_counter()
    out = score_texts(part, model)
    dt = time.perf_counter() - t
    return {"messages": len(part), "seconds": round(dt, 2), "msgs_per_s": round(len(part) / dt, 1),
            "negative_share": round(float((out["sentiment"] == "negative").mean()), 3)}


def sentiment_figures(n: int, classifier_slice: int) -> dict:
    rng = np.random.default_rng(1)
    texts = reviews(rng, n, [f"C{i:05d}" for i in range(1000)])["review"].tolist()
    out = {"lexicon_fallback": throughput(texts, LexiconSentiment())}
    try:
        from assistant.classifiers import default_classifiers
        from assistant.config import load_config

        t = time.perf_counter()
        _, clf = default_classifiers(load_config().classifiers)
        load_s = time.perf_counter() - t
        out["project_classifier"] = {**throughput(texts, clf, classifier_slice), "load_s": round(load_s, 1)}
        r = out["project_classifier"]["msgs_per_s"]
        out["project_classifier"]["est_seconds_for_all"] = round(n / r, 1)
    except Exception as exc:  # the bench still reports the fallback when the classifier cannot load
        out["project_classifier"] = {"error": str(exc)[:200]}
    return out


def big_csv_figures(rows: int = 2_000_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "big.csv"
        rng = np.random.default_rng(0)
        pd.DataFrame({"date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
                      "review": rng.choice(["物流很快，质量很好", "包装破损", "great value", "slow delivery"], rows)}
                     ).to_csv(p, index=False)
        t = time.perf_counter()
        table = load_csv(p, AnalyticsConfig())
        return {"rows": rows, "mb": round(p.stat().st_size / 1e6, 1), "kept": len(table.df),
                "load_and_sample_s": round(time.perf_counter() - t, 1), "note": table.notes[-1]}


def run(quick: bool = False, big: bool = False) -> dict:
    cfg = AnalyticsConfig()
    frames = demo_frames(seed=cfg.seed, customers=800 if quick else 2000, n_reviews=10)
    out = {"churn": churn_figures(frames["customers"], cfg), "segmentation": segment_figures(frames["orders"], cfg),
           "sentiment": sentiment_figures(10_000 if quick else 100_000, 1000 if quick else 5000)}
    if big:
        out["big_csv"] = big_csv_figures()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller shop and 10k reviews")
    ap.add_argument("--big", action="store_true", help="also time loading a 2M-row CSV (sampled)")
    ap.add_argument("--json", metavar="OUT.json")
    args = ap.parse_args()
    res = run(args.quick, args.big)
    c, s = res["churn"], res["segmentation"]
    print(f"churn AUC: model ({c['model']}) {c['auc_model']:.3f} | recency-only {c['auc_recency_only_baseline']:.3f} "
          f"| majority 0.500  -> +{c['auc_model'] - c['auc_recency_only_baseline']:.3f} over recency-only")
    print(f"segments: k={s['k']} silhouette {s['silhouette']:.3f} vs random assignment {s['silhouette_random_baseline']:.3f}")
    for name, r in res["sentiment"].items():
        if "msgs_per_s" in r:
            print(f"sentiment {name}: {r['msgs_per_s']:,.0f} msgs/s ({r['messages']:,} in {r['seconds']} s)")
        else:
            print(f"sentiment {name}: {r}")
    if "big_csv" in res:
        print(f"2M-row CSV: {res['big_csv']}")
    print(json.dumps(res, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
