"""Feed mode: every product of a feed through the generator (and its fact check and lint), resumable.

Each finished row is appended to a sidecar state file (`<output stem>.state.jsonl`) under a key made of the row
id and a hash of everything the copy is written from (row content, channel, language, variants per row, brand):
run the same command again after an interruption and the rows already done are read back, not redone; a row
whose content changed gets a new key and is written afresh. The assets CSV is a review sheet: one row per
asset with an `approved` column that `export` reads; a re-run keeps the review already in it (sheet.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.adcopy.feed import Feed, Product
from assistant.adcopy.sheet import (
    BASE_COLUMNS,
    TAIL_COLUMNS,
    carry_review,
    excel_safe,
    from_excel,
    keep_old_sheet,
    read_previous,
    sheet_column,
)
from assistant.errors import GenerationError, InputError
from assistant.tables import read_table

log = logging.getLogger(__name__)
APPROVED_WORDS = {"1", "true", "yes", "y", "x", "✓", "✔", "approved", "approve", "ok", "是", "通过", "批准", "√"}


@dataclass
class RowResult:
    key: str
    row_id: str
    title: str
    url: str
    language: str
    channel: str
    variants: list[dict] = field(default_factory=list)  # {"fields": {...}, "score": float, "fixes": [...]}
    notes: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""  # the backend failed: not stored, so a re-run tries the row again


@dataclass
class FeedRun:
    rows: list[RowResult]
    resumed: int  # rows read back from the state file
    written: int  # rows generated in this run
    failed: int
    seconds: float
    state_path: Path | None = None
    kept: int = 0  # assets whose review (approval, note, edited text) came over from the sheet being replaced
    lost: list[str] = field(default_factory=list)  # reviewed assets the new sheet could not carry
    backup: Path | None = None  # the replaced sheet, kept when `lost` is not empty
    n: int = 1  # assets asked for per row

    @property
    def assets(self) -> int:
        return sum(len(r.variants) for r in self.rows)

    def summary(self) -> str:
        empty = sum(1 for r in self.rows if not r.variants and not r.error)
        out = (f"{len(self.rows)} rows: {self.written} written, {self.resumed} resumed from the state file, "
               f"{self.failed} failed, {empty} without a usable asset; {self.assets} assets in {self.seconds:.1f} s")
        if empty:
            out += " (a re-run keeps them as they are; --retry-empty writes them again)"
        short = [r.row_id for r in self.rows if r.variants and len(r.variants) < self.n]
        if short:  # the reason is in the row's `notes` cell ("could only produce 1 of 2: ...")
            out += (f"; {len(short)} row{'s' if len(short) > 1 else ''} got fewer than {self.n} assets "
                    f"({', '.join(short[:5])}{' ...' if len(short) > 5 else ''}: see their notes)")
        if self.kept:
            out += f"; kept the review of {self.kept} assets from the existing sheet"
        if self.lost:
            shown = ", ".join(self.lost[:5]) + (" ..." if len(self.lost) > 5 else "")
            out += (f"\nnote: the review of {len(self.lost)} assets ({shown}) is for copy this run replaced or did "
                    f"not include; the previous sheet is kept as {self.backup}")
        return out


def state_path_for(output: str | Path) -> Path:
    p = Path(output)
    return p.with_name(p.stem + ".state.jsonl")


def model_key(model: str) -> str:
    """The name a long-text model goes by in row keys and run folders: a profile as written ("qwen2.5-1.5b"), a
    GGUF file by its name without the folder and the extension ('' = the chat model)."""
    return Path(model).name.removesuffix(".gguf") if model else ""


def row_key(product: Product, channel: str, language: str, n: int, brand: str = "", long_model: str = "") -> str:
    """`long_model`: who writes the long fields, when not the chat model (left out of the salt otherwise, so the
    rows of runs without one keep their keys): a resumed run never mixes two models' copy."""
    salt = json.dumps([product.content_hash(), channel, language, n, brand, *([long_model] if long_model else [])],
                      ensure_ascii=False)
    return f"{product.id}:{hashlib.sha256(salt.encode()).hexdigest()[:16]}"


