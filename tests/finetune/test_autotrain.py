"""`python -m finetune autotrain`: resumable, corruption-proof background training on a tiny random Llama.

The job runs end to end (data from a tiny shop, training, GGUF export, the gate) with a fake gate; one run is
killed with SIGKILL in a subprocess and restarted, and must end with the uninterrupted run's weights.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.errors import ConfigError
from finetune import autotrain, gate
from finetune.__main__ import main

REPO = Path(__file__).resolve().parents[2]
FAQ = """id,question,answer,lang
en-hours,When are you open?,"We are open Monday to Friday 9:00-18:00 and Saturday 10:00-16:00.",en
zh-hours,你们几点营业？,周一至周五 9:00-18:00，周六 10:00-16:00。,zh
en-shipping,How much is shipping?,"Shipping costs 15 yuan, free from 199 yuan.",en
zh-shipping,运费多少？,运费 15 元，满 199 元包邮。,zh
en-returns,Can I return an item?,You can return items within 30 days of delivery.,en
zh-returns,可以退货吗？,收货后 30 天内可以退货。,zh
"""


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, tiny_tokenizer):
    """The conftest's tiny random Llama as an HF folder, so the job loads it like any base model."""
    from tests.finetune.conftest import make_tiny_model

    folder = tmp_path_factory.mktemp("tiny-base")
    model = make_tiny_model(tiny_tokenizer)
    model.config.max_position_embeddings = 1024  # one token per byte: a support row is up to ~700 bytes
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


def write_config(folder: Path, base: Path, steps: int = 8, **autotrain_values) -> Path:
    kb = folder / "kb"
    kb.mkdir(parents=True, exist_ok=True)
    if not (kb / "faq.csv").exists():
        (kb / "faq.csv").write_text(FAQ, encoding="utf-8")
    values = {"base_model": str(base), "tasks": ["support"], "steps": {"support": steps, "adcopy": steps},
              "threads": 1, "nice": 0, "checkpoint_minutes": 0, "eval_fraction": 0.2, "heldout_fraction": 0.0,
              "work_dir": str(folder / "work"), **autotrain_values}
    config = {"knowledge_base": {"demo_path": str(kb)},
              "finetune": {"registry": str(folder / "registry.json"), "max_seq_len": 768, "batch_size": 2, "r": 2,
                           "lora_alpha": 4, "lora_dropout": 0.1, "learning_rate": 0.01, "seed": 7,
                           "target_modules": ["q_proj", "v_proj", "down_proj"]},
              "autotrain": values}
    path = folder / "shop.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


class FakeGate:
    """Records what it was asked and promotes everything."""

    def __init__(self, promote: bool = True):
        self.calls, self.promote = [], promote

    def __call__(self, task, candidate, settings, pause=None):
        self.calls.append((task, Path(candidate)))
        self.pause = pause
        assert (Path(candidate) / "adapter.gguf").exists()  # the contract: a servable adapter
        return gate.Decision(task, str(candidate), self.promote, "beats the bare model" if self.promote else
                             "no better than the served adapter", {"eval_loss": 1.0})


@pytest.fixture
def fake_gate(monkeypatch):
    g = FakeGate()
    monkeypatch.setattr(gate, "evaluate_and_promote", g)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the job sets it when absent; keep it out of later tests
    return g


def status(cfg: Path, task: str = "support") -> dict:
    return autotrain.read_status(load_config(cfg))[task]


def adapter_weights(candidate: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(candidate / "adapter_model.safetensors"))


def assert_same_weights(a: dict, b: dict) -> None:
    import torch

    assert a.keys() == b.keys() and a
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_base):
    """An uninterrupted 12-step run: the weights every interrupted run must end with."""
    mp = pytest.MonkeyPatch()
    mp.setattr(gate, "evaluate_and_promote", FakeGate())
    mp.setenv("OMP_NUM_THREADS", "1")
    try:
        cfg = write_config(tmp_path_factory.mktemp("reference"), tiny_base, steps=12)
        assert main(["autotrain", "--config", str(cfg)]) == 0
    finally:
        mp.undo()
    s = status(cfg)
    assert s["phase"] == "served" and s["step"] == 12 and s["resumed_from"] == 0
    return s, adapter_weights(Path(s["candidate"]))


