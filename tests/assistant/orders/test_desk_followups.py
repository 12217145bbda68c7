"""Follow-ups within an order conversation: which order a request with no number is for, a policy question asked
after a verification, the words for an order that cannot be cancelled any more, and what a stateless /v1 client
keeps under its id (a restriction only: never a verification)."""

from __future__ import annotations

import pytest

from assistant.chat import ChatSession
from assistant.llm import Message
from assistant.orders.config import OrdersConfig
from assistant.orders.desk import OrderDesk
from assistant.orders.parse import new_address, parse
from assistant.orders.state import DialogueStore
from tests.assistant.orders.conftest import Clock, talk


def test_a_request_without_a_number_is_for_the_order_in_hand_not_an_earlier_verified_one(desk):
    """"Please cancel it" after asking about a second order filed a cancellation for the first, verified one."""
    replies, _ = talk(desk, "Where is order 100235?", "4321", "And order 100234?", "Please cancel it", "5678")
    status, asked, cancel, late = replies[1:]
    assert status.shown == "100235" and asked.action == "order_verify"
    assert cancel.action == "order_verify" and "100234" in cancel.text  # its own verification, first
    assert desk.requests.listing() == []
    assert late.action == "order_info" and "100234" in late.text and "no longer be cancelled" in late.text
    # the verified order is still the one meant while the conversation is about it
    (*_, done), _ = talk(desk, "Where is order 100235?", "4321", "Please cancel it")
    assert done.action == "order_request" and desk.requests.get(done.request_id).order_number == "100235"


@pytest.mark.parametrize("text", [
    "Is it possible to change the address to a different city after ordering?",
    "Can I change the delivery address to another place once the parcel has shipped?",
    "Can I change my delivery address after it has shipped?",
    "可以把地址改成别的城市吗？",
])
def test_a_question_about_changing_an_address_is_a_policy_question(text):
    p = parse(text)
    assert p.policy_question and p.intent == "" and new_address(text) == ""


@pytest.mark.parametrize("text", ["可以帮我改一下收货地址吗", "麻烦帮我修改一下收货地址可以吗？", "How do I change my address?",
                                  "我想改收货地址"])
def test_asking_for_ones_own_address_change_stays_a_request(text):
    # "可以…吗" asks politely for the change when the customer says it is theirs (帮我, my): not a policy question
    p = parse(text)
    assert p.intent == "change_address" and not p.policy_question


def test_an_address_is_taken_only_when_it_looks_like_one():
    assert new_address("Can I change the delivery address to 99 Huaihai Road, Shanghai?") == "99 Huaihai Road, Shanghai"
    assert new_address("Please change the address to Orchard Road, Singapore") == "Orchard Road, Singapore"
    assert new_address("可以把地址改成上海市静安区南京西路1000号吗？") == "上海市静安区南京西路1000号"
    assert new_address("change the address to a different city after ordering") == ""
    assert parse("Can I change the delivery address to 99 Huaihai Road, Shanghai?").intent == "change_address"


def test_a_policy_question_after_a_verification_files_nothing_and_leaves_the_waiting_request_alone(desk):
    (*_, first), session = talk(desk, "Where is order 100242?", "emma.w@example.com",
                                "Can I change the delivery address to 1 Old Road, Shanghai?")
    assert first.action == "order_request"
    questions, session = talk(desk, "Is it possible to change the address to a different city after ordering?",
                              "Can I change the delivery address to another place once the parcel has shipped?",
                              session=session)
    assert questions == [None, None]  # the knowledge base's
    assert desk.requests.get(first.request_id).details == {"address": "1 Old Road, Shanghai"}
    (real,), _ = talk(desk, "Can I change the delivery address to 99 Huaihai Road, Shanghai?", session=session)
    assert real.action == "order_request" and real.request_id == first.request_id
    assert desk.requests.get(first.request_id).details == {"address": "99 Huaihai Road, Shanghai"}
    assert len(desk.requests.listing()) == 1


def test_a_delivered_order_that_cannot_be_cancelled_is_told_so_without_a_tense(desk):
    """"…already delivered … What is possible once it arrives depends on…": it has arrived."""
    desk.policy = lambda kind, lang: None
    (_, en), _ = talk(desk, "Can I cancel my order 100237?", "tom.baker@example.com")
    assert en.text == ("Order 100237 is already delivered, so it can no longer be cancelled. Whether it can be "
                       "returned depends on our return policy; a colleague can tell you: write \"talk to a human\".")
    (_, zh), _ = talk(desk, "帮我取消订单100236", "2222")
    assert zh.text == "订单 100236 当前状态为已签收，已无法取消。能否退货以本店的退货政策为准，人工客服可以为您说明：请回复“转人工”。"


