"""Text rules, channel specs, brand profiles and the list parser: the pieces the generator stands on."""

from __future__ import annotations

import pytest

from assistant.adcopy import load_brand, load_channels
from assistant.adcopy.brand import parse_brand
from assistant.adcopy.channels import get_channel, parse_channels
from assistant.adcopy.checks import (
    BANNED,
    MISSING,
    TOO_LONG,
    WRONG_LANGUAGE,
    problems,
    shortenings,
    trim_to_clause,
)
from assistant.adcopy.prompts import count_complete_items, parse_items
from assistant.adcopy.text import contains_term, display_width, fold, readability, sms_segments
from assistant.errors import ConfigError, InputError, NotFoundError

CHANNEL_IDS = ["google_rsa", "meta_feed", "wechat_moments", "weibo", "xiaohongshu", "email", "sms"]


def test_shipped_channels_have_the_agreed_ids_and_limits():
    channels = load_channels()
    assert list(channels) == CHANNEL_IDS
    rsa = channels["google_rsa"]
    assert (rsa.field("headline").limit, rsa.field("headline").unit) == (30, "width")
    assert rsa.field("description").limit == 90 and rsa.field("path1").limit == 15
    assert channels["sms"].field("text").unit == "sms_segments"


def test_google_counts_chinese_double_and_sms_segments_by_encoding():
    head = get_channel("google_rsa").field("headline")
    assert display_width("极光家居") == 8 and display_width("Aurora") == 6
    assert head.fits("一" * 15) and not head.fits("一" * 16)  # 15 Chinese chars = 30 width units
    assert head.fits("a" * 30) and not head.fits("a" * 31)
    sms = get_channel("sms").field("text")
    assert sms_segments("中" * 70) == 1 and sms_segments("中" * 71) == 2
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms.fits("中" * 70) and not sms.fits("中" * 71)
    assert not sms.fits("a" * 100 + "中")  # one Chinese character switches the whole SMS to 70 a segment


def test_unknown_channel_and_field_say_what_exists():
    with pytest.raises(NotFoundError, match="google_rsa"):
        get_channel("tiktok")
    with pytest.raises(NotFoundError, match="headline"):
        get_channel("google_rsa").field("subject")
    with pytest.raises(ConfigError, match="unit"):
        parse_channels({"x": {"fields": {"t": {"limit": 5, "unit": "bytes"}}}})


def test_banned_words_fold_case_width_and_script():
    assert contains_term("The CHEAPEST sofa", "cheapest")
    assert contains_term("ＦＲＥＥ delivery", "free")
    assert not contains_term("freedom to choose", "free")  # whole words for Latin terms
    assert contains_term("全網最低價，快來", "全网最低价")  # traditional text, simplified ban
    assert contains_term("全网最低价", "全網最低價")  # and the other way round
    assert fold("極光傢俱") == "极光家具"


def test_problems_names_each_broken_rule():
    head = get_channel("google_rsa").field("headline")
    assert problems("Aurora linen sheets", head, "en", ["cheapest"], ["Aurora"]) == []
    assert problems("Cheapest linen sheets", head, "en", ["cheapest"], ["Aurora"]) == [BANNED, MISSING]
    assert problems("x" * 31, head, "en", [], []) == [TOO_LONG]
    assert problems("极光亚麻床品", head, "en", [], []) == [WRONG_LANGUAGE]
    assert problems("Linen sheets", head, "zh", [], []) == [WRONG_LANGUAGE]


def test_trim_to_clause_cuts_at_a_boundary_and_refuses_stubs():
    head = get_channel("google_rsa").field("headline")
    assert trim_to_clause("Aurora linen sheets | free returns for 30 days", head, ["Aurora"]) == "Aurora linen sheets"
    assert trim_to_clause("水洗亚麻四件套，越睡越软，夏天透气不闷热", head, []) == "水洗亚麻四件套，越睡越软"
    assert trim_to_clause("Hi, this one has no good place to cut at all", head, []) is None


