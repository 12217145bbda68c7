"""The training job's pauses between layers (finetune/yield_to_chat.py) on the tiny random Llama."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from finetune.yield_to_chat import decoder_layers, install_layer_pauses, lower_priority


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


AUTOGROUP_ON = Path("/proc/sys/kernel/sched_autogroup_enabled")


def _in_child(code: str, new_session: bool) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         start_new_session=new_session, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.skipif(not AUTOGROUP_ON.exists() or AUTOGROUP_ON.read_text().strip() != "1",
                    reason="this kernel has no scheduling autogroups")
def test_the_job_in_its_own_session_lowers_its_whole_scheduling_group():
    # dev.sh starts the job with setsid: a plain nice would rank it only inside its own group.
    code = ("import os; from finetune.yield_to_chat import lower_priority; print(lower_priority(19)); "
            "print(os.nice(0)); print(open('/proc/self/autogroup').read())")
    said, nice, group = _in_child(code, new_session=True).splitlines()[:3]
    assert nice == "19" and group.endswith("nice 19"), (said, group)
    assert "scheduling group nice 19" in said
    # Started from a shell (not a session leader) it leaves the shell's group alone: that is the app's too.
    said, nice, group = _in_child(code, new_session=False).splitlines()[:3]
    assert nice == "19" and group == Path("/proc/self/autogroup").read_text().strip()
    assert "left as it is" in said


def test_lowering_priority_writes_the_group_only_for_a_session_leader(tmp_path):
    group = tmp_path / "autogroup"
    same = os.nice(0)  # the test process keeps its own priority
    assert "left as it is" in lower_priority(same, group, session_leader=False) and not group.exists()
    assert "scheduling group nice" in lower_priority(same, group, session_leader=True)
    assert group.read_text() == str(same)
    assert "no autogroup" in lower_priority(same, tmp_path / "none" / "autogroup", session_leader=True)
    assert "left as it is" in lower_priority(same, tmp_path, session_leader=True)  # a directory: refused, said