def api(desk, text: str, *earlier: str, user: str = "api-user-1"):
    """One /v1 request under the same `user`: the earlier customer turns it sends, and the new one."""
    history = []
    for said in earlier:
        history += [Message("user", said), Message("assistant", "...")]
    return desk.handle(text, ChatSession(id=user, history=history, stateless=True), "en")


def test_a_stateless_verification_expires_even_while_the_client_resends_the_factor(desk):
    asked = ("Where is my order 100234?", "anna.lee@example.com")
    assert api(desk, asked[1], asked[0]).action == "order_status"
    desk.clock.now += 20 * 60
    assert api(desk, "And the status of order 100234 now?", *asked).action == "order_status"  # in use: kept
    desk.clock.now += 20 * 60
    assert api(desk, "Is order 100234 here yet?", *asked, "And the status of order 100234 now?").action == "order_status"
    desk.clock.now += 31 * 60  # quiet for longer than orders.verified_minutes
    later = api(desk, "What's the status of order 100234?", *asked)
    assert later.action == "order_verify" and "SF1234567890" not in later.text
    assert api(desk, "anna.lee@example.com", *asked, "What's the status of order 100234?").action == "order_status"
    # the record restricts, it never grants: a new conversation under the same user verifies again
    assert api(desk, "What's the status of order 100234?").action == "order_verify"


def test_a_stateless_clients_wrong_tries_and_lock_survive_a_trimmed_history(store, engine):
    desk = OrderDesk(store, OrdersConfig(max_wrong_per_order_per_hour=50), states=DialogueStore(engine), clock=Clock())
    assert api(desk, "0001", "Where is my order 100240?", "0000").action == "order_verify"  # 2 wrong
    locked = api(desk, "0002", "Where is my order 100240?")  # the client sent only the last turns
    assert locked.action == "order_handoff"
    assert api(desk, "6666", "Where is my order 100240?").action == "order_handoff"  # the lock stays with the id
    assert api(desk, "6666", "Where is my order 100240?", user="api-user-2").action == "order_status"
    # a client that sends no `user` gets a new id on every request: no record is kept for it
    assert api(desk, "0000", "Where is my order 100240?", user="api-anon-1").action == "order_verify"
    assert desk.states.load("v1:api-anon-1") is None and desk.states.load("v1:api-user-1").locked


def test_a_stateless_clients_wrong_tries_are_forgotten_after_an_hour(store, engine):
    """The `user` may be a customer's e-mail, sent with every conversation they have: a typo now and then must not
    add up to a lock, while tries within the hour still do."""
    clock = Clock()
    desk = OrderDesk(store, OrdersConfig(max_wrong_per_order_per_hour=50), states=DialogueStore(engine), clock=clock)
    assert api(desk, "0000", "Where is my order 100240?").action == "order_verify"  # 1 wrong
    clock.now += 10 * 60
    assert api(desk, "0001", "Where is my order 100240?").action == "order_verify"  # 2 wrong within the hour
    clock.now += 61 * 60  # quiet for longer than the limits remember a wrong try
    assert api(desk, "0002", "Where is my order 100240?").action == "order_verify"  # 1 wrong again, not the 3rd
    assert api(desk, "6666", "Where is my order 100240?").action == "order_status"
    # within the hour the tries add up, as before
    for guess in ("0003", "0004"):
        api(desk, guess, "Where is my order 100240?", user="api-user-3")
    assert api(desk, "0005", "Where is my order 100240?", user="api-user-3").action == "order_handoff"


def test_a_reply_that_is_no_address_is_asked_again_not_filed_as_the_new_address(desk):
    replies, _ = talk(desk, "I want to change the delivery address of my order 100235", "wang.fang@example.cn",
                      "ok thank you", "hold on, let me check", "88 Century Avenue, Pudong, Shanghai")
    assert [r.action for r in replies[1:4]] == ["order_ask", "order_ask", "order_ask"]
    assert "new delivery address" in replies[2].text and "new delivery address" in replies[3].text
    assert replies[4].action == "order_request"
    assert [r.details for r in desk.requests.listing()] == [{"address": "88 Century Avenue, Pudong, Shanghai"}]


def test_a_second_item_of_one_order_is_a_return_request_of_its_own(desk):
    (_, first, second, again), _ = talk(
        desk, "I want to return the cotton bath mat from order 100244", "james.o@example.com",
        "I also want to return the glass storage jars from order 100244",
        "I want to return the glass storage jars from order 100244")
    assert first.action == second.action == "order_request" and first.request_id != second.request_id
    assert [r.details["item"] for r in desk.requests.listing()] == ["Cotton bath mat", "Glass storage jars"]
    assert again.request_id == second.request_id and "already" in again.text  # the same item asked twice: one