def test_shortenings_cut_whole_words_keep_the_brand_and_refuse_stubs():
    head = get_channel("google_rsa").field("headline")
    long_en = "Soft stonewashed linen sheets for warm summer nights"
    cuts = shortenings(long_en, head, "en", ["Aurora"])
    assert cuts and all(head.fits(c) and c.startswith("Aurora | ") for c in cuts)
    for c in cuts:  # whole words of the model's line, never a word cut in half, no dangling "with"/"that"
        body = c.removeprefix("Aurora | ")
        assert long_en.startswith(body) and long_en[len(body)] == " "
        assert body.split()[-1] not in ("for", "sheets for")
    # a brand term already in the text is kept by the cut, so no prefix is needed
    assert shortenings("Aurora linen sheets that stay cool all summer", head, "en", ["Aurora"])[0].startswith("Aurora linen")
    zh = shortenings("水洗亚麻四件套的极光风格，舒适透气，时尚简约，适合各种场景。", head, "zh", ["极光"])
    assert zh and all(head.fits(c) and "极光" in c for c in zh)
    assert shortenings("Aurora Supercalifragilisticlinenbedding", head, "en", ["Aurora"]) == []  # stub only
    assert shortenings("Soft linen", head, "en", ["Aurora"]) == ["Aurora | Soft linen"]  # fits: brand only


def test_whole_clauses_come_before_cuts_between_words():
    head = get_channel("google_rsa").field("headline")
    # the word cut "Aurora linen sheets, soft" is longer, but the clause "Aurora linen sheets" is whole
    cuts = shortenings("Aurora linen sheets, soft and breathable for summer", head, "en", ["Aurora"])
    assert cuts[0] == "Aurora linen sheets" and "Aurora linen sheets, soft" in cuts[1:]


def test_a_comma_between_two_adjectives_is_no_place_to_cut():
    head = get_channel("google_rsa").field("headline")
    # Seen on qwen2.5-0.5b: "Experience a cozy" (the comma of "a cozy, warm linen duvet" taken for a clause end).
    cuts = shortenings("Experience a cozy, warm linen duvet tonight", head, "en", [])
    assert cuts and not any(c.endswith(("a cozy", "a cozy, warm")) for c in cuts), cuts
    assert "warm linen duvet tonight" in cuts
    # a comma after a whole phrase still ends a clause
    assert "Soft linen sheets, cool nights" in shortenings("Soft linen sheets, cool nights, easy mornings ahead",
                                                           head, "en", [])


def test_later_clause_runs_are_not_fragments():
    head = get_channel("google_rsa").field("headline")
    # Seen on qwen2.5-0.5b: "极光｜而且材质轻盈" (starts with "moreover"), "极光｜厨房、浴室等" (half a list).
    cuts = shortenings("水洗亚麻四件套，而且材质轻盈，如客厅、厨房、浴室等。", head, "zh", ["极光"])
    assert cuts and all("而且" not in c and "厨房" not in c and not c.endswith("、") for c in cuts), cuts
    en = shortenings("Stonewashed linen duvet cover for every bedroom, and soft as a cloud", head, "en", ["Aurora"])
    assert all(not c.split("| ", 1)[-1].lower().startswith("and ") for c in en), en


def test_readability_prefers_plain_short_copy():
    assert readability("Soft linen sheets. Sleep well.", "en") > readability(
        "Incomparably extraordinary multifunctional temperature-regulating bedding", "en")
    assert readability("亚麻床品，透气柔软", "zh") > readability("这是一款采用欧洲进口优质亚麻纤维经过多道工序精心水洗处理的四件套床品", "zh")
    assert readability("BUY NOW!!! BEST DEAL", "en") < readability("Buy now. A good deal.", "en")


@pytest.mark.parametrize("reply, expected", [
    ("1. Soft linen\n2. Cool sheets\n", ["Soft linen", "Cool sheets"]),
    ("Here are 2 headlines:\n1) \"Soft linen\"\n2) **Cool sheets** (11 chars)\n", ["Soft linen", "Cool sheets"]),
    ("1、水洗亚麻，越睡越软\n2、夏天不闷（10字）\n", ["水洗亚麻，越睡越软", "夏天不闷"]),
    ('["Soft linen", "Cool sheets"]', ["Soft linen", "Cool sheets"]),
    ("- Headline: Soft linen\n- Headline: Cool sheets", ["Soft linen", "Cool sheets"]),
    ("1. Soft linen that gets\nsofter every wash\n2. Cool", ["Soft linen that gets softer every wash", "Cool"]),
    ("Soft linen\nCool sheets", ["Soft linen", "Cool sheets"]),
    ("1. Soft linen\n2. Cool sheets\n\nI hope these help!", ["Soft linen", "Cool sheets"]),
    ("1. Aurora Home: linen sale", ["Aurora Home: linen sale"]),  # a brand prefix is not a label
    ("*Soft & cool*\n*Linen nights*", ["Soft & cool", "Linen nights"]),  # markdown emphasis
    ("1. how it works:\n2. Soft linen", ["Soft linen"]),  # an angle label with nothing after it
    ("1. Aurora | #4: Great Value", ["Aurora | Great Value"]),  # the angle's number copied after the brand
    ("1. Offer\n2. Soft linen\n3. 材质。", ["Soft linen"]),  # a bare angle word is no copy
    ("1. Offer ends Friday", ["Offer ends Friday"]),  # an angle word that starts a sentence stays
])
def test_parse_items_survives_small_model_output(reply, expected):
    assert parse_items(reply) == expected


