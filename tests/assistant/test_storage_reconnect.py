"""A replica started while its store was unreachable gets tickets and stored conversations back once it opens."""

import time

from assistant.config import load_config
from assistant.llm.base import Message
from assistant.llm.fake import FakeBackend
from assistant.runtime import Runtime
from assistant.session_store import PersistentSessionStore
from assistant.storage_reconnect import try_reconnect


def _runtime(tmp_path, reconnect_s: float) -> tuple[Runtime, object]:
    blocker = tmp_path / "db"
    blocker.write_text("a file where the database folder should be")  # the store cannot be opened
    settings = load_config(overrides={
        "llm": {"backend": "fake"},
        "storage": {"url": f"sqlite:///{blocker}/assistant.db", "reconnect_s": reconnect_s},
        "chat": {"use_router": False, "use_knowledge_base": False, "use_guardrails": False},
    })
    return Runtime(settings, backend=FakeBackend()), blocker


def test_the_store_coming_back_brings_tickets_and_keeps_the_conversations_held_in_memory(tmp_path):
    runtime, blocker = _runtime(tmp_path, reconnect_s=0)  # 0: no thread, the test tries by hand
    chat = runtime.chat
    assert runtime.storage_engine is None and "storage" in runtime.degraded
    assert chat.handoff is None and not isinstance(chat.sessions, PersistentSessionStore)
    session = chat.sessions.get("abc123")
    session.history += [Message("user", "Do you ship to Norway?"), Message("assistant", "Yes, in 5 days.")]

    assert not try_reconnect(runtime)  # still blocked: nothing changes
    assert chat.handoff is None

    blocker.unlink()
    assert try_reconnect(runtime)
    assert runtime.storage_engine is not None
    assert not {"storage", "handoff", "sessions"} & set(runtime.degraded)
    assert chat.handoff is runtime.handoff is not None
    ticket = chat.handoff.create_ticket("abc123", [{"role": "user", "content": "a person please"}])
    assert chat.handoff.get(ticket.id).session_id == "abc123"
    assert isinstance(chat.sessions, PersistentSessionStore)
    stored = PersistentSessionStore(runtime.storage_engine).get("abc123")
    assert [m.content for m in stored.history] == ["Do you ship to Norway?", "Yes, in 5 days."]


def test_the_runtime_tries_again_by_itself_and_stops_on_close(tmp_path):
    runtime, blocker = _runtime(tmp_path, reconnect_s=0.05)
    assert runtime.handoff is None
    blocker.unlink()
    deadline = time.monotonic() + 10
    while runtime.storage_engine is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.storage_engine is not None and runtime.handoff is not None
    runtime.close()
    assert "_store_reconnector" not in runtime.__dict__


def test_a_conversation_stored_before_the_outage_keeps_its_history(tmp_path):
    # The customer went on during the outage with a session the replica held in memory only (empty at first);
    # written back on reconnect, it replaced the stored conversation.
    from assistant.storage import StorageConfig, get_engine

    folder = tmp_path / "db"
    stored = PersistentSessionStore(get_engine(StorageConfig(url=f"sqlite:///{folder}/assistant.db")))
    before = stored.get("abc123")
    before.history += [Message("user", "Is the tent waterproof?"), Message("assistant", "Yes, 3000 mm.")]
    stored.save(before)
    folder.rename(tmp_path / "db.away")
    runtime, blocker = _runtime(tmp_path, reconnect_s=0)
    chat = runtime.chat
    during = chat.sessions.get("abc123")
    during.history += [Message("user", "any news?"), Message("assistant", "noted")]
    blocker.unlink()
    (tmp_path / "db.away").rename(folder)
    assert try_reconnect(runtime)
    kept = PersistentSessionStore(runtime.storage_engine).get("abc123")
    assert [m.content for m in kept.history] == ["Is the tent waterproof?", "Yes, 3000 mm.", "any news?", "noted"]
    assert chat.sessions.get("abc123").history[-1].content == "noted"  # the chat reads the merged conversation
