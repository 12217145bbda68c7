"""Start-up probe: load the model and generate a real multi-token answer in a child process.

A llama.cpp built for the wrong CPU does not raise, it kills the process (a general-protection fault on the
first prompt longer than one token, e.g. AMX kernels under some hypervisors). Run in a child, the crash
becomes one line that says what happened and what to do, and the app never loads that build in-process.

    python -m assistant.llm.probe [--model qwen2.5-0.5b]    # prints the probe's verdict, exit 0 when it works
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.llm.config import LLMConfig

# Several tokens in and several out: a one-token prompt passes on the builds that crash on longer ones.
PROBE_PROMPT = "Reply with one short sentence: what colour is the sky on a clear day?"
MIN_TOKENS = 3
REINSTALL = "SHOP_ASSISTANT_LLAMA_CPU=portable bash dev.sh setup"


@dataclass
class ProbeResult:
    ok: bool
    message: str  # one line, for the operator
    seconds: float = 0.0
    tokens: int = 0
    text: str = ""


def installed_build() -> str:
    """How the installed llama-cpp-python was built, as dev.sh recorded it ('' when unknown)."""
    try:
        return (Path(sys.prefix) / ".llama-cpp-build").read_text(encoding="utf-8").split(" -D")[0].strip()
    except OSError:
        return ""


def _crash_message(signum: int, build: str) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    built = f" (installed build: {build})" if build else ""
    if "portable" in build:
        advice = ("the portable build should run on any x86-64 CPU with AVX2: rebuild it from scratch with "
                  f"`rm -rf .venv && {REINSTALL}`, or set llm.backend: openai to use a model server")
    else:
        advice = f"rebuild it without CPU-specific kernels: `{REINSTALL}`"
    return f"llama.cpp crashed on this CPU ({name} while generating){built}; {advice}"


def probe_generation(cfg: LLMConfig, timeout_s: float = 300.0, max_tokens: int = 8) -> ProbeResult:
    """Generate `max_tokens` from a multi-token prompt in a child process through our own llama.cpp backend."""
    if cfg.backend != "llamacpp":
        return ProbeResult(True, f"no probe needed for the {cfg.backend} backend")
    cmd = _child_command(cfg, max_tokens)
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=os.environ.copy())
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"the model did not answer a test prompt within {timeout_s:.0f} s "
                                  "(is the machine overloaded, or the model far too big for it?)",
                           time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if done.returncode < 0:
        return ProbeResult(False, _crash_message(-done.returncode, installed_build()), seconds)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        err = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        why = err[-1] if err else f"exit status {done.returncode}"
        return ProbeResult(False, f"the model could not answer a test prompt: {why}", seconds)
    report = json.loads(lines[-1])
    if report["tokens"] < MIN_TOKENS:
        return ProbeResult(False, f"the model produced only {report['tokens']} token(s) for a test prompt "
                                  f"(expected {MIN_TOKENS} or more): {report['text']!r}", seconds,
                           report["tokens"], report["text"])
    return ProbeResult(True, f"generated {report['tokens']} tokens in a child process in {seconds:.1f} s",
                       seconds, report["tokens"], report["text"])


def _child_command(cfg: LLMConfig, max_tokens: int) -> list[str]:
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    fields.update(adapters={}, n_ctx=min(cfg.n_ctx, 512))  # the base weights are what can crash; keep it light
    return [sys.executable, "-X", "faulthandler", "-m", "assistant.llm.probe", "--config-json", json.dumps(fields),
            "--max-tokens", str(max_tokens), "--json"]


def _child(cfg: LLMConfig, max_tokens: int) -> dict:
    """Runs inside the child: the project's own backend, a real prompt, greedy decoding."""
    from assistant.llm.base import Message
    from assistant.llm.factory import build_backend

    backend = build_backend(cfg)
    text = backend.generate([Message("user", PROBE_PROMPT)], max_tokens=max_tokens, temperature=0.0)
    tokens = backend.count_tokens(text) if text else 0
    return {"tokens": tokens, "text": text}


def build_parser() -> argparse.ArgumentParser:
    from assistant.cli_support import add_common_args

    parser = argparse.ArgumentParser(
        prog="python -m assistant.llm.probe",
        description="Check that the configured model really generates on this machine (in a child process, "
        "so a crash of the model runtime is reported instead of killing the caller).")
    add_common_args(parser)
    parser.add_argument("--model", help="override llm.model (an embedded profile or a GGUF file)")
    parser.add_argument("--max-tokens", type=int, default=8, help="tokens to generate (default 8)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up (default 300)")
    parser.add_argument("--config-json", help=argparse.SUPPRESS)  # the parent's LLMConfig, in the child
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child mode: one JSON line
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from assistant.cli_support import config_path, setup_logging, verbose

    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    if args.config_json:  # the child
        report = _child(LLMConfig(**json.loads(args.config_json)), args.max_tokens)
        print(json.dumps(report, ensure_ascii=False), flush=True)
        return 0
    from assistant.config import load_config

    overrides = {"llm": {"model": args.model}} if args.model else {}
    cfg = load_config(config_path(args), overrides=overrides).llm
    result = probe_generation(cfg, args.timeout, args.max_tokens)
    print(("ok: " if result.ok else "FAILED: ") + result.message)
    if result.ok and result.text:
        print(f"answer: {result.text.strip()}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    from assistant.cli_support import run_cli

    sys.exit(run_cli(main))
