"""Start, kill -9 and restart the writer process (writer.py) of the durability tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

WRITER = Path(__file__).with_name("writer.py")
REPO = Path(__file__).resolve().parents[2]


def start_writer(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WRITER), url, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)


def read_acks_then_kill(proc: subprocess.Popen, acks_wanted: int, timeout: float = 60) -> list[str]:
    """Batches the writer acknowledged before it was killed with SIGKILL mid-way."""
    acked, deadline = [], time.monotonic() + timeout
    while len(acked) < acks_wanted and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("ACK "):
            acked.append(line.split()[1])
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # acknowledgements already in the pipe when the kill landed count too: the client saw them
    acked += [line.split()[1] for line in proc.stdout.read().splitlines() if line.startswith("ACK ")]
    assert len(acked) >= acks_wanted, f"writer acknowledged only {len(acked)}: {proc.stderr.read()[-2000:]}"
    return acked


def run_writer(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(WRITER), url, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc
