"""What every LLM backend speaks: chat messages in, text (whole or streamed) out.

Backends are picked by a config string in `factory.build_backend`; everything above this layer only
sees the `LLMBackend` protocol, so tests drive it with `FakeBackend`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assistant.errors import InputError

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    role: str
    content: str

    def __post_init__(self):
        if self.role not in ROLES:
            raise InputError(f"message role must be one of {ROLES}, got {self.role!r}")
        if not isinstance(self.content, str):
            raise InputError(f"message content must be text, got {type(self.content).__name__}")

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class GenerationOptions:
    """Per-call knobs; unset values fall back to the backend's config."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    #: task adapter to answer with ("support", "adcopy"); None = the base model
    adapter: str | None = None


@runtime_checkable
class LLMBackend(Protocol):
    name: str

    def generate(self, messages: Sequence[Message], **opts) -> str: ...

    def stream(self, messages: Sequence[Message], **opts) -> Iterator[str]: ...


def to_messages(messages: Sequence[Message | dict | tuple]) -> list[Message]:
    """Accept Message objects, {"role", "content"} dicts or (role, content) pairs."""
    out: list[Message] = []
    for m in messages:
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, dict):
            out.append(Message(str(m.get("role", "")), m.get("content") or ""))
        else:
            role, content = m
            out.append(Message(role, content))
    if not out:
        raise InputError("no messages to answer")
    if not any(m.role == "user" and m.content.strip() for m in out):
        raise InputError("the prompt is empty: say something first")
    return out


def options_from(defaults: GenerationOptions, opts: dict) -> GenerationOptions:
    unknown = set(opts) - set(GenerationOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
    merged = {k: getattr(defaults, k) for k in GenerationOptions.__dataclass_fields__}
    merged.update({k: v for k, v in opts.items() if v is not None})
    merged["stop"] = list(merged.get("stop") or [])
    return GenerationOptions(**merged)


def fit_to_context(
    messages: list[Message],
    count_tokens: Callable[[str], int],
    n_ctx: int,
    reserve: int,
    per_message_overhead: int = 8,
) -> list[Message]:
    """Trim a conversation so prompt + `reserve` new tokens fit in `n_ctx`, warning when it trims.

    Oldest turns go first (the system prompt and the latest user turn are kept); if the latest turn alone
    is still too long, its middle is cut, since a customer's question usually sits at its start or end.
    """
    # Slack for what the chat template adds (role markers, a default system prompt some templates insert).
    budget = max(64, n_ctx - reserve - max(32, n_ctx // 32))

    def cost(ms: list[Message]) -> int:
        return sum(count_tokens(m.content) + per_message_overhead for m in ms)

    if cost(messages) <= budget:
        return messages
    system = [m for m in messages if m.role == "system"][:1]
    rest = [m for m in messages if m.role != "system"]
    dropped = 0
    while len(rest) > 1 and cost(system + rest) > budget:
        rest.pop(0)
        dropped += 1
    last = rest[-1]
    over = cost(system + rest) - budget
    if over > 0:
        # Characters per token varies (Chinese ~1, English ~4); shrink by ratio and re-check.
        text = last.content
        for _ in range(8):
            tokens = max(1, count_tokens(text))
            keep_tokens = max(16, tokens - over - 8)
            keep_chars = max(32, int(len(text) * keep_tokens / tokens))
            head, tail = text[: keep_chars // 2], text[len(text) - keep_chars // 2:]
            text = head + "\n[...]\n" + tail
            over = cost(system + rest[:-1] + [Message(last.role, text)]) - budget
            if over <= 0:
                break
        rest[-1] = Message(last.role, text)
        log.warning("prompt too long for the %d-token context: cut the latest message to %d characters",
                    n_ctx, len(text))
    if dropped:
        log.warning("prompt too long for the %d-token context: dropped %d oldest message(s)", n_ctx, dropped)
    return system + rest