def test_a_run_trains_exports_and_records_the_gate_decision(reference):
    s, weights = reference
    candidate = Path(s["candidate"])
    assert (candidate / "adapter.gguf").stat().st_size > 0 and (candidate / "report.md").exists()
    assert not any(candidate.glob("checkpoint*"))  # finished: nothing left to resume
    decision = {k: s["decision"][k] for k in ("task", "candidate", "promoted", "reason", "figures")}
    assert decision == {"task": "support", "candidate": str(candidate), "promoted": True,
                        "reason": "beats the bare model", "figures": {"eval_loss": 1.0}}
    assert s["method"] == "lora" and s["total"] == 12 and s["eta_s"] is None and not s["running"]
    assert isinstance(s["train_loss"], float) and isinstance(s["eval_loss"], float)
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # lora_B starts at zero


def _interrupt_at(monkeypatch, step: int):
    """Stop the job right after `step` was reported, as a kill would (BaseException: not a task failure)."""
    real = autotrain._progress_writer

    def writer(status, task):
        inner = real(status, task)

        def on_progress(p):
            inner(p)
            if p.step == step:
                raise KeyboardInterrupt

        return on_progress

    monkeypatch.setattr(autotrain, "_progress_writer", writer)


def test_a_corrupt_checkpoint_is_skipped_and_training_completes(tmp_path, tiny_base, reference, fake_gate, capsys):
    cfg = write_config(tmp_path, tiny_base, steps=12)
    with pytest.MonkeyPatch.context() as mp:
        _interrupt_at(mp, 7)
        with pytest.raises(KeyboardInterrupt):
            main(["autotrain", "--config", str(cfg)])
    candidate = Path(status(cfg)["candidate"])
    state = candidate / "checkpoint" / "state.pt"
    data = bytearray(state.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):  # garbled in the middle, as a cut write can leave it
        data[i] ^= 0xFF
    state.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["autotrain", "--config", str(cfg)]) == 0
    s, err = status(cfg), capsys.readouterr().err
    note = "checkpoint checkpoint is corrupt (checksum mismatch (truncated or garbled state file)): skipped"
    assert note in s["message"] and note in err
    assert "resumed from step 6 of 12" in s["message"]  # the previous good one
    assert s["phase"] == "served" and s["resumed_from"] == 6
    assert_same_weights(adapter_weights(candidate), reference[1])


def test_it_pauses_while_the_app_answers_and_ends_with_the_same_weights(tmp_path, tiny_base, reference, fake_gate):
    import threading

    from assistant.activity import ChatBeacon

    cfg = write_config(tmp_path, tiny_base, steps=12, yield_to_chat=True, yield_by="layers", resume_after_s=0.3)
    beacon = ChatBeacon(tmp_path / "work" / "chat_active", interval_s=0.05)
    stop = threading.Event()

    def customers():  # answers being generated for the first 1.5 s of the job
        with beacon.active():
            stop.wait(1.5)

    talker = threading.Thread(target=customers)
    talker.start()
    try:
        assert main(["autotrain", "--config", str(cfg)]) == 0
    finally:
        stop.set()
        talker.join()
    s = status(cfg)
    assert s["phase"] == "served" and s["paused"] is False and s["paused_s"] >= 1.0
    assert fake_gate.pause is not None  # the gate's evaluation steps aside too
    assert_same_weights(adapter_weights(Path(s["candidate"])), reference[1])


def test_every_checkpoint_corrupt_starts_over(tmp_path, tiny_base, reference, fake_gate):
    cfg = write_config(tmp_path, tiny_base, steps=12)
    with pytest.MonkeyPatch.context() as mp:
        _interrupt_at(mp, 4)
        with pytest.raises(KeyboardInterrupt):
            main(["autotrain", "--config", str(cfg)])
    candidate = Path(status(cfg)["candidate"])
    for folder in ("checkpoint", "checkpoint.prev"):
        state = candidate / folder / "state.pt"
        state.write_bytes(state.read_bytes()[:100])  # truncated
    assert main(["autotrain", "--config", str(cfg)]) == 0
    s = status(cfg)
    assert "checkpoint.prev is corrupt" in s["message"] and "no usable checkpoint: training starts over" in s["message"]
    assert s["resumed_from"] == 0 and s["phase"] == "served"
    assert_same_weights(adapter_weights(candidate), reference[1])


def test_a_second_start_after_success_does_nothing_until_the_data_changes(tmp_path, tiny_base, fake_gate, capsys):
    cfg = write_config(tmp_path, tiny_base, steps=2)
    assert main(["autotrain", "--config", str(cfg)]) == 0
    first = status(cfg)
    assert len(fake_gate.calls) == 1
    capsys.readouterr()
    assert main(["autotrain", "--config", str(cfg)]) == 0
    assert "up to date (served, data and config unchanged): nothing to do" in capsys.readouterr().err
    assert len(fake_gate.calls) == 1 and status(cfg) == first  # not even the status file was touched
    with (tmp_path / "kb" / "faq.csv").open("a", encoding="utf-8") as fh:
        fh.write("en-gift,Do you sell gift cards?,Yes: gift cards from 50 to 500 yuan.,en\n")
    assert main(["autotrain", "--config", str(cfg)]) == 0
    second = status(cfg)
    assert len(fake_gate.calls) == 2 and second["fingerprint"] != first["fingerprint"]
    assert second["candidate"] != first["candidate"]


