"""The order desk's dialogue, step by step on the embedded store: verification before any detail, limits on
guessing, requests instead of actions, hand-off when the system fails, the stateless /v1 replay."""

from __future__ import annotations

from assistant.chat import ChatSession
from assistant.citations import Citation
from assistant.errors import StorageError
from assistant.llm import Message
from assistant.orders.approvals import OrderRequests
from assistant.orders.config import OrdersConfig
from assistant.orders.desk import OrderDesk
from assistant.orders.state import DialogueStore
from tests.assistant.orders.conftest import Clock, talk


def test_status_after_verification_only(desk):
    (ask, verify, status), _ = talk(desk, "Where is my order?", "#100234", "anna.lee@example.com")
    assert ask.action == "order_ask" and "order number" in ask.text
    assert verify.action == "order_verify" and "SF1234567890" not in verify.text
    assert status.action == "order_status" and status.shown == "100234"
    for fact in ("shipped", "SF Express", "SF1234567890", "2026-11-08", "1 × Linen duvet cover", "Oak side table"):
        assert fact in status.text
    assert "anna" not in status.text and "Century Avenue" not in status.text  # contact and address stay hidden


def test_chinese_and_the_conversation_language(desk):
    (verify, status), _ = talk(desk, "我的订单100236到哪了", "2222")  # "2222" alone says no language
    assert verify.text.startswith("为保护您的信息安全")
    assert "已签收" in status.text and "顺丰速运" in status.text and "2026-10-23" in status.text
    (_, status), _ = talk(desk, "帮我查一下订单100245", "liu.yang@example.cn")  # the pipeline says "en" for it
    assert status.text.startswith("订单 100245")  # an e-mail is no sign of English


def test_one_message_with_everything(desk):
    (status,), _ = talk(desk, "Tracking info for order 100244 please, phone ending in 2222")
    assert status.action == "order_status" and "4455667788" in status.text


def test_wrong_factor_and_unknown_order_get_the_same_answer(desk):
    (_, wrong), _ = talk(desk, "Where is my order 100234?", "mike.chen@example.com")
    (_, unknown), _ = talk(desk, "Where is my order 100299?", "mike.chen@example.com")
    assert wrong.action == unknown.action == "order_verify"
    assert wrong.text.replace("100234", "N") == unknown.text.replace("100299", "N")
    assert "YT5556667778" not in wrong.text  # the factor's own order is not shown either


def test_three_wrong_tries_lock_the_conversation_and_hand_off(desk):
    replies, session = talk(desk, "Where is my order 100237?", "1111", "2222", "3333", "tom.baker@example.com")
    assert [r.action for r in replies[1:3]] == ["order_verify", "order_verify"]
    assert "attempts left: 1" in replies[2].text
    locked, after = replies[3], replies[4]
    assert locked.action == "order_handoff" and locked.handoff and locked.ticket_id is not None
    assert after.action == "order_handoff" and "1Z999AA10123456784" not in after.text  # the right one, too late
    ticket = desk.handoff.get(locked.ticket_id)
    assert ticket.intent == "order_status" and "wrong verifications" in ticket.reasons[0]


def test_guessing_one_order_across_conversations_is_limited(store, engine):
    desk = OrderDesk(store, OrdersConfig(max_wrong_per_order_per_hour=4), states=DialogueStore(engine),
                     clock=Clock())
    for guesses in (("0000", "0001"), ("0002", "0003")):  # two "customers", two wrong tries each
        talk(desk, "Where is my order 100234?", *guesses)
    (_, honest), _ = talk(desk, "Where is my order 100234?", "anna.lee@example.com")
    assert honest.action == "order_handoff" and "SF1234567890" not in honest.text
    desk.clock.now += 3601  # an hour later the window has passed
    (_, later), _ = talk(desk, "Where is my order 100234?", "anna.lee@example.com")
    assert later.action == "order_status"


def test_per_client_address_limit_when_the_web_layer_says_it(store, engine):
    desk = OrderDesk(store, OrdersConfig(max_wrong_per_client_per_hour=2), states=DialogueStore(engine))
    for number in ("100234", "100240"):
        session = ChatSession()
        desk.note_client(session.id, "203.0.113.9")
        talk(desk, f"Where is my order {number}?", "0000", session=session)
    session = ChatSession()
    desk.note_client(session.id, "203.0.113.9")
    (_, third), _ = talk(desk, "Where is my order 100244?", "2222", session=session)
    assert third.action == "order_handoff"
    (_, other), _ = talk(desk, "Where is my order 100244?", "2222")  # another client is not affected
    assert other.action == "order_status"


