"""Chat sessions in the shared store: a restart or another replica continues the conversation."""

from __future__ import annotations

import pytest

from assistant.chat import ChatService
from assistant.llm import FakeBackend
from assistant.router import ConversationState, Route
from assistant.session_store import ChatSessionRow, PersistentSessionStore
from assistant.storage import StorageConfig, get_engine, session_factory


def _replica(url: str, backend=None, redact=None) -> ChatService:
    store = PersistentSessionStore(get_engine(StorageConfig(url=url)), redact=redact)
    return ChatService(backend or FakeBackend(default="noted"), sessions=store)


def test_another_replica_continues_the_conversation(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    a, b = _replica(url), _replica(url, FakeBackend(default="your word is PLUM"))
    session = a.sessions.get("customer-1")
    "".join(a.respond("My word is PLUM.", session))
    # replica B never saw this customer: it reads the conversation from the store
    on_b = b.sessions.get("customer-1")
    assert [m.content for m in on_b.history] == ["My word is PLUM.", "noted"]
    "".join(b.respond("What is my word?", on_b))
    sent = b.backend.calls[-1]["messages"]
    assert any("PLUM" in m.content for m in sent[:-1])  # the earlier turn reached the model on B
    # and A, asked again, sees B's turn too (no stale copy)
    assert len(a.sessions.get("customer-1").history) == 4
    assert b.sessions.get("someone-else").history == []  # sessions never mix


def test_restart_keeps_history_and_routing_counters(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    first = _replica(url)
    session = first.sessions.get("c2")
    session.state = ConversationState(turns=3, low_confidence_streak=1, kb_abstention_streak=1,
                                      last_route=Route("returns", "negative", "en", 0.4, "clarify", ["low"]))
    "".join(first.respond("hello", session))
    restarted = _replica(url).sessions.get("c2")
    assert restarted.state.kb_abstention_streak == 1 and restarted.state.last_route.intent == "returns"
    assert [m.role for m in restarted.history] == ["user", "assistant"]


def test_stored_transcripts_are_redacted_and_a_broken_row_does_not_stop_the_chat(tmp_path):
    from assistant.privacy import redact

    url = f"sqlite:///{tmp_path}/s.db"
    chat = _replica(url, redact=redact)
    "".join(chat.respond("call me on 13812345678", chat.sessions.get("c3")))
    engine = get_engine(StorageConfig(url=url))
    with session_factory(engine)() as s:
        stored = s.get(ChatSessionRow, "c3").history_json
    assert "13812345678" not in stored and "<PHONE>" in stored
    with session_factory(engine).begin() as s:
        s.get(ChatSessionRow, "c3").history_json = "{not json"
    fresh = _replica(url)
    assert "".join(fresh.respond("still there?", fresh.sessions.get("c3"))) == "noted"


def test_a_forgotten_or_pruned_conversation_does_not_come_back_from_a_replicas_memory(tmp_path):
    """`python -m assistant forget` (or retention) deletes the row while a replica still holds the conversation in
    memory: its next turn must start afresh, not write the deleted transcript back into the store."""
    from datetime import timedelta

    from assistant.storage import forget_conversation, prune_expired, utc_now

    url = f"sqlite:///{tmp_path}/s.db"
    replica = _replica(url)
    engine = get_engine(StorageConfig(url=url))
    for sid, delete in (("c4", lambda: forget_conversation(engine, "c4", dry_run=False)),
                        ("c5", lambda: prune_expired(engine, 1, now=utc_now() + timedelta(days=3)))):
        "".join(replica.respond("my e-mail is secret@example.com", replica.sessions.get(sid)))
        delete()
        again = replica.sessions.get(sid)
        assert again.history == []
        "".join(replica.respond("hello again", again))
        with session_factory(engine)() as s:
            kept = s.get(ChatSessionRow, sid).history_json
        assert "secret@example.com" not in kept and "hello again" in kept
    # a session this replica never stored (its first turn still running) is still the one in memory
    fresh = replica.sessions.get("c6")
    assert replica.sessions.get("c6") is fresh


def test_answer_numbers_go_on_counting_past_the_turns_the_store_keeps(tmp_path):
    """The store keeps a conversation's latest 50 turns: answer numbers (what a thumb is cast on) had stopped at 49,
    so every later vote landed on one answer."""
    url = f"sqlite:///{tmp_path}/s.db"
    a = _replica(url)
    a.cfg.rate_limit_per_minute = 0  # sixty questions in a second
    for i in range(60):
        session = a.sessions.get("long-chat")
        "".join(a.respond(f"question {i}", session))
    on_b = _replica(url).sessions.get("long-chat")  # read back from the store, as any replica does
    assert len(on_b.history) == 100 and on_b.answers == 60
    assert a.sessions.get("long-chat").answers == 60


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    url = request.getfixturevalue("postgres_url")
    engine = get_engine(StorageConfig(url=url))
    with engine.begin() as conn:  # one cluster per test session: each test starts from no stored sessions
        conn.execute(ChatSessionRow.__table__.delete())
    return url


def test_a_reply_saved_by_another_replica_during_a_turn_is_kept(store_url):
    # Replica A answers the customer while replica B delivers a colleague's reply and closes the hand-off: A's
    # save, from the copy it read before, wrote over B's and the colleague's reply left the conversation.
    from assistant.llm.base import Message

    url = store_url
    a, b = _replica(url), _replica(url)
    first = a.sessions.get("c9")
    first.state = ConversationState(turns=1, handed_off=True)
    first.history += [Message("user", "I want a person"), Message("assistant", "A colleague will answer.")]
    a.sessions.save(first)

    on_a = a.sessions.get("c9")  # A starts the customer's next turn
    on_b = b.sessions.get("c9")  # B delivers the colleague's reply meanwhile
    on_b.history.append(Message("assistant", "Hi, Lin here: your parcel left today."))
    on_b.state.handed_off = False
    b.sessions.save(on_b)
    on_a.history += [Message("user", "any news?"), Message("assistant", "noted")]
    on_a.state.turns = 2
    a.sessions.save(on_a)

    stored = _replica(url).sessions.get("c9")
    assert [m.content for m in stored.history] == ["I want a person", "A colleague will answer.",
                                                   "Hi, Lin here: your parcel left today.", "any news?", "noted"]
    assert stored.state.handed_off is False and stored.state.turns == 2
    # a copy that is not behind is written as it is, and saving twice adds nothing twice
    again = a.sessions.get("c9")
    again.history.append(Message("user", "thanks"))
    a.sessions.save(again)
    a.sessions.save(again)
    assert len(_replica(url).sessions.get("c9").history) == 6


def test_two_replicas_saving_a_new_conversation_at_once_keep_both(store_url):
    # With no row yet there is nothing to lock: both wrote version 0 and the second write replaced the first.
    from assistant.llm.base import Message

    a, b = _replica(store_url), _replica(store_url)
    on_a, on_b = a.sessions.get("n1"), b.sessions.get("n1")  # neither finds a stored row
    on_a.history += [Message("user", "hello from the widget"), Message("assistant", "hi")]
    on_b.history.append(Message("assistant", "A colleague here."))
    a.sessions.save(on_a)
    b.sessions.save(on_b)
    stored = [m.content for m in _replica(store_url).sessions.get("n1").history]
    assert stored == ["hello from the widget", "hi", "A colleague here."]


def test_a_broken_stored_row_is_replaced_by_the_copy_being_saved(tmp_path):
    from sqlalchemy import update

    from assistant.llm.base import Message

    url = f"sqlite:///{tmp_path}/s.db"
    chat = _replica(url)
    session = chat.sessions.get("b1")
    session.history += [Message("user", "hello"), Message("assistant", "hi")]
    chat.sessions.save(session)
    engine = get_engine(StorageConfig(url=url))
    with engine.begin() as conn:  # written meanwhile by something broken
        conn.execute(update(ChatSessionRow).where(ChatSessionRow.id == "b1").values(history_json="{", version=7))
    session.history += [Message("user", "still there?"), Message("assistant", "yes")]
    chat.sessions.save(session)
    stored = [m.content for m in _replica(url).sessions.get("b1").history]
    assert stored == ["hello", "hi", "still there?", "yes"]
