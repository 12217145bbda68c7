"""Training data: JSONL in (alpaca, sharegpt or OpenAI messages) → chat-templated tokens → packed rows.

Loss is computed on assistant tokens only (the prompt is context, not something to learn to say), and
several short dialogues share one row so no compute is spent on padding; position ids restart at every
dialogue, which transformers turns into a block-diagonal attention mask (no attention across examples).
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.cli_support import read_text_lines
from assistant.errors import InputError

log = logging.getLogger(__name__)

IGNORE = -100  # label of tokens that carry no loss
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}


@dataclass
class Example:
    messages: list[dict[str, str]]
    #: strings of which at least one must appear in a good answer (support metric)
    gold: list[str] = field(default_factory=list)
    channel: str | None = None
    max_chars: int | None = None
    line: int = 0


def _text(value, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where} must be text, got {type(value).__name__}")
    return value


def parse_record(obj, where: str) -> Example:
    """One JSON object in any of the three formats → an Example (or an InputError naming `where`)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    msgs: list[dict[str, str]] = []
    if "messages" in obj:
        raw = obj["messages"]
        if not isinstance(raw, list):
            raise InputError(f"{where}: 'messages' must be a list")
        for i, m in enumerate(raw):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
                raise InputError(f"{where}: messages[{i}] needs role system|user|assistant, got {m!r:.80}")
            msgs.append({"role": m["role"], "content": _text(m.get("content"), f"{where}: messages[{i}].content")})
    elif "conversations" in obj:
        raw = obj["conversations"]
        if not isinstance(raw, list):
            raise InputError(f"{where}: 'conversations' must be a list")
        if obj.get("system"):
            msgs.append({"role": "system", "content": _text(obj["system"], f"{where}: system")})
        for i, m in enumerate(raw):
            role = SHAREGPT_ROLES.get(m.get("from")) if isinstance(m, dict) else None
            if role is None:
                raise InputError(f"{where}: conversations[{i}] needs from human|gpt|system, got {m!r:.80}")
            msgs.append({"role": role, "content": _text(m.get("value"), f"{where}: conversations[{i}].value")})
    elif "instruction" in obj:
        if "output" not in obj:
            raise InputError(f"{where}: alpaca record has 'instruction' but no 'output'")
        prompt = _text(obj["instruction"], f"{where}: instruction").strip()
        extra = _text(obj.get("input") or "", f"{where}: input").strip()
        if obj.get("system"):
            msgs.append({"role": "system", "content": _text(obj["system"], f"{where}: system")})
        msgs.append({"role": "user", "content": f"{prompt}\n\n{extra}" if extra else prompt})
        msgs.append({"role": "assistant", "content": _text(obj["output"], f"{where}: output")})
    else:
        raise InputError(f"{where}: unknown format: need 'messages', 'conversations' or 'instruction'+'output'")
    if not any(m["role"] == "assistant" and m["content"].strip() for m in msgs):
        raise InputError(f"{where}: no non-empty assistant turn to learn from")
    if msgs[-1]["role"] != "assistant":
        raise InputError(f"{where}: the last turn must be the assistant's")
    gold = obj.get("gold", [])
    gold = [gold] if isinstance(gold, str) else gold
    if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
        raise InputError(f"{where}: 'gold' must be a string or a list of strings")
    max_chars = obj.get("max_chars")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
        raise InputError(f"{where}: 'max_chars' must be a positive integer, got {max_chars!r}")
    return Example(msgs, gold, obj.get("channel"), max_chars)


def load_jsonl(path: str | Path) -> list[Example]:
    """Read every line; the first malformed one stops everything with its line number."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"data file {p} is a folder: give the JSONL file inside it")
    if not p.is_file():
        raise InputError(f"data file not found: {p}")
    out: list[Example] = []
    for n, line in enumerate(read_text_lines(p, "data file"), 1):
        where = f"{p.name} line {n}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            # A CSV or spreadsheet export fails on its first line: say what the file has to be.
            hint = "; training data is JSONL: one JSON object per line (alpaca, sharegpt or messages)" if not out else ""
            raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}){hint}") from None
        ex = parse_record(obj, where)
        ex.line = n
        out.append(ex)
    if not out:
        raise InputError(f"{p} has no examples")
    return out


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\+?\d[\d -]{9,}\d)(?!\d)")  # phones, cards; not prices or order ids


def _fallback_redact(text: str) -> str:
    return _LONG_NUMBER.sub("[NUMBER]", _EMAIL.sub("[EMAIL]", text))


def pii_redactor() -> Callable[[str], str]:
    """The project's redactor (assistant.privacy.redact) when installed, else e-mails + long numbers."""
    try:
        from assistant.privacy import redact
    except ImportError:
        log.info("assistant.privacy is not available: using the built-in e-mail/number redactor")
        return _fallback_redact

    def run(text: str) -> str:
        out = redact(text)
        return out if isinstance(out, str) else getattr(out, "text", str(out))

    return run