def test_a_rejected_adapter_is_recorded_and_a_failed_gate_is_retried(tmp_path, tiny_base, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cfg = write_config(tmp_path, tiny_base, steps=2)
    monkeypatch.setattr(gate, "evaluate_and_promote", FakeGate(promote=False))
    assert main(["autotrain", "--config", str(cfg)]) == 0
    assert status(cfg)["phase"] == "rejected"
    assert any("rejected (lora, step 2/2" in line and "no better than the served adapter" in line
               for line in autotrain.status_lines(load_config(cfg)))

    def broken(task, candidate, settings, pause=None):
        raise NotImplementedError

    monkeypatch.setattr(gate, "evaluate_and_promote", broken)
    assert main(["autotrain", "--config", str(cfg), "--restart"]) == 1
    s = status(cfg)
    assert s["phase"] == "failed" and s["error"] == "NotImplementedError" and s["failures"] == 1
    monkeypatch.setattr(gate, "evaluate_and_promote", FakeGate())
    assert main(["autotrain", "--config", str(cfg)]) == 0  # trained already: straight to the gate
    assert status(cfg)["phase"] == "served"


def test_one_instance_only_and_a_dead_holders_lock_is_taken_over(tmp_path, tiny_base, fake_gate, capsys):
    cfg = write_config(tmp_path, tiny_base, steps=2)
    lock = tmp_path / "work" / "autotrain.lock"
    with autotrain.single_instance(lock):
        assert main(["autotrain", "--config", str(cfg)]) == 0
    assert f"another autotrain is running (pid {os.getpid()}): nothing to do" in capsys.readouterr().err
    assert not fake_gate.calls and autotrain.read_status(load_config(cfg)) == {}
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(str(dead.pid))  # left by a job that died; the kernel dropped its flock
    assert main(["autotrain", "--config", str(cfg)]) == 0
    assert f"took over the lock of pid {dead.pid}, which is gone" in capsys.readouterr().err
    assert len(fake_gate.calls) == 1 and lock.read_text() == ""


HOLDER = """import sys, time
from pathlib import Path
from finetune.autotrain import single_instance
with single_instance(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_holder_left_stopped_without_its_freezer_is_let_go_on(tmp_path, tiny_base, capsys):
    from finetune.chat_freeze import process_state
    from tests.finetune.test_chat_freeze import wait_for

    cfg = write_config(tmp_path, tiny_base, steps=2)
    lock = tmp_path / "work" / "autotrain.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "holding"
        os.kill(holder.pid, signal.SIGSTOP)  # as if its freezer had been killed while it was frozen
        assert wait_for(lambda: process_state(holder.pid) == "T")
        assert main(["autotrain", "--config", str(cfg)]) == 0
        assert f"pid {holder.pid} was stopped with no freezer of its own alive: it goes on now" in \
            capsys.readouterr().err
        assert wait_for(lambda: process_state(holder.pid) in ("S", "R"))
    finally:
        holder.kill()
        holder.wait()


def test_status_reports_progress_and_an_honest_eta(tmp_path, tiny_base):
    from finetune.trainer import Progress

    settings = load_config(write_config(tmp_path, tiny_base))
    st = autotrain.TaskStatus(settings, "support", {"phase": "training"})
    on_progress = autotrain._progress_writer(st, "support")
    # resumed at step 4: the ETA comes from this process's own pace (6 s for 3 steps), not the run's average
    on_progress(Progress(7, 10, 1.25, 1.5, seconds=100.0, resumed_from=4, session_seconds=6.0, notes=[]))
    s = autotrain.read_status(settings)["support"]
    assert (s["step"], s["total"], s["s_per_step"], s["eta_s"]) == (7, 10, 2.0, 6)
    assert (s["train_loss"], s["eval_loss"], s["pid"], s["running"]) == (1.25, 1.5, os.getpid(), True)
    line = autotrain.status_lines(settings)[0]
    assert line == "autotrain support  training step 7/10, loss 1.250, eval loss 1.500, ETA 6 s"
    st.update(paused=True)
    assert autotrain.status_lines(settings)[0] == line + " (paused while the chat answers)"
    st.update(paused=False)
    on_progress(Progress(10, 10, 1.0, 1.2, 120.0, 4, 12.0, ["resumed from step 4 of 10"]))
    s = autotrain.read_status(settings)["support"]
    assert s["phase"] == "evaluating" and s["eta_s"] is None and s["message"] == "resumed from step 4 of 10"


def test_finetune_list_prints_the_status_lines(tmp_path, tiny_base, capsys):
    cfg = write_config(tmp_path, tiny_base)
    settings = load_config(cfg)
    dead = subprocess.Popen(["true"])
    dead.wait()
    autotrain.TaskStatus(settings, "adcopy", {"phase": "training", "step": 3, "total": 20}).update()
    data = json.loads(autotrain._status_file(settings, "adcopy").read_text())
    autotrain._write_json(autotrain._status_file(settings, "adcopy"), {**data, "pid": dead.pid})
    autotrain.TaskStatus(settings, "support", {"phase": "failed", "error": "InputError: no pairs"}).update()
    assert main(["list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "autotrain support  failed: InputError: no pairs" in out
    assert "autotrain adcopy   stopped in training at step 3/20 (resumes on the next start)" in out


def test_cuda_means_qlora_and_the_cpu_lora(monkeypatch, tmp_path, tiny_base):
    import assistant.llm.quantization as q

    settings = load_config(write_config(tmp_path, tiny_base))
    monkeypatch.setattr(q, "cuda_available", lambda: True)
    cfg = autotrain.task_config(settings, "support")
    assert (cfg.method, cfg.device) == ("qlora", "cuda")
    monkeypatch.setattr(q, "cuda_available", lambda: False)
    cfg = autotrain.task_config(settings, "adcopy", max_steps=3)
    assert (cfg.method, cfg.device, cfg.max_steps, cfg.register, cfg.num_threads) == ("lora", "auto", 3, False, 1)
    assert cfg.base_model == str(tiny_base) and cfg.save_every == 1  # checkpoint_minutes 0: every step


def test_rows_per_step_come_from_autotrain_per_task(tmp_path, tiny_base):
    # The shop's finetune.batch_size (2 here) is for manual runs; the background job sizes each task itself.
    settings = load_config(write_config(tmp_path, tiny_base))
    assert autotrain.task_config(settings, "support").batch_size == autotrain.DEFAULT_BATCH["support"] == 1
    assert autotrain.task_config(settings, "adcopy").batch_size == autotrain.DEFAULT_BATCH["adcopy"]
    settings = load_config(write_config(tmp_path / "other", tiny_base, batch_size={"support": 3, "adcopy": 1}))
    assert (autotrain.task_config(settings, "support").batch_size, autotrain.task_config(settings, "adcopy").batch_size
            ) == (3, 1)


def test_threads_leave_one_core_to_the_app(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert autotrain.torch_threads(autotrain.AutotrainConfig()) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert autotrain.torch_threads(autotrain.AutotrainConfig()) == 7
    assert autotrain.torch_threads(autotrain.AutotrainConfig(threads=3)) == 3


@pytest.mark.parametrize("bad, match", [
    ({"tasks": ["poetry"]}, "tasks must be among"), ({"method": "dora"}, "method must be auto or one of"),
    ({"steps": {"support": 0}}, "steps must map"), ({"nice": 20}, r"nice in \[0, 19\]"),
    ({"eval_fraction": 0}, "eval_fraction must be in"), ({"resume_after_s": -1}, "resume_after_s must be >= 0"),
    ({"yield_by": "sleep"}, "yield_by must be one of freeze, layers"),
    ({"batch_size": {"support": 0}}, "batch_size must map"), ({"batch_size": {"poetry": 1}}, "batch_size must map"),
])
def test_config_is_validated(bad, match):
    with pytest.raises(ConfigError, match=match):
        autotrain.AutotrainConfig(**bad)


def test_check_says_whether_dev_sh_should_start_it(tmp_path, tiny_base, monkeypatch, capsys):
    monkeypatch.delenv("SHOP_ASSISTANT_AUTOTRAIN", raising=False)  # the test suite turns it off for every test
    cfg = write_config(tmp_path, tiny_base)
    assert main(["autotrain", "--config", str(cfg), "--check"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "work" / "autotrain.log")
    monkeypatch.setenv("SHOP_ASSISTANT_AUTOTRAIN", "0")
    assert main(["autotrain", "--config", str(cfg), "--check"]) == 1
    assert capsys.readouterr().out.strip() == "SHOP_ASSISTANT_AUTOTRAIN=0"
    monkeypatch.delenv("SHOP_ASSISTANT_AUTOTRAIN")
    off = write_config(tmp_path / "off", tiny_base, enabled=False)
    assert main(["autotrain", "--config", str(off), "--check"]) == 1
    assert capsys.readouterr().out.strip() == "autotrain.enabled is false"


# The job as dev.sh starts it, with the gate replaced: a test must never reach a real gate or model.
RUNNER = """import sys
from finetune import gate
gate.evaluate_and_promote = lambda task, c, s, **kw: gate.Decision(task, str(c), True, "ok", {})
from assistant.cli_support import run_cli
from finetune.__main__ import main
sys.exit(run_cli(main, sys.argv[1:]))
"""


def test_sigkill_mid_training_then_restart_ends_with_the_same_weights(tmp_path, tiny_base, reference):
    cfg = write_config(tmp_path, tiny_base, steps=12)
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(runner), "autotrain", "--config", str(cfg)]
    status_file = tmp_path / "work" / "support" / "status.json"
    job = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed_at = None
    deadline = time.monotonic() + 240
    while job.poll() is None and time.monotonic() < deadline:
        s = autotrain._read_json(status_file)
        if s.get("phase") == "training" and 3 <= s.get("step", 0) <= 9:
            os.kill(job.pid, signal.SIGKILL)
            killed_at = s["step"]
            break
        time.sleep(0.005)
    job.wait(timeout=60)
    assert killed_at is not None, f"never caught it mid-training: {job.stderr.read()[-2000:]}"
    assert job.returncode == -signal.SIGKILL
    stopped = status(cfg)
    assert not stopped["running"] and stopped["phase"] == "training"
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    s = status(cfg)
    assert killed_at <= s["resumed_from"] < 12 and s["phase"] == "served"
    assert f"resumed from step {s['resumed_from']} of 12" in done.stderr
    assert_same_weights(adapter_weights(Path(s["candidate"])), reference[1])


def test_frozen_while_the_app_answers_then_the_same_weights(tmp_path, tiny_base, reference):
    """The job as dev.sh starts it (its own session): a fresh mark stops it mid-training (SIGSTOP), quiet lets
    it go on, and it ends with the uninterrupted run's weights."""
    from assistant.activity import ChatBeacon
    from finetune.chat_freeze import process_state, read_state

    cfg = write_config(tmp_path, tiny_base, steps=12, yield_to_chat=True, yield_by="freeze", resume_after_s=0.3)
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, str(runner), "autotrain", "--config", str(cfg)], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    status_file = tmp_path / "work" / "support" / "status.json"
    beacon = ChatBeacon(tmp_path / "work" / "chat_active", interval_s=0.05)
    seen_stopped, shown_paused, deadline = False, False, time.monotonic() + 240
    while job.poll() is None and time.monotonic() < deadline:
        if autotrain._read_json(status_file).get("phase") == "training":
            with beacon.active():  # a customer being answered for 1.5 s, mid-training
                t0 = time.monotonic()
                while time.monotonic() - t0 < 1.5:
                    if process_state(job.pid) == "T":
                        seen_stopped = True
                        shown_paused = shown_paused or status(cfg).get("paused") is True  # finetune list, Admin
                    time.sleep(0.01)
            break
        time.sleep(0.005)
    _, err = job.communicate(timeout=240)
    assert job.returncode == 0, err[-2000:]
    assert seen_stopped, "the job kept running while the app answered"
    assert shown_paused, "a frozen job's status must say it is paused"
    assert "frozen while the app answers" in err
    frozen = read_state(tmp_path / "work" / "chat_active")
    assert frozen["freezes"] >= 1 and frozen["frozen_s"] >= 1.0 and frozen["frozen"] is False
    s = status(cfg)
    assert s["phase"] == "served" and s["step"] == 12
    assert_same_weights(adapter_weights(Path(s["candidate"])), reference[1])


def test_help_lists_the_flags():
    from tests.conftest import run_module

    out = run_module("finetune", "autotrain", "--help")
    assert out.returncode == 0
    for flag in ("--task", "--restart", "--max-steps", "--check", "--config"):
        assert flag in out.stdout


@pytest.mark.gpu
def test_on_cuda_the_same_job_trains_qlora(tmp_path, gpu_base_model, monkeypatch):
    monkeypatch.setattr(gate, "evaluate_and_promote", FakeGate())
    cfg = write_config(tmp_path, Path(gpu_base_model), steps=2, checkpoint_minutes=2.0)
    assert main(["autotrain", "--config", str(cfg)]) == 0
    s = status(cfg)
    assert s["method"] == "qlora" and s["phase"] == "served" and s["step"] == 2
    assert (Path(s["candidate"]) / "adapter.gguf").exists()
