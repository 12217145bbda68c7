"""llm.backend openai as replicas use it: an OpenAI-compatible server that starts after the app, or is slow.

The server is a small stdlib stub on 127.0.0.1 (what matters is the HTTP behaviour, not the model)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.errors import GenerationError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Stub(BaseHTTPRequestHandler):
    delay_s = 0.0
    requests = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(self.delay_s)
        body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello, the server answers in words."},
             "finish_reason": "stop"}]}).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up waiting
            pass

    def log_message(self, *args):
        pass


def _serve(port: int, delay_s: float = 0.0):
    handler = type("Stub", (_Stub,), {"delay_s": delay_s, "requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def _runtime(tmp_path, port: int, timeout_s: float = 5.0):
    from assistant.config import load_config
    from assistant.runtime import Runtime

    settings = load_config(env={}, overrides={
        "llm": {"backend": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "timeout_s": timeout_s},
        "storage": {"url": f"sqlite:///{tmp_path}/a.db"}, "app": {"ingest_demo_kb": False},
        "finetune": {"registry": str(tmp_path / "registry.json")},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb")}})
    return Runtime(settings, components={"classifiers": None})


def test_a_replica_started_before_its_llm_server_turns_ready_when_the_server_answers(tmp_path):
    port = _free_port()
    runtime = _runtime(tmp_path, port)
    problems = {}
    runtime.warm_up(lambda step, s, problem: problems.update({step: problem}))
    assert "cannot reach the LLM server" in problems["first answer"]
    assert runtime.health()["status"] == "failed"  # nothing answers yet: the balancer keeps it out

    server, _ = _serve(port)  # vLLM finished loading its weights
    try:
        stop = threading.Event()
        threading.Timer(20, stop.set).start()  # the test never hangs
        assert runtime.wait_for_remote_model(interval_s=0.05, stop=stop)
        stop.set()
        state = runtime.health()
        assert state["status"] == "ready" and state["ready"] and "language_model" not in state["degraded"]
    finally:
        server.shutdown()


def test_a_slow_llm_server_is_given_up_after_llm_timeout_s_once_not_twice(tmp_path):
    from assistant.llm import LLMConfig, Message, build_backend

    port = _free_port()
    server, handler = _serve(port, delay_s=3.0)
    try:
        backend = build_backend(LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=0.5))
        start = time.monotonic()
        with pytest.raises(GenerationError, match=r"did not answer within 0.5 s \(llm.timeout_s\)"):
            backend.generate([Message("user", "hello")])
        assert time.monotonic() - start < 0.95 and handler.requests == 1
    finally:
        server.shutdown()
