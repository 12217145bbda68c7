"""The training job's pauses between layers (finetune/yield_to_chat.py) on the tiny random Llama."""

from __future__ import annotations

import threading

from finetune.yield_to_chat import decoder_layers, install_layer_pauses


def test_it_waits_before_every_layer_forward_and_backward(tiny_model):
    import torch

    calls = []
    install_layer_pauses(tiny_model, lambda: calls.append(1) or 0.0)
    ids = torch.tensor([[5, 6, 7, 8]])
    loss = tiny_model(input_ids=ids, labels=ids, use_cache=False).loss
    assert len(decoder_layers(tiny_model)) == 2 and len(calls) == 2  # forward: before each layer
    loss.backward()
    assert len(calls) == 4  # backward: as each layer's output gradient arrives
    with torch.no_grad():
        tiny_model(input_ids=ids, use_cache=False)
    assert len(calls) == 6  # evaluation and sampling pause too, with no gradient hooks


def test_a_forward_pass_holds_while_the_app_is_busy(tiny_model):
    import torch

    busy = threading.Event()
    free = threading.Event()
    entered = []

    def wait():
        entered.append(1)
        if busy.is_set():
            free.wait(5)
        return 0.0

    install_layer_pauses(tiny_model, wait)
    busy.set()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (tiny_model(input_ids=torch.tensor([[1, 2, 3]])), done.set()))
    worker.start()
    assert not done.wait(0.3) and len(entered) == 1  # held before the first layer
    free.set()
    worker.join(5)
    assert done.is_set() and len(entered) == 2


def test_pauses_change_no_arithmetic(tiny_tokenizer):
    import torch

    from tests.finetune.conftest import make_tiny_model

    def one_step(pause):
        model = make_tiny_model(tiny_tokenizer)
        if pause:
            install_layer_pauses(model, lambda: 0.0)
        ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
        model(input_ids=ids, labels=ids).loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    for a, b in zip(one_step(False), one_step(True), strict=True):
        assert torch.equal(a, b)
