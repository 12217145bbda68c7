"""Copywriters' thumbs and edits, kept in the shared store and exported as fine-tuning data.

`FeedbackStore(engine).record(...)` keeps one row per judged variant. `export(...)` writes SFT rows
(alpaca JSONL: instruction / input / output; output = the edited or liked text) and preference pairs
(prompt / chosen / rejected: edited beats its original, liked beats disliked for the same brief), in the
prompt format the generator itself uses, so `python -m finetune` trains the next `adcopy` adapter on them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import get_channel
from assistant.adcopy.prompts import generation_messages
from assistant.adcopy.sheet import same_file
from assistant.errors import InputError, StorageError
from assistant.outputs import output_file, replace_text, writing
from assistant.storage import Base, ensure_tables, session_factory

MAX_PAIRS_PER_BRIEF = 50


class AdCopyFeedback(Base):
    __tablename__ = "adcopy_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime.now(UTC))
    generation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    brief_json: Mapped[str] = mapped_column(Text)
    variant_json: Mapped[str] = mapped_column(Text)  # {field: text} as generated
    edited_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # {field: text} after the edit
    rating: Mapped[int] = mapped_column(Integer, default=0)  # +1 thumbs up, -1 thumbs down, 0 edit only
    user: Mapped[str] = mapped_column(String(64), default="")


def _rating(value) -> int:
    if value in (None, 0, "", "none"):
        return 0
    if value in (1, True, "up", "+1", "like", "👍"):
        return 1
    if value in (-1, False, "down", "-1", "dislike", "👎"):
        return -1
    raise InputError(f"rating must be up/down (+1/-1) or none, got {value!r}")


class FeedbackStore:
    def __init__(self, engine):
        self.engine = engine
        ensure_tables(engine)
        self._session = session_factory(engine)

    def record(self, brief: Brief | dict, fields: dict[str, str], rating=None, edited: dict[str, str] | str | None = None,
               generation_id: str | None = None, user: str = "") -> int:
        """Keep one judgement. `edited` may be a {field: text} dict or, for one-field variants, a string."""
        brief = brief if isinstance(brief, Brief) else Brief.from_dict(dict(brief))
        if not fields or not all(isinstance(v, str) for v in fields.values()):
            raise InputError("fields must map field names to the variant's texts")
        if isinstance(edited, str):
            if len(fields) != 1:
                raise InputError("edited text for a multi-field variant must be a {field: text} mapping")
            edited = {next(iter(fields)): edited}
        edited = {k: v.strip() for k, v in (edited or {}).items() if isinstance(v, str) and v.strip()}
        unknown = set(edited) - set(fields)
        if unknown:
            raise InputError(f"edited names field(s) the variant does not have: {', '.join(sorted(unknown))}")
        score = _rating(rating)
        if score == 0 and not edited:
            raise InputError("feedback needs a rating (up/down) or an edited text")
        row = AdCopyFeedback(
            generation_id=generation_id or uuid.uuid4().hex, channel=brief.channel, language=brief.language,
            brief_json=json.dumps(brief.as_dict(), ensure_ascii=False), rating=score, user=user[:64],
            variant_json=json.dumps(fields, ensure_ascii=False),
            edited_json=json.dumps(edited, ensure_ascii=False) if edited else None,
        )
        try:
            with self._session() as s, s.begin():
                s.add(row)
                s.flush()
                return row.id
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store ad-copy feedback: {exc}") from None

    def rows(self) -> list[AdCopyFeedback]:
        try:
            with self._session() as s:
                return list(s.scalars(select(AdCopyFeedback).order_by(AdCopyFeedback.id)))
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read ad-copy feedback: {exc}") from None

    def export(self, sft_path: str | Path, pairs_path: str | Path | None = None, brand=None) -> dict:
        """Write SFT rows to `sft_path` and preference pairs to `pairs_path` (default `<stem>.pairs.jsonl`); texts the
        TrainingGate refuses (with `brand`'s facts as support) are counted in `left_out`, not written."""
        sft_path, pairs_path = export_paths(sft_path, pairs_path)
        feedback = self.rows()
        gate = TrainingGate(brand)
        sft, pairs = training_rows(feedback, gate)
        for path, option, rows in ((sft_path, "--output", sft), (pairs_path, "--pairs", pairs)):
            output_file(path, option, "feedback.jsonl")
            # Written whole under a temporary name, then renamed: an interrupted export never leaves half a file.
            with writing(path, option):
                replace_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return {"sft": len(sft), "pairs": len(pairs), "feedback": len(feedback), "left_out": dict(gate.left_out),
                "sft_path": str(sft_path), "pairs_path": str(pairs_path)}


def export_paths(sft_path: str | Path, pairs_path: str | Path | None = None) -> tuple[Path, Path]:
    """The two files `export` writes, checked before anything is read or written: two distinct paths (else the
    pairs would replace the SFT rows), and nothing replaced that is not JSONL (a sheet, a feed, a config)."""
    sft_path = Path(sft_path)
    pairs_path = Path(pairs_path) if pairs_path else sft_path.with_name(sft_path.stem + ".pairs.jsonl")
    if same_file(sft_path, pairs_path):
        raise InputError(f"--output and --pairs are the same file ({sft_path}): the preference pairs would replace "
                         "the SFT rows; give --pairs another name")
    for path, option in ((sft_path, "--output"), (pairs_path, "--pairs")):
        if path.is_dir():
            raise InputError(f"{option} {path} is a folder: give a file name such as {path / 'feedback.jsonl'}")
        if path.exists() and path.suffix.lower() != ".jsonl":
            raise InputError(f"{option} {path} exists and is not a .jsonl file; move it away or choose another "
                             "name ending in .jsonl")
    return sft_path, pairs_path


def instruction_for(brief: Brief, field: str) -> str:
    """The user prompt the generator sends for one item of `field`: training matches inference."""
    channel = get_channel(brief.channel)
    msgs = generation_messages(brief, channel, field, 1, None, brief.required_terms)
    return msgs[-1].content


# Fields shorter than this are derived from the others (google_rsa's path1/path2): no copy to learn from.
MIN_TRAINED_LIMIT = 20


class TrainingGate:
    """Whether a liked or edited text may teach the next adapter: a person's edit or a thumbs-up is not checked
    when it is made, and "全网最低价！…国家级大师出品" or "68元，满99元包邮" for a brief that states no price would teach
    the model to break the law or state facts it was not given. Over the field's limit, breaking the lint, or
    stating a number, material, certification or claim the brief does not (the exact checks of facts.py) is out."""

    def __init__(self, brand=None):
        from assistant.adcopy.facts import FactChecker

        self.facts, self.brand = FactChecker(words=False), brand  # the brand's standing facts back copy too
        self.left_out: dict[str, int] = {}

    def why_not(self, brief: Brief, field: str, text: str) -> str:
        from assistant.adcopy.lint import Linter
        from assistant.adcopy.text import detect_language

        spec = get_channel(brief.channel).fields.get(field)
        if spec is None or spec.limit < MIN_TRAINED_LIMIT:
            return "derived field"
        if not spec.fits(text):
            return "over the limit"
        banned = [*brief.banned_words, *(self.brand.banned(brief.language) if self.brand is not None else [])]
        if Linter(banned).check(text, detect_language(text), brief.channel, field):  # the brand's words too
            return "breaks a lint rule"
        brand = self.brand.fact_list(brief.language) if self.brand is not None else []
        if self.facts.unsupported(text, self.facts.sources(*brief.facts(), *brand)):
            return "states a fact the brief does not"
        return ""

    def allows(self, brief: Brief, field: str, text: str) -> bool:
        why = self.why_not(brief, field, text)
        if why:
            self.left_out[why] = self.left_out.get(why, 0) + 1
        return not why


def training_rows(feedback: list[AdCopyFeedback], gate: TrainingGate | None = None) -> tuple[list[dict], list[dict]]:
    """SFT rows and preference pairs; a text `gate` refuses is no SFT output and no chosen side of a pair."""
    gate = gate or TrainingGate()
    sft: list[dict] = []
    pairs: list[dict] = []
    liked: dict[tuple, list[str]] = {}
    disliked: dict[tuple, list[str]] = {}
    prompts: dict[tuple, str] = {}
    for row in feedback:
        brief = Brief.from_dict(json.loads(row.brief_json))
        original = json.loads(row.variant_json)
        edited = json.loads(row.edited_json) if row.edited_json else {}
        for field, text in original.items():
            key = (row.brief_json, field)
            if key not in prompts:
                try:
                    prompts[key] = instruction_for(brief, field)
                except Exception:  # noqa: BLE001 - a channel/field removed since: skip, don't fail the export
                    continue
            better = edited.get(field)
            if better and better != text:
                if gate.allows(brief, field, better):
                    sft.append({"instruction": prompts[key], "input": "", "output": f"1. {better}"})
                    pairs.append(_pair(prompts[key], better, text))
                    liked.setdefault(key, []).append(better)
            elif row.rating > 0 and gate.allows(brief, field, text):
                sft.append({"instruction": prompts[key], "input": "", "output": f"1. {text}"})
                liked.setdefault(key, []).append(text)
            if row.rating < 0:
                disliked.setdefault(key, []).append(text)
    for key, bad in disliked.items():
        good = liked.get(key, [])
        made = 0
        for g in dict.fromkeys(good):
            for b in dict.fromkeys(bad):
                if g != b and made < MAX_PAIRS_PER_BRIEF:
                    pairs.append(_pair(prompts[key], g, b))
                    made += 1
    unique = {(p["prompt"], p["chosen"], p["rejected"]): p for p in pairs}  # an edit of a disliked row pairs once
    return sft, list(unique.values())


def _pair(prompt: str, chosen: str, rejected: str) -> dict:
    return {"prompt": prompt, "instruction": prompt, "input": "", "chosen": f"1. {chosen}", "rejected": f"1. {rejected}"}
