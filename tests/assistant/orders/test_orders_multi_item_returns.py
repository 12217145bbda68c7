"""A return of several items in one message ("the mug and the teapot", "杯子和茶壶"): each item the order has is
matched and gets its own request (each approved and carried out on its own), and the one reply names them all.
It asked "which item?" (the words matched two items equally), and "退货：订单…里的…" was not read as a return."""

from __future__ import annotations

import pytest

from assistant.handoff import HandoffQueue
from assistant.orders.approvals import OrderRequests
from assistant.orders.config import OrdersConfig
from assistant.orders.desk import OrderDesk
from assistant.orders.model import Order, OrderItem, Shipment
from assistant.orders.parse import item_phrases, parse
from assistant.orders.state import DialogueStore
from tests.assistant.orders.conftest import POLICY, Clock, talk

DELIVERED = [Shipment(carrier="DPD", tracking_number="DPD0300", delivered_at="2026-01-02")]
TEA_SET = Order("100300", status="delivered", email="kim@example.com", phone="+44 20 7946 0300", shipments=DELIVERED,
                items=[OrderItem("Stoneware mug", 2), OrderItem("Cast iron teapot", 1), OrderItem("Bamboo tray", 1)])
ZH_TEA_SET = Order("100301", status="delivered", email="wu@example.cn", phone="13800000301", shipments=DELIVERED,
                   items=[OrderItem("陶瓷杯子", 2), OrderItem("紫砂茶壶", 1), OrderItem("竹托盘", 1)])
NO_LINES = Order("100302", status="delivered", email="lee@example.com", phone="+1 555 0302", shipments=DELIVERED)


@pytest.fixture
def engine(tmp_path):
    from assistant.storage import get_engine

    return get_engine(url=f"sqlite:///{tmp_path / 'orders.db'}")


@pytest.fixture
def store(engine):
    from assistant.orders.embedded import EmbeddedOrders

    store = EmbeddedOrders(engine)
    store.save([TEA_SET, ZH_TEA_SET, NO_LINES])
    return store


@pytest.fixture
def desk(store, engine):
    return OrderDesk(store, OrdersConfig(), states=DialogueStore(engine), requests=OrderRequests(engine),
                     handoff=HandoffQueue(engine), policy=lambda kind, lang: POLICY.get(kind), clock=Clock())


def _returns(desk, number: str) -> dict[str, int]:
    """{item: quantity} of the return requests waiting for `number`."""
    found = [r for r in desk.requests.for_order(number) if r.kind == "return"]
    return {r.details["item"]: r.details["quantity"] for r in found}


def test_two_items_in_one_message_make_a_request_each_and_the_reply_names_both(desk):
    (asked, done), _ = talk(desk, "I want to return the mug and the teapot from order 100300", "kim@example.com")
    assert asked.action == "order_verify"
    assert done.action == "order_request" and done.citations and "30 days" in done.text
    assert _returns(desk, "100300") == {"Stoneware mug": 2, "Cast iron teapot": 1}
    assert "Items: 2 × Stoneware mug, 1 × Cast iron teapot." in done.text and "Bamboo tray" not in done.text
    requests = desk.requests.for_order("100300")
    assert f"(request {requests[0].id}, {requests[1].id})" in done.text
    # each has a ticket of its own for the agent who decides on it, with the conversation
    tickets = {r.ticket_id for r in requests}
    assert None not in tickets and len(tickets) == 2 and done.ticket_id in tickets
    assert desk.handoff.get(requests[1].ticket_id).transcript[-1]["content"] == "kim@example.com"


def test_a_chinese_return_of_two_items(desk):
    (asked, done), _ = talk(desk, "退货：订单100301里的杯子和茶壶", "0301")
    assert asked.action == "order_verify"  # read as a return, not a status question
    assert done.action == "order_request" and done.text.startswith("已将订单 100301 的退货申请提交给工作人员")
    assert "商品：2 × 陶瓷杯子、1 × 紫砂茶壶。" in done.text
    assert _returns(desk, "100301") == {"陶瓷杯子": 2, "紫砂茶壶": 1}
    ids = [r.id for r in desk.requests.for_order("100301")]
    assert f"（申请编号 {ids[0]}、{ids[1]}）" in done.text


@pytest.mark.parametrize("text, number, factor, items", [
    ("I'd like to return the mug, the teapot and the tray from #100300", "100300", "kim@example.com",
     {"Stoneware mug": 2, "Cast iron teapot": 1, "Bamboo tray": 1}),
    ("Please send the mug and the teapot back, order 100300", "100300", "kim@example.com",
     {"Stoneware mug": 2, "Cast iron teapot": 1}),
    ("Return the mugs & teapot please, order 100300", "100300", "0300", {"Stoneware mug": 2, "Cast iron teapot": 1}),
    ("I want to return the teapot and the tray from order 100300, they arrived chipped", "100300", "0300",
     {"Cast iron teapot": 1, "Bamboo tray": 1}),
    ("I'd like to return the mug as well as the tray from order 100300, as both are chipped", "100300", "0300",
     {"Stoneware mug": 2, "Bamboo tray": 1}),
    ("我想把订单100301里的杯子和茶壶退掉", "100301", "0301", {"陶瓷杯子": 2, "紫砂茶壶": 1}),
    ("订单100301，我要退杯子跟茶壶", "100301", "0301", {"陶瓷杯子": 2, "紫砂茶壶": 1}),
    ("我想退订单100301的茶壶和托盘", "100301", "0301", {"紫砂茶壶": 1, "竹托盘": 1}),
    ("订单100301的杯子、茶壶要退货，因为有破损", "100301", "0301", {"陶瓷杯子": 2, "紫砂茶壶": 1}),
])
def test_other_ways_of_listing_the_items(desk, text, number, factor, items):
    (_, done), _ = talk(desk, text, factor)
    assert done.action == "order_request"
    assert _returns(desk, number) == items


