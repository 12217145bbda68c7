"""Bad input, one table: every CLI given empty, huge, binary, mis-encoded or malformed input must answer with
a clear one-line error and a non-zero exit (or a clear result), never a traceback.

To cover another entry point, append a `Case` to CASES: the module to run (`python -m MODULE`), its argv
(`{tmp}` is a per-test folder holding `files`), optional stdin bytes, the exit code expected (None = any
non-zero) and a regex the error (stderr) or, for rc 0, stdout + the written files must match.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.conftest import REPO

GBK_TEXT = "你好，我的订单在哪里？\n".encode("gbk")
BINARY = bytes(range(256)) * 8  # NUL bytes and invalid UTF-8
HUGE_LINE = ("where is my order 13812345678? " * 10_000 + "\n").encode()  # ~310k characters on one line


@dataclass
class Case:
    id: str
    module: str
    argv: list[str]
    expect: str  # regex on stderr (error rows) or on stdout + written files (rc 0 rows)
    rc: int | None = None  # None: any non-zero exit
    stdin: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # ---- python -m assistant (and the config files every CLI reads)
    Case("assistant-help", "assistant", ["--help"], r"usage: python -m assistant", rc=0),
    Case("assistant-no-command", "assistant", [], r"usage: .*required: COMMAND|the following arguments are required", rc=2),
    Case("assistant-empty-message", "assistant", ["chat", "--backend", "fake", ""], r"InputError: the message is empty"),
    Case("config-malformed-yaml", "assistant", ["config", "show", "--config", "{tmp}/bad.yaml"],
         r"ConfigError: bad YAML in .*bad.yaml \(line \d+", files={"bad.yaml": b"llm:\n  backend: [fake\n"}),
    Case("config-binary", "assistant", ["config", "show", "--config", "{tmp}/bin.yaml"],
         r"ConfigError: cannot read config file", files={"bin.yaml": BINARY}),
    Case("config-wrong-encoding", "assistant", ["config", "show", "--config", "{tmp}/gbk.yaml"],
         r"ConfigError: cannot read config file", files={"gbk.yaml": "chat:\n  system_prompt: 你好\n".encode("gbk")}),
    Case("config-not-a-mapping", "assistant", ["config", "show", "--config", "{tmp}/list.yaml"],
         r"ConfigError: .*must map section names", files={"list.yaml": b"- llm\n- chat\n"}),
    Case("config-unknown-section", "assistant", ["config", "show", "--config", "{tmp}/x.yaml"],
         r"ConfigError: unknown config section 'nope'", files={"x.yaml": b"nope:\n  a: 1\n"}),
    Case("config-missing-file", "assistant", ["config", "show", "--config", "{tmp}/absent.yaml"],
         r"ConfigError: config file not found"),
    Case("config-env-file-malformed", "assistant", ["config", "show"], r"ConfigError: bad YAML",
         files={"e.yaml": b"{{{"}, env={"ASSISTANT_CONFIG": "{tmp}/e.yaml"}),
    # ---- python -m assistant.privacy redact
    Case("privacy-help", "assistant.privacy", ["redact", "--help"], r"one output line", rc=0),
    Case("privacy-empty-stdin", "assistant.privacy", ["redact"], r"InputError: stdin is empty"),
    Case("privacy-binary-stdin", "assistant.privacy", ["redact"], r"InputError: stdin line 1 contains NUL bytes",
         stdin=BINARY),
    Case("privacy-wrong-encoding", "assistant.privacy", ["redact"], r"InputError: stdin line 1 is not UTF-8",
         stdin=GBK_TEXT),
    Case("privacy-huge-line", "assistant.privacy", ["redact"], r"InputError: stdin line 1: .*over privacy.max_chars",
         stdin=HUGE_LINE),
    # ---- python -m assistant.guardrails check
    Case("guardrails-help", "assistant.guardrails", ["check", "--help"], r"--input FILE.txt", rc=0),
    Case("guardrails-missing-output-arg", "assistant.guardrails", ["check", "--input", "x.txt"],
         r"the following arguments are required: --output", rc=2),
    Case("guardrails-missing-file", "assistant.guardrails", ["check", "--input", "{tmp}/no.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: input file not found"),
    Case("guardrails-directory", "assistant.guardrails", ["check", "--input", "{tmp}", "--output", "{tmp}/o.jsonl"],
         r"InputError: input is a directory"),
    Case("guardrails-empty-file", "assistant.guardrails", ["check", "--input", "{tmp}/e.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: input file .*e.txt is empty", files={"e.txt": b"\n\n"}),
    Case("guardrails-binary-file", "assistant.guardrails", ["check", "--input", "{tmp}/b.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: .*NUL bytes", files={"b.txt": BINARY}),
    Case("guardrails-wrong-encoding", "assistant.guardrails", ["check", "--input", "{tmp}/g.txt", "--output", "{tmp}/o.jsonl"],
         r"InputError: .*is not UTF-8", files={"g.txt": GBK_TEXT}),
    Case("guardrails-huge-line-is-refused-not-crashed", "assistant.guardrails",
         ["check", "--input", "{tmp}/h.txt", "--output", "{tmp}/o.jsonl"], r'"blocked": true, "category": "too_long"',
         rc=0, files={"h.txt": HUGE_LINE}),
]


def _run(case: Case, tmp) -> tuple[subprocess.CompletedProcess, str]:
    for name, data in case.files.items():
        (tmp / name).write_bytes(data)
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    env = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    full_env = {**os.environ, "ASSISTANT_LLM__BACKEND": "fake", **env}
    if "ASSISTANT_CONFIG" not in env:
        full_env.pop("ASSISTANT_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", case.module, *argv], input=case.stdin, capture_output=True,
                          cwd=REPO, env=full_env, timeout=120)
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp.glob("*.jsonl"))
    return proc, written


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    proc, written = _run(case, tmp_path)
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    if case.rc is None:
        assert proc.returncode != 0, f"expected a non-zero exit, got 0; stdout: {stdout[:500]}"
    else:
        assert proc.returncode == case.rc, stderr[-2000:]
    if proc.returncode == 0:
        assert re.search(case.expect, stdout + written), (stdout[:500], written[:500])
    else:
        assert re.search(case.expect, stderr), stderr[-2000:]
        # one clear line (argparse adds its usage line before it)
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("usage:", " "))]
        assert len(lines) == 1, stderr[-2000:]
