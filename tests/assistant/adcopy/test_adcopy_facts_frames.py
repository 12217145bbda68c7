"""Lively honest copy is not an invented fact: quantities said the spoken way, facts the row states in other words,
and words in a scene frame (the customer's bag, the shower, an instruction) pass; inventions said the same way
still fail."""

from __future__ import annotations

import pytest

from assistant.adcopy.facts import FactChecker
from assistant.adcopy.scene_frames import in_scene


@pytest.mark.parametrize("row,clean,planted", [
    ("数据线，长1.5米，支持60W", "1米5长的数据线，支持60W", "1米8长的数据线，支持60W"),
    ("狗狗牵引绳，长1.5米", "牵引绳一米半长", "牵引绳两米半长"),
    ("羽绒被，220x240cm", "220x240大尺寸", "230x240大尺寸"),
    ("美利奴羊毛袜，羊毛含量60%", "羊毛含量六成", "羊毛含量八成"),
    ("Sonic toothbrush, 60 days per charge", "充一次电能用两个月", "充一次电能用三个月"),
    ("保冷包，保冷12小时", "能冰12个小时", "能冰20个小时"),
    ("Pet water fountain, 2 litre, triple filter", "2升饮水机，三重过滤", "2升饮水机，滤芯能用3个月"),
])
def test_spoken_quantities_match_the_row_and_other_quantities_do_not(checker, row, clean, planted):
    src = checker.sources(row)
    assert checker.unsupported(clean, src) == []
    assert "number" in {c.kind for c in checker.unsupported(planted, src)}


def test_no_two_is_an_idiom_not_a_quantity(checker):
    src = checker.sources("Handmade stoneware mug, 350 ml, reactive glaze")
    assert checker.unsupported("Stoneware mug, 350 ml, reactive glaze, so no two are the same", src) == []


def test_an_ip_rating_states_waterproof_only_from_ipx7(checker):
    assert checker.unsupported("电动牙刷，IPX7防水", checker.sources("Sonic toothbrush, IPX7")) == []
    bad = checker.unsupported("头灯，IPX4防水", checker.sources("Headlamp, 300 lumen, IPX4"))
    assert "waterproof" in {c.name for c in bad}


def test_a_claim_shape_in_the_other_language_of_a_stated_group_passes(checker):
    src = checker.sources("Insulated cooler bag, 24 litre, leak-proof liner")
    assert checker.unsupported("24升保冷包，内衬防漏", src) == []
    assert "claim" in {c.kind for c in checker.unsupported("24升保冷包，内衬防霉", src)}


def test_a_washing_machine_is_what_machine_washable_says(checker):
    assert checker.unsupported("眼罩脏了直接丢洗衣机", checker.sources("真丝眼罩，22姆米，可机洗")) == []
    bad = checker.unsupported("羊绒毛衣，直接丢进洗衣机就行", checker.sources("羊绒圆领毛衣，100%羊绒，12针"))
    assert "machine washable" in {c.name for c in bad}


def test_a_stated_quantity_names_its_measure(checker):
    src = checker.sources("Two-person tent, 2.1 kg, 3000 mm waterproof")
    assert checker.unsupported("A waterproof tent that weighs 2.1 kg", src) == []
    # no weight stated: "weighs" still needs support
    assert "weighs" in {c.text for c in checker.unsupported("A tent that weighs little", checker.sources(
        "Two-person tent, 3000 mm waterproof"))}


@pytest.mark.parametrize("word,text", [
    ("bag", "Squashes flat into your bag."),                      # a thing of the customer's
    ("shower", "IPX7, so take it in the shower."),                 # a place of use
    ("drop", "Drop your phone on and go: 15 W wireless charging."),  # an instruction
    ("soaks", "A towel that soaks up water."),                     # a phrasal verb
    ("square", "Cushion cover, 45 cm square."),                    # the measure of a stated size
    ("见方", "浴巾，110厘米见方，吸水透气。"),
    ("书包", "保温杯，塞书包里不漏。"),                              # a Chinese place: X里
    ("柜子", "凉席一折就能塞进柜子。"),                              # and the verb of direction before it
    ("fill", "Fountain pen with a converter, so you can fill it from a bottle."),  # what the customer does
    ("skin", "Pin brush that is gentle on skin."),                  # a place that ends the phrase
    ("listening", "Earbuds with 30 hours of listening."),           # an activity
    ("water", "Glass vase, 25 cm tall, clear as water."),           # a simile
])
def test_scene_frames(word, text):
    why = "names a thing" if not word.isascii() else "not in the product data nor a generic ad word"
    assert in_scene(word, why, text)


@pytest.mark.parametrize("word,text", [
    ("pencil", "Slim tablet case with a built-in pencil holder."),  # a part the row does not name
    ("italy", "Cord trousers, woven in Italy."),                    # a name: an origin claim
    ("bali", "Rattan basket, made by artisans in Bali."),
    ("stimulates", "Sandalwood comb that stimulates hair growth."),
    ("摄像头", "自动喂食器，内置摄像头随时看猫。"),
    ("德国", "钢笔，笔尖运到德国打磨。"),                            # a place name, whatever the frame
])
def test_claims_are_not_scene_frames(word, text):
    why = "names a thing" if not word.isascii() else "not in the product data nor a generic ad word"
    assert not in_scene(word, why, text)


def test_comparisons_are_never_cleared_by_a_frame():
    assert not in_scene("never", "a comparison or absolute", "Drop it in your bag, it will never break.")


def test_the_checker_clears_scene_words_and_keeps_inventions(checker):
    src = checker.sources("Aluminium laptop stand, six height settings, folds flat")
    assert checker.unsupported("Aluminium laptop stand that folds flat into your bag", src) == []
    assert "pencil" in {c.text for c in checker.unsupported("Aluminium laptop stand with a pencil holder", src)}


def test_scene_frames_can_be_turned_off():
    src_text = "Aluminium laptop stand, six height settings, folds flat"
    strict = FactChecker(scene_frames=False)
    assert "bag" in {c.text for c in strict.unsupported("Aluminium laptop stand that folds flat into your bag",
                                                         strict.sources(src_text))}


def test_grammar_and_moments_are_not_claims(checker):
    """Closed-class words ("enough", "almost"), the sign of a stated number and a time of day state nothing."""
    src = checker.sources("Duck down sleeping bag, comfort -5 °C, 1.2 kg")
    copy = "Warm enough at minus five degrees, and almost weightless on a cold afternoon"
    assert checker.unsupported(copy, src) == []
    assert "camera" in {c.text for c in checker.unsupported("Warm enough, with a camera", src)}