def test_cancel_creates_a_request_and_never_acts(desk, store):
    replies, session = talk(desk, "I want to cancel my order", "100242", "emma.w@example.com")
    ask, _, done = replies
    assert ask.citations and "Processing" in ask.text  # the policy, cited from the knowledge base
    assert done.action == "order_request" and done.request_id is not None and done.ticket_id is not None
    assert "Nothing changes until a colleague approves it" in done.text
    assert store.find("100242").status == "processing"  # not cancelled: a request waits for an agent
    request = desk.requests.get(done.request_id)
    assert (request.kind, request.order_number, request.status) == ("cancel", "100242", "pending")
    ticket = desk.handoff.get(done.ticket_id)
    assert ticket.intent == "order_cancel" and ticket.transcript[-1]["content"] == "emma.w@example.com"
    (again,), _ = talk(desk, "Please cancel it", session=session)  # asking twice: the same request
    assert again.action == "order_request" and again.request_id == done.request_id and "already" in again.text
    assert len(desk.requests.listing()) == 1


def test_cancel_after_shipping_and_already_cancelled(desk):
    (_, late), _ = talk(desk, "Can I cancel my order 100234?", "anna.lee@example.com")
    assert late.action == "order_info" and "no longer be cancelled" in late.text and late.citations
    (_, _, done), _ = talk(desk, "Where is order 100238?", "sara.k@example.com", "Please cancel it")
    assert done.action == "order_info" and "already cancelled" in done.text
    assert desk.requests.listing() == []


def test_change_address_asks_for_it_and_keeps_it_with_the_request(desk):
    replies, _ = talk(desk, "I need to change my shipping address", "100234", "anna.lee@example.com",
                      "99 Nanjing Road, Huangpu, Shanghai 200001")
    assert replies[2].action == "order_ask" and "new delivery address" in replies[2].text
    done = replies[3]
    assert done.action == "order_request"
    assert desk.requests.get(done.request_id).details == {"address": "99 Nanjing Road, Huangpu, Shanghai 200001"}
    ticket = desk.handoff.get(done.ticket_id)
    assert all("anna.lee@example.com" not in t["content"] for t in ticket.transcript)  # redacted for tickets
    (_, late), _ = talk(desk, "订单100236要改地址", "2222")
    assert late.action == "order_info"


def test_a_corrected_address_updates_the_waiting_request(desk):
    """Asking again with another address answered "A address change request … is already with our team" and
    dropped the new address: the waiting request now carries it, and the reply says so."""
    (*_, first), _ = talk(desk, "I need to change my shipping address", "100242", "emma.w@example.com",
                          "1 Old Road, Shanghai")
    replies, _ = talk(desk, "I want to change the shipping address of order 100242", "emma.w@example.com",
                      "77 Fuxing Road, Shanghai")
    assert replies[1].action == "order_ask"  # the new address is asked for ...
    updated = replies[2]  # ... and kept
    assert updated.action == "order_request" and updated.request_id == first.request_id
    assert "updated your address change request" in updated.text and "77 Fuxing Road, Shanghai" in updated.text
    request = desk.requests.get(first.request_id)
    assert request.details == {"address": "77 Fuxing Road, Shanghai"} and len(desk.requests.listing()) == 1
    assert [a.action for a in desk.requests.audit(request.id)] == ["requested", "updated"]
    ticket = desk.handoff.get(first.ticket_id)  # the agent reads why the request changed
    assert updated.ticket_id == first.ticket_id and ticket.transcript[-1]["content"] == "77 Fuxing Road, Shanghai"
    # the same address again: the request as it is, in words that agree with every kind
    (*_, same), _ = talk(desk, "Please change the address of order 100242 to 77 Fuxing Road, Shanghai", "emma.w@example.com")
    assert same.text.startswith("Your address change request for order 100242 is already with our team")
    # a request an agent is deciding on right now keeps what they are deciding on
    desk.requests._claim(first.request_id, "agent")
    (*_, claimed), _ = talk(desk, "Please change the address of order 100242 to 5 Marina Boulevard", "emma.w@example.com")
    assert "already" in claimed.text and desk.requests.get(first.request_id).details["address"].startswith("77")


def test_a_chinese_address_change_asks_for_the_address_and_takes_it(desk):
    """"修改订单5001的收货地址" showed the order's status and never asked for the address; the address then got the
    knowledge base's "not found"."""
    (_, ask, done), _ = talk(desk, "修改订单100240的收货地址", "mike.chen@example.com", "上海市静安区南京西路 1000 号")
    assert ask.action == "order_ask" and ask.text == "请告诉我订单 100240 新的收货地址。"
    assert done.action == "order_request" and done.text.startswith("已将订单 100240 的修改地址申请")
    assert desk.requests.get(done.request_id).details == {"address": "上海市静安区南京西路 1000 号"}
    (_, _, again), _ = talk(desk, "修改订单100240的收货地址", "6666", "上海市徐汇区漕溪北路 88 号")
    assert again.request_id == done.request_id and "新地址：上海市徐汇区漕溪北路 88 号" in again.text


