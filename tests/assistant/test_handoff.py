"""Hand-off tickets: idempotent creation, urgency order, status changes, and no loss or duplicate on kill -9."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from assistant.citations import Citation
from assistant.errors import ConfigError, InputError, NotFoundError
from assistant.handoff import HandoffConfig, HandoffQueue
from assistant.llm import Message
from assistant.storage import get_engine

TRANSCRIPT = [Message("user", "我的订单三周了还没到，太过分了"), Message("assistant", "抱歉，我帮您查一下。"),
              Message("user", "我要人工")]


@pytest.fixture
def queue(tmp_path):
    return HandoffQueue(get_engine(url=f"sqlite:///{tmp_path / 'tickets.db'}"), HandoffConfig())


def test_create_and_get(queue):
    cites = [Citation(source="faq.csv", title="Delivery times", snippet="3-5 days", chunk_id="faq-3", score=0.8)]
    t = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", ["customer asked for a human (0.97)"],
                            "您好，您的订单……", cites, sentiment_score=0.9, language="zh")
    got = queue.get(t.id)
    assert got.status == "open" and got.intent == "complaint" and got.language == "zh"
    assert got.transcript[0] == {"role": "user", "content": "我的订单三周了还没到，太过分了"}
    assert got.reasons == ["customer asked for a human (0.97)"]
    assert got.citations == cites and got.draft_reply.startswith("您好")
    assert got.as_dict()["citations"][0]["chunk_id"] == "faq-3"


def test_retry_returns_the_same_ticket(queue):
    calls = []

    def draft(turns):
        calls.append(turns)
        return "draft", [{"source": "faq.csv", "title": "Refunds"}]

    first = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", [], draft_fn=draft)
    again = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", [], draft_fn=draft)
    assert again.id == first.id and len(calls) == 1  # the slow draft is not written twice
    assert first.citations[0].title == "Refunds"
    # A new customer message is a new hand-off; another session is another ticket.
    later = queue.create_ticket("s1", [*TRANSCRIPT, Message("user", "还在吗")], "complaint", "negative", [])
    other = queue.create_ticket("s2", TRANSCRIPT, "complaint", "negative", [])
    assert len({first.id, later.id, other.id}) == 3
    assert len(queue.tickets_for_session("s1")) == 2


def test_queue_orders_by_urgency(queue):
    calm = queue.create_ticket("calm", "Is the sofa grey?", "product_question", "neutral", [],
                               sentiment_score=0.9)
    angry = queue.create_ticket("angry", "Worst shop ever", "complaint", "negative", [], sentiment_score=0.95)
    mild = queue.create_ticket("mild", "refund?", "returns_refund", "negative", [], sentiment_score=0.5)
    assert [t.id for t in queue.queue()] == [angry.id, mild.id, calm.id]
    # Waiting time counts: three hours later the calm ticket has waited, the others were just created.
    later = calm.created_at + timedelta(hours=3)
    q = queue.queue(now=later)
    assert all(a.urgency >= b.urgency for a, b in zip(q, q[1:], strict=False))
    assert queue.urgency(calm, later) > queue.urgency(calm, calm.created_at)


def test_the_agents_reply_is_saved_and_resolves_the_ticket(queue):
    t = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", [], draft_reply="您的订单已发出。")
    done = queue.reply(t.id, "  您好，订单已补发，明天送达。 ")
    assert (done.agent_reply, done.status, done.agent_note) == ("您好，订单已补发，明天送达。", "resolved", "")
    assert queue.get(t.id).as_dict()["agent_reply"] == "您好，订单已补发，明天送达。"
    with pytest.raises(InputError, match="the reply is empty"):
        queue.reply(t.id, "   ")
    with pytest.raises(NotFoundError):
        queue.reply(999, "hi")


def test_a_store_from_before_the_reply_field_gets_the_column_and_keeps_its_tickets(tmp_path):
    path = tmp_path / "old.db"
    queue = HandoffQueue(get_engine(url=f"sqlite:///{path}"), HandoffConfig())
    t = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", [], draft_reply="draft")
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE handoff_tickets DROP COLUMN agent_reply")  # as the first release created it
    con.commit()
    con.close()
    again = HandoffQueue(get_engine(url=f"sqlite:///{path}"), HandoffConfig())
    assert again.get(t.id).draft_reply == "draft" and again.get(t.id).agent_reply == ""
    assert again.reply(t.id, "sent").agent_reply == "sent"


def test_status_changes(queue):
    t = queue.create_ticket("s1", TRANSCRIPT, "complaint", "negative", [])
    assert queue.update_status(t.id, "in_progress").status == "in_progress"
    done = queue.update_status(t.id, "resolved", note="refunded")
    assert done.agent_note == "refunded" and done.updated_at >= t.updated_at
    assert queue.queue() == []
    assert [x.id for x in queue.queue(statuses=("resolved",))] == [t.id]
    with pytest.raises(InputError, match="status must be one of"):
        queue.update_status(t.id, "lost")
    with pytest.raises(NotFoundError):
        queue.update_status(9999, "closed")
    with pytest.raises(NotFoundError):
        queue.get(9999)
    with pytest.raises(InputError, match="session_id"):
        queue.create_ticket("", TRANSCRIPT)


def test_config_validation():
    with pytest.raises(ConfigError, match="wait_minutes_scale"):
        HandoffConfig(wait_minutes_scale=0)
    with pytest.raises(ConfigError, match="intent_priority"):
        HandoffConfig(intent_priority={"complaint": -1})


def test_open_ticket_is_one_way_in_with_a_grounded_draft(queue):
    from types import SimpleNamespace

    from assistant.citations import Citation
    from assistant.handoff import open_ticket

    class KB:  # answers "warranty" from its documents, nothing else
        def lookup(self, question, language=None, earlier_questions=()):
            ok = "warranty" in question
            return SimpleNamespace(answerable=ok, citations=[Citation("warranty.md", "Warranty")] if ok else [])

        def answerer(self, shop=None):
            return SimpleNamespace(extractive=lambda lookup: "The table has a 2-year warranty.")

    ticket = open_ticket(queue, "s1", [{"role": "user", "content": "warranty on the table?"}], kb=KB(),
                         intent="product_question", language="en")
    assert ticket.draft_reply == "The table has a 2-year warranty." and ticket.citations[0].source == "warranty.md"
    # The button before any message: still a ticket, with an honest empty draft.
    empty = open_ticket(queue, "s2", [], kb=KB())
    assert empty.draft_reply == "" and "before writing anything" in empty.transcript[0]["content"]
    # Asked again for the same conversation and message: the same ticket, not a second one.
    again = open_ticket(queue, "s1", [{"role": "user", "content": "warranty on the table?"}], kb=KB())
    assert again.id == ticket.id


SAME_DAY = "上海外环内下午两点前下单当天送达，其他地区次日送达。"


class DeliveryKB:
    """A Chinese shop's documents: they answer delivery questions (in Chinese only), and, read without the second
    reading, any other question with that same nearest sentence."""

    def __init__(self):
        self.asked = []

    def lookup(self, question, language=None, earlier_questions=()):
        from types import SimpleNamespace

        self.asked.append((question, language))
        return SimpleNamespace(answerable=True, question=question, citations=[Citation("delivery.md", "Delivery")])

    def answerer(self, shop=None):
        from types import SimpleNamespace

        return SimpleNamespace(extractive=lambda lookup: SAME_DAY)


def test_the_draft_answers_the_tickets_question_in_the_customers_language_or_is_empty(queue):
    """An English ticket for "Do you sell orchids?" had the draft of another question's answer, in Chinese."""
    from types import SimpleNamespace

    from assistant.handoff import grounded_draft, open_ticket
    from assistant.shop import Shop, ShopConfig

    shop = Shop(ShopConfig(default_language="zh"))
    declined = SimpleNamespace(answerable=False, question="Do you sell orchids?", citations=[])
    conversation = [{"role": "user", "content": "送货要多久？"}, {"role": "assistant", "content": SAME_DAY},
                    {"role": "user", "content": "Do you sell orchids?"}]
    # The pipeline hands off on the question its own reading declined: the earlier question is not drafted for.
    ticket = open_ticket(queue, "orchids", conversation, kb=DeliveryKB(), lookup=declined, shop=shop,
                         language="en")
    assert ticket.draft_reply == "" and ticket.citations == [] and ticket.language == "en"
    # "Talk to a human" after the decline: the question is still the orchids one, which the assistant declined.
    asked = conversation + [{"role": "assistant", "content": shop.text("abstain", "en")},
                            {"role": "user", "content": "I want a human"}]
    kb = DeliveryKB()
    assert grounded_draft(kb, asked, shop=shop, language="en") == ("", []) and kb.asked == []
    # Answered by the documents in Chinese only: no Chinese draft for an English ticket.
    delivery = [{"role": "user", "content": "How long does delivery take?"}]
    assert grounded_draft(DeliveryKB(), delivery, shop=shop, language="en") == ("", [])
    # In the customer's language, the draft is there, also after a request for a person.
    draft, cites = grounded_draft(DeliveryKB(), conversation[:2] + [{"role": "user", "content": "转人工"}],
                                  shop=shop, language="zh")
    assert draft == SAME_DAY and cites[0].source == "delivery.md"
    # The button pressed after "1111": the caller read the shop's default from it; the conversation says English.
    digits = [{"role": "user", "content": "Do you sell orchids?"}, {"role": "assistant", "content": "…"},
              {"role": "user", "content": "1111"}]
    assert open_ticket(queue, "digits", digits, kb=DeliveryKB(), shop=shop, language="zh").language == "en"


