"""The background-training bench labels each customer message with what the job was doing when it arrived, and
keeps the job's own log lines without the machine's paths."""

from __future__ import annotations

from bench.autotrain import job_log_tail, job_phase


def test_job_phase_names_the_task_in_progress_and_its_phase():
    assert job_phase({}) == "between tasks"
    assert job_phase({"support": {"phase": "training", "step": 0}, "adcopy": {"phase": "queued"}}) == \
        "support training step 0"
    assert job_phase({"support": {"phase": "training", "step": 4}}) == "support training"
    assert job_phase({"support": {"phase": "rejected"}, "adcopy": {"phase": "evaluating", "step": 14}}) == \
        "adcopy evaluating"
    assert job_phase({"support": {"phase": "rejected"}, "adcopy": {"phase": "served"}}) == "between tasks"


def test_log_tail_keeps_the_jobs_lines_and_names_its_folder_work(tmp_path):
    work = tmp_path / "bench-autotrain-x1"
    text = "\n".join([f"2026-12-02 20:45:27 autotrain support: training lora -> {work}/autotrain/support/ab",
                      "llama_model_loader: loaded meta data", "2026-12-02 20:46:10 autotrain support: step 0/30"])
    assert job_log_tail(text, work) == ["2026-12-02 20:45:27 autotrain support: training lora -> "
                                        "<work>/autotrain/support/ab", "2026-12-02 20:46:10 autotrain support: step 0/30"]
    assert job_log_tail(text, work, lines=1) == ["2026-12-02 20:46:10 autotrain support: step 0/30"]
