import time

import pytest

from assistant.classifiers import detect_language


@pytest.mark.parametrize("text, lang", [
    ("我的订单到哪了？", "zh"),
    ("Where is my order?", "en"),
    ("我的order还没到", "zh"),
    ("Where is my order 订单", "en"),
    ("注文はどこですか", "ja"),
    ("주문이 어디에 있나요", "ko"),
    ("Где мой заказ?", "ru"),
    ("", "und"),
    ("   ", "und"),
    ("😀😀🙏", "und"),
    ("12345 !!!", "und"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_long_text_is_cheap():
    text = "订单" * 50_000
    started = time.perf_counter()
    assert detect_language(text) == "zh"
    assert time.perf_counter() - started < 0.5
