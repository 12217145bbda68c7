"""The review sheet at `feed --output` is where people work: they mark `approved`, fix a text inline, write a
note, add a column of their own. A re-run rewrites the sheet from the state file, so it first reads the sheet
already there and carries that work over onto the same asset (row id + variant) when the asset's copy was read
back unchanged from the state file. Review that cannot be carried (the row's copy was written afresh, or the row
is not in this run) is not dropped silently: the old sheet is kept next to the new one, and the run says so.

Also here: the guard that an `--output` is never the `--input` it is made from.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.tables import looks_excel_rounded

BASE_COLUMNS = ["row_id", "title", "url", "language", "channel", "variant"]
TAIL_COLUMNS = ["score", "fixes", "check", "notes", "approved"]
MACHINE_COLUMNS = frozenset(BASE_COLUMNS + TAIL_COLUMNS)
# On an asset row (variant 1+) both are the reviewer's, except the run's own note on its row's first asset.
REVIEW_COLUMNS = ("approved", "notes")
# The product's, from the feed; a reviewer fills or corrects them in the sheet (a missing URL the export asks for),
# and that outlives a re-run whatever becomes of the row's copy.
PRODUCT_COLUMNS = ("title", "url")


# A cell Excel runs as a formula when it opens the sheet: a feed's title "=HYPERLINK(…)" (a supplier's or a
# marketplace's feed is not the shop's own text), or a headline "-20% today", which Excel shows as #NAME?.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value):
    """`value` as the review sheet stores it: a text Excel would run as a formula gets a leading apostrophe, as Excel
    itself writes one; `from_excel` takes it off again when the sheet is read back."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def from_excel(row: dict) -> dict:
    """A sheet row with the apostrophe `excel_safe` put before a formula-like text taken off again."""
    return {k: v[1:] if isinstance(v, str) and v.startswith("'") and v[1:].startswith(FORMULA_START) else v
            for k, v in row.items()}


def sheet_column(field_name: str) -> str:
    """The sheet column of a channel field: a field named like a product column (xiaohongshu's note `title`) is
    written as `ad_<name>`, so the note's title does not replace the product's name."""
    return f"ad_{field_name}" if field_name in BASE_COLUMNS else field_name


def is_asset(row: dict) -> bool:
    """A sheet row that holds copy: variant 1 and up (variant 0 stands for a product that got none)."""
    return str(row.get("variant", "0")) != "0"


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: through symlinks, `..`, hard links and case-folding file systems."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def refuse_same_file(source: str | Path, output: str | Path, what: str) -> None:
    """A one-line refusal where writing `output` would replace `source` (the file it is made from) by `what`."""
    if same_file(source, output):
        raise InputError(f"--output {output} is the --input file itself: writing it would replace the input with "
                         f"{what}; choose another --output")


