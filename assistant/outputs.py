"""Output paths of the CLIs (insights, test-suite, knowledge_base search), checked before the work starts,
`replace_text`, the one way a file other processes read is rewritten, and `follow_umask` for safetensors files.

Some options take one file (`gaps --csv FILE`), others a folder for several files (`usage --csv DIR`), and
users mix them up; a missing parent folder is created. Every problem is one InputError naming the option,
raised before a possibly long computation, so nothing computed is lost to a path that cannot be written.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import InputError


def blocking_file(path: Path) -> Path | None:
    """The first part of `path` that exists and is not a folder (so nothing can be created below it)."""
    for part in reversed([path, *path.parents]):
        if part.exists() and not part.is_dir():
            return part
    return None


def _make_folder(folder: Path, option: str, target: Path | None = None) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = blocking_file(folder)
        if blocker is not None:
            raise InputError(f"{option}: cannot write {target or folder}: {blocker} is a file, not a folder") from None
        raise InputError(f"{option}: cannot create the folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: cannot write into {folder}: permission denied")


def output_file(value: str | os.PathLike, option: str, example: str = "out.csv") -> Path:
    """`value` as a file to write: its folder is created; an existing folder is refused (this option writes
    one file)."""
    path = Path(value)
    if path.is_dir():
        raise InputError(f"{option} takes a file name (e.g. {example}), but {path} is a folder")
    if str(value).endswith(("/", os.sep)):
        raise InputError(f"{option} takes a file name (e.g. {example}), not a folder: {value}")
    _make_folder(path.parent, option, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option}: cannot overwrite {path}: permission denied")
    return path


def output_folder(value: str | os.PathLike, option: str) -> Path:
    """`value` as a folder to write several files into (created); an existing file is refused."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} takes a folder (it writes several files into it), but {path} is a file")
    _make_folder(path, option)
    return path


@contextmanager
def writing(path: str | os.PathLike, option: str) -> Iterator[None]:
    """A write that still fails (disk full, a file locked by another program) is one line, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


def replace_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` under a temporary name and rename it in: a reader (the running app, a sync) sees the
    old file or the new one, never half of one, and a crash leaves no truncated file. OSError is the caller's."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def follow_umask(folder: str | os.PathLike, pattern: str = "*.safetensors") -> None:
    """Give the files matching `pattern` in `folder` the mode any new file there gets (0o666 less the umask,
    default ACLs included). safetensors >= 0.8 writes through a temporary file it creates 0600 and renames in
    (safetensors issue #782), so an adapter's weights were readable by their owner alone while its config beside
    them was not: a llama.cpp or vLLM server running as another user could not load it."""
    folder = Path(folder)
    found = list(folder.glob(pattern))
    if not found:
        return
    # The mode is read off a file made the ordinary way: os.umask() can only be read by setting it, which would
    # race with other threads (the app's) creating files meanwhile.
    probe = folder / f".mode-probe-{os.getpid()}-{threading.get_ident()}"
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
        probe.unlink()
    for path in found:
        os.chmod(path, mode)
