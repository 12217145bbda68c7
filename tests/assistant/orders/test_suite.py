"""The scripted order dialogues (bench/orders.py) through the whole app over HTTP: no order detail reaches
anyone who has not verified that order, on every backend and both channels; and the bench's own contract."""

from __future__ import annotations

import pytest

import bench.orders as suite


def test_the_dialogue_file_covers_every_kind_of_order_task():
    dialogues = suite.load_dialogues()
    assert len(dialogues) >= 60 and len({d["id"] for d in dialogues}) == len(dialogues)
    assert {d["lang"] for d in dialogues} == {"en", "zh"}
    assert {"status", "request", "locked", "refused", "handoff", "kb"} <= {d["expect"] for d in dialogues}
    assert {d["request"] for d in dialogues if d.get("request")} == {"cancel", "change_address", "return"}


def test_quick_run_has_no_disclosures_and_fills_the_headlines(secrets):
    result = suite.run(quick=True)
    assert result["all"]["wrong_order_disclosures"] == 0
    for backend in ("embedded", "shopify"):
        for channel in suite.CHANNELS:
            run = result[backend][channel]
            assert run["wrong_order_disclosures"] == 0, run["failed"]
            assert run["requests_created"] == run["requests_expected"] and run["unexpected_requests"] == 0
            assert run["task_success_rate"] == 1.0, run["failed"]
    from bench.__main__ import _flatten

    flat = _flatten(result)
    for _label, ours, base, _goal in suite.HEADLINES:
        if ours.split(".")[0] in ("embedded", "shopify", "all", "latency"):
            assert ours in flat and (base is None or base in flat)


@pytest.mark.parametrize("backend, channel", [("woocommerce", "v1"), ("webhook", "widget")])
def test_the_other_backends(secrets, backend, channel):
    run = suite.run_backend(backend, suite.load_dialogues(), channels=(channel,))[channel]
    assert run["wrong_order_disclosures"] == 0, run["failed"]
    assert run["task_success_rate"] == 1.0, run["failed"]


def test_the_disclosure_check_catches_a_leak():
    """The judge itself: a reply quoting another order's tracking number, or this order's before verification."""
    from assistant.shop import Shop

    orders = {o.number: o for o in suite.dataset_orders()}
    conv = {"id": "t", "lang": "en", "order": "100234", "verify_turn": 2, "expect": "status",
            "turns": ["Where is my order 100234?", "anna.lee@example.com"]}
    early = [{"text": "Shipped: SF1234567890", "route": {"action": "order_verify"}, "handoff": False},
             {"text": "ok", "route": {"action": "order_status"}, "handoff": False}]
    other = [{"text": "Please verify", "route": {"action": "order_verify"}, "handoff": False},
             {"text": "Order 100240: YT5556667778", "route": {"action": "order_status"}, "handoff": False}]
    for replies in (early, other):
        verdict = suite.judge(conv, replies, [], orders, "embedded", Shop())
        assert verdict["leaks"] and not verdict["ok"]
