"""Copywriter studio handlers: brief form -> ranked ad variants with scores and limit counters, thumbs up/down
and inline edits (stored for fine-tuning), CSV download, A/B calculator. Plain functions over `assistant.adcopy`.

The browser keeps nothing but a small state dict: the brief, the channel and the variants' fields as generated.
Staff only: generating drives the LLM for minutes and feedback becomes training data, so every handler that
does either checks the caller's role (agent or admin) on the server.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from assistant.errors import InputError
from assistant.web.staff import import_problem, require


def problem() -> str | None:
    return import_problem("assistant.adcopy")


def channel_choices(runtime=None) -> list[str]:
    """The channels the shop's adcopy.channels_file defines (the shipped ones without it)."""
    try:
        from assistant.adcopy import load_channels

        return sorted(load_channels(_channels_file(runtime)))
    except Exception:  # noqa: BLE001 - an empty dropdown, and generate() will say why
        return []


# The "larger model for long texts" switch: what it turns on when the config names no long-text model.
LARGER_MODEL = "qwen2.5-1.5b"


def larger_by_default(runtime) -> bool:
    return bool(runtime.settings.adcopy.long_text_model)


def long_text_model(runtime, larger: bool | None = None) -> str:
    """The model `generator(runtime, larger)` writes long fields with ('' = the chat model), known without
    building it (a feed run keys its folder by it before deciding whether any model is needed)."""
    configured = runtime.settings.adcopy.long_text_model
    if larger is None:
        return configured
    return (configured or LARGER_MODEL) if larger else ""


def generator(runtime, larger: bool | None = None):
    """One AdCopyGenerator per runtime: it loads its scorers (sentiment, embedder) once, lazily. `larger`: long
    fields written by the larger model (True) or the chat model (False); None = as configured."""
    from assistant.adcopy import AdCopyGenerator

    base = runtime.component("adcopy_generator", lambda: AdCopyGenerator(runtime.backend, runtime.settings))
    wanted = long_text_model(runtime, larger)
    if wanted == base.cfg.long_text_model:
        return base
    return runtime.component(f"adcopy_generator:{wanted or 'chat model'}", lambda: base.with_long_text_model(wanted))


def feedback_store(runtime):
    from assistant.adcopy import FeedbackStore

    return runtime.component("adcopy_feedback", lambda: FeedbackStore(runtime.storage_engine))


def _channels_file(runtime) -> str | None:
    return (getattr(getattr(getattr(runtime, "settings", None), "adcopy", None), "channels_file", "") or None)


def variant_table(result, channel_id: str, channels_file: str | None = None):
    """Rows: rank, each field, its length/limit counter, what the checks fixed, the words to check (in no source),
    then the scores (total first)."""
    import pandas as pd

    from assistant.adcopy import get_channel

    channel = get_channel(channel_id, channels_file)  # the shop's own limits are what the counters show
    fields = list(dict.fromkeys(f for v in result.variants for f in v.fields))
    scores = list(dict.fromkeys(["total", *(s for v in result.variants for s in v.scores)]))
    rows = []
    for v in result.variants:
        row = {"rank": v.rank}
        for f in fields:
            text = v.fields.get(f, "")
            spec = channel.field(f)
            row[f] = text
            row[f"{f} length"] = f"{spec.measure(text)}/{spec.limit}"
        # what the checks changed, and words the brief does not state: the copywriter checks them before use
        row["fixes"] = "; ".join(v.fixes)
        row["check before use"] = ", ".join(v.review)
        row.update({f"score {s}": round(float(v.scores[s]), 3) for s in scores if s in v.scores})
        rows.append(row)
    return pd.DataFrame(rows)


def _csv(table) -> str:
    path = Path(tempfile.mkdtemp(prefix="adcopy-")) / "ad_variants.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")  # utf-8-sig: Excel shows Chinese correctly
    return str(path)


