"""The background-training bench labels each customer message with what the job was doing when it arrived."""

from __future__ import annotations

from bench.autotrain import job_phase


def test_job_phase_names_the_task_in_progress_and_its_phase():
    assert job_phase({}) == "between tasks"
    assert job_phase({"support": {"phase": "training", "step": 0}, "adcopy": {"phase": "queued"}}) == \
        "support training step 0"
    assert job_phase({"support": {"phase": "training", "step": 4}}) == "support training"
    assert job_phase({"support": {"phase": "rejected"}, "adcopy": {"phase": "evaluating", "step": 14}}) == \
        "adcopy evaluating"
    assert job_phase({"support": {"phase": "rejected"}, "adcopy": {"phase": "served"}}) == "between tasks"
