"""The start-up probe: a model runtime that dies natively is one clear line, never a dead app or pytest."""

import sys

import pytest

from assistant.llm import LLMConfig
from assistant.llm import probe as probe_mod

SEGFAULT = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_a_child_killed_by_a_signal_is_reported_as_a_crash_with_what_to_do(monkeypatch):
    monkeypatch.setattr(probe_mod, "_child_command", lambda cfg, n: SEGFAULT)
    result = probe_mod.probe_generation(LLMConfig(backend="llamacpp", model="smollm2-135m"))
    assert not result.ok
    assert "crashed" in result.message and "SIGSEGV" in result.message
    assert "dev.sh setup" in result.message and "\n" not in result.message


def test_a_child_that_fails_or_says_too_little_is_reported(monkeypatch):
    monkeypatch.setattr(probe_mod, "_child_command",
                        lambda cfg, n: [sys.executable, "-c", "import sys; sys.exit('error: no such model')"])
    result = probe_mod.probe_generation(LLMConfig(backend="llamacpp"))
    assert not result.ok and "no such model" in result.message

    monkeypatch.setattr(probe_mod, "_child_command",
                        lambda cfg, n: [sys.executable, "-c", "print('{\"tokens\": 1, \"text\": \"a\"}')"])
    result = probe_mod.probe_generation(LLMConfig(backend="llamacpp"))
    assert not result.ok and "only 1 token" in result.message


def test_other_backends_need_no_probe():
    assert probe_mod.probe_generation(LLMConfig(backend="fake")).ok


def test_runtime_never_loads_a_crashing_build_in_process(tmp_path, monkeypatch):
    from assistant.config import load_config
    from assistant.errors import ModelLoadError
    from assistant.runtime import Runtime

    calls = []
    monkeypatch.setattr(probe_mod, "_child_command", lambda cfg, n: calls.append(1) or SEGFAULT)
    monkeypatch.setattr("assistant.model_serving.build_backend", lambda cfg: pytest.fail("loaded in-process"))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    settings = load_config(env={}, overrides={
        "llm": {"backend": "llamacpp", "model": str(gguf)}, "storage": {"url": f"sqlite:///{tmp_path}/a.db"},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb")}, "app": {"ingest_demo_kb": False}})
    runtime = Runtime(settings, components={"classifiers": None})
    steps = {}
    runtime.warm_up(lambda step, s, problem: steps.update({step: problem}))
    assert "crashed" in steps["language model"] and not runtime.ready
    health = runtime.health()
    assert health["status"] == "failed" and "crashed" in health["degraded"]["language_model"]
    with pytest.raises(ModelLoadError, match="crashed"):
        runtime.backend  # noqa: B018 - remembered: no second child process per request
    assert len(calls) == 1


def test_healthz_and_readyz_report_a_failed_model(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from assistant.config import load_config
    from assistant.runtime import Runtime
    from assistant.web.server import create_app

    settings = load_config(env={}, overrides={"llm": {"backend": "fake"},
                                              "storage": {"url": f"sqlite:///{tmp_path}/a.db"}})
    runtime = Runtime(settings)
    client = TestClient(create_app(runtime))
    assert client.get("/healthz").json()["status"] == "starting"
    assert client.get("/readyz").status_code == 503  # not ready before a real answer
    runtime.degraded["language_model"] = "llama.cpp crashed on this CPU (SIGSEGV while generating)"
    got = client.get("/healthz")
    assert got.status_code == 503 and got.json()["ok"] is False
    assert "crashed" in got.json()["degraded"]["language_model"]


def test_prepare_exits_non_zero_with_one_line_when_the_model_crashes(tmp_path, monkeypatch, capsys):
    from assistant.__main__ import main

    monkeypatch.setattr(probe_mod, "_child_command", lambda cfg, n: SEGFAULT)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setenv("ASSISTANT_LLM__MODEL", str(gguf))
    monkeypatch.setenv("ASSISTANT_STORAGE__URL", f"sqlite:///{tmp_path}/a.db")
    assert main(["prepare"]) == 1
    err = capsys.readouterr().err
    assert "error: the assistant cannot answer: llama.cpp crashed on this CPU" in err
    assert "Traceback" not in err
