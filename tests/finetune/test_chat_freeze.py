"""The background job frozen while the app answers (finetune/chat_freeze.py): real processes, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finetune.chat_freeze import Freezer, freezes, main, process_state, read_state, thaw_if_orphaned

REPO = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]



def wait_for(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(SLEEPER, start_new_session=True)
    child = subprocess.Popen(SLEEPER)  # not in the sleeper's group: must be left alone
    yield proc, child
    for p in (proc, child):
        p.kill()
        p.wait()


def test_a_fresh_mark_stops_the_job_and_a_stale_one_lets_it_go_on(tmp_path, sleeper):
    proc, other = sleeper
    mark = tmp_path / "chat_active"
    freezer = Freezer(proc.pid, mark, quiet_s=5.0)
    assert not freezer.step() and process_state(proc.pid) != "T"  # no mark yet: nothing to do
    mark.touch()
    assert freezer.step() and wait_for(lambda: process_state(proc.pid) == "T")
    assert process_state(other.pid) != "T"
    assert not freezer.step()  # still fresh: no second signal
    os.utime(mark, (time.time() - 10, time.time() - 10))  # quiet for longer than quiet_s
    assert freezer.step() and wait_for(lambda: process_state(proc.pid) in ("S", "R"))
    assert freezer.freezes == 1 and freezer.frozen_s > 0
    mark.touch()
    freezer.step()
    assert wait_for(lambda: process_state(proc.pid) == "T")
    freezer.thaw()  # however the freezer ends, the job goes on
    assert wait_for(lambda: process_state(proc.pid) in ("S", "R")) and not freezer.frozen
    freezer.save()
    assert read_state(mark) == {"pid": proc.pid, "freezer": os.getpid(), "frozen": False, "freezes": 2,
                                "frozen_s": pytest.approx(freezer.frozen_s, abs=0.05)}


def test_a_job_left_stopped_without_its_freezer_goes_on(tmp_path, sleeper):
    proc, _ = sleeper
    mark = tmp_path / "chat_active"
    assert not thaw_if_orphaned(proc.pid, mark)  # running: nothing to do
    os.kill(proc.pid, signal.SIGSTOP)
    assert wait_for(lambda: process_state(proc.pid) == "T")
    (tmp_path / "chat_freeze.json").write_text(json.dumps({"pid": proc.pid, "freezer": os.getpid(), "frozen": True}))
    assert not thaw_if_orphaned(proc.pid, mark) and process_state(proc.pid) == "T"  # its freezer is alive: its call
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "chat_freeze.json").write_text(json.dumps({"pid": proc.pid, "freezer": gone.pid, "frozen": True}))
    assert thaw_if_orphaned(proc.pid, mark)
    assert wait_for(lambda: process_state(proc.pid) in ("S", "R"))


def test_it_signals_its_own_parent_only(tmp_path, sleeper, capsys):
    assert main(["--pid", str(sleeper[0].pid), "--mark", str(tmp_path / "m")]) == 2
    assert "not this process's parent" in capsys.readouterr().err
    assert process_state(sleeper[0].pid) != "T"


PARENT = """import sys, time
from pathlib import Path
from finetune.chat_freeze import start_freezer
freezer = start_freezer(__import__("os").getpid(), Path(sys.argv[1]), quiet_s=0.3)
print(freezer.pid, flush=True)
time.sleep(60)
"""


def test_the_freezer_thaws_and_exits_when_its_job_is_gone(tmp_path):
    mark = tmp_path / "chat_active"
    job = subprocess.Popen([sys.executable, "-c", PARENT, str(mark)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)
    try:
        freezer_pid = int(job.stdout.readline())
        mark.touch()
        assert wait_for(lambda: process_state(job.pid) == "T")
        assert json.loads((tmp_path / "chat_freeze.json").read_text())["frozen"] is True
        assert wait_for(lambda: process_state(job.pid) in ("S", "R"))  # 0.3 s of quiet: it goes on by itself
        mark.touch()
        assert wait_for(lambda: process_state(job.pid) == "T")
    finally:
        job.kill()
        job.wait()
    assert wait_for(lambda: process_state(freezer_pid) in ("", "Z"))
    assert read_state(mark)["frozen"] is False


def test_only_a_job_leading_its_own_session_is_frozen(fake_settings, monkeypatch):
    from assistant.config import load_config

    on = load_config(env={}, overrides={"autotrain": {"yield_to_chat": True, "yield_by": "freeze"}})
    monkeypatch.setattr(os, "getsid", lambda pid: os.getpid())
    assert freezes(on)
    layers = load_config(env={}, overrides={"autotrain": {"yield_to_chat": True, "yield_by": "layers"}})
    off = load_config(env={}, overrides={"autotrain": {"yield_to_chat": False}})
    assert not freezes(layers) and not freezes(off)
    monkeypatch.setattr(os, "getsid", lambda pid: 1)  # started from someone's shell
    assert not freezes(on)
