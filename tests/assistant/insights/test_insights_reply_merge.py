"""Gap groups whose tickets got the same human reply are one group (insights.merge_by_reply): agents answer one
question with one saved reply however customers word it, where the embedder splits the wording."""

from __future__ import annotations

import numpy as np
import pytest

from tests.assistant.insights.conftest import ask, make_runtime

GIFT_REPLY = "Yes: e-gift cards of ¥100 and ¥200, valid 3 years."


def test_groups_with_the_same_reply_merge_after_normalising():
    from assistant.insights.grouping import merge_by_replies

    labels = [1, 1, 2, 3, 4]
    replies = [[GIFT_REPLY], [], ["  yes: E-GIFT cards of ¥100 and ¥200,\nvalid 3 years. "], ["Parking is free."], []]
    assert merge_by_replies(labels, replies, None, 1.0, 5) == [1, 1, 1, 3, 4]
    # nothing in common: nothing changes
    assert merge_by_replies(labels, [["a"], [], ["b"], ["c"], []], None, 1.0, 5) == labels


def test_near_replies_merge_by_their_vectors_and_a_template_merges_nothing():
    from assistant.insights.grouping import merge_by_replies, normalise_reply

    vectors = {normalise_reply("gift en"): np.array([1.0, 0.0]),
               normalise_reply("礼品卡 zh"): np.array([0.96, 0.28]),  # cosine 0.96 with the English reply
               normalise_reply("parking"): np.array([0.0, 1.0])}
    labels = [1, 2, 3]
    replies = [["gift en"], ["礼品卡 zh"], ["parking"]]
    assert merge_by_replies(labels, replies, vectors, 0.95, 5) == [1, 1, 3]
    assert merge_by_replies(labels, replies, vectors, 0.97, 5) == [1, 2, 3]  # below the threshold: apart
    assert merge_by_replies(labels, replies, vectors, 1.0, 5) == [1, 2, 3]  # 1.0 = exact text only
    # "We are looking into it" on tickets of many unrelated groups is a template, not an answer
    template = "Thanks, we are looking into it."
    labels = [1, 2, 3, 4, 4]
    replies = [[template], [template], [template], [template], ["x"]]
    assert merge_by_replies(labels, replies, None, 1.0, 3) == labels
    assert merge_by_replies(labels, replies, None, 1.0, 4) == [1, 1, 1, 1, 1]


def _ask_then_hand_off(runtime, question: str, reply: str | None = None) -> str:
    first, sid = ask(runtime, question)
    assert first.route["action"] == "decline", first.route
    ask(runtime, "I want a human", sid)
    ticket = runtime.handoff.tickets_for_session(sid)[-1]
    if reply:
        runtime.handoff.reply(ticket.id, reply)
    return sid


def gaps_of(runtime):
    from assistant.insights import gaps

    return gaps.compute(runtime)


def _gift_groups(runtime):
    return [g for g in gaps_of(runtime) if {e["question"] for e in g.examples} & {"Do you sell gift cards?", "有礼品卡吗？"}]


