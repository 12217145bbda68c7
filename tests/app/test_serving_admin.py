"""Admin → Training & serving on fakes: background training progress, served adapters, gate decisions with their
figures, rollback per task, retrain from feedback (its log streamed, its one-line error shown), role checks."""

from __future__ import annotations

import sys

import pytest

from assistant.errors import InputError, NotFoundError
from assistant.web import admin


@pytest.fixture
def serving(fake_runtime, tmp_path):
    """The fake runtime on a GGUF base file with its own registry, and two support adapters the gate promoted."""
    from assistant.llm import adapter_registry as reg
    from finetune.gate import evaluate_and_promote
    from tests.finetune.test_gate import write_gguf as write

    write(tmp_path / "base.gguf")
    settings = fake_runtime.settings
    settings.llm.model = str(tmp_path / "base.gguf")
    settings.finetune.registry = str(tmp_path / "adapters" / "registry.json")
    base = reg.base_model_id(settings.llm.model)
    folders = []
    for name, accuracy in (("support-1", 0.7), ("support-2", 0.9), ("support-3", 0.1)):
        folder = tmp_path / "adapters" / name
        write(folder / "adapter.gguf", base)
        figures = {"answerable_accuracy": accuracy, "decline_rate": 0.8, "invented_rate": 0.0, "seconds": 9.0,
                   "tokens": 300}

        def evaluate(task, cand, served, s, cfg, size, progress, figures=figures):
            return {"served": {**figures, "answerable_accuracy": 0.5}, "candidate": figures}

        evaluate_and_promote("support", folder, settings, evaluate=evaluate)
        folders.append(folder)
    return fake_runtime, folders


def test_serving_view_shows_training_served_adapters_and_decisions(serving, monkeypatch):
    runtime, (first, second, third) = serving
    from finetune import autotrain

    monkeypatch.setattr(autotrain, "read_status", lambda settings: {
        "support": {"phase": "training", "step": 12, "total": 47, "loss": 1.9234, "eval_loss": 2.01, "eta_s": 300,
                    "updated": "2026-12-01T11:00:00+00:00"},
        "adcopy": {"phase": "waiting"}})
    progress, served, decisions = admin.serving_view(runtime, "admin")
    assert "| support | training | 12/47 | 1.923 | 2.010 | 5 min |" in progress and "waiting" in progress
    assert list(served.columns) == admin.SERVED_HEADERS
    row = served[served["task"] == "support"].iloc[0]
    assert row["served adapter"] == str(second) and row["by"] == "gate" and "support-1" in row["can roll back to"]
    assert list(decisions["decision"]) == ["rejected", "promoted", "promoted"]  # newest first
    assert "answerable_accuracy 0.5 → 0.1" in decisions.iloc[0]["figures (served → candidate)"]
    assert decisions.iloc[0]["adapter"] == str(third) and decisions.iloc[0]["compared with"] == str(second)


def test_training_status_when_nothing_ran_or_the_job_is_broken(serving, monkeypatch):
    runtime, _ = serving
    from finetune import autotrain

    monkeypatch.setattr(autotrain, "read_status", lambda settings: {})
    assert admin.training_status(runtime) == "No background training has run yet."

    def broken(settings):
        raise OSError("status file unreadable")

    monkeypatch.setattr(autotrain, "read_status", broken)
    assert "unavailable (OSError: status file unreadable)" in admin.training_status(runtime)
    assert admin.serving_view(runtime, "admin")[1].shape[0] == 1  # the rest of the panel still works


def test_training_status_says_when_the_job_steps_aside_for_the_chat(serving, monkeypatch):
    runtime, _ = serving
    from finetune import autotrain

    row = {"phase": "training", "step": 3, "total": 10, "train_loss": 1.5, "eta_s": 120, "running": True,
           "paused": True}
    monkeypatch.setattr(autotrain, "read_status", lambda settings: {"support": row})
    phase = admin.md_text("training (paused: the chat is answering)")  # escaped Markdown: rendered as written
    assert f"| support | {phase} | 3/10 | 1.500 |" in admin.training_status(runtime)
    row["running"] = False  # a dead job's last write says nothing about now
    assert "| support | training | 3/10 |" in admin.training_status(runtime)