def test_what_the_customer_says_after_the_handoff_reaches_the_ticket(queue):
    from assistant.handoff import open_ticket

    first = [{"role": "user", "content": "my lamp arrived broken"}]
    ticket = open_ticket(queue, "s9", first)
    later = first + [{"role": "assistant", "content": "I've passed your conversation to a colleague."},
                     {"role": "user", "content": "order 10023, the shade is cracked"}]
    same = open_ticket(queue, "s9", later)
    assert same.id == ticket.id and same.transcript[-1]["content"] == "order 10023, the shade is cracked"
    assert open_ticket(queue, "s9", later).transcript == same.transcript  # the button again: nothing repeated
    answered = queue.add_turns(ticket.id, [{"role": "user", "content": "and the return window?"},
                                           {"role": "assistant", "content": "30 days from delivery."}])
    assert [t["content"] for t in answered.transcript[-2:]] == ["and the return window?", "30 days from delivery."]
    assert queue.waiting_ticket("s9").id == ticket.id
    queue.reply(ticket.id, "A new shade is on its way.")
    assert queue.waiting_ticket("s9") is None  # resolved: the next handoff opens a new ticket
    assert open_ticket(queue, "s9", later + [{"role": "user", "content": "still broken"}]).id != ticket.id


def test_asking_for_a_person_while_an_order_request_waits_opens_a_ticket_of_its_own(queue):
    """Approving the request resolves its ticket: a hand-off joined to it was resolved unanswered."""
    from assistant.handoff import ORDER_REQUEST_KEY, open_ticket

    said = [{"role": "user", "content": "cancel order 100235"}, {"role": "user", "content": "4321"}]
    request = queue.create_ticket("s7", said, intent="order_cancel", message_key=f"{ORDER_REQUEST_KEY}1",
                                  draft_reply="")
    assert queue.waiting_ticket("s7") is None  # it waits for an approval, not for the conversation
    person = open_ticket(queue, "s7", [*said, {"role": "user", "content": "my lamp flickers, can someone help?"}])
    assert person.id != request.id and queue.waiting_ticket("s7").id == person.id
    queue.update_status(request.id, "resolved", "Order request 1 approved")
    assert queue.waiting_ticket("s7").id == person.id
    # an agent who asks the customer something on the request's ticket gets the answer there
    other = queue.create_ticket("s8", said, intent="order_cancel", message_key=f"{ORDER_REQUEST_KEY}2",
                                draft_reply="")
    queue.reply(other.id, "Which items exactly?", status="in_progress")
    assert queue.waiting_ticket("s8").id == other.id


