"""The invented-fact check on the copy it actually checks: the model's own first-pass items for feed rows.

The planted sets (bench/adcopy.py --parts planted) measure the check on lively copy people wrote, with one
invention planted in each text. In the product the check reads what the generator wrote before anything is
returned. Here every first-pass item of a feed run (the raw model output, before the check, the lint or any
repair) was labelled by a reader who had not read the check: the statements the product row does not support
(numbers, materials, certifications, origins, features, effects, services, absolute or comparative claims), or
none. Labels: bench/data/adcopy_feed/generated_labelled.yaml, frozen before this script was first run.

Prints, per language and together: how many items state something unsupported, the share of those the check
flags (recall), and the share of clean items it flags (false alarms), beside the baseline of flagging every item
that has a word the row does not contain (FeedGen's "words not in the input").

    python bench/adcopy_generated.py [--merge]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
FEED_DIR = REPO / "bench" / "data" / "adcopy_feed"
LABELS = FEED_DIR / "generated_labelled.yaml"
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?")


def _novel_tokens(text: str, sources: str) -> bool:
    """The baseline: any English word, digit run or CJK character of the item absent from the row's text."""
    low, src = text.lower(), sources.lower()
    words = set(_WORD.findall(low)) - set(_WORD.findall(src))
    hanzi = {ch for ch in low if "\u4e00" <= ch <= "\u9fff"} - set(src)
    return bool(words or hanzi)


def score(labels: list[dict], checker=None) -> dict:
    from assistant.adcopy.facts import FactChecker
    from assistant.adcopy.feed import read_feed

    checker = checker or FactChecker()
    products = {p.id: p for p in read_feed(FEED_DIR / "products.csv").products}
    tally: dict[str, dict[str, int]] = {}
    misses, alarms = [], []
    for item in labels:
        product = products[item["row"]]
        facts = product.brief(item["channel"]).facts()
        flags = checker.unsupported(item["text"], checker.sources(*facts))
        bad = bool(item.get("unsupported"))
        base = _novel_tokens(item["text"], " ".join(facts))
        for key in (product.language, "all"):
            t = tally.setdefault(key, dict.fromkeys(("items", "unsupported", "found", "clean", "alarms",
                                                     "baseline_found", "baseline_alarms"), 0))
            t["items"] += 1
            t["unsupported" if bad else "clean"] += 1
            t["found" if bad else "alarms"] += bool(flags)
            t["baseline_found" if bad else "baseline_alarms"] += base
        if bad and not flags:
            misses.append({"row": item["row"], "text": item["text"], "label": item["unsupported"]})
        if flags and not bad:
            alarms.append({"row": item["row"], "text": item["text"], "flags": [str(c) for c in flags]})

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    out = {key: {"items": t["items"], "with_unsupported_statement": t["unsupported"],
                 "recall_pct": pct(t["found"], t["unsupported"]), "false_alarm_pct": pct(t["alarms"], t["clean"]),
                 "baseline_novel_word_recall_pct": pct(t["baseline_found"], t["unsupported"]),
                 "baseline_novel_word_false_alarm_pct": pct(t["baseline_alarms"], t["clean"])}
           for key, t in tally.items()}
    out["missed"], out["false_alarms"] = misses, alarms
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", type=Path, default=LABELS, help="labelled first-pass items (YAML)")
    ap.add_argument("--merge", action="store_true", help="store the figures in bench/results.json (adcopy) and "
                                                         "re-render bench/RESULTS.md")
    args = ap.parse_args(argv)
    if not args.labels.is_file():
        print(f"error: no labels at {args.labels}", file=sys.stderr)
        return 2
    figures = score(yaml.safe_load(args.labels.read_text(encoding="utf-8")))
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    a = figures["all"]
    print(f"\n{a['items']} first-pass items, {a['with_unsupported_statement']} state something the row does not: "
          f"check recall {a['recall_pct']} %, false alarms {a['false_alarm_pct']} % "
          f"(novel-word baseline: {a['baseline_novel_word_recall_pct']} % / {a['baseline_novel_word_false_alarm_pct']} %)")
    if args.merge:
        sys.path.insert(0, str(REPO))
        from bench.adcopy import merge_into_results

        return merge_into_results([{"generated_items_labelled": figures}])
    return 0


if __name__ == "__main__":
    sys.exit(main())
