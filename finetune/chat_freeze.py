"""Freeze the background job while the app answers (`autotrain.yield_by: freeze`), thaw it once the app is quiet.

Why a freeze: a reply that needs no model call takes about 50 ms, and a training step on 2 cores 14-30 s.
Pausing between decoder layers (`yield_by: layers`) reacts within a layer's time, long after such a reply has
gone, so the job still shares the machine's caches and memory bandwidth with every short reply (measured: the
median reply took twice as long while training). SIGSTOP holds the whole job at once, mid-step, and SIGCONT lets
it go on exactly where it was: nothing is recomputed and the weights are the same.

Only a job that leads its own session (as `dev.sh run` starts it) is frozen; see `freezes`. The freezer is a
small process of its own (no torch) that the job starts before it lowers its session's scheduling group, in a
session (so a scheduling group) of its own: the job's lowered group does not hold back its reactions. Every
`poll_s` it reads the mtime of the app's mark (assistant/activity.py): fresh (younger than `quiet_s`) means freeze, stale means thaw. It only ever signals the
process that started it: when its parent changes (the job ended or was killed) it exits, and whatever way it
exits it thaws the job first. The job's status file records nothing while frozen; this process keeps its own
counts in `chat_freeze.json` beside the mark.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.activity import marked_within

STATE_FILE = "chat_freeze.json"


def freezes(settings) -> bool:
    """Whether this job is frozen while the app answers: `yield_by: freeze`, and the job leads its own session,
    as `dev.sh run` starts it (setsid). A job started from someone's shell is not: a stopped foreground job hands
    the terminal back to the shell, so it waits between layers instead."""
    cfg = settings.autotrain
    return cfg.yield_to_chat and cfg.yield_by == "freeze" and os.getsid(0) == os.getpid()


def start_freezer(job_pid: int, mark: Path, quiet_s: float, poll_s: float = 0.01) -> subprocess.Popen:
    """Start the freezer for `job_pid`, in a session (so a scheduling group) of its own: call it before the job
    lowers its priority, so the freezer does not inherit what the job gives up."""
    cmd = [sys.executable, "-m", "finetune.chat_freeze", "--pid", str(job_pid), "--mark", str(mark),
           "--quiet-s", str(quiet_s), "--poll-s", str(poll_s)]
    return subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL,
                            cwd=str(Path(__file__).resolve().parent.parent))


def process_state(pid: int) -> str:
    """R, S, T (stopped) ... from /proc; '' once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def alive(pid: int) -> bool:
    """Whether the process runs (or is stopped); a killed child its parent has not reaped yet is a zombie: not."""
    return process_state(pid) not in ("", "Z")


def thaw_if_orphaned(job_pid: int, mark: Path) -> bool:
    """Let a job go on that is stopped while no freezer of its own is alive (its freezer was killed, say);
    returns whether it did. A job its live freezer holds is left to it."""
    if process_state(job_pid) != "T":
        return False
    state = read_state(mark)
    if state.get("pid") == job_pid and alive(int(state.get("freezer") or 0)):
        return False
    _signal(job_pid, signal.SIGCONT)
    return True


def _signal(pid: int, sig: int) -> None:
    """The job and its children when it leads its own process group (dev.sh starts it with setsid), else the job."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Freezer:
    def __init__(self, pid: int, mark: Path, quiet_s: float, clock=time.time):
        self.pid, self.mark, self.quiet_s, self._clock = pid, Path(mark), quiet_s, clock
        self.frozen, self.freezes, self.frozen_s, self._since = False, 0, 0.0, 0.0

    def step(self) -> bool:
        """Freeze or thaw once after the mark; returns whether the state changed."""
        busy = marked_within(self.mark, self.quiet_s, self._clock())
        if busy == self.frozen:
            return False
        if busy:
            _signal(self.pid, signal.SIGSTOP)
            self.frozen, self.freezes, self._since = True, self.freezes + 1, time.monotonic()
        else:
            self.thaw()
        return True

    def thaw(self) -> None:
        if self.frozen:
            _signal(self.pid, signal.SIGCONT)
            self.frozen_s += time.monotonic() - self._since
            self.frozen = False

    def save(self) -> None:
        state = {"pid": self.pid, "freezer": os.getpid(), "frozen": self.frozen, "freezes": self.freezes,
                 "frozen_s": round(self.frozen_s, 1)}
        tmp = self.mark.with_name(STATE_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self.mark.with_name(STATE_FILE))
        except OSError:
            pass  # the counts are for people; the freezing must go on


def read_state(mark: Path) -> dict:
    """The freezer's counts (frozen, freezes, frozen_s), {} when none ran."""
    try:
        state = json.loads(Path(mark).with_name(STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _stop(signum, frame):
    raise SystemExit(0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m finetune.chat_freeze",
                                description="Freeze the background training job while the app answers (SIGSTOP), "
                                            "thaw it when the app is quiet (SIGCONT). Started by the job itself.")
    p.add_argument("--pid", type=int, required=True, help="the job's pid (must be this process's parent)")
    p.add_argument("--mark", required=True, help="the file whose mtime the app refreshes while answering")
    p.add_argument("--quiet-s", type=float, default=0.5, help="seconds without a mark before the job goes on")
    p.add_argument("--poll-s", type=float, default=0.01, help="seconds between looks at the mark")
    a = p.parse_args(argv)
    if os.getppid() != a.pid:
        print(f"chat_freeze: pid {a.pid} is not this process's parent; nothing to do", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    freezer = Freezer(a.pid, Path(a.mark), a.quiet_s)
    try:
        while os.getppid() == a.pid:  # re-parented: the job is gone
            if freezer.step():
                freezer.save()
            time.sleep(a.poll_s)
    finally:
        freezer.thaw()
        freezer.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
