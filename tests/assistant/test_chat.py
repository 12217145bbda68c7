import pytest

from assistant.chat import ChatConfig, ChatService
from assistant.errors import InputError
from assistant.llm import FakeBackend


def test_reply_streams_and_remembers_per_session():
    fb = FakeBackend(["Hello! How can I help?", "Our return window is 30 days."])
    chat = ChatService(fb)
    a, b = chat.sessions.get("a"), chat.sessions.get("b")
    stream = chat.respond("hi", a)
    pieces = list(stream)
    assert "".join(pieces) == "Hello! How can I help?"
    assert stream.reply.text == "Hello! How can I help?"
    chat.respond("returns?", a).collect()
    prompt = fb.last_prompt
    assert [m.content for m in prompt if m.role == "user"] == ["hi", "returns?"]
    chat.respond("other customer", b).collect()
    assert [m.content for m in fb.last_prompt if m.role == "user"] == ["other customer"], "sessions must not leak"


def test_history_is_bounded():
    fb = FakeBackend(default="ok")
    chat = ChatService(fb, ChatConfig(max_history_turns=2))
    s = chat.sessions.get()
    for i in range(6):
        chat.respond(f"q{i}", s).collect()
    users = [m.content for m in fb.last_prompt if m.role == "user"]
    assert users == ["q3", "q4", "q5"]


def test_backend_failure_gives_polite_message_not_traceback():
    fb = FakeBackend([RuntimeError("llama exploded")])
    chat = ChatService(fb)
    reply = chat.respond("hi").collect()
    assert "human" in reply.text.lower()
    assert reply.handoff and "llama exploded" in reply.error


def test_empty_message_is_rejected():
    with pytest.raises(InputError):
        ChatService(FakeBackend()).respond("   ")


def test_adapter_used_only_when_backend_has_it():
    fb = FakeBackend(default="ok")
    ChatService(fb, adapters=("support",)).respond("hi").collect()
    assert fb.calls[-1]["options"].adapter == "support"
    ChatService(fb, adapters=()).respond("hi").collect()
    assert fb.calls[-1]["options"].adapter is None


def test_rate_limit_per_session():
    from assistant.errors import RateLimitError

    chat = ChatService(FakeBackend(default="ok"), ChatConfig(rate_limit_per_minute=3))
    a, b = chat.sessions.get("a"), chat.sessions.get("b")
    for _ in range(3):
        chat.respond("hi", a).collect()
    with pytest.raises(RateLimitError, match="at most 3 a minute") as err:
        chat.respond("hi", a)
    assert err.value.http_status == 429
    chat.respond("hi", b).collect()  # another session is not affected


def test_a_chinese_question_with_a_stylish_no_is_answered_in_chinese():
    # "小熊の杯子" (の for 的, common in Chinese shop talk) made the message Japanese, which the shop does not write:
    # an English-default shop answered the Chinese customer in English
    from assistant.language import detect_language
    from assistant.shop import Shop, ShopConfig

    fb = FakeBackend(default="ok")
    chat = ChatService(fb, shop=Shop(ShopConfig(default_language="en")))
    chat.respond("小熊の杯子可以退货吗？").collect()
    assert fb.last_prompt[0].content == chat.shop.system_prompt("zh")
    assert detect_language("この商品を返品したいです") == detect_language("東京都への配送") == "ja"  # still Japanese
