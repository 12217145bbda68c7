import time

import pytest

from assistant.language import answer_language, detect_language, language_share


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


def test_one_rule_everywhere_for_mixed_text():
    # The same rule decides the answer language in the chat, the KB, the widget and ad copy.
    from assistant.adcopy.text import detect_language as adcopy_lang

    for text, lang in [("Can I return the 北欧 lamp?", "en"), ("我的order还没到", "zh"), ("🙂", "en"),
                       ("こんにちは、注文はどこ？", "en"), ("退货要多久", "zh")]:
        assert answer_language(text) == lang
        assert adcopy_lang(text) == lang
    assert answer_language("🙂", default="zh") == "zh"


def test_language_share_tells_a_translation_that_kept_a_name_from_one_not_made():
    assert language_share("Cloud雾温控手冲壶 K1 – Power: 1200 Watts", "en") > 0.34  # the name left, the rest done
    assert language_share("云雾温控手冲壶 K1 – 功率: 1200 瓦", "en") == 0.0
    assert language_share("保修期为 2 年。", "zh") == 1.0
    assert language_share("", "zh") == 0.0 and language_share("12 / 30", "en") == 0.0
