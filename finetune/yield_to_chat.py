"""The background job steps aside while the app answers customers (the app's side: assistant/activity.py).

A training step on 2 cores takes 30-45 s, far too long to wait for its end: the pause happens between decoder
layers instead, in the forward pass (a module pre-hook) and in the backward pass (a hook on each layer's output
gradient), so the job yields within about a second of the app's first mark. Sleeping between layers changes no
arithmetic: paused or not, the same seed gives the same weights.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.activity import QuietWaiter, activity_file


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
    """The job's waiter, or None when `autotrain.yield_to_chat` is off."""
    cfg = settings.autotrain
    if not cfg.yield_to_chat:
        return None
    return QuietWaiter(activity_file(settings), quiet_s=cfg.resume_after_s, on_change=on_change)