def redact_examples(examples: Sequence[Example], redactor: Callable[[str], str] | None = None) -> int:
    """Redact every turn in place; returns how many turns changed."""
    redactor = redactor or pii_redactor()
    changed = 0
    for ex in examples:
        for m in ex.messages:
            new = redactor(m["content"])
            changed += new != m["content"]
            m["content"] = new
    return changed


def split(examples: Sequence[Example], eval_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    if len(examples) < 2:
        raise InputError(f"need at least 2 examples for a train/eval split, got {len(examples)}")
    order = list(examples)
    random.Random(seed).shuffle(order)
    n_eval = min(len(order) - 1, max(1, round(len(order) * eval_fraction)))
    return order[n_eval:], order[:n_eval]


def _template(tok, messages, generation_prompt=False) -> str:
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def prompt_text(tok, ex: Example) -> str:
    """The chat-templated prompt up to the last assistant turn (what the model answers at run time)."""
    return _template(tok, ex.messages[:-1], generation_prompt=True)


def encode(tok, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Token ids + labels where only assistant turns (with their end-of-turn token) are learned.

    Each assistant span is found by rendering the conversation up to that turn with and without it; the
    text is tokenised piece by piece at those boundaries, which sit next to the template's special tokens.
    """
    full = _template(tok, messages)
    cuts: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = _template(tok, messages[:i], generation_prompt=True)
        upto = _template(tok, messages[: i + 1])
        if not (full.startswith(upto) and upto.startswith(before)):
            raise InputError("the chat template does not render conversations incrementally; cannot mask the prompt")
        cuts.append((len(before), len(upto)))
    ids: list[int] = []
    labels: list[int] = []
    pos = 0
    for start, end in cuts + [(len(full), len(full))]:
        for text, learn in ((full[pos:start], False), (full[start:end], True)):
            if text:
                piece = tok(text, add_special_tokens=False)["input_ids"]
                ids += piece
                labels += piece if learn else [IGNORE] * len(piece)
        pos = end
    return ids, labels


@dataclass
class Row:
    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    n_examples: int = 1


def encode_all(tok, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    out, cut = [], 0
    for ex in examples:
        ids, labels = encode(tok, ex.messages)
        if len(ids) > max_len:
            ids, labels, cut = ids[:max_len], labels[:max_len], cut + 1
        if any(lab != IGNORE for lab in labels):
            out.append((ids, labels))
    if cut:
        log.warning("%d example(s) longer than max_seq_len=%d were truncated", cut, max_len)
    if not out:
        raise InputError("no example has an assistant token left inside max_seq_len; raise max_seq_len")
    return out


def pack(encoded: Sequence[tuple[list[int], list[int]]], max_len: int, packing: bool = True) -> list[Row]:
    """First-fit-decreasing bin packing of encoded examples into rows of at most `max_len` tokens."""
    if not packing:
        return [Row(list(i), list(lab), list(range(len(i)))) for i, lab in encoded]
    bins: list[Row] = []
    for ids, labels in sorted(encoded, key=lambda e: -len(e[0])):
        target = next((b for b in bins if len(b.input_ids) + len(ids) <= max_len), None)
        if target is None:
            target = Row([], [], [], 0)
            bins.append(target)
        target.input_ids += ids
        # The first token of a dialogue must not be "predicted" from the previous dialogue's last token.
        target.labels += [IGNORE] + labels[1:]
        target.position_ids += list(range(len(ids)))
        target.n_examples += 1
    return bins


def collate(rows: Sequence[Row], pad_id: int, packed: bool) -> dict:
    """Pad a batch to its longest row. Packed rows carry position ids (no mask); padded rows a mask."""
    import torch

    width = max(len(r.input_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r.input_ids)
        ids[i, :n] = torch.tensor(r.input_ids)
        labels[i, :n] = torch.tensor(r.labels)
        pos[i, :n] = torch.tensor(r.position_ids)
        pos[i, n:] = torch.arange(width - n)  # padding forms its own (unlearned) segment
        mask[i, :n] = 1
    if packed:
        return {"input_ids": ids, "labels": labels, "position_ids": pos}
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def count_tokens(rows: Sequence[Row]) -> tuple[int, int]:
    """(real tokens, tokens with a loss) over rows."""
    return (sum(len(r.input_ids) for r in rows), sum(sum(lab != IGNORE for lab in r.labels) for r in rows))
