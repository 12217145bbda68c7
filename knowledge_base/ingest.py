"""Ingest files into the store: incremental (an unchanged file costs one lookup), idempotent and crash-safe.

Chunk ids derive from source + content, chunks are written in whole batches before stale ones are removed,
so a re-run after `kill -9` adds exactly what is missing. A bad file is reported in one line and skipped;
the rest of the batch still goes in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import REPO_ROOT
from assistant.errors import AssistantError, IngestError, InputError
from knowledge_base.chunking import Chunk, chunk_document, chunk_faq
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.faq_tables import load_table
from knowledge_base.loaders import (
    DOC_SUFFIXES,
    SUFFIXES,
    TABLE_SUFFIXES,
    TableOptions,
    first_few,
    load_document,
)
from knowledge_base.store import ChromaStore
from knowledge_base.text import content_hash

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    source: str
    status: str  # added | updated | unchanged | skipped (a copy of another source) | removed | error
    chunks: int = 0
    added: int = 0
    removed: int = 0
    error: str = ""
    notes: list[str] = field(default_factory=list)  # what went in incompletely, one line each (skipped rows)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # about the batch, not one file (files a folder walk skipped)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    @property
    def warnings(self) -> list[str]:
        """What was left out without failing the ingest; the CLI and the admin view show `summary()`, so it is
        in there too."""
        return self.notes + [n for f in self.files for n in f.notes]

    @property
    def chunks_added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def chunks_removed(self) -> int:
        return sum(f.removed for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for f in self.files:
            counts[f.status] = counts.get(f.status, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no files"
        return "; ".join([f"{len(self.files)} file(s): {parts}", f"{self.chunks_added} chunk(s) added, "
                          f"{self.chunks_removed} removed in {self.seconds:.1f}s", *self.warnings])


def source_key(path: Path) -> str:
    """The `source` stored with each chunk: repo-relative when inside the repo (portable), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


JUNK_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini"}  # what Windows leaves in folders


def is_junk(relative: Path) -> bool:
    """Files nobody means to ingest, skipped without a word in a folder walk: hidden files and folders (.DS_Store,
    .git), Windows' thumbnail caches, Office lock files (~$Guide.docx) and editor backups (guide.md~)."""
    name = relative.name
    return (any(part.startswith(".") for part in relative.parts) or name.startswith("~$") or name.endswith("~")
            or name.lower() in JUNK_NAMES)


