"""Customer chat handlers (UI tab and widget share them) on FakeBackend: streaming, sources, sessions, bad input."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.errors import GenerationError, InputError
from assistant.web import customer


def run_turn(runtime, message, history=None, session_id=None):
    return list(customer.chat_ui_turn(runtime, message, history, session_id))


def test_turn_streams_growing_text_then_adds_expandable_sources(fake_runtime):
    fake_runtime.backend.queue("You can return any item within 30 days for free.")
    steps = run_turn(fake_runtime, "How do returns work?")
    texts = [h[1]["content"] for h, *_ in steps if len(h) > 1]
    assert len(steps) > 3 and texts[0] != texts[-2]  # more than one partial answer was shown
    history, session_id, status, box = steps[-1]
    assert history[0] == {"role": "user", "content": "How do returns work?"}
    assert history[1]["content"] == "You can return any item within 30 days for free."
    sources = history[2]
    assert sources["metadata"]["title"].startswith("📚 Sources (1)")
    assert "Returns policy" in sources["content"] and "returns.md" in sources["content"]
    assert "kb/returns.md" not in sources["content"]  # the document's name, never its path on the server
    assert box == "" and status == ""
    assert len(session_id) == 32


def test_session_memory_stays_within_its_own_session(fake_runtime):
    backend = fake_runtime.backend
    *_, (hist_a, sid_a, _, _) = run_turn(fake_runtime, "My secret word is PLUM.")
    *_, (_, sid_b, _, _) = run_turn(fake_runtime, "My secret word is KIWI.")
    run_turn(fake_runtime, "What is my secret word?", hist_a, sid_a)
    prompt_a = " ".join(m.content for m in backend.calls[-1]["messages"])
    assert sid_a != sid_b
    assert "PLUM" in prompt_a and "KIWI" not in prompt_a
    run_turn(fake_runtime, "And mine?", None, sid_b)
    prompt_b = " ".join(m.content for m in backend.calls[-1]["messages"])
    assert "KIWI" in prompt_b and "PLUM" not in prompt_b


def test_made_up_session_ids_start_a_fresh_session(fake_runtime):
    *_, (_, sid, _, _) = run_turn(fake_runtime, "hello", None, "../../etc/passwd")
    assert sid != "../../etc/passwd" and len(sid) == 32


def test_bad_input_gets_a_friendly_status_and_keeps_history(fake_runtime):
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    for bad in ("", "   ", None, "x" * 100_000):
        (hist, _sid, status, _box), = run_turn(fake_runtime, bad, history)
        assert hist == history
        assert status.startswith("⚠️")
    (_, _, status, _), = run_turn(fake_runtime, "x" * 100_000)
    assert "100000" in status and "4000" in status
    assert fake_runtime.backend.calls == []  # nothing reached the model


def test_model_failure_becomes_a_polite_answer_with_a_way_to_a_human(fake_runtime):
    fake_runtime.backend.queue(GenerationError("llama.cpp crashed"))
    *_, (history, _sid, status, _) = run_turn(fake_runtime, "Where is my order?")
    assert "human" in history[-1]["content"].lower()
    assert "talk to a human" in status.lower()


def test_chinese_customer_gets_chinese_interface_text(fake_runtime):
    fake_runtime.backend.queue("30 天内可以免费退货。")
    *_, (history, _sid, _status, _) = run_turn(fake_runtime, "怎么退货？")
    assert history[-1]["metadata"]["title"].startswith("📚 参考来源")
    (_, _, status, _), = run_turn(fake_runtime, "退" * 5000)
    assert "消息太长" in status


def test_handoff_button_answers_in_the_chat_either_way(fake_runtime):
    *_, (history, sid, _, _) = run_turn(fake_runtime, "I want to talk to someone about my broken lamp")
    new_history, message = customer.handoff_ui(fake_runtime, history, sid)
    assert new_history[-1]["content"].endswith(message)
    assert len(new_history) == len(history) + 1
    result = customer.request_handoff(fake_runtime, sid)
    assert result["ok"] == (result["ticket"] is not None)


def test_the_handoff_button_redacts_the_ticket_as_the_chats_own_handoff_does(tmp_path, monkeypatch):
    """A shop that keeps whole transcripts but wants redacted tickets: the button stored the card number raw."""
    from assistant.handoff import HandoffQueue
    from assistant.llm.fake import FakeBackend
    from assistant.storage import get_engine
    from tests.app.conftest import FakeRuntime, app_settings

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    settings = app_settings(tmp_path)
    settings.sections["privacy"] = dataclasses.replace(
        settings.privacy, apply_to={**settings.privacy.apply_to, "transcripts": False, "tickets": True})
    runtime = FakeRuntime(settings, FakeBackend())
    *_, (_, sid, _, _) = run_turn(runtime, "my card is 4111 1111 1111 1111 and phone 13912345678, please help")
    result = customer.request_handoff(runtime, sid)
    ticket = HandoffQueue(get_engine(settings.storage)).get(result["ticket"])
    said = " ".join(m["content"] for m in ticket.transcript if m["role"] == "user")
    assert "4111" not in said and "13912345678" not in said and "<CARD>" in said and "<PHONE>" in said


def test_ui_votes_land_on_the_answer_they_were_given_to_once_each(fake_runtime):
    from sqlalchemy import select

    from assistant.storage import get_engine, session_factory
    from assistant.web.events import VoteRow

    *_, (history, sid, _, _) = run_turn(fake_runtime, "How do returns work?")
    *_, (history, sid, _, _) = run_turn(fake_runtime, "And delivery?", history, sid)
    # [question, answer, sources, question, answer, sources]: the sources block counts for its answer
    assert [m["role"] for m in history] == ["user", "assistant", "assistant"] * 2
    customer.vote_ui(fake_runtime, sid, True, 2, history)
    customer.vote_ui(fake_runtime, sid, "Dislike", 4, history)
    customer.vote_ui(fake_runtime, sid, "Like", 4, history)  # changed their mind: still one vote
    with session_factory(get_engine(fake_runtime.settings.storage))() as s:
        votes = {(v.message, v.vote) for v in s.scalars(select(VoteRow).where(VoteRow.session_id == sid))}
    assert votes == {(0, 1), (1, 1)}
    with pytest.raises(InputError):
        customer.vote_ui(fake_runtime, sid, True, 0, history)  # the customer's own question
    with pytest.raises(InputError):
        customer.vote_ui(fake_runtime, "f" * 32, True, None, None)  # no such conversation


def test_no_ticket_for_a_session_that_never_was(fake_runtime):
    from assistant.errors import NotFoundError

    for made_up in ("nope", "0" * 32, "../../etc/passwd"):
        with pytest.raises(NotFoundError, match="no conversation with this session_id"):
            customer.request_handoff(fake_runtime, made_up)
    ask_first = customer.t(fake_runtime, fake_runtime.shop.cfg.default_language, "empty")  # "Please type a question first."
    with pytest.raises(InputError, match=ask_first):
        customer.request_handoff(fake_runtime, None)
    from assistant.web.staff import handoff_queue

    assert handoff_queue(fake_runtime) == []
    # the button before the first message asks for one instead of opening an empty ticket
    history, message = customer.handoff_ui(fake_runtime, [], None)
    assert message == ask_first and history[-1]["content"].endswith(message)


def test_widget_handoff_for_an_unknown_session_is_a_404_with_a_message(fake_runtime):
    from fastapi.testclient import TestClient

    from assistant.web.server import create_app

    client = TestClient(create_app(fake_runtime))
    r = client.post("/widget/api/handoff", json={"session_id": "nope"})
    assert r.status_code == 404 and r.json()["ok"] is False and r.json()["ticket"] is None
    assert "no conversation" in r.json()["error"]["message"]
    # what the widget shows in the chat is the customer's words, not the developer's
    assert r.json()["message"] == customer.t(fake_runtime, fake_runtime.shop.cfg.default_language, "empty")
    assert client.post("/widget/api/handoff", json={}).status_code == 400
    from assistant.web.staff import handoff_queue

    assert len(handoff_queue(fake_runtime)) == 0


def test_the_customer_tab_shows_a_colleagues_reply_once_and_never_mid_answer(fake_runtime):
    from assistant.web import staff

    *_, (history, sid, _, _) = run_turn(fake_runtime, "I want to talk to someone about my broken lamp")
    history, _ = customer.handoff_ui(fake_runtime, history, sid)
    assert customer.replies_ui(fake_runtime, history, sid, []) is None  # nobody has replied yet
    ticket = customer.request_handoff(fake_runtime, sid)["ticket"]
    staff.reply_ticket(fake_runtime, "agent", ticket, "We are sending a new lamp today.")
    # a turn on its way: the chat shows one more question than the server holds, so the poll waits
    in_flight = history + [{"role": "user", "content": "thanks!"}, {"role": "assistant", "content": "…"}]
    assert customer.replies_ui(fake_runtime, in_flight, sid, []) is None
    shown_history, shown = customer.replies_ui(fake_runtime, history, sid, [])
    assert shown == [f"{ticket}-1"] and shown_history[-1]["content"].endswith("We are sending a new lamp today.")
    assert "Our team" in shown_history[-1]["content"]
    assert customer.replies_ui(fake_runtime, shown_history, sid, shown) is None  # shown once
    assert customer.replies_ui(fake_runtime, [], None, []) is None
    # a long conversation: the browser shows more questions than the store keeps (its latest turns); the poll
    # still shows the reply when the last question shown is the last stored
    earlier = [{"role": r, "content": f"earlier {i}"} for i in range(60) for r in ("user", "assistant")]
    # as Gradio hands the chat back: each message's content a list of text blocks
    blocks = [{**m, "content": [{"type": "text", "text": m["content"]}]} if isinstance(m["content"], str) else m
              for m in earlier + history]
    long_history, shown = customer.replies_ui(fake_runtime, blocks, sid, [])
    assert shown == [f"{ticket}-1"] and long_history[-1]["content"].endswith("We are sending a new lamp today.")


def test_an_agent_can_ask_back_and_keep_the_ticket_open(fake_runtime):
    from assistant.web import staff

    *_, (history, sid, _, _) = run_turn(fake_runtime, "my lamp is broken")
    ticket = customer.request_handoff(fake_runtime, sid)["ticket"]
    message, _ = staff.reply_ticket(fake_runtime, "agent", ticket, "Which order number is it?", keep_open=True)
    assert "kept open" in message
    queue, session = fake_runtime.handoff, fake_runtime.chat.sessions.get(sid)
    assert queue.get(int(ticket)).status == "in_progress" and session.state.handed_off  # still with the colleague
    staff.reply_ticket(fake_runtime, "agent", ticket, "Thanks, a new lamp ships today.")
    replies = customer.agent_replies(fake_runtime, sid)
    assert [r["text"] for r in replies] == ["Which order number is it?", "Thanks, a new lamp ships today."]
    assert len({r["id"] for r in replies}) == 2  # each shown once, the second not hidden by the first
    turns = queue.get(int(ticket)).transcript
    assert [t["role"] for t in turns if t.get("later")] == ["agent", "agent"]
    assert not fake_runtime.chat.sessions.get(sid).state.handed_off  # resolved: the assistant's again


def test_a_ui_vote_after_a_colleagues_reply_lands_on_the_answer_it_was_given_to(fake_runtime):
    # The colleague's reply is an assistant turn of the server's transcript but was not counted in the tab: every
    # thumb after one landed on the answer before (here: on the colleague's reply instead of the last answer).
    from sqlalchemy import select

    from assistant.storage import get_engine, session_factory
    from assistant.web import staff
    from assistant.web.events import VoteRow

    *_, (history, sid, _, _) = run_turn(fake_runtime, "my lamp is broken")
    history, _ = customer.handoff_ui(fake_runtime, history, sid)  # the button's notice: not an answer
    ticket = customer.request_handoff(fake_runtime, sid)["ticket"]
    staff.reply_ticket(fake_runtime, "agent", ticket, "Which order number is it?", keep_open=True)
    history, _ = customer.replies_ui(fake_runtime, history, sid, [])
    *_, (history, sid, _, _) = run_turn(fake_runtime, "How do returns work?", history, sid)
    answers = [m["content"] for m in customer.transcript(fake_runtime, sid) if m["role"] == "assistant"]
    last = max(i for i, m in enumerate(history) if m["role"] == "assistant" and not m.get("metadata"))
    customer.vote_ui(fake_runtime, sid, False, last, history)
    with session_factory(get_engine(fake_runtime.settings.storage))() as s:
        votes = [v.message for v in s.scalars(select(VoteRow).where(VoteRow.session_id == sid))]
    assert votes == [len(answers) - 1] and answers[-1] == history[last]["content"]


def test_a_failing_turn_logs_the_head_of_the_session_id_only(fake_runtime, monkeypatch, caplog):
    # the whole id is the key to the conversation (its colleagues' replies are read with it): the log had it whole
    from assistant.errors import StorageError

    *_, (_, sid, _, _) = run_turn(fake_runtime, "hello")
    for failure in (StorageError("the store is down"), RuntimeError("boom")):
        def fail(text, session=None, failure=failure):
            raise failure
        monkeypatch.setattr(fake_runtime.chat, "respond", fail)
        with caplog.at_level("INFO"):
            *_, (history, _, _, _) = run_turn(fake_runtime, "still there?", None, sid)
        assert history[-1]["content"] == customer.t(fake_runtime, "en", "failed")
    assert sid[:8] in caplog.text and sid not in caplog.text


def test_a_citation_never_names_a_windows_path_either():
    # ingested from a Windows machine into a shared Chroma server, a document's source is a Windows path: customers
    # were shown it whole ("C:\Users\owner\shop\returns.md"), backslashes being no separators on the server
    from assistant.citations import Citation

    for source in (r"C:\Users\owner\shop\returns.md", r"\\fileserver\kb\returns.md", "/srv/kb/returns.md"):
        (shown,) = customer.citation_dicts([Citation(source=source, title="Returns")])
        assert shown["source"] == "returns.md", source
    (link,) = customer.citation_dicts([Citation(source="https://shop.example/help/returns", title="Returns")])
    assert link["source"] == "https://shop.example/help/returns"