@pytest.mark.parametrize("merge", [False, True])
def test_the_gap_report_merges_groups_whose_tickets_got_one_reply(tmp_path, monkeypatch, merge):
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    # a strict threshold: only the same words are one group, as when the embedder splits a topic's wording
    runtime = make_runtime(tmp_path, insights={"merge_by_reply": merge, "group_threshold": 0.9})
    _ask_then_hand_off(runtime, "Do you sell gift cards?", GIFT_REPLY)
    ask(runtime, "Do you sell gift cards?")  # asked again, no ticket: still counts in its group
    _ask_then_hand_off(runtime, "有礼品卡吗？", "  yes: e-gift cards of ¥100 and ¥200, valid 3 years.\n")
    _ask_then_hand_off(runtime, "Is there parking near the shop?", "Parking is free behind the shop.")
    _ask_then_hand_off(runtime, "Do you ship to the moon?")  # a ticket without a human reply joins nothing

    reads = []
    read = runtime.handoff.tickets_for_session
    monkeypatch.setattr(runtime.handoff, "tickets_for_session", lambda sid: reads.append(sid) or read(sid))
    gift = _gift_groups(runtime)
    assert len(reads) == len(set(reads)) >= 4  # each conversation read once, for the merge and the replies
    if not merge:  # the (fake) embedder keeps the two wordings apart: what the merge is for
        assert len(gift) == 2 and sorted(g.count for g in gift) == [1, 2]
        assert len(gaps_of(runtime)) == 4
        return
    assert len(gift) == 1
    group = gift[0]
    assert group.count == 3 and group.sessions == 3 and group.languages == {"en": 2, "zh": 1}
    assert {e["question"] for e in group.examples} == {"Do you sell gift cards?", "有礼品卡吗？"}
    assert all("parking" not in e["question"] for e in group.examples)
    assert group.human_replies and group.human_replies[0]["text"].lower().startswith("yes: e-gift cards")
    assert len(gaps_of(runtime)) == 3  # parking and the reply-less ticket stay groups of their own


def test_a_ticket_reply_belongs_to_the_question_before_it(runtime):
    """A customer who asked two things and then a person: the reply answers the latest question only, so the
    earlier one's group is not merged through it."""
    from assistant.insights import gaps
    from assistant.insights.records import turns_frame, votes_frame

    _, sid = ask(runtime, "Is there parking near the shop?")
    ask(runtime, "Do you sell gift cards?", sid)
    ask(runtime, "I want a human", sid)
    runtime.handoff.reply(runtime.handoff.tickets_for_session(sid)[-1].id, GIFT_REPLY)
    cands = gaps.candidates(turns_frame(runtime), votes_frame(runtime), runtime.kb.abstain_threshold, 0.01)
    replies = gaps.ticket_replies(runtime.handoff, cands)
    asked = dict(zip(cands.turn_id, cands.question, strict=True))
    assert {asked[t]: r for t, r in replies.items()} == {"Do you sell gift cards?": [GIFT_REPLY]}


@pytest.mark.parametrize("field,value", [("reply_similarity", 0.0), ("reply_similarity", 1.5),
                                         ("reply_max_groups", 1)])
def test_reply_merge_settings_are_checked(field, value):
    from assistant.errors import ConfigError
    from assistant.insights.config import InsightsConfig

    with pytest.raises(ConfigError, match=field):
        InsightsConfig(**{field: value})


class AnswerEmbedder:
    """An answer's topic axis plus a strong language axis (what the embedder does to Chinese vs English)."""

    AXES = {"gift": 0, "礼品": 0, "parking": 1, "停车": 1, "wrap": 2, "包装": 2}

    def embed_documents(self, texts):
        out = []
        for t in texts:
            v = np.zeros(5)
            v[next(i for w, i in self.AXES.items() if w in t)] = 1.0
            v[4 if any("\u4e00" <= ch <= "\u9fff" for ch in t) else 3] = 2.0
            out.append(list(v / np.linalg.norm(v)))
        return out


def test_one_answer_in_two_languages_matches_after_centring():
    from assistant.insights.grouping import ShopReference, merge_by_replies, reply_vectors

    texts = ["gift cards of 100", "礼品卡100元", "parking is free", "停车免费", "wrap for 5", "包装5元"]
    langs = ["en", "zh", "en", "zh", "en", "zh"]
    emb = AnswerEmbedder()
    places = np.array(emb.embed_documents(texts))
    reference = ShopReference(np.zeros((0, 5)), np.array([]), places, np.arange(6), np.array(langs))
    vectors = reply_vectors(texts[:4], langs[:4], emb, reference)
    raw = np.array(emb.embed_documents(texts[:2]))
    assert raw[0] @ raw[1] < 0.3  # the language axis hides that they say the same thing
    labels = merge_by_replies([1, 2, 3, 4], [[t] for t in texts[:4]], vectors, 0.5, 5)
    assert labels == [1, 1, 3, 3]  # gift en + zh, parking en + zh; gift and parking stay apart