def read_previous(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of the review sheet a re-run is about to replace ([], [] when there is none). Anything
    else at that path is refused: overwriting a file `feed` did not write (or cannot read) would lose it."""
    from assistant.tables import read_table

    p = Path(path)
    if p.is_dir():
        raise InputError(f"--output {p} is a folder; name a .csv file")
    if not p.is_file() or p.stat().st_size == 0:
        return [], []
    try:
        header, rows = read_table(p)
    except InputError as exc:
        raise InputError(f"cannot read the existing --output {p} to keep its review ({exc}); move it away or "
                         "choose another --output") from None
    if not {"row_id", "channel", "variant"} <= set(header):
        raise InputError(f"--output {p} exists and is not a review sheet from `feed` (no row_id, channel and "
                         "variant columns); move it away or choose another --output")
    return header, [from_excel(r) for r in rows]


@dataclass
class Carried:
    rows: list[dict[str, str]]
    extra_columns: list[str] = field(default_factory=list)  # columns the reviewer added, kept last
    kept: int = 0  # assets whose approval, note or edited text came over from the old sheet
    lost: list[str] = field(default_factory=list)  # "A3 variant 1": reviewed assets the new sheet cannot hold


def carry_review(new_rows: list[dict[str, str]], old_header: list[str], old_rows: list[dict[str, str]],
                 resumed: set[str], machine_texts: dict[tuple[str, str], set[str]]) -> Carried:
    """`new_rows` (from `asset_rows`) with the review of `old_rows` (the sheet being replaced) carried over.

    `resumed`: row ids whose copy was read back from the state file in this run, so the old sheet shows the
    same assets. `machine_texts`: (row id, field) -> every text the state file holds for it; a cell that differs
    from the new text and is none of those was typed by a person (an edit), one that is among them is another
    run's copy (the sheet is stale for that asset, and its approval was of other words)."""
    fields = list(dict.fromkeys(k for r in new_rows for k in r if k not in MACHINE_COLUMNS))
    old_fields = [h for h in old_header if h and h not in MACHINE_COLUMNS]
    known = fields + [name for _, name in machine_texts]
    extra = [h for h in old_fields if h not in known]
    find = _asset_finder(new_rows)
    out = Carried(new_rows, extra)
    for old in old_rows:
        rid, variant = old.get("row_id", ""), old.get("variant", "")
        if variant in ("", "0"):  # a row without an asset: its notes are the run's, nothing to review
            continue
        new = find(old)
        if new is not None and new["row_id"] != rid:  # the id as Excel saved it: the rest goes by the run's id
            rid = new["row_id"]
            old = {**old, "row_id": rid}
        same = new is not None and rid in resumed and old.get("channel") == new.get("channel")
        product = _product_edits(old, new, machine_texts)
        if product and new is not None:
            new.update(product)
        elif product:
            out.lost.append(f"{rid} variant {variant} ({', '.join(product)})")
            continue
        edits, stale = {}, False
        for name in old_fields:
            if name in extra:
                continue
            value, now = old.get(name, ""), str((new or {}).get(name, "")).strip()
            if value == now or (new is None and not value):
                continue
            if value in machine_texts.get((rid, name), set()):
                stale = True
            else:
                edits[name] = value
        # the run's own note in the notes cell (fewer assets than asked for) is no review
        review = {k: old[k] for k in (*REVIEW_COLUMNS, *extra)
                  if old.get(k, "") and old[k] not in machine_texts.get((rid, k), set())}
        if not review and not edits:
            out.kept += bool(product)
            continue
        if same and not stale:
            new.update(edits)
            new.update(review)
            out.kept += 1
        else:
            out.lost.append(f"{rid} variant {variant}")
    return out


def _asset_finder(new_rows: list[dict[str, str]]):
    """old sheet row -> the same asset among `new_rows`, or None. By row id and variant; failing that, by the id
    as Excel saves a numeric one when the reviewer opened the sheet in it (00123 as 123; a 12-digit 612345678901
    as 6.12346E+11, then by title too), when exactly one asset fits: the review of a shop whose ids start with a
    zero was otherwise lost on every re-run."""
    exact = {(r["row_id"], str(r.get("variant", ""))): r for r in new_rows}
    unzeroed: dict[tuple[str, str], list[dict]] = {}
    by_title: dict[tuple[str, str], list[dict]] = {}
    for r in new_rows:
        rid, variant = str(r["row_id"]), str(r.get("variant", ""))
        if rid.isdigit():
            unzeroed.setdefault((rid.lstrip("0") or "0", variant), []).append(r)
            by_title.setdefault((str(r.get("title") or "").strip(), variant), []).append(r)

    def find(old: dict[str, str]) -> dict[str, str] | None:
        rid, variant = str(old.get("row_id", "")).strip(), str(old.get("variant", ""))
        if (rid, variant) in exact:
            return exact[(rid, variant)]
        if rid.isdigit():
            found = unzeroed.get((rid.lstrip("0") or "0", variant), [])
        elif looks_excel_rounded(rid):
            found = by_title.get((str(old.get("title") or "").strip(), variant), [])
        else:
            found = []
        return found[0] if len(found) == 1 else None
    return find


def _product_edits(old: dict[str, str], new: dict[str, str] | None,
                   machine_texts: dict[tuple[str, str], set[str]]) -> dict[str, str]:
    """The product cells (title, url) a person typed into `old`: neither empty, nor the new run's, nor any value
    the feed gave the row before."""
    rid, out = old.get("row_id", ""), {}
    for name in PRODUCT_COLUMNS:
        value = str(old.get(name) or "").strip()
        if value and value != str((new or {}).get(name, "")).strip() and value not in machine_texts.get((rid, name),
                                                                                                        set()):
            out[name] = value
    return out


def keep_old_sheet(path: str | Path) -> Path:
    """Copy the sheet about to be replaced to `<stem>.before-<time>.csv`, so review that cannot be carried over
    is still on disk."""
    p = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = p.with_name(f"{p.stem}.before-{stamp}{p.suffix}")
    n = 1
    while backup.exists():  # two re-runs within a second must not overwrite the first copy
        n += 1
        backup = p.with_name(f"{p.stem}.before-{stamp}-{n}{p.suffix}")
    shutil.copy2(p, backup)
    return backup
