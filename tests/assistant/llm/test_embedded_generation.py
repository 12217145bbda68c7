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


_LOG_ODDS_CHILD = """
import json
from assistant.llm import LLMConfig
from assistant.llm.factory import build_backend
from assistant.llm.base import Message
b = build_backend(LLMConfig(backend="llamacpp", model="qwen2.5-1.5b", n_threads=2, n_ctx=512))
ask = lambda q: b.yes_log_odds([Message("system", "Answer with one word: YES or NO."), Message("user", q)])
print(json.dumps({"yes": ask("Is Paris the capital of France?"), "no": ask("Is Paris the capital of Japan?"),
                  "again": ask("Is Paris the capital of France?")}))
"""


def test_the_reader_scores_yes_and_no_from_the_models_logits_in_a_child_process():
    """log P(YES) - log P(NO) of the first token: a plain yes well above a plain no (the model's own 50 % is not
    where a threshold goes, so only the order is asserted), and the same figure again with the prompt cache warm."""
    import json
    import subprocess
    import sys

    pytest.importorskip("llama_cpp")
    done = subprocess.run([sys.executable, "-c", _LOG_ODDS_CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    odds = json.loads(done.stdout.strip().splitlines()[-1])
    assert odds["yes"] > odds["no"] + 1.0
    assert abs(odds["yes"] - odds["again"]) < 0.05  # a cached prefix is evaluated in other batches
