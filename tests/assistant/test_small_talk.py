"""Which messages are small talk, and which small-talk replies must not be sent (assistant.small_talk)."""

import pytest

from assistant.small_talk import (
    about_assistant,
    answers_from_nothing,
    asks_something,
    asks_what_shop_sells,
    chit_chat,
    misstates_identity,
)


@pytest.mark.parametrize("text, asks", [
    ("Are you open on Sunday?", True), ("hi! do you deliver to my city", True), ("周末有人吗", True),
    ("晚上几点下班呀", True), ("thanks!", False), ("Good morning", False), ("你好", False), ("辛苦了", False),
])
def test_asks_something(text, asks):
    assert asks_something(text) is asks


@pytest.mark.parametrize("text, chat", [
    ("hi", True), ("在吗", True), ("how are you?", True), ("thank you so much", True), ("早上好", True),
    ("Are you open on Sunday?", False), ("anyone around on weekends?", False), ("你们周日营业吗？", False),
])
def test_chit_chat_asks_nothing_or_is_three_words_at_most(text, chat):
    assert chit_chat(text) is chat


@pytest.mark.parametrize("text, about", [
    ("Are you a robot?", True), ("who are you?", True), ("what's your name?", True), ("你是机器人吗？", True),
    ("你叫什么名字？", True), ("Are you open on Sunday?", False), ("你们有实体店吗？", False),
    # the shop's name: the config states it, the documents often do not
    ("What's the name of your shop?", True), ("what is your store called?", True), ("你们店叫什么名字？", True),
    ("店名是什么", True), ("你们是哪家店？", True), ("What is the name of this jacket?", False),
    ("你们是什么时候发货的？", False), ("这个产品叫什么？", False), ("What is the brand name of this kettle?", False),
    ("What company is this grinder made by?", False), ("快递公司的名字是什么？", False),
    ("这款磨豆机的品牌名称是什么？", False), ("你们是哪个公司发货？", False), ("发票抬头要写店名吗？", False),
])
def test_about_assistant(text, about):
    assert about_assistant(text) is about


@pytest.mark.parametrize("message, reply, blocked", [
    ("Are you open on Sunday?", "Yes, we are open on Sunday.", True),
    ("hey are you open late tonight?", "Yes, I am open late tonight.", True),  # a yes about the shop, said as "I"
    ("周末有人吗？", "有的，周末也有客服。", True),
    ("你们周日营业吗？", "我们周日正常营业。", True),
    ("hi! do you deliver to my city?", "Hello! How can I help you?", False),  # no claim: sent
    ("在吗", "在的，我们随时为您服务。", False),  # chit-chat: "we" is fine
    ("Are you a robot?", "Yes, I'm the shop's virtual assistant.", False),  # about the assistant
    ("thanks!", "You're welcome, we are happy to help!", False),
])
def test_answers_from_nothing(message, reply, blocked):
    assert answers_from_nothing(message, reply) is blocked


@pytest.mark.parametrize("reply, lie", [
    ("No, I am a human being.", True), ("是的，我是由阿里云开发的机器人助手。", True), ("I'm not a robot!", True),
    ("我是真人客服哦", True), ("Yes, I'm the shop's virtual assistant.", False), ("是的，我是智能客服助手。", False),
])
def test_misstates_identity(reply, lie):
    assert misstates_identity(reply) is lie


@pytest.mark.parametrize("text, asks", [
    ("What do you sell?", True), ("Hi, what do you sell?", True), ("what kind of products do you sell?", True),
    ("What does your shop sell?", True), ("What kind of shop is this?", True), ("你们店卖什么的？", True),
    ("你们都卖些什么东西？", True), ("你们是做什么的？", True), ("请问你们主要卖什么？", True),
    # a product, an attribute or a policy named: the documents' to answer
    ("Do you sell bicycles?", False), ("What sizes do you have?", False), ("你们卖自行车吗", False),
    ("你们有什么颜色？", False), ("What kind of warranty do you offer?", False),
    ("What payment methods do you have?", False), ("你们卖的咖啡豆是什么产地？", False),
    ("What do you offer for students?", False),
])
def test_asks_what_shop_sells(text, asks):
    assert asks_what_shop_sells(text) is asks
