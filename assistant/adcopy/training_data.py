"""The shipped headline lists as fine-tuning rows, in the generator's own prompt format.

`python -m assistant.adcopy training-data --output FILE.jsonl` writes them (with the exported feedback rows
appended when `--feedback FILE.jsonl` is given); `python -m finetune train --task adcopy --data FILE.jsonl`
trains the `adcopy` adapter on them. Each row is exactly what the generator sends for a Google headline
round (system prompt, brief, k numbered angles) and the answer it hopes for: k short lines, one per angle,
without the angle labels (fewer tokens to generate, nothing to strip).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from assistant.adcopy.brand import BrandProfile, load_brand
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import get_channel
from assistant.adcopy.checks import problems
from assistant.adcopy.prompts import ANGLES, OFFER_ANGLE, generation_messages
from assistant.adcopy.sheet import same_file
from assistant.errors import InputError
from assistant.outputs import output_file, replace_text, writing

HEADLINE_LISTS = Path(__file__).resolve().parent / "data" / "headline_lists.yaml"


def load_headline_lists(path: str | Path = HEADLINE_LISTS) -> list[dict]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read headline lists {path}: {exc}") from None
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list) or not products:
        raise InputError(f"{path}: needs a non-empty 'products' list")
    return products


def _angle_names(offer: str) -> list[str]:
    """The generator's angle order (`prompts.angles_for`), English names as the YAML keys."""
    return [a for a, _ in ([OFFER_ANGLE] if offer else []) + ANGLES]


def _renamed(text: str, demo: BrandProfile, brand: BrandProfile, language: str) -> str:
    """`text` (a shipped headline, written for the demo brand) naming `brand` instead: "选极光" for a tea shop had
    taught its adapter to name the demo brand."""
    own = brand.name_in(language)
    names = {demo.name, *demo.names.values()}
    short = {n[:2] for n in names if n and not n.isascii() and len(n) > 2} | {n.split()[0] for n in names
                                                                             if n and n.isascii() and " " in n}
    for name in sorted(names | short, key=len, reverse=True):
        if name and name != own:
            text = text.replace(name, own)
    return text


def headline_rows(path: str | Path = HEADLINE_LISTS, brand: BrandProfile | None = None, k: int = 8) -> list[dict]:
    """OpenAI-messages rows: one per round of k angles (offsets 0, k, ... as the generator's rounds use). The
    shipped lists are written for the demo brand; for another `brand` its name replaces the demo's in them."""
    demo = load_brand()
    brand = brand or demo
    channel = get_channel("google_rsa")
    spec = channel.field("headline")
    rows = []
    for n, p in enumerate(load_headline_lists(path), 1):
        where = f"{path} product {n} ({p.get('product', '?')})"
        brief = Brief(product=p.get("product", ""), attributes=p.get("attributes") or [], offer=p.get("offer") or "",
                      language=p.get("language", ""), fields=["headline"], n=k)
        required = brand.required(brief.language)
        names, lines = _angle_names(brief.offer), dict(p.get("headlines") or {})
        if brand is not demo:
            lines = {a: _renamed(str(t), demo, brand, brief.language) for a, t in lines.items()}
        missing = [a for a in names if a not in lines]
        if missing:
            raise InputError(f"{where}: no headline for angle(s) {', '.join(missing)}")
        bad = [(angle, found) for angle in names
               if (found := problems(lines[angle], spec, brief.language, brand.banned(brief.language), required))]
        if bad and brand is not demo:
            continue  # renamed, a line no longer fits (a longer name, a banned word of this brand): not taught
        if bad:
            angle, found = bad[0]
            raise InputError(f"{where}: {angle} headline {lines[angle]!r}: {', '.join(found)}")
        # Rounds start at 0, k, 2k, ...; the last one is moved back to end at the last angle, not wrap around.
        for offset in sorted({min(o, len(names) - k) for o in range(0, len(names), k)}):
            msgs = generation_messages(brief, channel, "headline", k, brand, required, angle_offset=offset)
            reply = "\n".join(f"{i}. {lines[a]}" for i, a in enumerate(names[offset:offset + k], 1))
            rows.append({"messages": [m.as_dict() for m in msgs] + [{"role": "assistant", "content": reply}]})
    return rows


def write_training_data(output: str | Path, feedback: str | Path | None = None,
                        brand: BrandProfile | None = None) -> int:
    """The headline rows (+ exported feedback rows, checked, then copied as they are) as one JSONL file; returns
    the count. An existing `output` is replaced only when it is .jsonl: anything else there is someone's data."""
    out = output_file(output, "--output", "rows.jsonl")
    if out.exists() and out.suffix.lower() != ".jsonl":
        raise InputError(f"--output {out} exists and is not a .jsonl file; move it away or choose another name "
                         "ending in .jsonl")
    if feedback and same_file(feedback, out):
        raise InputError(f"--output {out} is the --feedback file: writing it would replace the feedback rows; "
                         "choose another --output")
    rows = [json.dumps(r, ensure_ascii=False) for r in headline_rows(brand=brand)]
    if feedback:
        rows += feedback_lines(feedback)
    with writing(out, "--output"):
        replace_text(out, "\n".join(rows) + "\n")
    return len(rows)


def feedback_lines(path: str | Path) -> list[str]:
    """The SFT rows of an `export-feedback` file, as written. Each line must be a JSON object with non-empty
    `instruction` and `output` strings: a CSV, a pairs file or a torn line would train the adapter on garbage."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read feedback rows {path}: {getattr(exc, 'strerror', None) or exc}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            raise InputError(f"{path} line {n} is not a JSON object; --feedback takes the SFT rows "
                             "`export-feedback --output` writes")
        bad = [k for k in ("instruction", "output") if not isinstance(row.get(k), str) or not row[k].strip()]
        if bad:
            raise InputError(f"{path} line {n} has no {' or '.join(repr(k) for k in bad)} text; --feedback takes "
                             "the SFT rows `export-feedback --output` writes (not its .pairs.jsonl)")
        out.append(line)
    return out