def generate(runtime, role, product, attributes, audience, tone, offer, keywords, banned, channel, language, n,
             larger=None):
    require(role, "agent")
    from assistant.adcopy import Brief

    if not channel:
        raise InputError("choose a channel")
    brief = Brief(product=product or "", channel=channel, n=_variants(n), audience=audience or "",
                  tone=tone or "", language="" if language in (None, "", "auto") else language,
                  attributes=attributes or "", offer=offer or "", keywords=keywords or "",
                  banned_words=banned or "")
    result = generator(runtime, larger).generate(brief)
    table = variant_table(result, result.channel, _channels_file(runtime))
    notes = "".join(f"\n- {n}" for n in result.notes)
    status = (f"**{result.produced} of {min(result.requested, runtime.settings.adcopy.max_variants)}** variants for "
              f"`{result.channel}` "
              f"({result.language}, {result.seconds:.1f} s, {result.llm_calls} model calls).{notes}")
    state = {"brief": brief.as_dict(), "variants": [dict(v.fields) for v in result.variants]}
    return table, status, state, (_csv(table) if len(table) else None)


def _pick(state, row) -> tuple[int, dict]:
    if not state or not state.get("variants"):
        raise InputError("generate some variants first")
    i = int(row or 0) - 1
    if not 0 <= i < len(state["variants"]):
        raise InputError(f"row must be between 1 and {len(state['variants'])}")
    return i, state["variants"][i]


def _edits(original: dict, table, i: int) -> dict:
    """Fields whose text in the (editable) table differs from what was generated."""
    if table is None or i >= len(table):
        return {}
    import pandas as pd

    current = table.iloc[i]
    # a cleared cell comes back as None/NaN: no edit (it had been saved as the text "nan")
    cells = {f: str(current[f]).strip() for f in original if f in current and not pd.isna(current[f])}
    return {f: text for f, text in cells.items() if text and text != original[f]}


def _recheck(runtime, state, table, i: int, edited: dict) -> list[str]:
    """What a copywriter's edit breaks (the channel's limit, the law and brand lint), with the table's length
    counters brought up to date: the export said "26/30" for a 77-wide headline."""
    from assistant.adcopy import get_channel
    from assistant.adcopy.brand import brand_for
    from assistant.adcopy.lint import Linter
    from assistant.adcopy.text import detect_language

    brief = state["brief"]
    channel = get_channel(brief["channel"], _channels_file(runtime))
    brand = brand_for(runtime.settings)
    banned = [*(brief.get("banned_words") or []), *brand.banned(brief.get("language", ""))]
    linter, problems = Linter(banned, names=[brief.get("product", ""), *brand.all_names()]), []
    for f, text in edited.items():
        spec = channel.field(f)
        if f"{f} length" in table.columns:
            table.at[table.index[i], f"{f} length"] = f"{spec.measure(text)}/{spec.limit}"
        if not spec.fits(text):
            problems.append(f"variant {i + 1} {f}: {spec.measure(text)}/{spec.limit}, over the channel's limit")
        for v in linter.check(text, detect_language(text), brief["channel"], f):
            problems.append(f"variant {i + 1} {f}: [{v.rule}] {v.match!r}")
    return problems


def feedback(runtime, vote: int, role, state, table, row):
    """👍/👎 on one variant (with any inline edit of it), stored for the next fine-tune."""
    require(role, "agent")
    i, fields = _pick(state, row)
    edited = _edits(fields, table, i)
    feedback_store(runtime).record(state["brief"], fields, rating=vote, edited=edited or None)
    return f"{'👍' if vote > 0 else '👎'} saved for variant {i + 1}" + (" (with your edit)" if edited else "") + "."


def save_edits(runtime, role, state, table):
    """Store every inline edit as feedback (an edit is a better answer), then refresh the CSV."""
    require(role, "agent")
    import pandas as pd

    if not state or not state.get("variants"):
        raise InputError("generate some variants first")
    table = (table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)).copy()
    saved, problems = 0, []
    for i, fields in enumerate(state["variants"]):
        edited = _edits(fields, table, i)
        if edited:
            feedback_store(runtime).record(state["brief"], fields, edited=edited)
            state["variants"][i] = {**fields, **edited}
            problems += _recheck(runtime, state, table, i, edited)
            saved += 1
    if not saved:
        return "No edits to save: change a text in the table first.", state, _csv(table)
    # saved as written (the copywriter decides), but never unseen: such an edit teaches no adapter either
    warn = "".join(f"\n- ⚠️ {p}" for p in problems)
    return f"💾 Saved {saved} edited variant(s).{warn}", state, _csv(table)


