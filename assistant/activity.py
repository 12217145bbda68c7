"""The app tells the background training job when customers are being answered, so it can step aside.

Training a LoRA on 2 cores at nice 19 slowed the chat (median 0.15 s -> 4.4 s, p95 6.6 s -> 49.8 s in
bench/autotrain.py). Most of that was priority that did not hold: the job runs in its own session, and Linux's
autogroup ranks sessions before nice values (finetune.yield_to_chat.lower_priority now lowers the job's group).
With `autotrain.yield_to_chat` on, the app also marks the time of its activity in one file, while any model call
is in flight, and the job steps aside while that mark is fresh: frozen at once by its freezer process
(`yield_by: freeze`, finetune/chat_freeze.py), or pausing between layers (`yield_by: layers`,
finetune/yield_to_chat.py; it reacts too late for a short reply, and bought no latency in the bench).
A file's mtime is the whole protocol: no socket, nothing to clean up, and when the app dies the mark goes stale
and training simply carries on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "chat_active"


def activity_file(settings) -> Path:
    """Where the app marks activity and the job looks: beside the job's status files."""
    from finetune.autotrain_status import work_dir  # light: no torch

    return work_dir(settings) / FILE_NAME


def last_activity(path: Path) -> float | None:
    """Epoch seconds of the app's last mark, None when there never was one."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def marked_within(path: Path, seconds: float, now: float) -> bool:
    """Whether the app marked activity less than `seconds` before `now` (epoch seconds)."""
    mark = last_activity(path)
    return mark is not None and now - mark < seconds


class ChatBeacon:
    """Marks `path` when a model call starts, every `interval_s` while any is in flight, and when the last ends.

    A heartbeat thread rather than a mark per token: a non-streamed call (the verifier's yes/no, a translation)
    can take seconds without yielding anything.
    """

    def __init__(self, path: Path, interval_s: float = 1.0):
        self.path = Path(path)
        self.interval_s = interval_s
        self._in_flight = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def mark(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            os.utime(self.path)  # touch() keeps the mtime on some filesystems when the file exists
        except OSError as exc:  # a read-only data dir costs the job its manners, never the customer an answer
            if not self._warned:
                log.warning("cannot mark chat activity in %s (%s): background training will not pause", self.path, exc)
                self._warned = True

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _beat(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            with self._lock:
                if self._in_flight == 0:
                    self._thread = None
                    return
            self.mark()

    @contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="chat-beacon", daemon=True)
                self._thread.start()
        self.mark()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
            self.mark()  # the quiet period the job waits for counts from the end of the last call
            self._wake.set()


class MarkedBackend:
    """An LLMBackend that marks the beacon around every call and is otherwise the backend it wraps."""

    def __init__(self, backend, beacon: ChatBeacon):
        self._inner = backend
        self._beacon = beacon

    def generate(self, messages, **opts) -> str:
        with self._beacon.active():
            return self._inner.generate(messages, **opts)

    def stream(self, messages, **opts) -> Iterator[str]:
        with self._beacon.active():
            yield from self._inner.stream(messages, **opts)

    def yes_log_odds(self, messages, *args, **opts) -> float:
        with self._beacon.active():
            return self._inner.yes_log_odds(messages, *args, **opts)

    def __getattr__(self, name):  # set_adapters, n_ctx, close ...: the wrapped backend's own
        return getattr(self._inner, name)


def marking_respond(respond, beacon: ChatBeacon):
    """`ChatService.respond` that marks the beacon when a customer's message arrives and with every piece of the
    reply: the lookup before the model is called (embedder, classifiers, the second reading) counts as activity
    too. Plain marks, not an in-flight count: a reply nobody reads to the end must not hold training forever."""
    def respond_marked(text, session=None):
        beacon.mark()
        stream = respond(text, session)
        inner = stream._pieces

        def pieces():
            for piece in inner:
                beacon.mark()
                yield piece
            beacon.mark()

        stream._pieces = pieces()
        return stream

    return respond_marked


class QuietWaiter:
    """The job's side: `wait()` sleeps while the app marked activity less than `quiet_s` seconds ago.

    `check_every_s` keeps the cost of being asked at every layer of every forward and backward pass to one stat()
    a few times a second. `on_change(paused, paused_total_s)` reports the state (the job's status file).
    """

    def __init__(self, path: Path, quiet_s: float = 5.0, poll_s: float = 0.25, check_every_s: float = 0.2,
                 on_change=None, clock=time.time, sleep=time.sleep):
        self.path = Path(path)
        self.quiet_s = quiet_s
        self.poll_s = poll_s
        self.check_every_s = check_every_s
        self.on_change = on_change
        self.paused_s = 0.0
        self.pauses = 0
        self._clock, self._sleep = clock, sleep
        self._next_check = 0.0

    def busy(self) -> bool:
        return marked_within(self.path, self.quiet_s, self._clock())

    def wait(self) -> float:
        """Returns the seconds spent waiting (0.0 when the app is quiet)."""
        now = time.monotonic()
        if now < self._next_check:
            return 0.0
        self._next_check = now + self.check_every_s
        if not self.busy():
            return 0.0
        start = time.monotonic()
        self.pauses += 1
        if self.on_change:
            self.on_change(True, self.paused_s)
        while self.busy():
            self._sleep(self.poll_s)
        waited = time.monotonic() - start
        self.paused_s += waited
        if self.on_change:
            self.on_change(False, self.paused_s)
        return waited
