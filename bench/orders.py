"""Order desk bench: the scripted order dialogues (bench/data/orders/dialogues.yaml, 89 conversations, zh + en)
run through the whole app over HTTP, against each order backend, and the latency of an order answer beside a
plain knowledge-base answer.

    .venv/bin/python -m bench.orders [--quick] [--backend embedded shopify woocommerce webhook]
    .venv/bin/python -m bench --only orders

Per backend (embedded store, fake Shopify, fake WooCommerce, fake signed webhook; the fakes speak the services'
recorded JSON on 127.0.0.1, assistant/orders/fakes.py) and per channel (`/v1/chat/completions`, the client
sending the whole history on every turn as OpenAI clients do, and the widget's `/widget/api/chat`, which keeps
the history on the server), each with a fresh app and store:

- task_success_rate: the last reply's outcome is the expected one (status with the record's status, tracking
  numbers and items; request created / already waiting; polite refusal; lock; hand-off; left to the knowledge
  base), the expected requests and no others were created, and nothing was disclosed that should not be;
- wrong_order_disclosures: replies carrying any order's tracking number, item name, e-mail, phone or address
  before that order was verified in the conversation, or another order's at any time (goal: 0);
- requests_created / requests_expected; turns_per_task (customer messages per task, mean);
- order answer vs knowledge-base answer latency (p50/p95, seconds per HTTP request, same app, same run).

The LLM is the fake backend and the knowledge base uses fake embeddings: order replies never use the LLM
(facts are quoted from the record), and the KB baseline here measures the pipeline without generation.
"Slow" is a backend answering after the 1 s timeout (for the embedded store, a wrapper that waits and fails).
The last 24 conversations were written blind after the rules were settled; their first run went 18/24 (0
disclosures) and the six misses were fixed, so no part of the set is held out any more. `--quick` runs the
embedded and Shopify backends only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data" / "orders"
RECORDED = REPO / "tests" / "assistant" / "orders" / "fixtures"
sys.path.insert(0, str(REPO))

BACKENDS = ("embedded", "shopify", "woocommerce", "webhook")
CHANNELS = ("v1", "widget")
TIMEOUT_S = 1.0
SECRETS = {"SHOPIFY_ACCESS_TOKEN": "shpat_bench", "WOOCOMMERCE_CONSUMER_KEY": "ck_bench",
           "WOOCOMMERCE_CONSUMER_SECRET": "cs_bench", "ORDERS_WEBHOOK_SECRET": "whsec_bench"}
KB_QUESTIONS = ["What is your return policy?", "退货政策是什么？", "How long does delivery take?", "运费怎么算？",
                "Can I cancel my order?", "退款多久到账？", "Do I have to pay for return shipping?", "可以取消订单吗？"]

GOALS = {"wrong_order_disclosures": "0", "task_success_rate": ">= 0.95", "requests_created": "= requests_expected"}
BASELINE = ("latency: a plain knowledge-base answer through the same app in the same run (fake LLM and fake "
            "embeddings: no generation in either)")
HEADLINES = [
    ("order tasks done, embedded, /v1", "embedded.v1.task_success_rate", None, ">= 0.95"),
    ("order tasks done, Shopify fake, widget", "shopify.widget.task_success_rate", None, ">= 0.95"),
    ("order tasks done, WooCommerce fake, /v1", "woocommerce.v1.task_success_rate", None, ">= 0.95"),
    ("wrong-order disclosures, all runs", "all.wrong_order_disclosures", None, "0"),
    ("order answer p50 s (vs KB answer)", "latency.order_p50_s", "latency.kb_p50_s", "reported"),
]


def load_dialogues(path: Path = DATA / "dialogues.yaml") -> list[dict]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{**data.get("defaults", {}), **d} for d in data["dialogues"]]


def dataset_orders():
    from assistant.orders.importer import load_mapping, orders_from_rows, read_table

    return orders_from_rows(read_table(DATA / "orders.csv"), load_mapping("default"))[0]


def secrets_of(order) -> list[str]:
    """What must never reach someone who has not verified `order`: contact details, address, tracking numbers,
    item names (long enough not to be ordinary words)."""
    found = [order.email, order.phone, order.shipping_address, *[s.tracking_number for s in order.shipments],
             *[i.name for i in order.items if len(i.name) >= 4]]
    return [s for s in found if s]


def required_facts(order, backend: str, shop, lang: str) -> list[str]:
    """What a status reply must quote: the status as the backend can know it, tracking numbers, items, and the
    expected delivery date where the backend carries one (WooCommerce knows neither delivery nor estimates)."""
    status = "shipped" if backend == "woocommerce" and order.status == "delivered" else order.status
    facts = [shop.text(f"order_state_{status}", lang), *[s.tracking_number for s in order.shipments],
             *[i.name for i in order.items]]
    if backend != "woocommerce":
        facts += [s.expected_delivery for s in order.shipments if s.expected_delivery and not s.delivered_at]
    return facts


@contextlib.contextmanager
def suite_app(backend: str, workdir: Path, kb_dir: Path):
    """The whole app on FakeBackend for one backend: (runtime, app url, switch(state) for up/down/slow)."""
    from assistant.config import load_config
    from assistant.errors import StorageError
    from assistant.llm import FakeBackend
    from assistant.orders import fakes
    from assistant.runtime import Runtime
    from assistant.storage import sqlite_url
    from assistant.web.server import BackgroundServer, create_app

    for k, v in SECRETS.items():
        os.environ.setdefault(k, v)
    orders = dataset_orders()
    shop = fakes.FakeShop(orders)
    recorded = {n: json.loads((RECORDED / f"{n}.json").read_text(encoding="utf-8"))
                for n in ("shopify_orders", "shopify_fulfillment_events", "woocommerce_order")}
    fake_app = {"shopify": lambda: fakes.shopify_app(shop, SECRETS["SHOPIFY_ACCESS_TOKEN"],
                                                     recorded["shopify_orders"]["orders"][0],
                                                     recorded["shopify_fulfillment_events"]),
                "woocommerce": lambda: fakes.woocommerce_app(shop, SECRETS["WOOCOMMERCE_CONSUMER_KEY"],
                                                             SECRETS["WOOCOMMERCE_CONSUMER_SECRET"],
                                                             recorded["woocommerce_order"]),
                "webhook": lambda: fakes.webhook_app(shop, SECRETS["ORDERS_WEBHOOK_SECRET"])}.get(backend)
    with contextlib.ExitStack() as stack:
        # every scripted customer comes from 127.0.0.1: the per-address guess limit has its own test
        orders_cfg = {"backend": backend, "timeout_s": TIMEOUT_S, "max_wrong_per_client_per_hour": 0}
        if fake_app is not None:
            url = stack.enter_context(BackgroundServer(fake_app())).url
            key = {"shopify": "shopify_store", "woocommerce": "woocommerce_url", "webhook": "webhook_url"}[backend]
            orders_cfg[key] = url + ("/orders-hook" if backend == "webhook" else "")
        settings = load_config(env={}, overrides={
            "llm": {"backend": "fake"}, "storage": {"url": sqlite_url(workdir / "app.db")},
            "knowledge_base": {"embedder": "fake", "db_path": str(kb_dir)},
            "chat": {"use_router": False, "rate_limit_per_minute": 0},
            "app": {"api_rate_limit_per_minute": 0, "client_rate_limit_per_minute": 0,
                    "handoffs_per_client_per_hour": 0, "votes_per_client_per_minute": 0},
            "orders": orders_cfg})
        runtime = Runtime(settings, backend=FakeBackend())
        if backend == "embedded":
            from assistant.orders.embedded import EmbeddedOrders

            EmbeddedOrders(runtime.storage_engine).save(orders)
        runtime.chat  # noqa: B018 - built before the first timed request
        desk = runtime.orders
        real = desk.backend

        class Flaky:  # the embedded store has no network to fail: emulate a failing / slow one around it
            name, state = real.name, "up"

            def find(self, number):
                if self.state == "slow":
                    time.sleep(TIMEOUT_S)
                if self.state != "up":
                    raise StorageError(f"the embedded order store did not answer within {TIMEOUT_S:g} s")
                return real.find(number)

            def __getattr__(self, name):
                return getattr(real, name)

        flaky = Flaky()
        if backend == "embedded":
            desk.backend = flaky

        def switch(state: str) -> None:
            flaky.state = state
            shop.down, shop.delay_s = state == "down", (TIMEOUT_S + 0.5 if state == "slow" else 0.0)

        server = stack.enter_context(BackgroundServer(create_app(runtime)))
        yield runtime, server.url, switch


def ask_v1(client, url: str, history: list[dict], text: str) -> dict:
    r = client.post(f"{url}/v1/chat/completions", json={"model": "support", "messages": [
        *history, {"role": "user", "content": text}]}, timeout=30)
    r.raise_for_status()
    body = r.json()
    return {"text": body["choices"][0]["message"]["content"], "route": body.get("route") or {},
            "handoff": body.get("handoff"), "ticket_id": body.get("ticket_id")}


def ask_widget(client, url: str, session_id: str | None, text: str) -> dict:
    r = client.post(f"{url}/widget/api/chat", json={"session_id": session_id, "message": text}, timeout=30)
    r.raise_for_status()
    events = [json.loads(line[6:]) for line in r.text.split("\n\n") if line.startswith("data: ")]
    done = events[-1]
    return {"text": done["text"], "route": done.get("route") or {}, "handoff": done.get("handoff"),
            "ticket_id": done.get("ticket_id"), "session_id": events[0].get("session_id")}


def run_conversation(client, url: str, channel: str, conv: dict) -> list[dict]:
    history: list[dict] = []
    session_id = None
    replies = []
    for text in conv["turns"]:
        t0 = time.perf_counter()
        if channel == "v1":
            reply = ask_v1(client, url, history, text)
        else:
            reply = ask_widget(client, url, session_id, text)
            session_id = reply["session_id"]
        reply["seconds"] = time.perf_counter() - t0
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply["text"]}]
        replies.append(reply)
    return replies


EXPECTED_ACTION = {"status": "order_status", "request": "order_request", "request_exists": "order_request",
                   "info": "order_info", "ask": "order_ask", "locked": "order_handoff", "refused": "order_verify",
                   "verify": "order_verify", "handoff": "order_handoff"}


def judge(conv: dict, replies: list[dict], new_requests: list[tuple[str, str, str]], orders: dict, backend: str,
          shop) -> dict:
    """Per conversation: disclosures, the outcome, the requests; `ok` when all three are right."""
    own = orders.get(conv.get("order") or "")
    said = " ".join(conv["turns"])  # what the customer typed is no disclosure when echoed
    leaks = []
    for turn, reply in enumerate(replies, 1):
        for number, order in orders.items():
            allowed = order is own and conv.get("verify_turn") and turn >= conv["verify_turn"]
            leaks += [f"turn {turn}: {number}" for s in secrets_of(order)
                      if not allowed and s in reply["text"] and s not in said]
    last = replies[-1]
    action = str(last["route"].get("action", ""))
    expect = (conv.get("expect_on") or {}).get(backend, conv["expect"])
    if expect == "kb":
        outcome = not action.startswith("order")
    else:
        outcome = action == EXPECTED_ACTION[expect]
        if expect == "status" and own is not None:
            missing = [f for f in required_facts(own, backend, shop, conv["lang"]) if f not in last["text"]]
            outcome = outcome and not missing
        if expect in ("locked", "handoff"):
            outcome = outcome and bool(last["handoff"])
    wanted = [(conv["request"], conv["order"])] if conv.get("request") else []
    requests_ok = sorted((kind, number) for kind, number, _ in new_requests) == sorted(wanted)
    if conv.get("detail"):  # the address / item the request carries, as the customer gave it
        requests_ok = requests_ok and any(conv["detail"] in details for _, _, details in new_requests)
    return {"id": conv["id"], "ok": outcome and requests_ok and not leaks, "outcome": outcome,
            "requests_ok": requests_ok, "leaks": leaks, "last_action": action, "turns": len(replies)}


def run_backend(backend: str, dialogues: list[dict], channels=CHANNELS, kb_dir: Path | None = None) -> dict:
    import httpx

    from assistant.shop import Shop

    orders = {o.number: o for o in dataset_orders()}
    shop = Shop()
    out: dict[str, dict] = {}
    kb_dir = kb_dir or Path(tempfile.mkdtemp(prefix="orders-kb-"))
    for channel in channels:
        with tempfile.TemporaryDirectory(prefix=f"orders-{backend}-{channel}-") as tmp, \
                suite_app(backend, Path(tmp), kb_dir) as (runtime, url, switch), httpx.Client() as client:
            requests = runtime.orders.requests
            judged, order_s, kb_s = [], [], []
            for conv in dialogues:
                before = {r.id for r in requests.listing(("pending", "approving", "approved", "rejected"))}
                switch(conv.get("backend", "up"))
                replies = run_conversation(client, url, channel, conv)
                switch("up")
                after = requests.listing(("pending", "approving", "approved", "rejected"))
                new = [(r.kind, r.order_number, " ".join(map(str, r.details.values())))
                       for r in after if r.id not in before]
                judged.append(judge(conv, replies, new, orders, backend, shop))
                order_s += [r["seconds"] for r in replies if r["route"].get("action") == "order_status"]
            for question in KB_QUESTIONS * 2:  # the baseline, in the same app
                t0 = time.perf_counter()
                if channel == "v1":
                    ask_v1(client, url, [], question)
                else:
                    ask_widget(client, url, None, question)
                kb_s.append(time.perf_counter() - t0)
            out[channel] = summarise(judged, dialogues, order_s, kb_s)
    return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 4)


def summarise(judged: list[dict], dialogues: list[dict], order_s: list[float], kb_s: list[float]) -> dict:
    expected = sum(1 for d in dialogues if d.get("request"))
    created_ok = sum(1 for j, d in zip(judged, dialogues, strict=True) if d.get("request") and j["requests_ok"])
    tasks = [j for j in judged if j["ok"]]
    return {"conversations": len(judged), "task_success_rate": round(len(tasks) / len(judged), 4),
            "wrong_order_disclosures": sum(len(j["leaks"]) for j in judged),
            "requests_expected": expected, "requests_created": created_ok,
            "unexpected_requests": sum(1 for j, d in zip(judged, dialogues, strict=True)
                                       if not j["requests_ok"] and not d.get("request")),
            "turns_per_task": round(statistics.mean(j["turns"] for j in tasks), 2) if tasks else None,
            "order_answer_p50_s": _pct(order_s, 0.5), "order_answer_p95_s": _pct(order_s, 0.95),
            "kb_answer_p50_s": _pct(kb_s, 0.5), "kb_answer_p95_s": _pct(kb_s, 0.95),
            "failed": [{k: j[k] for k in ("id", "outcome", "requests_ok", "leaks", "last_action")}
                       for j in judged if not j["ok"]][:20]}


def run(quick: bool = False, backends=None) -> dict:
    dialogues = load_dialogues()
    backends = backends or (("embedded", "shopify") if quick else BACKENDS)
    kb_dir = Path(tempfile.mkdtemp(prefix="orders-kb-"))
    results: dict = {"dialogues": len(dialogues),
                     "languages": {lang: sum(d["lang"] == lang for d in dialogues) for lang in ("en", "zh")}}
    for backend in backends:
        print(f"  orders bench: {backend}", file=sys.stderr, flush=True)
        results[backend] = run_backend(backend, dialogues, kb_dir=kb_dir)
    runs = [results[b][c] for b in backends for c in CHANNELS]
    order_p50 = [r["order_answer_p50_s"] for r in runs if r["order_answer_p50_s"] is not None]
    results["all"] = {"wrong_order_disclosures": sum(r["wrong_order_disclosures"] for r in runs),
                      "task_success_rate_min": min(r["task_success_rate"] for r in runs)}
    results["latency"] = {
        "order_p50_s": round(statistics.median(order_p50), 4) if order_p50 else None,
        "order_p95_s": max((r["order_answer_p95_s"] or 0) for r in runs),
        "kb_p50_s": round(statistics.median(r["kb_answer_p50_s"] for r in runs), 4),
        "kb_p95_s": max(r["kb_answer_p95_s"] for r in runs),
        "note": "per HTTP request on 127.0.0.1; order answers include the backend calls (fakes on loopback), "
                "/v1 ones also the replay of the conversation's earlier turns"}
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.orders", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="embedded and Shopify backends only")
    p.add_argument("--backend", nargs="*", choices=BACKENDS, help="these backends only")
    a = p.parse_args(argv)
    print(json.dumps(run(a.quick, a.backend), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