def ab_test(a_n, a_k, b_n, b_k) -> str:
    from assistant.abtest import ab_test as run

    result = run([{"name": "A", "impressions": a_n, "clicks": a_k},
                  {"name": "B", "impressions": b_n, "clicks": b_k}])
    return f"```\n{result.as_text()}\n```"


# ---- feed mode: a catalogue in, assets to approve in bulk, the channel's import file out ------------------------
FEED_INFO_COLUMNS = ["row_id", "title", "url", "variant"]  # url: a reviewer fills a missing one in the table
FEED_TAIL_COLUMNS = ["score", "fixes", "check", "notes"]


def _feed_dir(runtime) -> Path:
    from assistant.config import resolve_path

    return resolve_path(runtime.settings.adcopy.feed_dir) or Path("data/adcopy_feeds")


def _upload_path(file) -> Path:
    if file is None:
        raise InputError("upload a product feed (.csv, .xlsx or .tsv) first")
    return Path(getattr(file, "name", None) or file)


def feed_table(assets: list[dict]):
    """The review table: an `approved` checkbox first, then the product, each asset field, score, fixes, notes."""
    import pandas as pd

    from assistant.adcopy.feed_run import BASE_COLUMNS, MACHINE_KEY, TAIL_COLUMNS, is_approved

    fields = list(dict.fromkeys(k for a in assets for k in a if k not in [*BASE_COLUMNS, *TAIL_COLUMNS, MACHINE_KEY]))
    columns = ["approved", *FEED_INFO_COLUMNS, *fields, *FEED_TAIL_COLUMNS]
    rows = [{"approved": is_approved(a.get("approved")), **{c: a.get(c, "") for c in columns[1:]}} for a in assets]
    return pd.DataFrame(rows, columns=columns)


def run_feed(runtime, role, file, channel, language, n, larger=None, mapping: str = ""):
    """Every product of the uploaded feed through the generator; yields (table, status, state, review sheet) as
    rows finish. The run folder is keyed by the file's content, channel, language, n and column mapping (the CLI's
    `--map`, "title=Product Name,id=SKU"): uploading the same feed again resumes where an interrupted run stopped,
    and a run whose every row is done loads no model."""
    require(role, "agent")
    import hashlib

    from assistant.adcopy import get_channel
    from assistant.adcopy.brand import pick_brand
    from assistant.adcopy.feed import language_mismatch, parse_mapping, read_feed
    from assistant.adcopy.feed_run import (
        FeedState,
        LazyGenerator,
        asset_rows,
        iter_feed,
        model_key,
        review_from_sheet,
        write_assets,
    )

    path = _upload_path(file)
    if not channel:
        raise InputError("choose a channel")
    get_channel(channel, _channels_file(runtime))
    columns = parse_mapping(mapping)
    feed = read_feed(path, columns)
    if not feed.products:
        raise InputError(f"no product rows in {path.name}")
    lang = "" if language in (None, "", "auto") else language
    n = _variants(n)
    # another mapping reads other products out of the same file: its own run folder
    digest = hashlib.sha256(path.read_bytes() + (json.dumps(sorted(columns.items())).encode() if columns else b"")
                            ).hexdigest()[:12]
    # The generator (and with it the model) is built on the first row that needs writing, as in the CLI; the rows
    # are keyed by the brand it would write for, so that brand is picked here the way AdCopyGenerator picks it.
    cfg = runtime.settings.adcopy
    writer = LazyGenerator(lambda: generator(runtime, larger), pick_brand(None, runtime.settings, cfg.brand_file))
    # the long-text writer in the key too: a resumed run never mixes two models' copy
    long_model = model_key(long_text_model(runtime, larger))
    run_dir = _feed_dir(runtime) / (f"{digest}-{channel}-{lang or 'auto'}-{n}" + (f"-{long_model}" if long_model else ""))
    # Earlier versions cut the name at its last dot ("qwen2.5-1.5b" -> "qwen2.5-1"): such a run resumes, renamed.
    cut = run_dir.with_name(run_dir.name.removesuffix(long_model) + Path(long_model).stem)
    if long_model and cut != run_dir and cut.is_dir() and not run_dir.exists():
        cut.rename(run_dir)
    state = FeedState(run_dir / "assets.state.jsonl")
    rows, total, resumed, resumed_ids = [], len(feed.products), 0, set()
    # A wrong language flag is only a warning (a shop may want English ads for a Chinese catalogue), worded for
    # this tab's Language box rather than the CLI's flag.
    warning = language_mismatch(feed.products, lang).removeprefix("warning: ").replace("--language", "language", 1)
    head = (f"⚠️ {warning}\n\n" if warning else "") + feed.describe() + "".join(f"\n- {s}" for s in feed.skipped)
    run = {"channel": channel, "assets": [], "run_dir": str(run_dir)}
    # shown at once: loading the model can take minutes, and the warning is worth reading before they pass
    yield feed_table([]), f"**0 of {total}** rows: starting.\n\n{head}", run, None
    for row, was_done in iter_feed(writer, feed.products, channel, n=n, language=lang, state=state):
        rows.append(row)
        resumed += was_done
        if was_done:
            resumed_ids.add(row.row_id)
        done = len(rows)
        # each written row shows at once (the model takes a minute a row); rows read back from an earlier run
        # are shown five at a time
        if done == total or not was_done or done % 5 == 0:
            assets = asset_rows(rows)
            status = (f"**{done} of {total}** rows ({resumed} resumed from an earlier run), "
                      f"{sum(len(r.variants) for r in rows)} assets.\n\n{head}")
            if resumed == total:
                status += "\n\nEvery row was already done: read back from the earlier run, no model loaded."
            if done == total:
                assets, kept = review_from_sheet(run_dir / "assets.csv", assets, resumed_ids, state)
                status += f"\n\nApprovals and edits of {kept} asset(s) kept from the last export." if kept else ""
            sheet = str(write_assets(assets, run_dir / "assets.csv")) if done == total else None
            yield feed_table(assets), status, {**run, "assets": assets}, sheet


