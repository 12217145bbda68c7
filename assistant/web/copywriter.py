"""Copywriter studio handlers: brief form -> ranked ad variants with scores and limit counters, thumbs up/down
and inline edits (stored for fine-tuning), CSV download, A/B calculator. Plain functions over `assistant.adcopy`.

The browser keeps nothing but a small state dict: the brief, the channel and the variants' fields as generated.
Staff only: generating drives the LLM for minutes and feedback becomes training data, so every handler that
does either checks the caller's role (agent or admin) on the server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from assistant.errors import InputError
from assistant.web.staff import import_problem, require


def problem() -> str | None:
    return import_problem("assistant.adcopy")


def channel_choices() -> list[str]:
    try:
        from assistant.adcopy import load_channels

        return sorted(load_channels())
    except Exception:  # noqa: BLE001 - an empty dropdown, and generate() will say why
        return []


def generator(runtime):
    """One AdCopyGenerator per runtime: it loads its scorers (sentiment, embedder) once, lazily."""
    from assistant.adcopy import AdCopyGenerator

    return runtime.component("adcopy_generator", lambda: AdCopyGenerator(runtime.backend, runtime.settings))


def feedback_store(runtime):
    from assistant.adcopy import FeedbackStore

    return runtime.component("adcopy_feedback", lambda: FeedbackStore(runtime.storage_engine))


def variant_table(result, channel_id: str):
    """Rows: rank, each field, its length/limit counter, then the scores (total first)."""
    import pandas as pd

    from assistant.adcopy import get_channel

    channel = get_channel(channel_id)
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
        row.update({f"score {s}": round(float(v.scores[s]), 3) for s in scores if s in v.scores})
        rows.append(row)
    return pd.DataFrame(rows)


def _csv(table) -> str:
    path = Path(tempfile.mkdtemp(prefix="adcopy-")) / "ad_variants.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")  # utf-8-sig: Excel shows Chinese correctly
    return str(path)


def generate(runtime, role, product, attributes, audience, tone, offer, keywords, banned, channel, language, n):
    require(role, "agent")
    from assistant.adcopy import Brief

    if not channel:
        raise InputError("choose a channel")
    brief = Brief(product=product or "", channel=channel, n=int(n or 1), audience=audience or "",
                  tone=tone or "", language="" if language in (None, "", "auto") else language,
                  attributes=attributes or "", offer=offer or "", keywords=keywords or "",
                  banned_words=banned or "")
    result = generator(runtime).generate(brief)
    table = variant_table(result, result.channel)
    notes = "".join(f"\n- {n}" for n in result.notes)
    status = (f"**{result.produced} of {result.requested}** variants for `{result.channel}` "
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
    current = table.iloc[i]
    return {f: str(current[f]).strip() for f in original
            if f in current and str(current[f]).strip() and str(current[f]).strip() != original[f]}


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
    table = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    saved = 0
    for i, fields in enumerate(state["variants"]):
        edited = _edits(fields, table, i)
        if edited:
            feedback_store(runtime).record(state["brief"], fields, edited=edited)
            state["variants"][i] = {**fields, **edited}
            saved += 1
    if not saved:
        return "No edits to save: change a text in the table first.", state, _csv(table)
    return f"💾 Saved {saved} edited variant(s).", state, _csv(table)


def ab_test(a_n, a_k, b_n, b_k) -> str:
    from assistant.abtest import ab_test as run

    result = run([{"name": "A", "impressions": a_n, "clicks": a_k},
                  {"name": "B", "impressions": b_n, "clicks": b_k}])
    return f"```\n{result.as_text()}\n```"
