"""A long field is asked for as one paragraph; a model that answers with a list gets its items joined as
sentences, not with the list's markers left in the copy."""

from __future__ import annotations

from assistant.adcopy import Brief
from assistant.adcopy.prompts import paragraph_text


def test_list_markers_are_not_kept_in_a_paragraph():
    assert paragraph_text("1. Aurora linen, stonewashed\n2. Soft for calm nights!", "en") == \
        "Aurora linen, stonewashed. Soft for calm nights!"
    assert paragraph_text("1、极光亚麻枕套\n2、水洗亚麻，柔软", "zh") == "极光亚麻枕套。水洗亚麻，柔软。"
    assert paragraph_text("- 极光亚麻\n• 水洗", "zh") == "极光亚麻。水洗。"
    # a figure or a time at a line's start is copy, and a wrapped sentence is one sentence
    assert paragraph_text("1.8米大床的极光床品，\n12:00 开抢", "zh") == "1.8米大床的极光床品，12:00 开抢"
    assert paragraph_text("Aurora linen that gets\nsofter with every wash.", "en") == \
        "Aurora linen that gets softer with every wash."


def test_a_list_answer_to_a_paragraph_call_leaves_no_marker_in_the_returned_copy(make_gen):
    # Before: "…soft and breathable 2. Aurora linen pillow case for calm nights" was a returned weibo post (the
    # "2." is a number the row states, so the fact check let it through).
    reply = "1. Aurora linen pillow case, soft and breathable\n2. Aurora linen pillow case, 2 sizes, for calm nights"
    gen, _ = make_gen(default=reply)
    brief = Brief(product="Aurora linen pillow case", channel="weibo", n=1, language="en",
                  attributes=["soft", "breathable", "2 sizes"], from_feed=True)
    result = gen.generate(brief)
    texts = [v.fields["text"] for v in result.variants]
    assert texts and not any(" 2. " in t or t.startswith("1.") for t in texts), texts


def test_an_angle_label_before_a_dash_is_stripped_like_one_before_a_colon():
    from assistant.adcopy.prompts import parse_items

    # Before: "Material - Hand-glazed stoneware" kept its label, and the headline returned by qwen2.5-0.5b for a
    # coffee dripper was "Material Hand-glazed stoneware".
    reply = ("1. Material - Hand-glazed stoneware\n2. Feeling – Warm coffee mornings\n3. 材质——手工釉面陶瓷\n"
             "4. Easy-care linen sheets\n5. Linen - soft and cool\n6. Soft linen — made to last")
    assert parse_items(reply) == ["Hand-glazed stoneware", "Warm coffee mornings", "手工釉面陶瓷",
                                  "Easy-care linen sheets", "Linen - soft and cool", "Soft linen — made to last"]