RECORDED_FILE = "feedback_recorded.txt"  # in a run folder: the assets (and edits) already stored as feedback


def _url_cell(rec) -> dict[str, str]:
    """{"url": the table's url cell} when the reviewer's table has one, else {} (the feed's URL stays)."""
    import pandas as pd

    value = rec.get("url")
    return {} if value is None or pd.isna(value) else {"url": str(value).strip()}


def _save_review(state, table) -> None:
    """The table's approvals and edited texts into the run folder's review sheet (also the sheet offered for
    download), so that uploading the same feed again shows them."""
    import pandas as pd

    from assistant.adcopy.feed_run import MACHINE_KEY, is_approved, write_assets

    by_key = {(str(r["row_id"]), str(r["variant"])): r for _, r in table.iterrows()}
    rows = []
    for a in ({k: v for k, v in a.items() if k != MACHINE_KEY} for a in state["assets"]):
        rec = by_key.get((str(a["row_id"]), str(a["variant"])))
        if rec is None:
            rows.append(a)
            continue
        edits = {f: str(rec[f]).strip() for f in a if f in rec and f not in FEED_INFO_COLUMNS + FEED_TAIL_COLUMNS
                 and f not in ("language", "channel", "approved") and not pd.isna(rec[f])
                 and str(rec[f]).strip()}
        rows.append({**a, **edits, **_url_cell(rec), "approved": "yes" if is_approved(rec.get("approved")) else ""})
    write_assets(rows, Path(state["run_dir"]) / "assets.csv")


def feed_mark_all(role, table, approved: bool):
    """Approve (or reject) every asset in the table at once; single rows are ticked in the table itself."""
    require(role, "agent")
    import pandas as pd

    table = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    if table is None or table.empty or "approved" not in table:
        raise InputError("run a feed first")
    table = table.copy()
    table["approved"] = [bool(approved) and str(v) != "0" for v in table["variant"]]
    return table