def collect_files(paths: Iterable[str | Path], report: IngestReport) -> list[Path]:
    """Files to ingest: named files as given, folders recursively (known suffixes, no junk). A folder's files of
    another type are named in one note: a report that said nothing made a missing document look ingested."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not is_junk(f.relative_to(p)))
            files.extend(f for f in found if f.suffix.lower() in SUFFIXES)
            other = [f.relative_to(p).as_posix() for f in found if f.suffix.lower() not in SUFFIXES]
            if other:
                report.notes.append(f"{p}: skipped {len(other)} file{'s' if len(other) > 1 else ''} of an "
                                    f"unsupported type: {first_few(other, 5)}")
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                report.files.append(FileResult(str(p), "error", error=(
                    f"{p}: unsupported file type {p.suffix or '(none)'} (use {', '.join(sorted(SUFFIXES))})")))
            else:
                files.append(p)
        else:
            report.files.append(FileResult(str(p), "error", error=f"{p}: no such file or folder"))
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]


def build_chunks(path: Path, cfg: KnowledgeBaseConfig, table: TableOptions,
                 notes: list[str] | None = None) -> list[Chunk]:
    """The file's chunks, or one IngestError; `notes` gets what was left out of a file that did go in."""
    source = source_key(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        rows = load_table(path, cfg.max_file_mb, table, notes)
        file_hash = content_hash("\n".join(f"{r.row_id}\x00{r.question}\x00{r.answer}" for r in rows))
        return chunk_faq(source, rows, file_hash)
    if suffix in DOC_SUFFIXES:
        sections, title = load_document(path, cfg.max_file_mb)
        file_hash = content_hash("\n".join(s.text for s in sections))
        return chunk_document(source, title, sections, cfg.chunk_size, cfg.chunk_overlap, file_hash)
    raise IngestError(f"{path}: unsupported file type {suffix}")


def _content_keys(chunks: Iterable[tuple[str, dict]], names: frozenset[str] = frozenset()) -> list[tuple[str, ...]]:
    """What a document says, its path left out: each chunk's body, heading, title, page and FAQ row id. A heading
    or title that is only a file's name (its own, or one of `names`: the stems of the files compared) is blanked, so
    a headless `returns.txt` and its `returns (copy).txt` compare equal, and so do `配送说明.md` (whose own heading is
    "配送说明") and its `配送说明-copy.md`; another heading always counts ("Product A warranty" and "Product B
    warranty" over one sentence are two documents)."""
    keys = []
    for text, meta in chunks:
        stems = names | {Path(str(meta.get("source", ""))).stem}
        heading, title = str(meta.get("heading") or ""), str(meta.get("title") or "")
        body = text[len(heading) + 1:] if heading and text.startswith(heading + "\n") else text
        keys.append((body, "" if heading in stems else heading, "" if title in stems else title,
                     str(meta.get("page", "")), str(meta.get("row_id", ""))))
    return sorted(keys)


def source_path(source: str) -> Path:
    """The file a stored source (see `source_key`) names."""
    path = Path(source)
    return path if path.is_absolute() else REPO_ROOT / path


def _on_disk(source: str) -> bool:
    """Whether a stored source still names a file."""
    return source_path(source).is_file()


def changed_at(source: str) -> float:
    """When a stored source's file last changed (0 when it is gone)."""
    try:
        return source_path(source).stat().st_mtime
    except OSError:
        return 0.0


def copy_of(store: ChromaStore, chunks: list[Chunk], ignore: Callable[[str], bool] | None = None) -> str | None:
    """Another source in the store with exactly this content (the same file ingested from a second path), else
    None. The file hash finds candidates in one indexed look-up; their chunks are compared before anything is
    called a copy. `ignore`: sources about to go (sync), which must not keep their copy out."""
    source, file_hash = chunks[0].metadata["source"], chunks[0].metadata["file_hash"]
    # A holder whose file is gone from disk keeps nothing out: `ingest` does not remove deleted files (`sync` does),
    # and the copy is then the only one left of that text.
    holders = sorted(s for s in store.sources_with_file_hash(file_hash)
                     if s != source and not (ignore and ignore(s)) and _on_disk(s))
    if not holders:
        return None
    for holder in holders:
        names = frozenset({Path(source).stem, Path(holder).stem})
        if _content_keys(store.chunks_of(holder), names) == _content_keys(((c.text, c.metadata) for c in chunks), names):
            return holder
    return None


def ingest_file(path: Path, store: ChromaStore, cfg: KnowledgeBaseConfig, table: TableOptions,
                progress: bool = False, ignore: Callable[[str], bool] | None = None) -> FileResult:
    from tqdm import tqdm

    notes: list[str] = []
    chunks = build_chunks(path, cfg, table, notes)  # parse fully before writing anything
    source = chunks[0].metadata["source"]
    stored = store.metadata_for_source(source)
    old, new_ids = set(stored), {c.id for c in chunks}
    # A chunk id covers its text only: a corrected language column, a new front-matter title or a row moved up
    # keeps the ids, and the store went on matching by the old metadata while ingest said "unchanged".
    # (Chroma's update merges metadata: a key no longer written would stay, so only the keys written now count.)
    restamp = [c for c in chunks if c.id in stored and any(stored[c.id].get(k) != v for k, v in c.metadata.items())]
    if new_ids == old:  # still noted: the rows left out are still missing
        if restamp:
            store.update_metadata(restamp)
        return FileResult(source, "updated" if restamp else "unchanged", chunks=len(chunks), notes=notes)
    twin = copy_of(store, chunks, ignore)
    if twin:
        # Stored twice, every search showed the passage twice and usage counts split between the copies. This
        # path's earlier, different version goes: what the file says now is in the store under `twin`.
        stale = sorted(old)
        if stale:
            store.delete(stale)
        return FileResult(source, "skipped", removed=len(stale),
                          notes=[f"skipped {source}: same content as {twin}", *notes])
    todo = [c for c in chunks if c.id not in old]
    # Embedding is the slow part (a 2 MB text is thousands of chunks, minutes on a CPU): a file of more than one
    # batch gets its own bar over chunks, else the file bar would sit at 0 the whole time.
    bar = tqdm(total=len(todo), desc=path.name[:30], unit="chunk", leave=False,
               disable=None if progress and len(todo) > cfg.batch_size else True)
    with bar:
        for i in range(0, len(todo), cfg.batch_size):
            batch = todo[i:i + cfg.batch_size]
            store.upsert(batch, store.embedder.embed_documents([c.text for c in batch]))
            bar.update(len(batch))
    if restamp:
        store.update_metadata(restamp)
    stale = sorted(old - new_ids)
    if stale:  # only after the new version is complete: a crash never leaves a file with no chunks
        store.delete(stale)
    return FileResult(source, "updated" if old else "added", chunks=len(chunks), added=len(todo),
                      removed=len(stale), notes=notes)


def ingest_paths(store: ChromaStore, cfg: KnowledgeBaseConfig, paths: Iterable[str | Path],
                 table: TableOptions | None = None, progress: bool = True,
                 ignore: Callable[[str], bool] | None = None) -> IngestReport:
    """`ignore`: stored sources that do not count as an earlier copy of a file (sync: those about to go)."""
    from tqdm import tqdm

    start = time.perf_counter()
    report = IngestReport()
    table = table or TableOptions()
    files = collect_files(paths, report)
    store.collection(create=True)
    bar = tqdm(files, desc="ingest", unit="file", disable=None if progress else True, leave=False)
    for path in bar:
        try:
            result = ingest_file(path, store, cfg, table, progress, ignore)
        except IngestError as exc:
            result = FileResult(source_key(path), "error", error=str(exc))
        except AssistantError:  # storage/config problems concern the whole batch, not this file
            raise
        except Exception as exc:  # a parser library failing on a malformed file: report it, go on
            result = FileResult(source_key(path), "error",
                                error=f"{path}: cannot read ({type(exc).__name__}: {exc})")
        if result.error:
            log.info("%s", result.error)  # the caller reports report.errors (CLI, admin view)
        report.files.append(result)
        bar.set_postfix(chunks=sum(f.chunks for f in report.files))
    report.seconds = time.perf_counter() - start
    return report


def _under(source: str, root: str) -> bool:
    return source == root or source.startswith(root.rstrip("/") + "/")


def require_sync_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The paths, each of which must be there: sync takes a missing one as "everything under it was deleted"."""
    paths = [Path(p).expanduser() for p in paths]
    for p in paths:
        if not p.exists():
            raise InputError(f"{p}: no such file or folder; sync removes documents under it that are gone, so it "
                             "refuses a path that is not there (moved? a drive not mounted?): nothing was changed")
    return paths


def sync_paths(store: ChromaStore, cfg: KnowledgeBaseConfig, paths: Iterable[str | Path],
               table: TableOptions | None = None, progress: bool = True) -> IngestReport:
    """Ingest what is there now under `paths`, and drop chunks of files under them that are gone.

    A path that is not there at all (moved, a drive not mounted) is refused before anything changes: taken as
    "everything under it was deleted", it emptied the collection. So is a folder with no file to ingest while the
    store holds documents from it (an empty mount point); `delete --source` removes documents on purpose."""
    paths = require_sync_paths(paths)
    found = {p: collect_files([p], IngestReport()) for p in paths}  # one walk for both checks below
    empty = [p for p in paths if p.is_dir() and not found[p]]
    if empty and store.exists():
        roots = {source_key(p): p for p in empty}
        held = {r for _, _, meta in store.iter_all(documents=False) for r in roots
                if _under(str(meta.get("source", "")), r)}
        if held:
            p = roots[sorted(held)[0]]
            raise InputError(f"{p}: the folder holds no file to ingest but the collection holds documents from it "
                             "(a drive not mounted?); sync refuses to remove them all: nothing was changed (use "
                             "`delete --source` to remove documents on purpose)")
    roots = [source_key(p) for p in paths]
    present = {source_key(f) for files in found.values() for f in files}

    def going(src: str) -> bool:
        # A file moved within the synced folder: its old path is dropped below, so it must not keep the file at
        # its new path out as "a copy", or the content would leave the store altogether.
        return src not in present and any(_under(src, r) for r in roots)

    report = ingest_paths(store, cfg, paths, table, progress, ignore=going)
    start = time.perf_counter()
    current = {f.source for f in report.files}
    by_source: dict[str, list[str]] = {}
    for cid, _, meta in store.iter_all(documents=False):
        src = str(meta.get("source", ""))
        if src not in current and any(_under(src, r) for r in roots):
            by_source.setdefault(src, []).append(cid)
    for src, ids in sorted(by_source.items()):
        store.delete(ids)
        report.files.append(FileResult(src, "removed", removed=len(ids)))
    report.seconds += time.perf_counter() - start
    return report
