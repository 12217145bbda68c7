"""`bash dev.sh`: the README's two commands fail loudly, never start an app that cannot answer."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (REPO / ".venv" / ".installed").is_file(), reason="needs the .venv that dev.sh sets up")
def test_run_stops_with_a_clear_line_when_prepare_fails(tmp_path):
    env = {**os.environ, "SHOP_ASSISTANT_PREPARED": str(tmp_path / "prepared"),
           "ASSISTANT_LLM__MODEL": str(tmp_path / "missing.gguf"),
           "ASSISTANT_STORAGE__URL": f"sqlite:///{tmp_path}/a.db"}
    done = subprocess.run(["bash", "dev.sh", "run", "--port", "1"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the app was not started" in done.stderr and "missing.gguf" in done.stderr
    assert "Shop assistant on http" not in done.stderr  # app.py never ran
    assert not (tmp_path / "prepared").exists()


def test_unknown_llama_build_profile_is_refused():
    env = {**os.environ, "SHOP_ASSISTANT_LLAMA_CPU": "turbo"}
    done = subprocess.run(["bash", "dev.sh", "llama-wheel"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "SHOP_ASSISTANT_LLAMA_CPU must be auto, portable, avx512 or native" in done.stderr


def flags(profile: str) -> list[str]:
    env = {**os.environ, "SHOP_ASSISTANT_LLAMA_CPU": profile}
    done = subprocess.run(["bash", "dev.sh", "llama-flags"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_the_build_flags_never_ask_for_native_or_amx_by_default():
    resolved, cmake, wheels = flags("auto")
    assert resolved in ("portable", "avx512")  # decided by the CPU's features, never -march=native
    for profile in ("auto", "portable", "avx512"):
        _, cmake, _ = flags(profile)
        assert "-DGGML_NATIVE=OFF" in cmake and "-DGGML_AMX_TILE=OFF" in cmake and "-DGGML_AMX_INT8=OFF" in cmake
    assert "-DGGML_AVX512=OFF" in flags("portable")[1] and "-DGGML_AVX512=ON" in flags("avx512")[1]
    # pip's wheel cache never hands back a binary built with other flags: our own folder per flag set
    assert flags("portable")[2] != flags("avx512")[2]
    assert "--no-cache-dir" in (REPO / "dev.sh").read_text()


@pytest.mark.skipif(not (REPO / ".venv" / ".installed").is_file(), reason="needs the .venv that dev.sh sets up")
def test_run_starts_the_adapter_training_in_the_background_and_the_app_at_once(tmp_path):
    import time

    from finetune.autotrain import single_instance

    prepared, work = tmp_path / "prepared", tmp_path / "work"
    prepared.touch()
    cfg = tmp_path / "shop.yaml"
    # A base that does not exist: should the job ever get past the lock, it fails at once instead of training.
    cfg.write_text(f"autotrain:\n  work_dir: {work}\n  base_model: {tmp_path}/missing\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SHOP_ASSISTANT_AUTOTRAIN"}
    env["SHOP_ASSISTANT_PREPARED"] = str(prepared)
    run = ["bash", "dev.sh", "run", "--config", str(cfg), "--help"]  # app.py --help: "starts" and exits at once
    with single_instance(work / "autotrain.lock"):  # the test holds the job's lock: the job it starts must yield
        done = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        log = work / "autotrain.log"
        deadline = time.monotonic() + 120
        while "nothing to do" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert done.returncode == 0, done.stderr
    assert "training the task adapters in the background (pid" in done.stderr and f"log {log}" in done.stderr
    assert "usage:" in done.stdout  # the app ran right after, without waiting for the job
    text = log.read_text()
    assert ", nice 19," in text  # lowest priority
    assert f"another autotrain is running (pid {os.getpid()}): nothing to do" in text

    off = subprocess.run(run, cwd=REPO, env={**env, "SHOP_ASSISTANT_AUTOTRAIN": "0"}, capture_output=True,
                         text=True, timeout=300)
    assert off.returncode == 0 and "usage:" in off.stdout
    assert "background training off: SHOP_ASSISTANT_AUTOTRAIN=0" in off.stderr
    cfg.write_text(f"autotrain:\n  enabled: false\n  work_dir: {tmp_path}/other\n", encoding="utf-8")
    disabled = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert "background training off: autotrain.enabled is false" in disabled.stderr
    assert not (tmp_path / "other").exists()
