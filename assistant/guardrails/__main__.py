"""`python -m assistant.guardrails check --input FILE.txt --output OUT.jsonl`: one verdict per message line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.cli_support import (
    add_common_args,
    config_path,
    read_text_lines,
    run_cli,
    setup_logging,
    verbose,
)
from assistant.config import load_config
from assistant.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.guardrails",
        description="Check customer messages for prompt injection, prompt extraction, jailbreaks, "
                    "off-topic requests and abuse.",
    )
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = sub.add_parser("check", help="check one message per line of a UTF-8 text file",
                           description='Writes one JSON line per input line, in order: '
                                       '{"text": ..., "blocked": true|false, "category": ..., "reason": ...}.')
    add_common_args(check)
    check.add_argument("--input", required=True, metavar="FILE.txt", help="UTF-8 text, one message per line")
    check.add_argument("--output", required=True, metavar="OUT.jsonl", help="where the JSON lines are written")
    return parser


def read_messages(path: Path) -> list[str]:
    """The file's lines; refuses what is not UTF-8 text instead of checking garbage."""
    lines = read_text_lines(path)
    if not any(line.strip() for line in lines):
        raise InputError(f"input file {path} is empty: expected one message per line")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    messages = read_messages(Path(args.input))  # before the config: bad input fails fast
    settings = load_config(config_path(args))
    from assistant.guardrails import Guardrails

    guard = Guardrails(settings.guardrails, settings.privacy)
    out_path = Path(args.output)
    if out_path.is_dir():
        raise InputError(f"--output is a directory: {out_path}")
    blocked = 0
    lines = []
    for text in messages:
        v = guard.check_input(text)
        blocked += v.blocked
        lines.append(json.dumps({"text": text, "blocked": v.blocked, "category": v.category, "reason": v.reason},
                                ensure_ascii=False))
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: a crash never leaves a half-written result that looks complete
        tmp = out_path.with_name(out_path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        tmp.replace(out_path)
    except OSError as exc:
        raise InputError(f"cannot write {out_path}: {exc.strerror}") from None
    print(f"{len(messages)} messages checked, {blocked} blocked -> {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
