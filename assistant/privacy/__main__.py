"""`python -m assistant.privacy redact`: stdin -> stdout with PII replaced, one line in -> one line out."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator, Sequence

from assistant.cli_support import add_common_args, config_path, run_cli, setup_logging, verbose
from assistant.config import load_config
from assistant.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.privacy",
        description="Detect and redact personal data (e-mail, phone, card, Chinese ID, IBAN, IP, address).",
    )
    add_common_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    red = sub.add_parser("redact", help="read text on stdin, write it redacted to stdout (line by line)",
                         description="Each input line becomes one output line with PII replaced by "
                                     "placeholders such as <PHONE> or <EMAIL>.")
    add_common_args(red)
    red.add_argument("--entities", help="comma-separated types to redact (default: privacy.entities)")
    red.add_argument("--json", action="store_true",
                     help="write one JSON line per input line: {redacted, entities} (offsets refer to the input line)")
    return parser


def _lines(stream) -> Iterator[str]:
    """Lines of stdin as UTF-8 text; binary or mis-encoded input is refused rather than half-redacted."""
    number = 0
    for number, raw in enumerate(stream, start=1):
        if b"\0" in raw:
            raise InputError(f"stdin line {number} contains NUL bytes: this looks like a binary file, not text")
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin line {number} is not UTF-8 ({exc.reason} at byte {exc.start}); "
                             "convert it first, e.g. iconv -f GBK -t UTF-8") from None
    if number == 0:
        raise InputError("stdin is empty: pipe the text to redact, e.g. python -m assistant.privacy redact < chat.log")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose(args))
    # The first line is read before the config: empty or binary input fails fast, before any import cost.
    lines = _lines(sys.stdin.buffer)
    first = next(lines)
    settings = load_config(config_path(args))
    cfg = settings.privacy
    if args.entities:
        from assistant.privacy import PrivacyConfig

        cfg = PrivacyConfig(**{**vars(cfg), "entities": [e.strip() for e in args.entities.split(",") if e.strip()]})
    from assistant.privacy import Redactor

    redactor = Redactor(cfg)
    out = sys.stdout
    # Output is produced line by line and flushed, so the tool works in a pipe on a live log.
    for number, line in enumerate(itertools.chain([first], lines), start=1):
        try:
            if args.json:
                entities = [{"type": e.type, "start": e.start, "end": e.end} for e in redactor.find(line)]
                record = {"redacted": redactor.redact(line), "entities": entities}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                out.write(redactor.redact(line) + "\n")
        except InputError as exc:
            raise InputError(f"stdin line {number}: {exc}") from None
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