def test_an_address_change_without_a_number_is_for_the_order_verified_in_the_conversation(desk):
    replies, _ = talk(desk, "Where is order 100240?", "6666",
                      "Can I change the delivery address to 99 Huaihai Road, Shanghai?")
    done = replies[2]
    assert done is not None and done.action == "order_request"
    request = desk.requests.get(done.request_id)
    assert (request.kind, request.order_number, request.details) == ("change_address", "100240",
                                                                     {"address": "99 Huaihai Road, Shanghai"})
    # two orders verified here: the customer says which, and the address given first is kept
    replies, _ = talk(desk, "Where is order 100234?", "5678", "Where is order 100245?", "4444",
                      "Can I change the delivery address to 5 Marina Boulevard, Singapore?", "100234")
    which, done = replies[4], replies[5]
    assert which.action == "order_ask" and which.text == "Which order is this about: 100234 or 100245?"
    assert desk.requests.get(done.request_id).details == {"address": "5 Marina Boulevard, Singapore"}
    assert desk.requests.get(done.request_id).order_number == "100234"
    (_, _, zh), _ = talk(desk, "我的订单100235到哪了", "4321", "可以把地址改成上海市静安区南京西路1000号吗？")
    assert zh.action == "order_request" and desk.requests.get(zh.request_id).order_number == "100235"
    # with nothing verified it is still a question about the policy, for the knowledge base
    assert desk.handle("Can I change the delivery address?", ChatSession(), "en") is None


def test_a_shipped_order_that_cannot_be_cancelled_gets_the_shops_return_policy_not_a_promise(store, engine):
    """"…you can return it once it has arrived" was promised by a florist whose policy takes no flowers back."""
    florist = {"return": ("Fresh flowers cannot be returned.", [Citation(source="policy.md", title="Returns")])}
    desk = OrderDesk(store, OrdersConfig(), states=DialogueStore(engine), requests=OrderRequests(engine),
                     policy=lambda kind, lang: florist.get(kind), clock=Clock())
    (_, en), _ = talk(desk, "Can I cancel my order 100234?", "anna.lee@example.com")
    assert en.text == ("Order 100234 is already shipped, so it can no longer be cancelled. "
                       "Our return policy: Fresh flowers cannot be returned.")
    assert en.citations[0].source == "policy.md"
    (_, zh), _ = talk(desk, "帮我取消订单100245", "4444")
    assert zh.text == "订单 100245 当前状态为已发货，已无法取消。退货政策：Fresh flowers cannot be returned."
    (_, early), _ = talk(desk, "I want to return my order 100242", "0123")
    assert "once it arrives" not in early.text and early.text.endswith("Fresh flowers cannot be returned.")
    # a shop whose documents give no return policy: a pointer to it and to a colleague, never a promise
    desk.policy = lambda kind, lang: None
    (_, en), _ = talk(desk, "Can I cancel my order 100234?", "anna.lee@example.com")
    (_, zh), _ = talk(desk, "帮我取消订单100245", "4444")
    for text in (en.text, zh.text):
        assert "return it once" not in text and "收到商品后可以申请退货" not in text
    assert "depends on our return policy" in en.text and "talk to a human" in en.text
    assert "以本店的退货政策为准" in zh.text and "转人工" in zh.text


def test_return_picks_the_item_and_cites_the_window(desk):
    replies, _ = talk(desk, "我想退货", "100236", "2222", "纯棉床单")
    assert replies[2].action == "order_ask" and "1. 记忆棉枕头" in replies[2].text
    done = replies[3]
    assert done.action == "order_request" and done.citations and "30 days" in done.text
    assert desk.requests.get(done.request_id).details == {"item": "纯棉床单", "quantity": 1}
    (_, early), _ = talk(desk, "I want to return my order 100242", "0123")
    assert early.action == "order_info" and "hasn't been delivered" in early.text
    (_, named), _ = talk(desk, "I want to return the glass storage jars from order 100244", "james.o@example.com")
    assert desk.requests.get(named.request_id).details == {"item": "Glass storage jars", "quantity": 3}


def test_verification_is_per_order_and_expires(desk):
    replies, session = talk(desk, "Where is my order 100234? anna.lee@example.com", "And where is order 100240?")
    assert replies[1].action == "order_verify" and "YT5556667778" not in replies[1].text
    desk.clock.now += 31 * 60
    (again,), _ = talk(desk, "What's the status of order 100234?", session=session)
    assert again.action == "order_verify"


