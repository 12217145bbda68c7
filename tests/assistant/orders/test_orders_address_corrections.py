"""A customer corrects the new delivery address they gave ("Actually make it …", "sorry, I meant …", "不对，改成……"):
the address change waiting for approval carries the corrected address, and the reply says so. The correction was
ignored (handed to the knowledge base) once the request had been made, and taken whole ("Actually make it 11 …")
when it answered the desk's question."""

from __future__ import annotations

import pytest

from assistant.chat import ChatSession
from assistant.handoff import HandoffQueue
from assistant.llm import Message
from assistant.orders.approvals import OrderRequests
from assistant.orders.config import OrdersConfig
from assistant.orders.desk import OrderDesk
from assistant.orders.parse import parse, spoken_address
from assistant.orders.state import DialogueStore
from tests.assistant.orders.conftest import Clock, talk


@pytest.fixture
def desk(tmp_path):
    from assistant.orders.embedded import EmbeddedOrders
    from assistant.storage import get_engine
    from bench.orders import dataset_orders

    engine = get_engine(url=f"sqlite:///{tmp_path / 'orders.db'}")
    store = EmbeddedOrders(engine)
    store.save(dataset_orders())
    return OrderDesk(store, OrdersConfig(), states=DialogueStore(engine), requests=OrderRequests(engine),
                     handoff=HandoffQueue(engine), clock=Clock())


def _address_change(desk, first_address="1 Old Road, Shanghai"):
    """100242 (processing) with an address change filed for `first_address`: (that reply, the session)."""
    (*_, filed), session = talk(desk, "I need to change my shipping address", "100242", "emma.w@example.com",
                                first_address)
    assert filed.action == "order_request"
    assert desk.requests.get(filed.request_id).details == {"address": first_address}
    return filed, session


def test_a_correction_after_the_request_replaces_the_address_and_says_so(desk):
    filed, session = _address_change(desk)
    (fixed,), _ = talk(desk, "Actually make it 11 Downing Street, London SW1A 2AA", session=session)
    assert fixed is not None and fixed.action == "order_request" and fixed.request_id == filed.request_id
    assert fixed.text.startswith("I've updated your address change request for order 100242")
    assert "11 Downing Street, London SW1A 2AA" in fixed.text
    request = desk.requests.get(filed.request_id)
    assert request.details == {"address": "11 Downing Street, London SW1A 2AA"}
    assert len(desk.requests.listing()) == 1  # the same request, not a second one
    assert [a.action for a in desk.requests.audit(request.id)] == ["requested", "updated"]
    ticket = desk.handoff.get(filed.ticket_id)  # the agent reads the correction on the request's ticket
    assert fixed.ticket_id == filed.ticket_id
    assert ticket.transcript[-1]["content"] == "Actually make it 11 Downing Street, London SW1A 2AA"


@pytest.mark.parametrize("text, address", [
    ("sorry, I meant 5 Marina Boulevard, Singapore", "5 Marina Boulevard, Singapore"),
    ("no wait, it should be 77 Fuxing Road, Shanghai", "77 Fuxing Road, Shanghai"),
    ("Oops, make that 12 Elm Road, Springfield instead", "12 Elm Road, Springfield"),
    ("my mistake: it's Flat 2, 3 Baker Street, London", "Flat 2, 3 Baker Street, London"),
    ("Not 1 Old Road but 2 New Road, Shanghai", "2 New Road, Shanghai"),
    ("Sorry, the address is wrong, it should be 4 Queen Street, Edinburgh.", "4 Queen Street, Edinburgh"),
    ("不对，改成上海市徐汇区漕溪北路88号", "上海市徐汇区漕溪北路88号"),
    ("应该是上海市静安区南京西路1000号", "上海市静安区南京西路1000号"),
    ("抱歉，我写错了，应该是北京市朝阳区建国路88号", "北京市朝阳区建国路88号"),
    ("不是老地址，是杭州市西湖区文三路90号", "杭州市西湖区文三路90号"),
    ("地址不对，应该是广州市天河区体育西路1号", "广州市天河区体育西路1号"),
    ("Could you make it 11 Downing Street instead?", "11 Downing Street"),
    ("hmm, sorry — Flat 3, 11 Downing Street, London", "Flat 3, 11 Downing Street, London"),
    ("能不能改成上海市徐汇区漕溪北路88号？", "上海市徐汇区漕溪北路88号"),
])
def test_corrections_in_either_language_update_the_waiting_request(desk, text, address):
    filed, session = _address_change(desk)
    (fixed,), _ = talk(desk, text, session=session)
    assert fixed is not None and fixed.action == "order_request" and fixed.request_id == filed.request_id
    assert address in fixed.text
    assert desk.requests.get(filed.request_id).details == {"address": address}
    assert len(desk.requests.listing()) == 1


def test_a_chinese_correction_gets_a_chinese_reply(desk):
    (_, _, first, fixed), _ = talk(desk, "修改订单100240的收货地址", "6666", "上海市静安区南京西路1000号",
                                   "不对，改成上海市徐汇区漕溪北路88号")
    assert first.action == "order_request" and fixed.request_id == first.request_id
    assert fixed.text.startswith("已更新订单 100240 的修改地址申请") and "新地址：上海市徐汇区漕溪北路88号" in fixed.text
    assert desk.requests.get(first.request_id).details == {"address": "上海市徐汇区漕溪北路88号"}


