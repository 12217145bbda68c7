"""`python app.py`: --help, bad config as one line, and building the whole app loads no model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def run_app(*args):
    return subprocess.run([sys.executable, "app.py", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_help_and_bad_config():
    done = run_app("--help")
    assert done.returncode == 0 and "--port" in done.stdout and "--config" in done.stdout
    bad = run_app("--config", "/no/such/config.yaml")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "config file not found" in bad.stderr


def test_building_the_app_loads_no_model(tmp_path):
    from app import CSS, build_demo
    from assistant.config import load_config
    from assistant.runtime import Runtime
    from assistant.web.server import create_app

    # A model that does not exist: any attempt to load it at build time would raise.
    settings = load_config(env={}, overrides={"llm": {"backend": "llamacpp", "model": str(tmp_path / "none.gguf")},
                                              "storage": {"url": f"sqlite:///{tmp_path}/a.db"}})
    runtime = Runtime(settings)
    app = create_app(runtime, build_demo(runtime), css=CSS)
    assert runtime.__dict__["_backend"] is None and runtime.degraded == {}
    paths = set(app.openapi()["paths"])
    assert {"/v1/chat/completions", "/v1/models", "/widget", "/widget.js", "/healthz"} <= paths


def test_handler_errors_become_readable_ui_messages():
    import functools

    import gradio as gr

    from app import friendly
    from assistant.errors import InputError

    def bad_input(_runtime, text):
        raise InputError(f"cannot use {text!r}")

    def crash(_runtime):
        raise ZeroDivisionError("boom")
        yield  # a generator handler, like the streaming chat

    with pytest.raises(gr.Error, match="cannot use 'x'"):
        friendly(functools.partial(bad_input, None))("x")
    with pytest.raises(gr.Error, match="ZeroDivisionError") as info:
        list(friendly(functools.partial(crash, None))())
    assert "boom" not in str(info.value)  # no internals shown to customers


def test_warm_up_builds_the_first_message_path_and_reports_failures(tmp_path):
    from assistant.config import load_config
    from assistant.llm import FakeBackend
    from assistant.runtime import Runtime

    settings = load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "storage": {"url": f"sqlite:///{tmp_path}/a.db"},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb")}, "app": {"ingest_demo_kb": False}})
    backend = FakeBackend(default="ok")
    seen = []
    runtime = Runtime(settings, backend=backend, components={"classifiers": None})
    seconds = runtime.warm_up(lambda step, s, problem: seen.append((step, problem)))
    assert [s for s, _ in seen] == list(seconds) == ["language model", "classifiers", "knowledge base",
                                                      "chat pipeline", "first answer"]
    assert dict(seen)["knowledge base"] is None and runtime.__dict__["_objects"]["knowledge_base"] is not None
    assert len(backend.calls) == 1  # one real answer generated before the first customer
    assert runtime.ready and runtime.health()["status"] == "ready"

    # A model that cannot load: reported step by step, never raised (the server still starts).
    broken = Runtime(load_config(env={}, overrides={
        "llm": {"backend": "llamacpp", "model": str(tmp_path / "none.gguf")},
        "storage": {"url": f"sqlite:///{tmp_path}/b.db"}, "app": {"ingest_demo_kb": False},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb2")}}), components={"classifiers": None})
    problems = {}
    broken.warm_up(lambda step, s, problem: problems.update({step: problem}))
    assert "none.gguf" in (problems["language model"] or "")
    assert "first answer" not in problems  # nothing can answer: warm-up stops at the model, saying why
    assert not broken.ready and broken.health()["status"] == "failed"


def test_prepare_cli_help():
    from tests.conftest import run_module

    done = run_module("assistant", "prepare", "--help")
    assert done.returncode == 0 and "first customer" in done.stdout
