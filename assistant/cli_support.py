"""Shared edge code for every CLI: `--config`, logging, and turning errors into one line + exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from assistant.errors import AssistantError


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    # SUPPRESS: the flags may come before or after the sub-command without the sub-parser's default
    # silently overwriting a value given earlier (an argparse quirk).
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="YAML file layered over config/default.yaml (env ASSISTANT_CONFIG works too)")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress and debugging details")
    return parser


def config_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None)


def verbose(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "verbose", False))


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # peft imports bitsandbytes when it is installed; on a CPU machine its kernel-hub notice is noise to a user.
    logging.getLogger("bitsandbytes").setLevel(logging.INFO if verbose else logging.ERROR)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call `main`, printing an AssistantError as one line on stderr instead of a traceback."""
    try:
        return main(argv)
    except AssistantError as exc:
        print(exc.one_line(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... | head`
        return 0
