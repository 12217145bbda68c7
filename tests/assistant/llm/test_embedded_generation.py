"""Each embedded GGUF really generates a multi-token answer through our own llama.cpp backend, in a child
process: a llama.cpp build that crashes on this CPU fails these tests instead of killing pytest."""

import pytest

from assistant.llm import LLMConfig
from assistant.llm.embedded import PROFILES
from assistant.llm.probe import MIN_TOKENS, probe_generation

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_embedded_model_generates_a_real_answer_in_a_child_process(profile):
    pytest.importorskip("llama_cpp")
    result = probe_generation(LLMConfig(backend="llamacpp", model=profile, n_threads=2), max_tokens=12)
    assert result.ok, result.message
    assert result.tokens >= MIN_TOKENS and result.text.strip()


def test_probe_cli_reports_ok_for_the_default_model():
    pytest.importorskip("llama_cpp")
    from tests.conftest import run_module

    done = run_module("assistant.llm.probe", "--model", "smollm2-135m", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: generated")