def test_a_correction_as_the_answer_to_which_address_keeps_only_the_address(desk):
    """"What's the new delivery address?" answered "Actually make it …" filed "Actually make it …" as the address."""
    replies, _ = talk(desk, "I need to change my shipping address", "100242", "emma.w@example.com",
                      "Actually make it 11 Downing Street, London SW1A 2AA")
    assert replies[2].action == "order_ask"
    done = replies[3]
    assert desk.requests.get(done.request_id).details == {"address": "11 Downing Street, London SW1A 2AA"}
    (*_, zh), _ = talk(desk, "修改订单100240的收货地址", "6666", "不好意思，应该是上海市徐汇区漕溪北路88号吧")
    assert desk.requests.get(zh.request_id).details == {"address": "上海市徐汇区漕溪北路88号"}


def test_a_correction_before_the_verification_replaces_the_address_given_first(desk):
    asked, fixed, done = talk(desk, "Please change the address of order 100242 to 1 Old Road, Shanghai",
                              "sorry, I meant 2 New Road, Shanghai", "emma.w@example.com")[0]
    assert asked.action == "order_verify" and fixed.action == "order_verify"  # still verified first
    assert done.action == "order_request"
    assert desk.requests.get(done.request_id).details == {"address": "2 New Road, Shanghai"}
    assert len(desk.requests.listing()) == 1


def test_a_correction_while_the_desk_asks_which_order_is_kept_for_the_order_named(desk):
    replies, _ = talk(desk, "Where is order 100234?", "5678", "Where is order 100245?", "4444",
                      "Can I change the delivery address to 5 Marina Boulevard, Singapore?",
                      "no wait, it should be 7 Marina Boulevard, Singapore", "100234")
    which, again, done = replies[4:]
    assert which.text == again.text == "Which order is this about: 100234 or 100245?"
    assert desk.requests.get(done.request_id).order_number == "100234"
    assert desk.requests.get(done.request_id).details == {"address": "7 Marina Boulevard, Singapore"}


def test_a_stateless_clients_correction_updates_the_request_its_history_made(desk):
    earlier = ["I need to change my shipping address", "100242", "emma.w@example.com", "1 Old Road, Shanghai"]
    history = []
    for said in earlier:
        history += [Message("user", said), Message("assistant", "...")]
    filed = desk.handle(earlier[-1], ChatSession(id="api-1", history=history[:-2], stateless=True), "en")
    fixed = desk.handle("Actually make it 11 Downing Street, London", ChatSession(id="api-1", history=history,
                                                                                  stateless=True), "en")
    assert fixed.action == "order_request" and fixed.request_id == filed.request_id
    assert desk.requests.get(filed.request_id).details == {"address": "11 Downing Street, London"}


def test_what_is_no_correction_of_the_address_leaves_the_request_alone(desk):
    filed, session = _address_change(desk)
    replies, session = talk(desk, "Wait, is 11 Downing Street in your delivery area?", "Sorry, thanks a lot!",
                            "Sorry, Do you deliver to 11 Downing Street?", "不对，你们能送到上海市徐汇区漕溪北路88号吗？",
                            "Actually, that's all", session=session)
    assert replies == [None] * 5  # the knowledge base's / small talk
    assert desk.requests.get(filed.request_id).details == {"address": "1 Old Road, Shanghai"}
    # another order named in a "sorry, I meant …" is about that order, verified first: not an address
    (other,), _ = talk(desk, "Sorry, I meant order 100240", session=session)
    assert other.action == "order_verify" and "100240" in other.text
    assert desk.requests.get(filed.request_id).details == {"address": "1 Old Road, Shanghai"}
    # with no address change in the conversation, the words alone are not an order matter
    assert desk.handle("Actually make it 11 Downing Street, London", ChatSession(), "en") is None
    # nor after a return: only an address change is corrected by an address
    (*_, returned, after), _ = talk(desk, "I want to return the glass storage jars from order 100244",
                                    "james.o@example.com", "Actually make it 11 Downing Street, London")
    assert returned.action == "order_request" and after is None


@pytest.mark.parametrize("text, address, fixed", [
    ("Actually make it 11 Downing Street, London SW1A 2AA", "11 Downing Street, London SW1A 2AA", True),
    ("It's 5 Elm Road, thanks", "5 Elm Road", False),
    ("No. 88 Jianguo Road, Beijing", "No. 88 Jianguo Road, Beijing", False),  # "No." is the house's number
    ("其实我是说杭州市西湖区文三路 90 号吧", "杭州市西湖区文三路 90 号", True),
    ("改为广州市天河区体育西路 1 号", "广州市天河区体育西路 1 号", True),
    ("sorry I meant 100235", "", True),  # digits alone: an order number, not an address
    ("wait is 11 downing street in your area", "", True),
    ("ok thank you", "", False),
])
def test_the_address_a_message_gives(text, address, fixed):
    assert spoken_address(text) == (address, fixed)


def test_a_corrected_addresss_digits_are_no_order_number():
    p = parse("no wait, it should be 1200 Century Avenue, Pudong, Shanghai 200120")
    assert p.correction and p.address == "1200 Century Avenue, Pudong, Shanghai 200120" and p.number == ""