def test_rollback_button_serves_the_previous_adapter_and_records_it(serving):
    runtime, (first, second, _) = serving
    msg, served, decisions = admin.rollback_adapter(runtime, "admin", "support")
    assert "rolled back to" in msg and "support-1" in msg
    assert served[served["task"] == "support"].iloc[0]["served adapter"] == str(first)
    assert decisions.iloc[0]["decision"] == "rollback" and decisions.iloc[0]["compared with"] == str(second)
    admin.rollback_adapter(runtime, "admin", "support")  # to the base model
    with pytest.raises(NotFoundError, match="nothing to roll back to"):
        admin.rollback_adapter(runtime, "admin", "support")
    with pytest.raises(InputError):
        admin.rollback_adapter(runtime, "admin", "translation")


def test_rollback_button_says_which_deleted_adapter_it_passed_over(serving):
    runtime, (first, second, _) = serving
    (first / "adapter.gguf").unlink()  # deleted to free space: serving it would fail every answer
    msg, served, _ = admin.rollback_adapter(runtime, "admin", "support")
    assert "rolled back to the base model" in msg and f"Skipped (files gone): `{first}`" in msg
    assert served[served["task"] == "support"].iloc[0]["served adapter"] == "(base model)"


def test_every_serving_action_needs_the_admin_role(serving):
    runtime, _ = serving
    with pytest.raises(InputError, match="admin"):
        admin.serving_view(runtime, "agent")
    with pytest.raises(InputError, match="admin"):
        admin.rollback_adapter(runtime, "agent", "support")
    with pytest.raises(InputError, match="admin"):
        list(admin.retrain_run(runtime, None, "support"))


def test_retrain_streams_its_log_and_shows_the_one_line_error(fake_runtime, monkeypatch, tmp_path):
    fake_runtime.settings.config_file = tmp_path / "shop.yaml"
    cmd = admin.retrain_command(fake_runtime, "adcopy")
    assert cmd[1:] == ["-m", "finetune", "retrain", "--task", "adcopy", "--config", str(tmp_path / "shop.yaml")]
    ok = "import sys\nprint('collected 42 rows of feedback')\nsys.stderr.write('\\rtrain 1/2\\rtrain 2/2\\n')\n"
    monkeypatch.setattr(admin, "retrain_command", lambda runtime, task: [sys.executable, "-c", ok])
    steps = list(admin.retrain_run(fake_runtime, "admin", "adcopy"))
    assert len(steps) >= 3 and steps[0].startswith("⏳")
    assert steps[-1].startswith("✅") and "collected 42 rows" in steps[-1] and "train 2/2" in steps[-1]
    assert "train 1/2" not in steps[-1]  # a progress bar's earlier states are not kept
    bad = "import sys\nprint('reading feedback')\nsys.stderr.write('InputError: no feedback yet for adcopy\\n')\nsys.exit(2)\n"
    monkeypatch.setattr(admin, "retrain_command", lambda runtime, task: [sys.executable, "-c", bad])
    last = list(admin.retrain_run(fake_runtime, "admin", "adcopy"))[-1]
    assert last.startswith("❌ the retrain failed: `InputError: no feedback yet for adcopy`")


def test_the_admin_tab_has_the_training_and_serving_panel(fake_runtime):
    from app import build_demo

    demo = build_demo(fake_runtime)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"served-adapters", "gate-decisions", "rollback-support", "rollback-adcopy", "retrain",
            "training-status"} <= ids
    assert "Training & serving" in {getattr(b, "label", None) for b in demo.blocks.values()}


def test_activating_one_task_pins_nothing_else_and_a_rollback_takes_effect(serving, monkeypatch):
    """Activate had copied every adapter the registry served into the explicit overrides: "base model" did not
    beat the registry, and a rollback said "New requests use it" while the old adapter went on answering."""
    from assistant.llm.adapter_registry import adapters_for, base_model_id

    runtime, (first, second, _) = serving
    settings = runtime.settings
    monkeypatch.setattr(runtime, "_served_adapters", lambda: adapters_for(
        "llamacpp", base_model_id(settings.llm.model), settings.finetune.registry))  # as llama.cpp reads it
    assert str(second) in runtime.llm_config.adapters["support"]
    admin.activate_adapter(runtime, "admin", "adcopy", str(first / "adapter.gguf"))
    assert set(settings.llm.adapters) == {"adcopy"}  # the registry's support choice is not pinned
    admin.activate_adapter(runtime, "admin", "support", "")
    assert "support" not in runtime.llm_config.adapters  # the base model, over the registry's support-2
    admin.rollback_adapter(runtime, "admin", "support")
    assert str(first) in runtime.llm_config.adapters["support"]  # what the message says is what answers
