"""Snapshots of llama.cpp's evaluated prompt, one per recent system prompt, so that switching tasks on one model
does not read a system prompt again.

llama.cpp keeps the KV cache of the last prompt only, and llama-cpp-python reuses it when the next prompt starts
the same way. One model serves several tasks in turn (the reader's YES/NO question, the translation of a question,
the translation of an answer), each under its own system prompt, so every switch evaluated the next task's system
prompt again: measured on 2 AVX2 cores with the 1.5B, about 3 s of a 4-5 s answer. Keeping the KV cells of the
last prompt seen under each system prompt (a few MB: only the sequence's used cells, not the whole state with
its logits) and putting them back before a prompt under that system prompt makes the switch cost only the new
user text. The output is the same: the restored cells are the ones the model computed for those tokens.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)
_SEQ = 0  # llama-cpp-python evaluates every prompt in sequence 0


@dataclass
class _Snapshot:
    tokens: np.ndarray  # the prompt (and reply) tokens whose KV cells `cells` holds
    cells: bytes


class PromptSnapshots:
    """Per model: the KV cells of the last prompt under each of the `capacity` most recent system prompts.

    `before(model, system)` puts back the snapshot of `system` when the model's current prompt was another
    task's; `after(model, system)` records the prompt just evaluated. Both run under the model's lock."""

    def __init__(self, capacity: int = 4):
        self.capacity = capacity
        self._snapshots: OrderedDict[str, _Snapshot] = OrderedDict()
        self._current: str | None = None  # the system prompt whose tokens the model's KV cache holds now
        self._lock = threading.Lock()
        self.restored = 0  # how many prompts started from a snapshot (tests and logs read it)

    def before(self, model, system: str) -> None:
        if self.capacity < 1 or not system or system == self._current:
            return
        with self._lock:
            snap = self._snapshots.get(system)
            if snap is None:
                return
            self._snapshots.move_to_end(system)
        from assistant.llm.llamacpp_backend import import_llama_cpp

        llama_cpp = import_llama_cpp()
        buf = (ctypes.c_uint8 * len(snap.cells)).from_buffer_copy(snap.cells)
        if not llama_cpp.llama_state_seq_set_data(model.ctx, buf, len(snap.cells), _SEQ):
            log.debug("a prompt snapshot could not be restored; the prompt is evaluated in full")
            model.n_tokens = 0  # the cache's content is unknown now: llama-cpp-python starts afresh
            self._current = None
            return
        n = len(snap.tokens)
        model.input_ids[:n] = snap.tokens
        model.n_tokens = n
        model._requires_eval = True  # the logits are not restored: the next prompt decodes at least one token
        self._current = system
        self.restored += 1

    def after(self, model, system: str) -> None:
        if self.capacity < 1:
            return
        self._current = system or None
        if not system or model.n_tokens < 1:
            return
        from assistant.llm.llamacpp_backend import import_llama_cpp

        llama_cpp = import_llama_cpp()
        size = llama_cpp.llama_state_seq_get_size(model.ctx, _SEQ)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(model.ctx, buf, size, _SEQ)
        if not written:
            return
        snap = _Snapshot(np.array(model.input_ids[: model.n_tokens], copy=True), ctypes.string_at(buf, written))
        with self._lock:
            self._snapshots[system] = snap
            self._snapshots.move_to_end(system)
            while len(self._snapshots) > self.capacity:
                self._snapshots.popitem(last=False)

    def forget(self) -> None:
        """After a failed generation the KV cache may hold anything: nothing is restored over it as known."""
        self._current = None