def test_count_complete_items_ignores_the_line_still_streaming():
    assert count_complete_items("1. a\n2. b") == 1
    assert count_complete_items("1. a\n2. b\n") == 2


def test_demo_brand_loads_and_bad_brand_files_fail_clearly(tmp_path):
    brand = load_brand()
    assert brand.name_in("zh") == "极光家居" and "极光" in brand.required("zh")
    assert "cheapest" in brand.banned("zh")  # banned words hold in every language
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad YAML.*line"):
        load_brand(bad)
    with pytest.raises(InputError, match="not found"):
        load_brand(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="no variant could satisfy both"):
        parse_brand({"name": "X", "banned_words": ["sale"], "required_terms": ["Summer Sale"]})


def test_a_looping_text_is_refused_and_repaired_to_its_first_saying():
    from assistant.adcopy.checks import REPEATS, dedupe_clauses, problems, shortenings

    weibo = get_channel("weibo").field("text")
    looped = "绿色宽松连衣裙，线条流畅，圆领设计，线条流畅，圆领设计，线条流畅。"
    assert REPEATS in problems(looped, weibo, "zh", [], [])
    assert dedupe_clauses(looped) == "绿色宽松连衣裙，线条流畅，圆领设计。"
    assert shortenings(looped, weibo, "zh", []) == ["绿色宽松连衣裙，线条流畅，圆领设计。"]
    assert dedupe_clauses("Soft linen, cool nights. Soft linen, cool nights.") == "Soft linen, cool nights."
    fine = "极光｜亚麻四件套，越洗越软。"
    assert dedupe_clauses(fine) == fine and REPEATS not in problems(fine, weibo, "zh", [], [])


def test_a_loop_cut_off_mid_clause_is_repaired_too():
    from assistant.adcopy.checks import dedupe_clauses

    assert dedupe_clauses("绿色宽松连衣裙圆领，线条流畅，连衣裙圆领，连衣裙圆") == "绿色宽松连衣裙圆领，线条流畅"
    assert dedupe_clauses("Aurora linen sheets, linen sheets, cool") == "Aurora linen sheets, cool"


def test_long_fields_are_asked_for_every_selling_point_in_sentences():
    from assistant.adcopy import Brief
    from assistant.adcopy.prompts import generation_messages

    brief = Brief(product="卫衣", language="zh", attributes=["宽松", "灰色"])
    weibo = generation_messages(brief, get_channel("weibo"), "text", 2, None, [])[-1].content
    assert "每条都要写到这些卖点：宽松、灰色，写成通顺的句子，不要罗列。" in weibo
    headline = generation_messages(brief, get_channel("google_rsa"), "headline", 8, None, [])[-1].content
    assert "每条都要写到" not in headline  # 12 characters have no room for every selling point


def test_a_text_that_says_next_to_nothing_is_refused():
    from assistant.adcopy.checks import TOO_SHORT

    wechat = get_channel("wechat_moments").field("text")
    assert TOO_SHORT in problems("价格：259元", wechat, "zh", [], [])
    assert TOO_SHORT not in problems("水洗亚麻四件套，越洗越软", wechat, "zh", [], [])
    assert TOO_SHORT not in problems("Hi", get_channel("sms").field("text"), "en", [], [])  # an SMS may be short


