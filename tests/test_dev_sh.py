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
    assert "SHOP_ASSISTANT_LLAMA_CPU must be portable, avx512 or native" in done.stderr


def test_the_build_flags_never_ask_for_native_or_amx_by_default():
    script = (REPO / "dev.sh").read_text()
    flags = subprocess.run(["bash", "-c", 'source <(sed -n "/^llama_cmake_args()/,/^}/p" dev.sh); '
                                          "llama_cmake_args"], cwd=REPO, capture_output=True, text=True).stdout
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AMX_TILE=OFF" in flags and "AVX512=OFF" in flags
    assert "--no-cache-dir" in script  # pip's wheel cache never hands back a binary built with other flags
