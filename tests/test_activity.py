"""The app's activity marks (assistant/activity.py): what the background training job steps aside for."""

from __future__ import annotations

import os
import threading
import time

import pytest

from assistant.activity import ChatBeacon, MarkedBackend, QuietWaiter, last_activity
from assistant.config import load_config
from assistant.llm.fake import FakeBackend
from assistant.runtime import Runtime


def age(path) -> float:
    return time.time() - last_activity(path)


def test_the_beacon_marks_at_the_start_while_in_flight_and_at_the_end(tmp_path):
    path = tmp_path / "work" / "chat_active"
    beacon = ChatBeacon(path, interval_s=0.05)
    assert last_activity(path) is None
    with beacon.active():
        first = last_activity(path)
        assert first is not None and beacon.in_flight == 1
        time.sleep(0.3)
        assert last_activity(path) > first  # the heartbeat: a long call keeps the mark fresh
    assert beacon.in_flight == 0 and age(path) < 0.2
    time.sleep(0.2)
    assert beacon._thread is None  # nothing in flight: the heartbeat thread is gone


def test_overlapping_calls_keep_one_heartbeat_until_the_last_ends(tmp_path):
    beacon = ChatBeacon(tmp_path / "mark", interval_s=0.05)
    with beacon.active():
        with beacon.active():
            assert beacon.in_flight == 2
        assert beacon.in_flight == 1 and beacon._thread is not None
    assert beacon.in_flight == 0


def test_an_unwritable_mark_never_costs_the_answer(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    beacon = ChatBeacon(blocker / "sub" / "mark", interval_s=0.05)  # a file where a folder should be
    backend = MarkedBackend(FakeBackend(), beacon)
    assert backend.generate([{"role": "user", "content": "hi"}])
    assert "background training will not pause" in caplog.text


def test_the_marked_backend_marks_during_generate_and_stream_and_delegates_the_rest(tmp_path):
    path = tmp_path / "mark"
    seen = []

    class Probe(FakeBackend):
        extra = "passes through"

        def generate(self, messages, **opts):
            seen.append(QuietWaiter(path, quiet_s=1.0).busy())
            return super().generate(messages, **opts)

        def yes_log_odds(self, messages, *args, **opts):
            seen.append(QuietWaiter(path, quiet_s=1.0).busy())
            return super().yes_log_odds(messages, *args, **opts)

    beacon = ChatBeacon(path, interval_s=0.05)
    backend = MarkedBackend(Probe(["NO", "2.5"]), beacon)
    # a scored reading (yes_log_odds) marks the app busy like a generation
    assert backend.yes_log_odds([{"role": "user", "content": "yes?"}]) == -4.0
    assert backend.yes_log_odds([{"role": "user", "content": "yes?"}]) == 2.5
    assert seen == [True, True]
    seen.clear()
    backend.generate([{"role": "user", "content": "hello"}])
    assert seen == [True]
    stream = backend.stream([{"role": "user", "content": "hello"}])
    next(stream)
    assert beacon.in_flight == 1  # a reply streaming to a customer counts until its last piece
    list(stream)
    assert beacon.in_flight == 0
    closed = backend.stream([{"role": "user", "content": "hello"}])
    next(closed)
    closed.close()  # a customer who leaves mid-answer ends the activity too
    assert beacon.in_flight == 0
    assert backend.extra == "passes through"


def test_the_waiter_sleeps_while_the_app_is_active_and_reports_it(tmp_path):
    path = tmp_path / "mark"
    changes = []
    waiter = QuietWaiter(path, quiet_s=0.2, poll_s=0.02, check_every_s=0.0,
                         on_change=lambda paused, total: changes.append((paused, total)))
    assert waiter.wait() == 0.0  # never marked: no pause
    beacon = ChatBeacon(path, interval_s=0.05)

    def chat_for(seconds):
        with beacon.active():
            time.sleep(seconds)

    talker = threading.Thread(target=chat_for, args=(0.4,))
    talker.start()
    time.sleep(0.05)
    start = time.monotonic()
    waited = waiter.wait()
    talker.join()
    # the 0.35 s of chat left plus 0.2 s of quiet after it
    assert waited >= 0.45 and time.monotonic() - start >= 0.45
    assert waiter.pauses == 1 and changes[0] == (True, 0.0) and changes[1][0] is False
    assert changes[1][1] == pytest.approx(waited)
    os.utime(path, (0, 0))  # an app that died long ago: training carries on
    assert waiter.wait() == 0.0


def test_the_waiter_asks_the_file_only_a_few_times_a_second(tmp_path, monkeypatch):
    waiter = QuietWaiter(tmp_path / "mark", check_every_s=10.0)
    calls = []
    monkeypatch.setattr(waiter, "busy", lambda: calls.append(1) or False)
    for _ in range(1000):  # a forward and backward pass asks at every layer
        waiter.wait()
    assert len(calls) == 1


def settings_with(**autotrain):
    return load_config(env={}, overrides={"llm": {"backend": "llamacpp"}, "autotrain": autotrain})


def test_the_runtime_marks_models_it_builds_only_when_the_job_may_run(tmp_path):
    marked = Runtime(settings_with(work_dir=str(tmp_path), yield_to_chat=True))._marked(FakeBackend())
    assert isinstance(marked, MarkedBackend)
    marked.generate([{"role": "user", "content": "hi"}])
    assert (tmp_path / "chat_active").exists()
    assert isinstance(Runtime(settings_with(work_dir=str(tmp_path)))._marked(FakeBackend()), MarkedBackend)  # default
    for off in ({"enabled": False}, {"yield_to_chat": False}):
        assert isinstance(Runtime(settings_with(**off))._marked(FakeBackend()), FakeBackend)
    fake = load_config(env={}, overrides={"llm": {"backend": "fake"}})
    assert isinstance(Runtime(fake)._marked(FakeBackend()), FakeBackend)


def test_a_customers_whole_turn_marks_from_arrival_to_the_last_piece(tmp_path):
    from assistant.activity import marking_respond
    from assistant.chat import ReplyStream

    path = tmp_path / "mark"
    beacon = ChatBeacon(path)
    seen = []

    def respond(text, session=None):  # the lookup happens here, before any model call
        seen.append(("lookup", last_activity(path) is not None))

        def pieces():
            for word in ("Ships ", "in 3 days."):
                os.utime(path, (0, 0))  # make each mark visible
                yield word

        return ReplyStream(pieces(), lambda text: text.upper())

    stream = marking_respond(respond, beacon)("how long is delivery?")
    assert seen == [("lookup", True)]
    got = []
    for piece in stream:
        got.append((piece, age(path) < 5))
    assert got == [("Ships ", True), ("in 3 days.", True)]
    assert stream.reply == "SHIPS IN 3 DAYS." and age(path) < 5
    assert beacon.in_flight == 0  # marks, not a count: a reply never read holds nothing