def test_a_headline_names_the_brand_once_and_a_long_text_may_name_it_again():
    from assistant.adcopy.checks import BRAND_TWICE

    headline = get_channel("google_rsa").field("headline")
    assert BRAND_TWICE in problems("极光套，极光极光好", headline, "zh", [], ["极光"])
    assert BRAND_TWICE in problems("Aurora | aurora linen", headline, "en", [], ["Aurora"])
    assert BRAND_TWICE not in problems("极光亚麻，一洗就干", headline, "zh", [], ["极光"])
    assert BRAND_TWICE not in problems("Aurora | Auroral skies", headline, "en", [], ["Aurora"])  # whole words
    weibo = get_channel("weibo").field("text")
    assert BRAND_TWICE not in problems("极光亚麻四件套，越洗越软。极光家居，陪你睡个好觉。", weibo, "zh", [], ["极光"])


def test_a_chinese_prompt_names_the_channel_in_chinese():
    from assistant.adcopy.prompts import channel_name

    assert channel_name(get_channel("wechat_moments"), "zh") == "朋友圈广告"
    assert channel_name(get_channel("wechat_moments"), "en") == "WeChat Moments ad"
    assert channel_name(get_channel("google_rsa"), "zh") == "Google Ads responsive search ad"


def test_the_prompt_said_back_is_no_copy():
    from assistant.adcopy.checks import ECHO

    wechat = get_channel("wechat_moments").field("text")
    assert ECHO in problems("售价169元，适合朋友圈广告使用。", wechat, "zh", [], [])
    assert ECHO in problems("Soft linen, invent nothing, quote as given", get_channel("meta_feed").field("primary_text"),
                            "en", [], [])
    assert ECHO not in problems("防螨床垫保护罩，全包设计，静音好睡", wechat, "zh", [], [])
    # the prompt's label of the exemplars, given back as copy by qwen2.5-0.5b
    assert ECHO in problems("极光｜早餐、我们的风格参考（不要照抄）。", wechat, "zh", [], [])
    # the brief's own label given back as copy
    assert ECHO in problems("Product: Teapot Lane Handmade Gift Box", get_channel("google_rsa").field("description"),
                            "en", [], [])


def test_no_run_of_clauses_starts_on_a_verb_or_cuts_a_phrase_before_a_figure():
    head = get_channel("google_rsa").field("headline")
    cuts = shortenings("Organic Dragon Well green tea, is on sale at the Teapot Lane shop today", head, "en", [])
    assert cuts and not any(c.startswith("is ") for c in cuts), cuts
    cuts = shortenings("Offer a handcrafted, 200ml teapot for tea lovers everywhere", head, "en", [])
    assert "Offer a handcrafted" not in cuts, cuts


@pytest.mark.parametrize("text, field, language, dangling", [
    ("Warm linen duvet cover offers", "headline", "en", True),
    ("Aurora linen, soft and", "headline", "en", True),
    ("Slip it on", "headline", "en", False),  # words that can end a sentence are not listed
    ("Free returns within", "headline", "en", True),
    ("Five colours to choose from", "headline", "en", False),
    ("Explore the Comfort &", "headline", "en", True),  # qwen2.5-0.5b on a feed row: "&" promises more, as "and"
    ("Linen sheets +", "headline", "en", True),
    ("Rock & Roll", "headline", "en", False),
    ("极光｜59元的竹纤维浴巾，70x140厘米，吸水，速干，材质", "text", "zh", True),  # a label with its value cut off
    ("极光｜竹纤维浴巾，吸水速干，送给你的", "text", "zh", False),
    ("软木微弹，极光很温和", "text", "zh", False),  # 和 ends 温和: no Chinese conjunction is listed
    ("茶壶巷｜宜兴紫砂壶，原矿紫泥手工拉坯，泡茶聚香，品质优良，价格实惠；", "text", "zh", True),  # stopped at a separator
    ("茶壶巷｜宜兴紫砂壶，原矿紫泥手工拉坯，泡茶聚香，节日送礼盒…", "text", "zh", True),
])
def test_copy_that_ends_mid_phrase_is_refused_and_cut_back_to_whole_clauses(text, field, language, dangling):
    from assistant.adcopy.checks import DANGLING

    spec = get_channel("google_rsa" if field == "headline" else "wechat_moments").field(field)
    assert (DANGLING in problems(text, spec, language, [], [])) is dangling
    if dangling:
        assert any(not problems(cut, spec, language, [], []) for cut in shortenings(text, spec, language, []))