WRITER = textwrap.dedent("""
    import sys
    from assistant.handoff import HandoffQueue
    from assistant.storage import get_engine
    q = HandoffQueue(get_engine(url=sys.argv[1]))
    for i in range(int(sys.argv[2])):
        t = q.create_ticket(f"s{i % 7}", [{"role": "user", "content": f"message {i}"}], "complaint",
                            "negative", [f"reason {i}"], f"draft {i}", message_key=f"m{i}")
        print(i, t.id, flush=True)
""")


def test_kill_9_between_writes_loses_and_duplicates_nothing(tmp_path):
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    n = 40
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, str(script), url, str(n)], stdout=subprocess.PIPE, text=True, env=env)
    committed = {}
    for line in proc.stdout:
        i, tid = map(int, line.split())
        committed[i] = tid
        if len(committed) == 10:
            os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the next ticket may be half-way through its commit
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The caller retries everything, as the chat would after a crash.
    done = subprocess.run([sys.executable, str(script), url, str(n)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT message_key, id FROM handoff_tickets").fetchall()
    keys = [k for k, _ in rows]
    assert len(keys) == n and len(set(keys)) == n
    ids = dict(rows)
    assert all(ids[f"m{i}"] == tid for i, tid in committed.items())  # acknowledged tickets survived as they were


EARLIER = [{"role": "user", "content": "送货要多久？"}, {"role": "assistant", "content": SAME_DAY}]


@pytest.mark.parametrize("text, language", [("Is this tent big enough for 4 people?", "en"), ("客服电话是多少？", "zh"),
                                            ("Can someone deliver on Sunday?", "en"),
                                            ("Can I talk to a real person about my refund?", "en")])
def test_a_question_that_names_a_person_is_the_question_the_draft_answers(text, language):
    """"Is this tent big enough for 4 people?" counted as only asking for a person: the draft answered the
    question before it."""
    from assistant.handoff import grounded_draft

    kb = DeliveryKB()
    grounded_draft(kb, EARLIER + [{"role": "user", "content": text}], language=language)
    assert kb.asked == [(text, language)]


@pytest.mark.parametrize("text", ["I want to talk to a person", "转人工", "我要人工", "yes please", "Real person, please!"])
def test_a_request_for_a_person_alone_is_skipped_for_the_question_before_it(text):
    from assistant.handoff import grounded_draft

    kb = DeliveryKB()
    draft, _ = grounded_draft(kb, EARLIER + [{"role": "user", "content": text}], language="zh")
    assert kb.asked == [("送货要多久？", "zh")] and draft == SAME_DAY


def test_a_person_is_asked_for_in_the_shops_own_router_words(queue):
    from assistant.handoff import asks_only_for_a_person, open_ticket
    from assistant.router import RouterConfig

    shop_words = RouterConfig(human_keywords=["叫店长"])
    assert asks_only_for_a_person("叫店长！", shop_words) and not asks_only_for_a_person("叫店长！", RouterConfig())
    kb = DeliveryKB()
    ticket = open_ticket(queue, "boss", EARLIER + [{"role": "user", "content": "叫店长"}], kb=kb, language="zh",
                         router_cfg=shop_words)
    assert ticket.draft_reply == SAME_DAY and kb.asked == [("送货要多久？", "zh")]


def test_two_replies_at_once_one_is_sent_and_the_ticket_agrees_with_it(tmp_path):
    """Two agents answering one ticket at once were both told "sent": the ticket kept one's status and the
    other's reply, and the customer read both."""
    import threading

    from assistant.storage import get_engine

    queue = HandoffQueue(get_engine(url=f"sqlite:///{tmp_path}/t.db"))
    for _ in range(5):
        t = queue.create_ticket(f"s-{_}", [{"role": "user", "content": "my lamp is broken"}])
        barrier, outcomes = threading.Barrier(2), {}

        def answer(text, status, barrier=barrier, outcomes=outcomes, ticket=t):
            barrier.wait()
            try:
                outcomes[text] = queue.reply(ticket.id, text, status)
            except InputError as exc:
                outcomes[text] = exc

        threads = [threading.Thread(target=answer, args=("Refund sent, closing.", "resolved")),
                   threading.Thread(target=answer, args=("Which colour was it?", "in_progress"))]
        [th.start() for th in threads]
        [th.join() for th in threads]
        final = queue.get(t.id)
        said = [m["content"] for m in final.transcript if m["role"] == "agent"]
        sent = [text for text, got in outcomes.items() if not isinstance(got, InputError)]
        assert sorted(said) == sorted(sent) and final.agent_reply == said[-1]  # what was sent is what was said
        assert final.status == {"Refund sent, closing.": "resolved", "Which colour was it?": "in_progress"}[said[-1]]
        if said[0] == "Refund sent, closing.":  # resolved first: the second reply is refused, not sent
            assert said == ["Refund sent, closing."]
    with pytest.raises(NotFoundError):
        queue.get(10**20)  # beyond the database's integers: no such ticket, not an OverflowError