class FeedState:
    """The sidecar JSONL: one finished row a line, appended and flushed as soon as the row is done."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.done: dict[str, RowResult] = {}
        if self.path and self.path.is_file():
            torn = False
            for n, line in enumerate(self.path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                try:
                    row = RowResult(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    log.warning("%s line %d is not a finished row (cut off by an interruption?); redoing it", self.path, n)
                    torn = True
                    continue
                self.done[row.key] = row
            if torn:  # rewrite without the torn line, or the next row would be appended to it and lost too
                self.path.write_text("".join(json.dumps(asdict(r), ensure_ascii=False) + "\n"
                                             for r in self.done.values()), encoding="utf-8")

    def add(self, row: RowResult) -> None:
        self.done[row.key] = row
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
                fh.flush()


def _result_row(product: Product, brief, result, key: str, seconds: float) -> RowResult:
    variants = [{"fields": dict(v.fields), "score": round(float(v.scores.get("total", 0.0)), 3), "fixes": list(v.fixes),
                 "review": list(v.review)} for v in result.variants]
    return RowResult(key, product.id, product.title, product.url, brief.language, brief.channel, variants,
                     list(result.notes), dict(result.rejected), round(seconds, 2))


class LazyGenerator:
    """Stands in for the generator in a feed run and builds it (loading the model: seconds to minutes on a CPU)
    on the first row that needs writing, so a run whose every row is read back from the state file loads none.

    `build()` returns the generator; `brand` must be the brand it writes for, since the row keys include it."""

    def __init__(self, build, brand):
        self.brand, self._build, self.generator = brand, build, None

    def generate(self, brief):
        if self.generator is None:
            self.generator = self._build()
        return self.generator.generate(brief)


def iter_feed(generator, products: list[Product], channel: str, *, n: int = 1, language: str = "",
              state: FeedState | None = None, long_model: str = "",
              retry_empty: bool = False) -> Iterator[tuple[RowResult, bool]]:
    """(row result, resumed?) for each product in order; a finished row is in the state before it is yielded.
    `long_model`: the long-text model's name, in the row keys (see `row_key`). `retry_empty`: a finished row that
    got no asset is written again (after the brand file, the row or the settings changed)."""
    state = state or FeedState(None)
    brand = getattr(getattr(generator, "brand", None), "name", "")
    for product in products:
        brief = product.brief(channel, n, language)
        key = row_key(product, channel, brief.language, n, brand, long_model)
        if key in state.done and not (retry_empty and not state.done[key].variants):
            yield state.done[key], True
            continue
        t = time.perf_counter()
        try:
            result = generator.generate(brief)
        except GenerationError as exc:  # the model failed on this row: say so, carry on, retry on the next run
            yield RowResult(key, product.id, product.title, product.url, brief.language, channel,
                            error=str(exc), seconds=round(time.perf_counter() - t, 2)), False
            continue
        row = _result_row(product, brief, result, key, time.perf_counter() - t)
        state.add(row)
        yield row, False


def run_feed(generator, feed: Feed, channel: str, output: str | Path, *, n: int = 1, language: str = "",
             progress: bool = True, limit: int | None = None, long_model: str = "",
             retry_empty: bool = False) -> FeedRun:
    """The whole feed (or its first `limit` rows) to `output` (assets CSV), resumable via the state file;
    `long_model`: the long-text model ('' = the chat model), which a resumed row must have been written with."""
    from tqdm import tqdm

    if not str(output).lower().endswith(".csv"):
        raise InputError(f"--output must be a .csv file, got {Path(output).name!r}")
    if limit is not None and limit < 0:  # a slice would drop rows from the end instead
        raise InputError(f"limit must be 0 (every row) or more, got {limit}")
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    old_header, old_rows = read_previous(output)  # before any model work: a sheet we may not replace stops here
    products = feed.products[:limit] if limit else feed.products
    state = FeedState(state_path_for(output))
    start, rows, resumed, failed, resumed_ids = time.perf_counter(), [], 0, 0, set()
    bar = tqdm(total=len(products), desc=f"feed → {channel}", unit="row", disable=not progress)
    try:
        for row, was_done in iter_feed(generator, products, channel, n=n, language=language, state=state,
                                       long_model=long_model, retry_empty=retry_empty):
            rows.append(row)
            resumed += was_done
            failed += bool(row.error)
            if was_done:
                resumed_ids.add(row.row_id)
            bar.update(1)
            bar.set_postfix(resumed=resumed, failed=failed, refresh=False)
    except KeyboardInterrupt:
        bar.close()
        # Every finished row is in the state file already; the sheet is written by the run that finishes.
        print(f"\ninterrupted after {len(rows)} of {len(products)} rows; they are kept in {state.path}: run the same "
              "command again to go on from there", file=sys.stderr)
        raise
    bar.close()
    carried = carry_review(asset_rows(rows), old_header, old_rows, resumed_ids, _machine_texts(state))
    backup = keep_old_sheet(output) if carried.lost else None
    write_assets(carried.rows, output, extra=carried.extra_columns)
    return FeedRun(rows, resumed, len(rows) - resumed - failed, failed, time.perf_counter() - start, state.path,
                   carried.kept, carried.lost, backup, n)


def _machine_texts(state: FeedState) -> dict[tuple[str, str], set[str]]:
    """(row id, field) -> every text the state file holds for it, whichever run wrote it; `notes` too, since a
    row's notes go into the cell of its first asset (a reviewer's note is anything else)."""
    out: dict[tuple[str, str], set[str]] = {}
    for row in state.done.values():
        for name in ("title", "url"):  # the feed's values, so a cell still holding one is no person's edit
            out.setdefault((row.row_id, name), set()).add(str(getattr(row, name, "") or "").strip())
        if row.notes:
            out.setdefault((row.row_id, "notes"), set()).add("; ".join(row.notes))
        for v in row.variants:
            for name, text in v.get("fields", {}).items():
                out.setdefault((row.row_id, sheet_column(name)), set()).add(str(text).strip())
    return out


MACHINE_KEY = "written"  # on an asset whose texts a carried edit replaced: {field: the model's text}


def review_from_sheet(sheet: str | Path, assets: list[dict], resumed: set[str], state: FeedState
                      ) -> tuple[list[dict], int]:
    """`assets` (from `asset_rows`) with the approvals and edits a review sheet at `sheet` holds, for the assets
    read back unchanged (`carry_review`): the Copywriter tab saves its table there on Export, and showed every
    asset unticked and every edit gone when the same feed was uploaded again. (assets, how many kept a review)."""
    try:
        old_header, old_rows = read_previous(sheet)
    except InputError:  # an unreadable sheet in the run's own folder: the run is still good, only unreviewed
        return assets, 0
    written = [dict(a) for a in assets]
    carried = carry_review(assets, old_header, old_rows, resumed, _machine_texts(state))
    for row, before in zip(carried.rows, written, strict=True):
        # the model's own words, for the feedback an export stores: an edit is the person's, not the model's
        machine = {k: v for k, v in before.items() if row.get(k) != v and k not in ("approved", "notes")}
        if machine:
            row[MACHINE_KEY] = machine
    return carried.rows, carried.kept


def asset_rows(rows: list[RowResult]) -> list[dict[str, str]]:
    """One review row per asset; a product without a usable asset gets one row saying why."""
    out = []
    for r in rows:
        base = {"row_id": r.row_id, "title": r.title, "url": r.url, "language": r.language, "channel": r.channel}
        if not r.variants:
            out.append({**base, "variant": "0", "notes": r.error or "; ".join(r.notes) or "no asset", "approved": ""})
            continue
        for i, v in enumerate(r.variants, 1):
            check = ("not in the product data: " + ", ".join(v["review"])) if v.get("review") else ""
            # the row's notes (fewer assets than asked for, and why) go with its first asset
            fields = {sheet_column(name): text for name, text in v["fields"].items()}
            out.append({**base, "variant": str(i), **fields, "score": f"{v['score']:.3f}",
                        "fixes": "; ".join(v["fixes"]), "check": check,
                        "notes": "; ".join(r.notes) if i == 1 else "", "approved": ""})
    return out


def write_assets(rows: list[dict[str, str]], path: str | Path, extra: list[str] | None = None) -> Path:
    """The review sheet; `extra`: columns a reviewer added, written after `approved`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    extra = list(extra or [])
    # MACHINE_KEY holds the model's words beside an edit, for feedback: no column of the sheet
    fields = list(dict.fromkeys(k for r in rows for k in r
                                if k not in [*BASE_COLUMNS, *TAIL_COLUMNS, *extra, MACHINE_KEY]))
    with p.open("w", newline="", encoding="utf-8-sig") as fh:  # utf-8-sig: Excel shows Chinese correctly
        w = csv.DictWriter(fh, fieldnames=BASE_COLUMNS + fields + TAIL_COLUMNS + extra, extrasaction="ignore")
        w.writeheader()
        w.writerows({k: excel_safe(v) for k, v in r.items()} for r in rows)
    return p


def read_assets(path: str | Path) -> list[dict[str, str]]:
    """The review sheet's rows, read as `feed` reads a feed: CSV in UTF-8 or GB18030 (what Chinese Excel saves)
    or the .xlsx Excel saves it as."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"assets file not found: {p}")
    header, rows = read_table(p)
    if not {"row_id", "channel", "variant"} <= set(header):
        raise InputError(f"{p.name} is not an assets sheet from `feed` (needs row_id, channel, variant columns)")
    return [from_excel(r) for r in rows]


def is_approved(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in APPROVED_WORDS
