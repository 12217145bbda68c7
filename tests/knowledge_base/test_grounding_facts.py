"""knowledge_base.grounding.unsupported: the facts a drafted or translated answer states that its sources do not.
A translation writes the same fact otherwise ("8:00 PM" for "20:00", "两次" for "twice", "6500K" for "6500 K");
an invented fact must still be caught."""

from __future__ import annotations

import pytest

from knowledge_base.grounding import clock_hours, numbers_in, unsupported


@pytest.mark.parametrize("answer, source", [
    ("Shop: Longjing Road 88, Hangzhou, open daily 10:00 AM - 8:00 PM.", "门店：杭州市西湖区龙井路 88 号，每天 10:00–20:00 营业"),
    ("每天上午10点到晚上8点营业。", "Open daily from 10:00 to 20:00."),
    ("用冷水浸泡18小时，过滤两次。", "Steeped in cold water for 18 hours and filtered twice."),
    ("三种色温，从暖光2700K到日光6500K。", "Features: Three colour temperatures, from warm 2700 K to daylight 6500 K."),
    ("Damage caused by use of non-220V voltage.", "电器进水，或使用非 220V 电压造成的损坏；"),
])
def test_a_fact_written_otherwise_in_a_translation_is_supported(answer, source):
    assert unsupported(answer, [source]) == []


@pytest.mark.parametrize("answer, source, problem", [
    ("Open daily 10:00 AM - 9:00 PM.", "每天 10:00–20:00 营业", "number 9"),
    # 5 is in the source (周五), but not as a time: a wrong closing time is still caught
    ("Monday to Friday from 9:00 AM to 5:00 PM.", "人工客服工作时间为周一至周五 9:00-18:00", "time 5"),
    ("It can be returned within 8 days.", "每天 10:00–20:00 营业", "number 8"),  # not a time: no clock reading
    ("The H2-Pro grinder weighs 640 g.", "The H2 grinder weighs 640 g.", "name h2-pro"),
    ("The H3 grinder weighs 640 g.", "The H2 grinder weighs 640 g.", "name h3"),
    ("The K1 kettle holds 1 litre.", "The K10 kettle holds 1 litre.", "name k1"),
    ("The K10 kettle holds 1 litre.", "The K1 0.8 L kettle holds 1 litre.", "name k10"),
    ("Filtered three times.", "Filtered twice.", "number 3"),
])
def test_an_invented_fact_is_still_caught(answer, source, problem):
    assert problem in unsupported(answer, [source])


def test_the_hours_of_times_of_day_and_only_those():
    assert clock_hours("10:00 AM - 8:00 PM") == {10.0, 8.0}
    assert clock_hours("每天 10:00–20:00 营业，下午3点杯测") == {10.0, 20.0, 3.0}
    assert clock_hours("30 days, 1.5 kg") == set()
    assert 2.0 in numbers_in("filtered twice")


def test_a_translation_may_not_bring_in_place_names_its_chinese_source_does_not_write():
    from knowledge_base.grounding import unsupported
    from knowledge_base.names import invented_names

    source = "闵行、宝山、嘉定、松江不在配送范围内，可以到店自提。"
    # what the small model wrote for "Do you deliver to Minhang?"
    wrong = "Other areas (such as Shanghai, Beihai, Gao'an, and Suzhou) are not available for delivery."
    assert invented_names(source, wrong) == ["name Beihai", "name Gao'an", "name Suzhou"]
    assert "name Beihai" in unsupported(wrong, [source])
    # the names as pinyin of the source's characters, in any of their readings (闵行 is Minhang, 长宁 Changning)
    assert invented_names(source, "Minhang, Baoshan, Jiading and Songjiang are outside our delivery area.") == []
    assert invented_names("长宁区和静安区当天送达。", "Changning and Jing'an get same-day delivery.") == []
    # English words that split into syllables (o-ran-ge), words opening a sentence, names the source writes
    assert invented_names("杏仁香橙蛋糕不含麸质。", "Our Almond Orange Cake is gluten-free.") == []
    assert invented_names("岚风冲锋衣有三种颜色。", "Our Lanfeng jackets come in three colours.") == []
    assert invented_names("您好，感谢您的支持。", "You're welcome, and we'll see the Shop's hours.") == []
    assert invented_names("乌龙茶蛋糕很受欢迎。", "The Oolong tea cake is popular.") == []  # a loanword
    assert invented_names("北京店。", "Xi'an shop.") == ["name Xi'an"]  # its apostrophe: pinyin, even first
    assert invented_names("门店在 Xintiandi 商场。", "The shop is in the Xintiandi mall.") == []
    assert invented_names("岚风冲锋衣有三种颜色。", "The Langfeng jacket comes in three colours.") == ["name Langfeng"]
    # the customer's own words back a name too
    assert unsupported("We do not deliver to Minhang.", ["浦东新区仅配送内环以内。"], "Do you deliver to Minhang?") == []


def test_a_sentence_opening_with_a_number_keeps_it():
    from knowledge_base.grounding import Evidence, sentences_of
    from knowledge_base.retrieval import SearchHit

    text = ("1.5公斤装售价 ¥128，5公斤装售价 ¥359。\n-5 °C is the comfort limit.\n- Free returns within 30 days\n2) Keep the tags on"
            "\n•2年内人为损坏")
    hit = SearchHit("c", 0.9, text, "food.md", "Cat food", chunk_id="c")
    got = sentences_of(hit)
    # "1." of "1.5公斤" is no list number (the 5 kg price was sent for the 1.5 kg bag), "-5" no bullet
    assert got[0].startswith("1.5公斤装售价 ¥128") and got[1].startswith("-5 °C")
    assert "Free returns within 30 days" in got and "Keep the tags on" in got and "2年内人为损坏" in got
    assert Evidence("2年内人为损坏", hit, 0.9).list_item  # a bullet before a digit is still a bullet
    assert Evidence("Free returns within 30 days", hit, 0.9).list_item
    assert not Evidence("1.5公斤装售价 ¥128，5公斤装售价 ¥359。", hit, 0.9).list_item


def test_a_label_with_values_listed_by_semicolons_is_one_sentence():
    from knowledge_base.grounding import sentences_of
    from knowledge_base.retrieval import SearchHit

    text = ("续航时间: 高亮（400 流明）3.5 小时；中亮（150 流明）10 小时；低亮（20 流明）45 小时\n\n"
            "Removes: 99.9999% of bacteria; 99.9% of protozoa\n\n"
            "每天 16:00 前付款的订单当天发出；16:00 以后付款的订单次日发出。\n"
            "Shipping: we ship daily. Returns take 3 days; Refunds 5.")
    got = sentences_of(SearchHit("c", 0.9, text, "lamp.html", "Headlamp", chunk_id="c"))
    # the row keeps its label on every value ("开最亮能亮多久" got "中亮 10 小时" alone)
    assert got[0] == "续航时间: 高亮（400 流明）3.5 小时；中亮（150 流明）10 小时；低亮（20 流明）45 小时"
    assert got[1] == "Removes: 99.9999% of bacteria; 99.9% of protozoa"
    # sentences are cut as before: a time is no label, and a label line holding sentences is prose
    assert got[2:4] == ["每天 16:00 前付款的订单当天发出；", "16:00 以后付款的订单次日发出。"]
    assert got[4:] == ["Shipping: we ship daily.", "Returns take 3 days;", "Refunds 5."]
