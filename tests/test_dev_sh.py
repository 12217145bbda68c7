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
