"""The background job steps aside while the app answers customers (the app's side: assistant/activity.py).

A training step on 2 cores takes 30-45 s, far too long to wait for its end: the pause happens between decoder
layers instead, in the forward pass (a module pre-hook) and in the backward pass (a hook on each layer's output
gradient), so the job yields within about a second of the app's first mark. Sleeping between layers changes no
arithmetic: paused or not, the same seed gives the same weights.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

from assistant.activity import QuietWaiter, activity_file

AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(nice: int, autogroup: Path = AUTOGROUP, session_leader: bool | None = None,
                   tries: int = 20) -> str:
    """Lower this process to `nice`, and its session's scheduling group with it; returns how, for the log.

    Why the group: Linux's autogroup (on by default on most kernels) gives each session its own scheduling
    group, and nice only ranks processes inside one group. dev.sh starts the job in its own session (setsid, so
    stopping the app does not stop it), so a plain `nice 19` ranked it against nothing: measured, a nice-19 busy
    loop in its own session took half of a core from a nice-0 one in another. Writing the value to
    /proc/self/autogroup ranks the whole group. Only a session leader does it: a job started from someone's
    shell shares that shell's group and must not lower it.
    """
    current = os.nice(0)
    if nice > current:
        current = os.nice(nice - current)
    if session_leader is None:
        session_leader = os.getsid(0) == os.getpid()
    if not session_leader:
        return f"nice {current} (shares its session's scheduling group, left as it is)"
    for _ in range(tries):
        try:
            autogroup.write_text(str(nice))
            return f"nice {current}, its session's scheduling group nice {nice}"
        except FileNotFoundError:
            return f"nice {current} (no autogroup on this kernel)"
        except OSError as exc:
            if exc.errno != errno.EAGAIN:  # the kernel lets an unprivileged process write it ten times a second
                return f"nice {current} (scheduling group left as it is: {exc.strerror})"
            time.sleep(0.1)
    return f"nice {current} (scheduling group busy, left as it is)"


def decoder_layers(model) -> list:
    """The repeated blocks of a causal LM (Qwen2DecoderLayer, LlamaDecoderLayer ...), whatever wraps them."""
    return [m for m in model.modules() if type(m).__name__.endswith(("DecoderLayer", "Block"))]


def install_layer_pauses(model, wait: Callable[[], float]) -> list:
    """Call `wait()` before every layer's forward and before its backward; returns the hook handles."""
    def before_forward(module, args):
        wait()

    def after_forward(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        if getattr(hidden, "requires_grad", False):
            # Runs when the gradient w.r.t. this layer's output arrives, i.e. just before its backward.
            hidden.register_hook(lambda grad: (wait(), grad)[1])

    handles = []
    for layer in decoder_layers(model):
        handles.append(layer.register_forward_pre_hook(before_forward))
        handles.append(layer.register_forward_hook(after_forward))
    return handles


def waiter_for(settings, on_change=None) -> QuietWaiter | None:
    """The job's waiter, or None when `autotrain.yield_to_chat` is off or the job is frozen instead
    (finetune/chat_freeze.py)."""
    from finetune.chat_freeze import freezes

    cfg = settings.autotrain
    if not cfg.yield_to_chat or freezes(settings):
        return None
    return QuietWaiter(activity_file(settings), quiet_s=cfg.resume_after_s, on_change=on_change)
