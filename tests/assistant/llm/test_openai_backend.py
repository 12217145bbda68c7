"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's own server on 127.0.0.1."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from assistant.errors import GenerationError
from assistant.llm import LLMConfig, Message, build_backend
from assistant.llm.embedded import smollm2_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    pytest.importorskip("llama_cpp.server")
    port = _free_port()
    # llama.cpp logs a lot to stderr: a file, not a pipe, or a full pipe buffer blocks the server.
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start in 300 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.slow
def test_openai_backend_generates_and_streams(llama_server):
    backend = build_backend(LLMConfig(backend="openai", base_url=llama_server, model_name="smollm2",
                                      max_tokens=16, temperature=0.0))
    msgs = [Message("user", "What is the capital of France? One word.")]
    whole = backend.generate(msgs)
    pieces = list(backend.stream(msgs))
    assert "Paris" in whole
    assert len(pieces) > 1 and "".join(pieces).strip() == whole.strip()


@pytest.mark.slow
def test_openai_backend_sends_the_adapter_as_model_name(llama_server):
    backend = build_backend(LLMConfig(backend="openai", base_url=llama_server, model_name="smollm2"))
    assert backend.model_for("support") == "support"
    assert backend.model_for(None) == "smollm2"


def test_unreachable_server_is_a_generation_error():
    backend = build_backend(LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{_free_port()}/v1",
                                      timeout_s=2))
    with pytest.raises(GenerationError, match="cannot reach the LLM server"):
        backend.generate([Message("user", "hi")])