def test_not_about_orders_and_policy_questions_pass_through(desk):
    for text in ("What is your return policy?", "可以取消订单吗？", "How long does delivery take?", "hello"):
        assert desk.handle(text, ChatSession(), "en") is None
    (_, dropped), _ = talk(desk, "Where is my order?", "never mind")
    assert dropped.action == "order_info"
    (_, none), _ = talk(desk, "我的订单到哪了", "我忘了订单号")
    assert none.action == "order_info" and "转人工" in none.text


def test_a_failing_or_slow_system_hands_off_politely(desk, engine):
    class Down:
        name = "down"

        def find(self, number):
            raise StorageError("Shopify at shop.example did not answer within 5 s")

    desk.backend = Down()
    (_, reply), _ = talk(desk, "Where is my order 100234?", "anna.lee@example.com")
    assert reply.action == "order_handoff" and reply.handoff and reply.ticket_id is not None
    assert "can't reach our order system" in reply.text and "Shopify" not in reply.text


def test_stateless_clients_are_replayed_from_their_history(desk):
    """/v1 sends the whole conversation with a new session every time: the desk reads its state back."""
    history = [Message("user", "I want to cancel my order"), Message("assistant", "..."),
               Message("user", "100242"), Message("assistant", "...")]
    reply = desk.handle("emma.w@example.com", ChatSession(history=list(history)), "en")
    assert reply.action == "order_request"
    wrong = [Message("user", "Where is my order 100234?"), Message("assistant", "..."),
             Message("user", "0000"), Message("assistant", "..."), Message("user", "0001"), Message("assistant", "...")]
    reply = desk.handle("0002", ChatSession(history=wrong), "en")
    assert reply.action == "order_handoff"  # the wrong tries it sent count


def test_an_empty_embedded_store_leaves_everything_to_the_knowledge_base(engine):
    from assistant.orders.embedded import EmbeddedOrders

    desk = OrderDesk(EmbeddedOrders(engine), OrdersConfig())
    assert desk.handle("Where is my order 100234?", ChatSession(), "en") is None
    assert OrderDesk(EmbeddedOrders(engine), OrdersConfig(enabled=False)).active() is False


def test_guesses_hidden_in_a_replayed_history_are_limited_too(store, engine):
    """A stateless client could carry fresh guesses in the history of every request: they count per order."""
    desk = OrderDesk(store, OrdersConfig(max_wrong_per_order_per_hour=5), states=DialogueStore(engine))
    guesses = iter(f"{n:04d}" for n in range(100))
    for _ in range(2):  # two requests, each with two fresh guesses in its history and one live
        history = [Message("user", "Where is my order 100234?"), Message("assistant", "...")]
        for _ in range(2):
            history += [Message("user", next(guesses)), Message("assistant", "...")]
        desk.handle(next(guesses), ChatSession(history=history), "en")
    history = [Message("user", "Where is my order 100234?"), Message("assistant", "...")]
    reply = desk.handle("5678", ChatSession(history=history), "en")  # the right digits, too late
    assert reply.action == "order_handoff" and "SF1234567890" not in reply.text
    # An honest client resending its one wrong try on every turn is not locked out by it.
    fresh = OrderDesk(store, OrdersConfig(max_wrong_per_order_per_hour=2), states=DialogueStore(engine))
    history = [Message("user", "Where is my order 100240?"), Message("assistant", "..."),
               Message("user", "0000"), Message("assistant", "...")]
    for _ in range(3):
        fresh.handle("hello again", ChatSession(history=list(history)), "en")
    assert fresh.handle("6666", ChatSession(history=history), "en").action == "order_status"


def test_a_new_api_conversation_under_the_same_user_id_inherits_no_verification(desk):
    """/v1 clients send `user` (one id for all of a customer's conversations, perhaps a guessable e-mail): a new
    conversation under it must verify again, whatever an earlier one verified."""
    earlier = [Message("user", "Where is my order?"), Message("assistant", "..."),
               Message("user", "#100234"), Message("assistant", "...")]
    verified = desk.handle("anna.lee@example.com", ChatSession(id="api-same", history=earlier, stateless=True), "en")
    assert verified.action == "order_status"
    fresh = desk.handle("What's the status of order 100234?", ChatSession(id="api-same", stateless=True), "en")
    assert fresh.action == "order_verify" and "SF1234567890" not in fresh.text
    # A widget session (stateful) keeps its verification between messages, as before.
    (_, _, status, again), _ = talk(desk, "Where is my order?", "#100234", "anna.lee@example.com",
                                     "and what's the status of order 100234 now?")
    assert status.action == again.action == "order_status"


def test_send_my_order_to_an_address_files_the_address_change(desk):
    (_, done), _ = talk(desk, "Please send order 100242 to 9 Orchard Road, Singapore", "emma.w@example.com")
    assert done.action == "order_request" and desk.requests.get(done.request_id).details == {
        "address": "9 Orchard Road, Singapore"}
