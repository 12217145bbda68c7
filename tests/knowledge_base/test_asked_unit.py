"""A question asking for a weight, a duration, a price, a temperature or the colours is answered only by a sentence
stating one (knowledge_base.questions.asked_unit, knowledge_base.asked_unit_check): the right product's packed size
for its weight, or a filter's life in litres for its warranty, is declined instead of sent."""

import pytest

from knowledge_base.questions import asked_unit
from tests.knowledge_base.conftest import faq_matching_anything, with_config, with_thresholds, write


@pytest.mark.parametrize("question, kind", [
    ("云眠 -5 睡袋整个有多重", "weight"), ("How much does the H2 weigh?", "weight"),
    ("How long is the warranty on the ClearFlow water filter?", "duration"), ("你们卖的登山杖保修几年？", "duration"),
    ("How many days does delivery to Hong Kong take?", "duration"), ("退款多久到账", "duration"),
    ("How much is a replacement cartridge?", "price"), ("报名要交多少钱？", "price"),
    ("What's the delivery fee to Macau?", "price"),
    ("What colours does the Cirrus 40 come in?", "colour"), ("冲锋衣有哪些颜色", "colour"),
    ("How many colors are available for the Ridgeline 2 tent?", "colour"),
    ("温控壶的温度能调到多少度", "temperature"), ("What temperature is the sleeping bag rated to?", "temperature"),
    ("国际标准长墨囊一盒有几支？", "count"), ("寄到香港的订单，每单最多能放几瓶墨水？", "count"), ("有多少页", "count"),
])
def test_questions_asking_for_a_unit(question, kind):
    found = asked_unit(question)
    assert found is not None and found.kind == kind


@pytest.mark.parametrize("question", [
    # yes/no questions are answered by yes or no, often without a figure
    "来回运费要我自己出吗", "Does it weigh more than 2 kg?", "Is delivery free?", "积分有没有有效期",
    # a length, water, fill: not a duration, price or weight
    "How long is the cable?", "How much water does it hold?", "How much down is in the bag?",
    # statements: nothing asks for a value
    "a sleeping bag label has three different temperatures on it", "the price dropped right after I bought it 😡",
    "价格降了，能退差价吗", "价格降了怎么办",
    # two kinds (two-fact messages are split before this is asked) or none
    "what's the price and the weight of the Cirrus 40?", "What is the frame made of?", "Where is your store?",
    # an English count is named in other words too often ("grind settings" - "40 clicks"); kinds are listed
    "How many grind settings does the H2 have?", "有哪几种宽度？", "一次能寄几瓶吗？",
])
def test_other_questions_ask_for_no_unit(question):
    assert asked_unit(question) is None


def test_sentences_stating_the_unit():
    weight = asked_unit("How heavy is the sleeping bag?").states
    assert weight("Weight: 980 g") and weight("重量：980 克") and weight("It weighs 1.2kg.")
    assert not weight("收纳尺寸: 直径 20 厘米，长 36 厘米") and not weight("Holds 20 L of gear.")
    duration = asked_unit("How long is the warranty?").states
    assert duration("2-year furniture warranty.") and duration("Two-year warranty") and duration("保修 1 年")
    assert duration("a lifetime warranty on the frame") and duration("3-5 business days")
    assert not duration("Filter life: Up to 1,500 L") and not duration("Product number TH-B40.")
    # Chinese durations, not dates: months need 个, a day with 日 is no date, a year is under 1000
    assert duration("签收后 7 日内可退") and duration("三个月内") and duration("半年") and duration("保修一年")
    assert not duration("每年 6 月至 9 月，我们免费加配保温箱。") and not duration("3 月 1 日起生效")
    assert not duration("2024 年新品")
    price = asked_unit("多少钱").states
    assert price("Price: ¥169.") and price("价格：899 元。") and price("Shipping is free over ¥299") and price("30 元/处")
    assert not price("每次限 20 人，需要提前在微信小程序报名。") and not price("Filter life: 1,500 L")
    # what is not free says nothing of what it costs ("寄香港运费多少" had got the mainland row for it)
    assert price("实付满 199 元包邮") and not price("港澳台订单不参与满额包邮。") and not price("香港不包邮")
    colour = asked_unit("What colours does it come in?").states
    assert colour("颜色：岩石灰、松针绿、落日橙。") and colour("Colours: Slate, Forest, Sunset") and colour("Black or white.")
    assert not colour("Product number TH-B40.") and asked_unit("Does it come in blue?") is None
    assert not colour("Three colour temperatures, from warm 2700 K to daylight 6500 K.") and not colour("色温 2700 K")
    assert asked_unit("多少度").states("舒适温度：-5 ℃") and not asked_unit("多少度").states("充绒量：400 克")
    bottles = asked_unit("每单最多能放几瓶墨水？").states
    assert bottles("寄往台湾的订单每单最多 4 瓶墨水。") and not bottles("香港、澳门每单运费 45 元，3–5 个工作日送达；")
    assert asked_unit("一本有多少页").states("页数: 192") and asked_unit("一盒几支").states("5 支装")


def test_a_unit_question_no_close_sentence_answers_is_declined_near_the_documents(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "docs" / "bag.md", "# Yunmian sleeping bag\n\nPacked size: 20 cm by 36 cm.\n\n"
                                        "Comfort rating: -5 °C.\n")
    write(tmp_path / "docs" / "filter.md", "# ClearFlow filter\n\nWeight: 85 g.\n\nFilter life: up to 1,500 L.\n")
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    kb = with_thresholds(kb, abstain=0.0, faq=1.01)
    declined = kb.lookup("How long is the warranty on the ClearFlow filter?")
    assert not declined.answerable and not declined.evidence and declined.turned_down
    answered = kb.lookup("What is the weight of the ClearFlow filter?")
    assert answered.answerable and [e.text for e in answered.evidence] == ["Weight: 85 g."]
    # off: the closest sentence is read as before (the reader model alone decides)
    off = with_config(kb, asked_unit_check=False)
    assert off.lookup("How long is the warranty on the ClearFlow filter?").evidence


def test_an_faq_row_stating_no_value_of_the_kind_asked_does_not_answer(make_kb, tmp_path):
    # "How long does it take to ship?" had met "How much is shipping?" and the customer got the fee
    kb = faq_matching_anything(make_kb, tmp_path, "f1,How much is shipping?,Shipping costs ¥12 per order.\n"
                                                  "f2,How long is the warranty?,Every grinder is covered for two years.\n",
                               "Parcels arrive within 2-4 days of dispatch.")
    how_long = kb.lookup("How long does it take to ship?")
    assert how_long.faq is None or how_long.faq.row_id == "f2"
    assert kb.lookup("How much is shipping?").faq is not None
    assert kb.lookup("What does shipping cost?").faq.row_id == "f1"
    off = with_config(kb, asked_unit_check=False)
    assert off.lookup("How long does it take to ship?").faq is not None
