"""Small talk that answers shop questions from nothing: `python -m bench.small_talk [--shops dev heldout heldout2]`
(or `python -m bench --only small_talk`).

bench/data/small_talk/messages.yaml (frozen before the rule it measures): 24 chatty shop questions ("Are you open on
Sunday?", "周末有人吗？") and 24 social messages (greetings, thanks, "are you a robot?"), zh + en. Each goes through
the app's real chat path (assistant.web.customer.stream_answer: guardrails, router with the trained classifiers, the
shop's knowledge base, the embedded model) of each answer-bench shop (bench/answers.py: the dev shop and the two
held-out shops), in a conversation of its own, twice in the same run: with the small-talk rules (assistant.small_talk:
`router.greetings_first: true`, `router.out_of_scope_near_documents: true` and
`chat.small_talk_speaks_for_shop: false`, the defaults) and without them.

- shop questions given a model's small-talk reply (nothing behind it), and of those the replies that speak for the
  shop ("Yes, we are open on Sunday."): goal 0;
- shop questions answered from the documents, or declined honestly;
- social messages turned away (declined, handed off, fallback): goal 0.
The dev shop's replies go to bench/out/small_talk/dev.json; the held-out shops' are counted only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data" / "small_talk" / "messages.yaml"
OUT = REPO / "bench" / "out" / "small_talk"
SHOPS = ("dev", "heldout", "heldout2")
TURNED_AWAY = ("decline", "handoff", "fallback")
GOALS = {"shop_small_talk_replies": "0", "shop_replies_speaking_for_shop": "0", "social_turned_away": "0"}
BASELINE = ("the same app without the small-talk rules (router.greetings_first: false, "
            "router.out_of_scope_near_documents: false, chat.small_talk_speaks_for_shop: true), same run")
HEADLINES = [
    ("chatty shop questions given a small-talk reply that speaks for the shop, with the rules vs without",
     "total.on.shop_replies_speaking_for_shop", "total.off.shop_replies_speaking_for_shop", "0"),
    ("chatty shop questions given any small-talk reply, with the rules vs without",
     "total.on.shop_small_talk_replies", "total.off.shop_small_talk_replies", "0"),
    ("chatty shop questions sent away as out of scope (\"I can only help with...\"), with the rules vs without",
     "total.on.shop_sent_away_as_out_of_scope", "total.off.shop_sent_away_as_out_of_scope", "reported"),
    ("social messages turned away (declined, handed off), with the rules vs without",
     "total.on.social_turned_away", "total.off.social_turned_away", "0"),
]


def load_messages(path: Path = DATA) -> dict[str, list[dict]]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def outcome(kind: str, action: str, text: str, greeting: str) -> dict:
    from assistant.small_talk import speaks_for_shop

    chatted = action == "small_talk" and text.strip() != greeting.strip()
    return {"kind": kind, "action": action, "text": text, "small_talk_reply": chatted,
            "speaks_for_shop": chatted and speaks_for_shop(text), "turned_away": action in TURNED_AWAY}


def summarize(rows: list[dict]) -> dict:
    shop = [r for r in rows if r["kind"] == "shop"]
    social = [r for r in rows if r["kind"] == "social"]
    return {"shop_questions": len(shop), "social_messages": len(social),
            "shop_small_talk_replies": sum(r["small_talk_reply"] for r in shop),
            "shop_replies_speaking_for_shop": sum(r["speaks_for_shop"] for r in shop),
            "shop_answered_from_documents": sum(r["action"] == "kb_answer" for r in shop),
            "shop_declined_or_handed_off": sum(r["turned_away"] for r in shop),
            "shop_sent_away_as_out_of_scope": sum(r["action"] == "fallback" for r in shop),
            "social_turned_away": sum(r["turned_away"] for r in social),
            "social_small_talk": sum(r["action"] == "small_talk" for r in social)}


def run_shop(key: str, messages: dict[str, list[dict]]) -> dict:
    from assistant.web.customer import stream_answer
    from bench.answers import load_shop, serve_shop

    shop = load_shop(key)
    arms: dict[str, list[dict]] = {"on": [], "off": []}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="small-talk-bench-") as tmp:
        runtime = serve_shop(shop, Path(tmp))[0]
        chat = runtime.chat
        router = chat.router
        for arm, on in (("off", False), ("on", True)):
            chat.cfg.small_talk_speaks_for_shop = not on
            router.cfg.greetings_first = router.cfg.out_of_scope_near_documents = on
            for kind in ("shop", "social"):
                for m in messages[kind]:
                    last = list(stream_answer(runtime, None, m["text"], "widget"))[-1].reply
                    greeting = chat.shop.text("greeting", m["lang"])
                    row = outcome(kind, (last.route or {}).get("action", ""), last.text, greeting)
                    arms[arm].append({"message": m["text"], "lang": m["lang"], **row,
                                      "reasons": (last.route or {}).get("reasons", [])[-3:]})
        chat.cfg.small_talk_speaks_for_shop, router.cfg.greetings_first = False, True
        router.cfg.out_of_scope_near_documents = True
    if key == "dev":  # the held-out shops' replies are counted, never written
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "dev.json").write_text(json.dumps(arms, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"shop": shop.meta["name"]["en"], "seconds": round(time.perf_counter() - start, 1),
            **{arm: summarize(rows) for arm, rows in arms.items()}}


def run(quick: bool = False, shops: tuple[str, ...] = SHOPS) -> dict:
    messages = load_messages()
    if quick:
        messages = {k: v[::4] for k, v in messages.items()}
    out: dict = {}
    for key in shops:
        print(f"  small talk: {key} shop...", file=sys.stderr, flush=True)
        out[key] = run_shop(key, messages)
    out["total"] = {arm: {k: sum(out[s][arm][k] for s in shops) for k in out[shops[0]][arm]} for arm in ("on", "off")}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.small_talk", description=__doc__.splitlines()[0])
    parser.add_argument("--shops", nargs="+", choices=SHOPS, default=list(SHOPS))
    parser.add_argument("--quick", action="store_true", help="a quarter of the messages")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick, tuple(args.shops)), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