@pytest.mark.parametrize("answer", ["the mug and the teapot", "1 and 2", "the first and the second", "mug, teapot"])
def test_the_answer_to_which_item_may_name_two(desk, answer):
    (_, which, done), _ = talk(desk, "I want to return something from order 100300", "kim@example.com", answer)
    assert which.action == "order_ask" and "1. Stoneware mug" in which.text
    assert done.action == "order_request"
    assert _returns(desk, "100300") == {"Stoneware mug": 2, "Cast iron teapot": 1}


def test_an_item_the_order_does_not_have_is_asked_about_not_dropped(desk):
    (_, which), _ = talk(desk, "I want to return the mug and the spaceship from order 100300", "kim@example.com")
    assert which.action == "order_ask" and "Which item of order 100300" in which.text
    assert desk.requests.for_order("100300") == []
    (_, which), _ = talk(desk, "我要退订单100301的杯子和飞船", "0301")
    assert which.action == "order_ask" and desk.requests.for_order("100301") == []


def test_an_order_without_line_items_gets_the_customers_words_for_each(desk):
    (_, done), _ = talk(desk, "I want to return the mug and the teapot from order 100302", "lee@example.com")
    assert done.action == "order_request"
    assert _returns(desk, "100302") == {"mug": 1, "teapot": 1}
    assert "mug" in done.text and "teapot" in done.text


def test_asking_again_finds_the_waiting_requests_and_a_new_item_is_added(desk):
    (_, first), session = talk(desk, "I want to return the mug and the teapot from order 100300", "kim@example.com")
    (again,), _ = talk(desk, "I want to return the mug and the teapot from order 100300", session=session)
    assert again.text.startswith("Your return request for order 100300 is already with our team")
    assert len(desk.requests.for_order("100300")) == 2
    (more,), _ = talk(desk, "I want to return the teapot and the tray from order 100300", session=session)
    assert more.text.startswith("I've sent your return request for order 100300 to our team")
    assert "is already with our team" in more.text  # the teapot: waiting already, said so
    assert "Items: 1 × Cast iron teapot, 1 × Bamboo tray." in more.text
    assert _returns(desk, "100300") == {"Stoneware mug": 2, "Cast iron teapot": 1, "Bamboo tray": 1}


def test_each_item_is_approved_on_its_own(desk, store):
    talk(desk, "I want to return the mug and the teapot from order 100300", "kim@example.com")
    mug, teapot = desk.requests.for_order("100300")
    desk.requests.approve(mug.id, "alice", store)
    assert [(r.item, r.quantity) for r in store.find("100300").returns] == [("Stoneware mug", 2)]
    assert desk.requests.get(teapot.id).status == "pending"


def test_a_single_item_return_names_the_item_it_filed(desk):
    (_, done), _ = talk(desk, "I want to return the teapot from order 100300", "kim@example.com")
    assert _returns(desk, "100300") == {"Cast iron teapot": 1} and "Items: 1 × Cast iron teapot." in done.text


@pytest.mark.parametrize("text, words", [
    ("I want to return the mug and the teapot from order 100234", ["mug", "teapot"]),
    ("退货：订单100234里的杯子和茶壶", ["杯子", "茶壶"]),
    ("Can I return both the mug and the teapot? Order 100234", ["mug", "teapot"]),
    ("把杯子和茶壶退了", ["杯子", "茶壶"]),
    ("记忆棉枕头和纯棉床单我要退", ["记忆棉枕头", "纯棉床单"]),
    ("I'd like to return an item", []),
    ("我要退货，订单号100241", []),
    ("The bath mat from order 100244 is the wrong size, I want to send it back", []),
])
def test_the_words_a_return_names_its_items_by(text, words):
    assert parse(text).intent == "return"
    assert item_phrases(text) == words


@pytest.mark.parametrize("text", ["退货政策是什么？", "可以退货吗", "我想退出登录", "What is your return policy?"])
def test_questions_about_returns_are_still_not_requests(text):
    assert parse(text).intent == ""


def test_an_item_named_only_beside_the_verification_is_the_one_returned(desk):
    (asked, done), _ = talk(desk, "I want to return something from order 100300", "kim@example.com, the teapot")
    assert asked.action == "order_verify"
    assert done.action == "order_request"
    assert _returns(desk, "100300") == {"Cast iron teapot": 1}


TEA_AND_TIN = Order("100303", status="delivered", shipments=DELIVERED,
                    items=[OrderItem("Stoneware mug", 2), OrderItem("Cast iron teapot", 1), OrderItem("Black tea tin", 1)])


@pytest.mark.parametrize("text, items", [
    # a clause of its own after the list: "the tea" was fine, nothing to return
    ("return the mug, the tea was fine", ["Stoneware mug"]),
    # another verb ends the list: the teapot is to be exchanged, a refund is no item
    ("return the mug and exchange the teapot", ["Stoneware mug"]),
    ("I want to return the mug and get a refund", ["Stoneware mug"]),
    # one item described in two words is not two items: asked rather than the tea tin filed as well
    ("I want to return the black and white mug", []),
    ("I'd like to return the mugs and the tea tin", ["Stoneware mug", "Black tea tin"]),
])
def test_only_the_items_the_customer_returns_are_filed(text, items):
    from assistant.orders.wording import choose_items

    assert choose_items(TEA_AND_TIN, text) == items
