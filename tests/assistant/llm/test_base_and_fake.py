import pytest

from assistant.errors import ConfigError, GenerationError, InputError
from assistant.llm import FakeBackend, LLMConfig, Message, build_backend, fit_to_context, to_messages


def test_fake_returns_queued_replies_and_records_prompts():
    fb = FakeBackend(["first", "second answer"])
    msgs = [Message("system", "be nice"), Message("user", "hi")]
    assert fb.generate(msgs) == "first"
    assert "".join(fb.stream(msgs, temperature=0.1)) == "second answer"
    assert len(fb.calls) == 2
    assert fb.calls[1]["options"].temperature == 0.1
    assert fb.last_prompt[-1].content == "hi"


def test_fake_default_is_deterministic_echo_and_honours_stop():
    fb = FakeBackend()
    assert fb.generate([("user", "hello there")]) == fb.generate([("user", "hello there")])
    fb.queue("abc STOP def")
    assert fb.generate([("user", "x")], stop=["STOP"]) == "abc "


def test_fake_raises_queued_errors_as_generation_errors():
    fb = FakeBackend([RuntimeError("boom")])
    with pytest.raises(GenerationError, match="boom"):
        fb.generate([("user", "x")])


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="unknown generation option"):
        FakeBackend().generate([("user", "x")], colour="red")


@pytest.mark.parametrize("messages", [[], [("user", "   ")], [("system", "only a system prompt")]])
def test_empty_prompt_is_an_input_error(messages):
    with pytest.raises(InputError):
        to_messages(messages)


def test_bad_role_is_an_input_error():
    with pytest.raises(InputError, match="role"):
        Message("robot", "hi")


def test_fit_to_context_drops_oldest_turns_and_keeps_system_and_last():
    count = lambda s: len(s.split())  # noqa: E731 - a word is a token here
    msgs = [Message("system", "sys " * 10)]
    for i in range(20):
        msgs += [Message("user", f"question {i} " + "w " * 20), Message("assistant", "answer " * 20)]
    msgs.append(Message("user", "latest question"))
    out = fit_to_context(msgs, count, n_ctx=200, reserve=50)
    assert out[0].role == "system" and out[-1].content == "latest question"
    assert sum(count(m.content) + 8 for m in out) <= 150 - 32
    assert len(out) < len(msgs)


def test_fit_to_context_cuts_a_huge_message_in_the_middle(caplog):
    count = lambda s: len(s)  # noqa: E731 - a character is a token here (like Chinese)
    huge = "START " + "x" * 200_000 + " END"
    out = fit_to_context([Message("user", huge)], count, n_ctx=1000, reserve=100)
    text = out[-1].content
    assert text.startswith("START") and text.endswith("END") and "[...]" in text
    assert len(text) + 8 <= 900 - 32
    assert "too long" in caplog.text


def test_factory_builds_fake_and_rejects_unknown():
    assert build_backend(LLMConfig(backend="fake")).name == "fake"
    with pytest.raises(ConfigError, match="backend must be one of"):
        LLMConfig(backend="gpt9")


@pytest.mark.parametrize(
    "kwargs, msg",
    [({"temperature": 5}, "temperature must be in [0, 2], got 5"), ({"n_ctx": 10}, "n_ctx"),
     ({"max_tokens": 0}, "max_tokens"), ({"top_p": 0}, "top_p"), ({"model": ""}, "model")],
)
def test_llm_config_validation(kwargs, msg):
    with pytest.raises(ConfigError) as err:
        LLMConfig(**kwargs)
    assert msg in str(err.value)
