"""Shared edge code for every CLI: `--config`, logging, and turning errors into one line + exit code."""

from __future__ import annotations

import argparse
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import AssistantError, InputError


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


def read_text_lines(path: Path, what: str = "input file", fallback: str = "") -> list[str]:
    """A UTF-8 text file's lines (BOM tolerated); missing, folder, binary or other-encoding input is a one-line
    InputError naming the file (and the line of a bad byte), never a traceback."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"input is a directory, not a text file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return decode_text_lines(data, path, what, fallback)


def read_csv_rows(path: str | Path, columns: Sequence[str] = (), needs: str = "") -> tuple[list[str], list[dict]]:
    """Header and rows of a UTF-8 CSV (BOM tolerated) that must have `columns`; a missing, unreadable, non-UTF-8
    or malformed file, or missing columns, is one InputError naming the file (`needs`: what the command wants,
    added to the message)."""
    import csv

    tail = f"; {needs}" if needs else ""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows, header = list(reader), [h for h in (reader.fieldnames or []) if h is not None]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (convert it first, e.g. iconv -f GBK -t UTF-8){tail}") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}{tail} "
                         f"(has: {', '.join(h for h in header if h) or 'nothing'})")
    return header, rows


# UTF-16 is told by its byte-order mark (Excel's "Unicode text"); without one it is not guessed at.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The encodings knowledge_base.encodings settles by its own rules (or UTF-16 by its BOM). Its last resort,
# charset_normalizer, names any code page: three stray bytes in a line of copy come back as Urdu (cp1006).
SETTLED_ENCODINGS = ("gb18030", "big5", "cp1252", "utf-16")


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of a file's bytes: UTF-16 with its BOM, else what the knowledge base reads a Chinese or
    English shop's files as (`knowledge_base.loaders.decode_known`: UTF-8 with or without BOM, then GB 18030 or
    Big5 when the bytes read as common Chinese, Windows-1252, charset_normalizer); None when nothing fits. The CLIs
    and the analytics guess as the ingest does: a small GBK CSV read by charset_normalizer alone came back as
    Korean (cp949)."""
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None
    from knowledge_base.loaders import decode_known

    return decode_known(data)


def decode_text_lines(data: bytes, name: object, what: str = "input file", fallback: str = "") -> list[str]:
    """`read_text_lines` for bytes already read (stdin). With a `fallback` (e.g. gb18030), text that is not UTF-8
    is decoded as `decode_bytes` detects it when that is one of SETTLED_ENCODINGS, else as `fallback`, for
    readers that accept what Chinese or Western Windows saves; the iconv hint comes only when both fail."""
    if b"\0" in data and not (fallback and data.startswith(UTF16_BOMS)):
        raise InputError(f"{what} {name} contains NUL bytes: this looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = _non_utf8_text(data, fallback) if fallback else None
        if text is None:
            line = data.count(b"\n", 0, exc.start) + 1
            also, source = (f" nor {fallback.upper()}", "ENCODING") if fallback else ("", "GBK")
            raise InputError(f"{what} {name} is not UTF-8{also} ({exc.reason} at byte {exc.start}, line {line}); "
                             f"convert it first, e.g. iconv -f {source} -t UTF-8") from None
    # Lines end at \n, \r\n or \r only (as a file iterates), not at the other separators str.splitlines
    # knows: JSONL may hold a raw U+2028 inside a string.
    return [line.rstrip("\n") for line in io.StringIO(text, newline=None)]


def _non_utf8_text(data: bytes, fallback: str) -> str | None:
    found = decode_bytes(data)
    if found is not None and found[1] in SETTLED_ENCODINGS:
        return found[0]
    try:
        return data.decode(fallback)
    except UnicodeDecodeError:
        return None


@contextmanager
def working(what: str, stream=None) -> Iterator[None]:
    """A line that counts the seconds while slow work with no steps of its own runs (a model loading, a model
    writing copy): a user who sees nothing for a minute takes the command for hung. On a terminal it updates in
    place and is gone when the work is done; elsewhere (a log, a pipe) it is printed once."""
    stream = stream or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        print(f"{what} ...", file=stream, flush=True)
        yield
        return
    from tqdm import tqdm

    bar = tqdm(total=None, desc=what, bar_format="{desc} ... {elapsed}", file=stream, leave=False)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            bar.refresh()

    ticker = threading.Thread(target=tick, name="cli-working", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        bar.close()


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
    except OSError as exc:  # a file that cannot be read or written after all (disk full, a folder in the way)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{type(exc).__name__}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
