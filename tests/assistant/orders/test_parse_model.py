"""Reading order messages (intents, loosely typed numbers, factors) and the record's own checks."""

from __future__ import annotations

import pytest

from assistant.orders.model import Order, clean_number, factor_matches, normalise_status
from assistant.orders.parse import find_number, new_address, parse


@pytest.mark.parametrize("text, number", [
    ("Where is my order 100234?", "100234"), ("#100234", "100234"), ("订单号100234", "100234"),
    ("订单号：100234", "100234"), ("order no. 100234", "100234"), ("order number is 100234", "100234"),
    ("单号 100245", "100245"), ("Track order #1001", "1001"), ("订单 #AB1001 的状态", "AB1001"),
])
def test_loosely_typed_order_numbers(text, number):
    assert find_number(text) == number


def test_numbers_that_are_not_order_numbers():
    assert find_number("my email is a100234@example.com") == ""
    assert find_number("phone 13812345678") == ""
    assert find_number("100234") == "" and find_number("100234", bare=True) == "100234"
    assert parse("5678", awaiting="factor").number == "" and parse("5678", awaiting="factor").factor == "5678"
    assert parse("1001", awaiting="number").number == "1001"  # small shops have 4-digit numbers


@pytest.mark.parametrize("text, intent", [
    ("Where is my order?", "status"), ("Has my order shipped yet?", "status"), ("我的快递到哪了", "status"),
    ("订单100245发货了吗", "status"), ("订单号 100234 到哪了？", "status"), ("快递单号：SF1234567890 还没到", "status"),
    ("Hi, can you track my package please?", "status"),
    ("I want to cancel my order", "cancel"), ("Can I cancel my order 100234?", "cancel"), ("我要取消订单", "cancel"),
    ("Please change the delivery address of order 100240", "change_address"), ("地址写错了", "change_address"),
    ("I'd like to return an item", "return"), ("我想退货", "return"), ("我要退货，订单号100241", "return"),
])
def test_order_intents(text, intent):
    assert parse(text).intent == intent


@pytest.mark.parametrize("text", ["What is your return policy?", "退货政策是什么？", "How do I cancel an order?",
                                  "可以取消订单吗？", "可以退货吗？", "How long does delivery take?"])
def test_policy_questions_are_left_to_the_knowledge_base(text):
    assert parse(text).intent == ""


@pytest.mark.parametrize("text, factor", [
    ("anna.lee@example.com", "anna.lee@example.com"), ("the last 4 digits are 5678", "5678"),
    ("手机尾号8899", "8899"), ("后四位是7777", "7777"), ("my phone is 138 1234 5678", "5678"),
    ("我的手机号是13233334444", "4444"), ("phone ending in 2222", "2222"),
])
def test_factors(text, factor):
    assert parse(text).factor == factor


def test_stop_no_number_and_new_address():
    assert parse("never mind").stop and parse("算了，不用了").stop
    assert parse("I don't know my order number").no_number and parse("我忘了订单号").no_number
    assert new_address("change the address of order 100240 to 9 Orchard Road, Singapore") == "9 Orchard Road, Singapore"
    assert new_address("帮我改成南京市玄武区中山路 18 号") == "南京市玄武区中山路 18 号"
    assert new_address("I need to change my address") == ""
    # the question or courtesy closing the message is no part of the address
    assert new_address("Can I change the delivery address to 99 Huaihai Road, Shanghai?") == "99 Huaihai Road, Shanghai"
    assert new_address("可以把地址改成上海市静安区南京西路1000号吗？") == "上海市静安区南京西路1000号"


def test_an_order_number_between_the_verb_and_the_address_in_chinese():
    """"修改订单5001的收货地址" was read as a status question: the order number stood between 修改 and 地址."""
    p = parse("修改订单5001的收货地址")
    assert (p.intent, p.number) == ("change_address", "5001")
    assert parse("我想更改一下订单号100240的配送地址").intent == "change_address"


def test_a_change_of_address_that_names_the_new_address_is_no_policy_question():
    """"Can I change the delivery address to …?" went to the knowledge base: asking with the address in hand is a
    request about the customer's order; without one it is still a question about the policy."""
    p = parse("Can I change the delivery address to 99 Huaihai Road, Shanghai?")
    assert p.intent == "change_address" and not p.policy_question and p.number == ""
    assert parse("可以把地址改成上海市静安区南京西路1000号吗？").intent == "change_address"
    assert parse("Can I change the delivery address?").policy_question
    assert parse("可以修改收货地址吗？").policy_question


def test_factor_matching_is_exact_and_needs_the_kind_on_record():
    order = Order("100234", email="Anna.Lee@example.com", phone="+86 138 1234 5678", extra_phones=["010-5555 0001"])
    assert factor_matches(order, "anna.lee@example.com ")
    assert factor_matches(order, "5678") and factor_matches(order, "0001")
    assert not factor_matches(order, "anna@example.com") and not factor_matches(order, "1234")
    assert not factor_matches(order, "") and not factor_matches(order, "678")
    assert not factor_matches(Order("1"), "0000") and not factor_matches(Order("1"), "a@b.co")


def test_status_words_and_numbers():
    assert normalise_status("wc-completed") == "shipped" and normalise_status("fulfilled") == "shipped"
    assert normalise_status("On hold") == "on_hold" and normalise_status("已签收") == "delivered"
    assert normalise_status("something new") == "unknown"
    assert clean_number(" #1001 ") == "1001"


def test_sending_the_order_to_an_address_is_an_address_change():
    """"Please send order 5001 to 12 Elm Road" was no order request at all: only "change … address" words counted."""
    p = parse("Please send order 5001 to 12 Elm Road, Springfield")
    assert (p.intent, p.number) == ("change_address", "5001") and new_address(
        "Please send order 5001 to 12 Elm Road, Springfield") == "12 Elm Road, Springfield"
    p = parse("请把订单5001寄到南京市玄武区中山路18号")
    assert (p.intent, p.number) == ("change_address", "5001")
    assert new_address("请把订单5001寄到南京市玄武区中山路18号") == "南京市玄武区中山路18号"
    assert parse("Can you ship my order to 5 King Street instead?").intent == "change_address"
    # a place that is no address, a delivery-area question, or a return stays what it was
    assert parse("Do you ship to Canada?").intent == ""
    assert parse("Do you deliver to 100 Main St?").intent == ""
    assert parse("I want to send it back to you").intent == "return"
    # questions about sending, and places that are no street, are not requests to change anything
    for question in ("Can you send it to me within 2 days?", "How long does it take to ship it to Beijing 100000?",
                     "How much to ship the order to zip 10001?", "Did you ship my order to 12 Elm Road?",
                     "订单寄到北京市朝阳区建国路88号要几天？", "订单寄到上海市浦东新区要多少运费？"):
        assert parse(question).intent != "change_address", question
