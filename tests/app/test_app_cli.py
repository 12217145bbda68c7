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
