"""bench/small_talk.py's scoring, without a model."""

from bench.small_talk import load_messages, outcome, summarize

GREETING = "Hi! How can I help you today?"


def test_the_frozen_set_holds_both_kinds_in_both_languages():
    messages = load_messages()
    for kind in ("shop", "social"):
        assert len(messages[kind]) == 24
        assert {m["lang"] for m in messages[kind]} == {"en", "zh"}


def test_a_model_reply_to_a_shop_question_counts_and_the_canned_greeting_does_not():
    made_up = outcome("shop", "small_talk", "Yes, we are open on Sunday.", GREETING)
    assert made_up["small_talk_reply"] and made_up["speaks_for_shop"]
    canned = outcome("shop", "small_talk", GREETING, GREETING)
    assert not canned["small_talk_reply"] and not canned["speaks_for_shop"]
    friendly = outcome("shop", "small_talk", "Hello! How can I help?", GREETING)
    assert friendly["small_talk_reply"] and not friendly["speaks_for_shop"]


def test_summarize_counts_each_kind_apart():
    rows = [outcome("shop", "small_talk", "Yes, we are open.", GREETING),
            outcome("shop", "fallback", "I can only help with...", GREETING),
            outcome("shop", "kb_answer", "Shipping is free.", GREETING),
            outcome("social", "decline", "I don't know.", GREETING),
            outcome("social", "small_talk", "Hello!", GREETING)]
    s = summarize(rows)
    assert (s["shop_questions"], s["social_messages"]) == (3, 2)
    assert s["shop_replies_speaking_for_shop"] == 1 and s["shop_sent_away_as_out_of_scope"] == 1
    assert s["shop_answered_from_documents"] == 1 and s["shop_declined_or_handed_off"] == 1
    assert s["social_turned_away"] == 1 and s["social_small_talk"] == 1
