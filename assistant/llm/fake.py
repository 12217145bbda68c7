"""A deterministic backend for tests of every layer above the LLM: queued replies, recorded prompts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from assistant.errors import GenerationError
from assistant.llm.base import GenerationOptions, Message, options_from, to_messages


class FakeBackend:
    name = "fake"

    def __init__(self, replies: Sequence[str | Exception] = (), default: str | None = None):
        self.replies: list[str | Exception] = list(replies)
        self.default = default
        self.calls: list[dict] = []  # one per call: {"messages": [...], "options": GenerationOptions}

    def queue(self, *replies: str | Exception) -> None:
        self.replies.extend(replies)

    def _next(self, messages: Sequence[Message], opts: dict) -> str:
        msgs = to_messages(messages)
        options = options_from(GenerationOptions(), opts)
        self.calls.append({"messages": msgs, "options": options})
        if self.replies:
            reply = self.replies.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            last = next(m.content for m in reversed(msgs) if m.role == "user")
            reply = f"(fake answer to: {last.strip()[:200]})"
        if isinstance(reply, Exception):
            raise reply if isinstance(reply, GenerationError) else GenerationError(str(reply))
        for s in options.stop:
            if s and s in reply:
                reply = reply[: reply.index(s)]
        if options.max_tokens is not None:
            words = reply.split(" ")
            reply = " ".join(words[: options.max_tokens])
        return reply

    def generate(self, messages: Sequence[Message], **opts) -> str:
        return self._next(messages, opts)

    def stream(self, messages: Sequence[Message], **opts) -> Iterator[str]:
        # Word-sized chunks, keeping whitespace, so "".join(stream) == generate().
        yield from re.findall(r"\S+\s*|\s+", self._next(messages, opts))

    def count_tokens(self, text: str) -> int:
        """Words stand for tokens here (what `max_tokens` counts above)."""
        return len(text.split())

    def yes_log_odds(self, messages: Sequence[Message], yes=(), no=(), **opts) -> float:
        """The queued reply as log odds: a number as written, else -4 for a NO and +4 for anything else (how a
        sampled reply is read)."""
        reply = self._next(messages, {k: v for k, v in opts.items() if k != "max_tokens"}).strip()
        try:
            return float(reply)
        except ValueError:
            return -4.0 if reply.upper().startswith("NO") else 4.0

    @property
    def last_prompt(self) -> list[Message]:
        return self.calls[-1]["messages"] if self.calls else []
