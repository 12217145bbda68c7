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


_SNAPSHOT_CHILD = """
import json
from assistant.llm import LLMConfig
from assistant.llm.factory import build_backend
from assistant.llm.base import Message
READ = "You check a shop's text. Say YES when the TEXT answers the QUESTION, otherwise NO. One word."
WRITE = "You translate a customer's message into English. Reply with the translation only."
calls = [(READ, "TEXT: We roast on Mondays and Thursdays. QUESTION: When do you roast?"), (WRITE, "你们几点开门？"),
         (READ, "TEXT: Burrs: 48 mm conical burrs. QUESTION: How big are the burrs?"), (WRITE, "可以退货吗？"),
         (READ, "TEXT: Shipping costs 12 yuan. QUESTION: Do you sell bicycles?")]
result = {}
for snapshots in (0, 4):
    b = build_backend(LLMConfig(backend="llamacpp", model="qwen2.5-0.5b", n_threads=2, n_ctx=1024,
                                startup_probe=False, prompt_snapshots=snapshots))
    odds = [b.yes_log_odds([Message("system", s), Message("user", u)]) if s == READ else
            len(b.generate([Message("system", s), Message("user", u)], max_tokens=16, temperature=0.0)) for s, u in calls]
    result[snapshots] = {"odds": odds, "restored": sum(x.restored for x in b._snapshots.values())}
print(json.dumps(result))
"""


def test_a_task_switch_puts_the_last_prompt_of_that_system_prompt_back_and_reads_the_same():
    """Alternating two system prompts on one model: with snapshots, each switch back restores the KV cache of the
    last prompt under that system prompt (counted), and the reader's log odds equal the run without snapshots up
    to the rounding of evaluating the prefix in another batch."""
    import json
    import subprocess
    import sys

    pytest.importorskip("llama_cpp")
    done = subprocess.run([sys.executable, "-c", _SNAPSHOT_CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["0"]["restored"] == 0
    assert result["4"]["restored"] == 3  # every call after the first two starts from its system prompt's snapshot
    for off, on in zip(result["0"]["odds"][::2], result["4"]["odds"][::2], strict=True):
        assert abs(off - on) < 0.3
