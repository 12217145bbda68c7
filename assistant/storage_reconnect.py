"""Brings the store back to a runtime that started while it was unreachable.

A replica that starts before its PostgreSQL server (both restarted together, the database still recovering)
would otherwise run without tickets, order requests and stored conversations until someone restarted it: every
"talk to a human" answered "hand-off is unavailable". A daemon thread tries the store again every
`storage.reconnect_s` seconds; once it opens, the components built without it are built again and the chat is
given them between two customer turns. Conversations held in memory meanwhile are written to the store, so none
is lost.
"""

from __future__ import annotations

import logging
import threading

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

# Components built from the store (directly or through the ticket queue), dropped once it is back so that their
# next use builds them on it; their entries in `runtime.degraded` go with them.
BUILT_FROM_STORE = ("handoff", "orders", "retention", "adcopy_feedback")


def try_reconnect(runtime) -> bool:
    """One attempt: True when the store opened and the runtime now uses it."""
    from assistant.storage import get_engine

    try:
        engine = get_engine(runtime.settings.storage)
    except (AssistantError, OSError) as exc:  # OSError: a SQLite folder that cannot be made
        log.info("store still unavailable: %s", exc.one_line() if isinstance(exc, AssistantError) else exc)
        return False
    with runtime._lock:
        runtime._objects["storage"] = engine
        for name in ("storage", "sessions", *BUILT_FROM_STORE):
            runtime.degraded.pop(name, None)
            if name != "storage":
                runtime._objects.pop(name, None)
        chat = runtime._objects.get("chat")
    if chat is not None:
        _rewire_chat(runtime, chat)
    log.warning("store reachable again: tickets, order requests and stored conversations are back")
    return True


def _rewire_chat(runtime, chat) -> None:
    """Hand the running chat the components it was built without; attribute assignments, so a turn in flight
    finishes with what it started with."""
    c = runtime.settings.chat
    if c.use_handoff:
        chat.handoff = runtime.handoff
    chat.orders = runtime.orders
    if not c.persist_sessions:
        return
    store = runtime._session_store()
    if store is None:
        return
    memory = chat.sessions
    # The store takes the memory's sessions and per-conversation locks before the chat is given it, so a turn that
    # starts now finds its conversation, and one that ends now saves into the store (its save merges with a row
    # written before the outage); each session is then written under its lock, never beside a turn of its own.
    store.adopt(memory)
    chat.sessions = store
    for session in memory.all_sessions():
        if not session.history:
            continue
        try:
            with store.turn_lock(session.id):
                store.save(session)
        except AssistantError as exc:  # one session that cannot be written keeps the others
            log.error("conversation %s stays in this replica's memory: %s", session.id[:8], exc.one_line())


class StoreReconnector:
    """The retry thread: started once per runtime, stops when the store is back or the runtime closes."""

    def __init__(self, runtime, every_s: float):
        self.runtime, self.every_s = runtime, every_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="store-reconnect", daemon=True)

    def start(self) -> StoreReconnector:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                if try_reconnect(self.runtime):
                    return
            except Exception:  # noqa: BLE001 - the thread must outlive a surprise and try again
                log.exception("trying the store again failed")
