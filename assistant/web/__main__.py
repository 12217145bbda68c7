"""`python -m assistant.web hash-password`: make the hash to put in `app.users` (passwords are never stored)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from assistant.cli_support import add_common_args, run_cli
from assistant.errors import InputError
from assistant.web.auth import ROLE_RANK, hash_password


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_common_args(argparse.ArgumentParser(prog="python -m assistant.web", description=__doc__))
    sub = parser.add_subparsers(dest="command", required=True)
    hp = add_common_args(sub.add_parser("hash-password", help="print 'ROLE:HASH' for app.users"))
    hp.add_argument("--role", choices=sorted(ROLE_RANK), default="agent", help="agent or admin")
    hp.add_argument("--stdin", action="store_true", help="read the password from standard input (for scripts)")
    args = parser.parse_args(argv)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            raise InputError("the two passwords differ")
    print(f"{args.role}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