def test_a_return_of_a_cancelled_order_says_so_and_offers_nothing_it_cannot_do(desk):
    (_, cancelled), _ = talk(desk, "I want to return order 100238", "sara.k@example.com")
    assert cancelled.action == "order_info" and "nothing to return" in cancelled.text
    assert "not been delivered" not in cancelled.text and "hasn't been delivered" not in cancelled.text
    (_, early), _ = talk(desk, "I want to return my order 100242", "0123")
    assert 'write "cancel order 100242"' in early.text  # the offer names what the customer says to take it
    assert desk.requests.listing() == []


def test_an_email_given_before_the_order_number_verifies_it_when_the_number_comes(desk):
    (ask, shown), _ = talk(desk, "my email is anna.lee@example.com, where's my order?", "100234")
    assert ask.action == "order_ask" and shown.action == "order_status" and "100234" in shown.text
    (ask, wrong), _ = talk(desk, "my email is someone@example.com, where's my order?", "100234")
    assert wrong.action == "order_verify" and "attempt" in wrong.text.lower()  # tried, and failed once


def test_a_status_question_naming_two_orders_answers_one_and_names_the_other(desk):
    (_, shown), _ = talk(desk, "Where are my orders 100234 and 100235?", "anna.lee@example.com")
    assert shown.action == "order_status" and shown.shown == "100234"
    assert "one order at a time" in shown.text and "100235" in shown.text
    from assistant.orders.parse import other_numbers

    assert other_numbers("Where is my order 100234? My phone is 13812345678", "100234") == []  # a phone: no order
    assert other_numbers("订单100234和100235到哪了", "100234") == ["100235"]


def test_full_width_digits_from_a_chinese_input_method_are_the_same_number_and_phone(desk):
    """"１００２３４" / "５６７８" (an input method in full-width mode) was another order, and a wrong try."""
    (ask, shown), _ = talk(desk, "我的订单１００２３４到哪了", "５６７８")
    assert ask.action == "order_verify" and "订单 100234 " in ask.text
    assert shown.action == "order_status" and shown.shown == "100234"
    (_, tail), _ = talk(desk, "订单号：＃１００２３６ 到哪了", "手机尾号２２２２")
    assert tail.action == "order_status" and tail.shown == "100236"


def test_cancel_followed_by_the_number_is_a_cancellation_not_a_status_question(desk):
    """"cancel #100235" showed the order's status; "please cancel 100235" went to the knowledge base."""
    for text in ("cancel #100235", "please cancel 100235", "取消100235"):
        (_, done), _ = talk(desk, text, "4321")
        assert done.action == "order_request" and done.request_id is not None, text
    assert [r.kind for r in desk.requests.listing()] == ["cancel"]  # asked three times: one request
    assert parse("I cancelled 100235 last week, where is my refund?").intent != "cancel"


def test_the_item_to_return_named_in_the_plural_is_found(desk):
    """"the towels" for the "Bamboo bath towel set" was asked for again and again."""
    (_, which, done), _ = talk(desk, "I want to return something from order 100240", "6666", "the towels")
    assert which.action == "order_ask" and done.action == "order_request"
    assert desk.requests.get(done.request_id).details["item"] == "Bamboo bath towel set"


def test_a_prefixed_order_number_given_when_asked_is_looked_up_whole(desk):
    """Asked for the number, "SO-1001" was looked up as order 1001 (someone else's) and "AH1002" not at all."""
    from assistant.orders.model import Order, OrderItem

    desk.backend.save([Order("SO-1001", "processing", email="kim@example.com", items=[OrderItem("Teapot")]),
                       Order("1001", "processing", email="other@example.com"),
                       Order("AH1002", "processing", email="kim@example.com", items=[OrderItem("Kettle")])])
    for number in ("SO-1001", "AH1002"):
        (_, verify, shown), _ = talk(desk, "Where is my order?", number, "kim@example.com")
        assert number in verify.text and shown.action == "order_status" and shown.shown == number
    assert parse("I want to return my RTX4090").number == ""  # a model name in a sentence is no order number
    # asked for the number, a plain one beside a product's model code is the order's; a phone is no order number
    from assistant.orders.parse import find_number

    assert find_number("100235, the lamp model AL200", asked=True) == "100235"
    assert find_number("我的是100235，买的是GX500台灯", asked=True) == "100235"
    assert find_number("tel13800138000", asked=True) == ""
    # a number typed in groups is one number ("order 100 234" was order 100); a price after it is no part of it
    assert find_number("where is order 100 234?") == "100234" and find_number("订单 100 234 到哪了") == "100234"
    assert find_number("订单 100235 200元") == "100235"
