"""The generation queue every customer-facing answer goes through (/v1 and the widget's chat): at most
app.concurrency_limit answers generated at once, app.max_queue waiting, and beyond that a BusyError at once; and
the streams that give back what they hold when their client goes."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator

from assistant.errors import BusyError

log = logging.getLogger(__name__)


class Gate:
    """At most `limit` generations at once and `queue` waiting; beyond that, 503 at once (no pile-up)."""

    def __init__(self, limit: int, queue: int):
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._admitted = 0
        self.capacity = limit + queue

    def admit(self) -> Admission:
        with self._lock:
            if self._admitted >= self.capacity:
                raise BusyError("the server is busy; please retry shortly")
            self._admitted += 1
        return Admission(self)

    @property
    def admitted(self) -> int:
        return self._admitted

    def run(self, pieces: Iterator[str], admission: Admission) -> Iterator[str]:
        """Iterate `pieces` holding a slot; always gives the admission back, even if the client leaves."""
        try:
            with self._slots:
                yield from pieces
        finally:
            admission.release()


class Admission:
    """One request's place in the gate, given back exactly once: by the generation when it ends, or when its stream
    is dropped before it began (a client that closes the connection right after sending: the stream's generator
    never starts, so no `finally` of it runs, and every such request used to keep its place for good)."""

    def __init__(self, gate: Gate):
        self._gate, self._given_back = gate, False

    def release(self) -> None:
        with self._gate._lock:  # the gate's own lock: its count and this flag change together
            if not self._given_back:
                self._given_back = True
                self._gate._admitted -= 1

    def on_drop(self, owner) -> None:
        """Give the place back when `owner` (the response's stream) is garbage, whatever became of it."""
        weakref.finalize(owner, self.release)


def generation_gate(runtime) -> Gate:
    """The one gate of this process: /v1 and the widget's chat share app.concurrency_limit and app.max_queue (the
    widget had none: each waiting customer held a worker thread, and a crowd of them stalled every other request)."""
    app = runtime.settings.app
    return runtime.component("generation_gate", lambda: Gate(app.concurrency_limit, app.max_queue))


def closed_on_disconnect(stream: Iterator[str], *inner: Iterator, admission: Admission | None = None):
    """`stream` as an async iterator (each piece read in a worker thread) that, when it ends or the client goes,
    closes `stream` and the generators it reads (`inner`) and gives `admission` back. A client that left kept its
    place, its generation slot and its conversation's turn lock until the garbage collector found the stream."""
    from starlette.concurrency import iterate_in_threadpool

    async def body():
        try:
            async for chunk in iterate_in_threadpool(stream):
                yield chunk
        finally:  # no await here: the request's scope may be cancelled already
            _close_when_idle(stream, *inner)
            if admission is not None:
                admission.release()

    return body()


def _close_when_idle(*generators) -> None:
    """Close generators now, or, while a worker thread is still inside one (it cannot be stopped), once it is out."""
    def close():
        for g in generators:
            while getattr(g, "gi_running", False):
                time.sleep(0.05)
            try:
                g.close()
            except Exception as exc:  # noqa: BLE001 - a stream that fails to close must not fail the request's end
                log.debug("closing a stream: %s", exc)

    if any(getattr(g, "gi_running", False) for g in generators):
        threading.Thread(target=close, name="close-stream", daemon=True).start()
    else:
        close()
