"""Shared fixtures: fakes first, the embedded model (session-scoped) second, CUDA last."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import assistant  # noqa: F401  (first: sets the offline defaults, HF_HUB_OFFLINE=1 and friends, empty = unset)

REPO = Path(__file__).resolve().parent.parent
# No test may start the background adapter training that `dev.sh run` starts (tests that check it clear this).
os.environ.setdefault("SHOP_ASSISTANT_AUTOTRAIN", "0")
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs CUDA (bitsandbytes 4-bit / QLoRA); run on a GPU machine")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
        if "slow" in item.keywords:  # they may load llama.cpp in-process: probe it in a child first
            item.fixturenames.insert(0, "llama_cpp_runs")


@pytest.fixture(scope="session")
def llama_cpp_runs() -> None:
    """Fails (not skips) every slow test when the installed llama.cpp crashes or cannot generate on this CPU,
    found out in a child process, so the crash does not kill the whole pytest run."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return
    from assistant.llm import LLMConfig
    from assistant.llm.probe import probe_generation

    # Both quantisations: the AMX crash hit Q4_K/Q6_K (Qwen) while Q4_1 (SmolLM2) still ran.
    for profile in ("smollm2-135m", "qwen2.5-0.5b"):
        probe = probe_generation(LLMConfig(backend="llamacpp", model=profile, n_ctx=512))
        if not probe.ok:
            pytest.fail(f"{profile}: {probe.message}")


@pytest.fixture(scope="session")
def gpu_base_model() -> str:
    """The base model of the gpu tests: the embedded SmolLM2, or SHOP_ASSISTANT_GPU_BASE (an HF folder) on a GPU
    machine without our install's models, e.g. one written by `bench/gpu.py random-base`."""
    return os.environ.get("SHOP_ASSISTANT_GPU_BASE") or "smollm2-135m"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data when present; tests that need it skip cleanly otherwise."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def fake_settings(tmp_path, monkeypatch):
    """Settings with the fake LLM and every store under tmp_path."""
    from assistant.config import load_config

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    return load_config(env={}, overrides={"llm": {"backend": "fake"}})


@pytest.fixture(scope="session")
def smollm2_backend():
    """The embedded SmolLM2 on llama.cpp, loaded once per test session."""
    pytest.importorskip("llama_cpp")
    from assistant.llm import LLMConfig, build_backend
    from assistant.llm.probe import probe_generation

    cfg = LLMConfig(backend="llamacpp", model="smollm2-135m", n_ctx=2048, max_tokens=32, temperature=0.0)
    # In a child first: a llama.cpp build that crashes on this CPU fails the tests that need it, not pytest.
    probe = probe_generation(cfg)
    if not probe.ok:
        pytest.fail(probe.message)
    return build_backend(cfg)


def run_module(module: str, *args: str, input: str | None = None, env: dict | None = None, timeout: int = 600):
    """Run `python -m module args...` as a user would; returns CompletedProcess."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, input=input,
                          env=full_env, cwd=REPO, timeout=timeout)


def have(cmd: str) -> bool:
    return shutil.which(cmd) is not None