def feed_export(runtime, role, state, table):
    """The approved assets, as edited in the table, in the channel's import layout; edits are linted again and
    kept as feedback (an approved asset is a 👍, an edit a better answer) for the next fine-tune."""
    require(role, "agent")
    import pandas as pd

    from assistant.adcopy import get_channel
    from assistant.adcopy.brand import pick_brand
    from assistant.adcopy.export import check_url, failing_fields, layout_for, write_import
    from assistant.adcopy.feed_run import MACHINE_KEY, is_approved
    from assistant.adcopy.lint import Linter
    from assistant.adcopy.sheet import is_asset, sheet_column

    if not state or not state.get("assets"):
        raise InputError("run a feed first")
    table = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    channel, by_key = state["channel"], {(a["row_id"], str(a["variant"])): a for a in state["assets"]}
    # the brand the generator would write for, picked without building it: building it loads the model, which an
    # export (of a run read back whole from its state file) does not need
    brand = pick_brand(None, runtime.settings, runtime.settings.adcopy.brand_file)
    linter = Linter(brand.banned(""), runtime.settings.adcopy.lint_rules_file or None, brand.all_names())
    spec = get_channel(channel, _channels_file(runtime))
    chosen, problems, store = [], [], feedback_store(runtime)
    recorded_file = Path(state["run_dir"]) / RECORDED_FILE
    recorded = set(recorded_file.read_text(encoding="utf-8").splitlines()) if recorded_file.is_file() else set()
    new_keys: list[str] = []
    for _, rec in table.iterrows():
        original = by_key.get((str(rec["row_id"]), str(rec["variant"])))
        if original is None or not is_approved(rec.get("approved")) or not is_asset(rec):
            continue
        fields = {f: ("" if pd.isna(rec[f]) else str(rec[f]).strip()) for f in original if f in rec
                  and f not in FEED_INFO_COLUMNS + FEED_TAIL_COLUMNS and f not in ("language", "channel", "approved")}
        written = {f: original.get(MACHINE_KEY, {}).get(f, original[f]) for f in fields}  # the model's words
        edited = {f: t for f, t in fields.items() if t != written[f]}
        # The table is edited by hand: every field is checked again as the CLI's export checks the sheet (the
        # channel's limit, the lint in the language the text is written in), and a failing asset is left out.
        _, broken = failing_fields([{**original, **fields}], spec, linter)
        url = _url_cell(rec).get("url", original.get("url", ""))
        if url:
            try:
                url = check_url(url, f"{original['row_id']}'s url")
            except InputError as exc:
                broken = [*broken, str(exc)]
        if broken:
            problems += broken
            continue
        chosen.append({**original, **fields, "url": url})
        key = json.dumps([original["row_id"], str(original["variant"]), written, edited], ensure_ascii=False)
        if key in recorded:  # exported before as it is: a second 👍 would only weigh it twice in the next fine-tune
            continue
        brief = {"product": original["title"], "channel": channel, "language": original.get("language") or ""}
        store.record(brief, written, rating=1, edited=edited or None)
        recorded.add(key)
        new_keys.append(key)
    if new_keys:
        with (Path(state["run_dir"]) / RECORDED_FILE).open("a", encoding="utf-8") as fh:
            fh.write("".join(k + "\n" for k in new_keys))
    _save_review(state, table)  # before any refusal: the review is kept whatever the export makes of it
    if not chosen:
        raise InputError("no approved asset to export: tick `approved` (or Approve all) first"
                         + ("; assets with a field over the limit or breaking a rule were left out: " + "; ".join(problems)
                              if problems else ""))
    out = Path(state["run_dir"]) / f"import_{layout_for(channel)}.csv"
    # the channel's own fields only, as the CLI writes them: no `written` (the model's words beside an edit)
    path, count, notes = write_import(chosen, channel, out, fields=[sheet_column(f) for f in spec.fields])
    lines = [f"⬇️ {count} rows in the {layout_for(channel)} layout from {len(chosen)} approved assets."]
    lines += [f"- left out: {p}" for p in problems] + [f"- {n}" for n in notes]
    return "\n".join(lines), str(path)


def _variants(n) -> int:
    """The number of variants asked for, as a whole number of at least 1 (the CLI's --n rule)."""
    try:
        value = float(n if n not in (None, "") else 1)
    except (TypeError, ValueError):
        raise InputError(f"the number of variants must be a whole number, got {n!r}") from None
    if value < 1 or value != int(value):
        raise InputError(f"the number of variants must be a whole number of at least 1, got {n!r}")
    return int(value)
