"""Staff and API credentials: `python -m assistant.web hash-password | new-api-key`.

`hash-password` prints the 'ROLE:HASH' to put in `app.users`; `new-api-key` prints a fresh key for the /v1 API
(give it to the client) and the 'sha256:HEX' line for `app.api_keys`. Neither secret is ever stored in clear.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from assistant.cli_support import add_common_args, run_cli
from assistant.errors import InputError
from assistant.web.auth import ROLE_RANK, hash_password, new_api_key


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_common_args(argparse.ArgumentParser(prog="python -m assistant.web", description=__doc__))
    sub = parser.add_subparsers(dest="command", required=True)
    hp = add_common_args(sub.add_parser("hash-password", help="print 'ROLE:HASH' for app.users"))
    hp.add_argument("--role", choices=sorted(ROLE_RANK), default="agent", help="agent or admin")
    hp.add_argument("--stdin", action="store_true", help="read the password from standard input (for scripts)")
    add_common_args(sub.add_parser("new-api-key", help="print a new /v1 API key and its hash for app.api_keys"))
    args = parser.parse_args(argv)
    if args.command == "new-api-key":
        key, hashed = new_api_key()
        print(f"key (give to the API client, shown once): {key}")
        print(f"app.api_keys entry: {hashed}")
        return 0
    if args.stdin or not sys.stdin.isatty():
        # piped in (`echo pw | … hash-password`) without --stdin: getpass ended in an EOFError traceback
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("no password on standard input: pipe one line, e.g. printf '%s\\n' \"$PW\" | "
                             "python -m assistant.web hash-password --stdin")
    else:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            raise InputError("the two passwords differ")
    print(f"{args.role}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
