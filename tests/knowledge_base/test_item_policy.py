"""Yes/no questions whether a policy covers one item read what the shop says about the policy: the item's own
sentences, then the policy's main terms (knowledge_base.item_policy)."""

import pytest

from knowledge_base.grounding import Evidence
from knowledge_base.item_policy import READ, TERMS, item_evidence, item_question, names_item
from knowledge_base.retrieval import SearchHit
from tests.knowledge_base.conftest import write


@pytest.mark.parametrize("question, topic, item", [
    ("Can I return the lamp?", "return", {"lamp"}), ("台灯可以退货吗", "退货", {"台灯"}),
    ("Is the kettle covered by a warranty?", "warranty", {"kettl"}), ("台灯有保修吗", "保修", {"台灯"}),
    ("Can the sofa be returned?", "return", {"sofa"}), ("这个杯子能退吗", "退货", {"杯子"}),
    ("Are gift cards refundable?", "return", {"gift", "card"}),
    ("could we send the tent back please?", "return", {"tent"}),
    # with what the customer says about it
    ("I used the filter on one trip and don't need it anymore. Can I return it?", "return", {"filter", "trip"}),
    ("星芒H400头灯没用过，不想要了能退吗", "退货", {"星芒", "h400", "头灯"}),
    ("Cirrus 40 背包尺码买小了，能换大一号吗", "换货", {"背包", "尺码"}),
])
def test_yes_no_questions_whether_a_policy_covers_one_item(question, topic, item):
    asked = item_question(question)
    assert asked is not None and asked.topic.words == (topic,) and item <= set(asked.words)
    assert not {"不", "don't", "can", "return", "退"} & set(asked.words)


@pytest.mark.parametrize("question", [
    # no item: the goods in general (a broad policy question) or a follow-up's "it"
    "Can I return items?", "Can I return it?", "Can I please return it?", "能退吗", "可以退款吗",
    # one fact of the policy, asked with what / how long
    "How long is the warranty on the tent?", "退款多久到账？", "What if I don't like it, can I return it?",
    # no policy asked
    "Can I buy the lamp?", "台灯多少钱", "Does the lamp have a dimmer?",
])
def test_other_questions_are_not_item_policy_questions(question):
    assert item_question(question) is None


def _e(text, context="", chunk="c1", score=0.9, lang="en"):
    heading = context.replace(" – ", " > ")
    hit = SearchHit(id="d", score=1.0, text=text, source="d.md", title="", chunk_id=chunk,
                    metadata={"kind": "doc", "heading": heading, "lang": lang})
    return Evidence(text, hit, score, context)


def test_the_items_own_sentences_then_the_main_terms_then_the_rest_of_the_policy():
    item = item_question("I used the filter on one trip, can I return it?")
    spec = _e("Filter life: up to 1,500 L.", "ClearFlow filter")
    own = _e("Water filters that have been used cannot be returned.", "Returns > Exceptions", "c2")
    fee = _e("Change-of-mind returns cost ¥18.", "Returns > Return shipping", "c3")
    terms = [_e("You can return gear within 30 days if unused.", "Returns", "c4")]
    assert item_evidence(item, [spec, fee, own], terms, 3, "en") == ([own, terms[0], fee], READ)
    # nothing names the filter with returns: the main terms alone; the spec line is never read
    assert item_evidence(item, [spec, fee], terms, 3, "en") == (terms, TERMS)
    # ... unless the returns page is in the other language, where the customer's words for the filter cannot be
    # found: the usual sentence reading (and its translated retry), not a general rule that may not hold for it
    assert item_evidence(item, [spec, fee], terms, 3, "zh") == ([], READ)
    # no page on the policy: nothing to offer, the sentence reading stays
    assert item_evidence(item, [spec, fee], [], 3, "en") == ([], READ)


def test_the_policy_pages_title_names_no_item_a_product_pages_does():
    item = item_question("I don't like the colour of the Ember grinder, can I return it?")
    policy = _e("Items marked Last Chance cannot be returned.", "Returns — Slow Ember Roasters > Brewing equipment")
    product = _e("Returns: unused within 30 days.", "Ember H2 grinder > Returns", "c2")
    assert not names_item(item, policy) and names_item(item, product)
    # a word of the policy page's title is the shop's name: "Ember Club boxes are not refunded" is no Ember grinder's
    terms = [_e("You can return equipment within 30 days.", "Returns — Slow Ember Roasters", "c3")]
    club = _e("Ember Club boxes are not refunded.", "Returns — Slow Ember Roasters > Subscriptions", "c4")
    assert item_evidence(item, [club], terms, 3, "en") == (terms, TERMS)


def test_can_i_return_an_item_gets_the_returns_pages_main_terms_only_when_switched_on(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "returns.md", "# Returns and refunds — Aurora\n\n## Returns\nYou can return most items within 30 "
                               "days of delivery if they are unused.\n\n## Return shipping\nReturns of defective "
                               "items are free. For change-of-mind returns we deduct a ¥12 label fee.\n")
    write(docs / "lamp.md", "# Desk lamp — Aurora\n\n## Details\nThe lamp dims from 10 to 100 percent. The LED "
                            "cannot be replaced by the user.\n")
    kb = make_kb(item_policy_overview=True)
    assert kb.ingest([docs], progress=False).ok
    lookup = kb.lookup("Can I return the lamp?", "en")
    assert lookup.broad and "30 days" in kb.answerer().extractive(lookup)
    assert not kb.lookup("Does the lamp dim?", "en").broad
    assert not make_kb(item_policy_overview=False).lookup("Can I return the lamp?", "en").broad



def test_a_question_in_the_other_language_than_the_returns_page_is_read_as_any_question(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "returns.md", "# Returns — Trailhead\n\n## Returns\nYou can return gear within 30 days of delivery "
                               "if it is unused.\n\n## Items that cannot be returned\n- Gas canisters.\n- Water "
                               "filters that have been used.\n")
    write(docs / "canister.zh.md", "# 高山气罐 — 径行户外\n\n## 规格\n净含量 230 克。适用于所有螺口炉头。\n")
    kb = make_kb(item_policy_overview=True)
    assert kb.ingest([docs], progress=False).ok
    # the returns page cannot say in Chinese whether the canister is an exception: no general rule for it
    assert not kb.lookup("高山气罐还没用过，可以退吗？", "zh").broad
    # asked in the page's language, its exception is read first
    english = kb.lookup("Can I return the gas canister?", "zh")
    assert not english.broad and "Gas canisters" in english.evidence[0].quoted


@pytest.mark.parametrize("question", [
    "能换电池吗", "可以换收货地址吗", "能换成周六送吗", "Can I exchange my points for a discount?",
    "Can I return to the store tomorrow to pick up my order?",
])
def test_changing_something_else_is_no_exchange_question(question):
    assert item_question(question) is None


def test_what_is_left_of_the_questions_own_words_is_no_item():
    assert item_question("头灯能不能退").words == ("头灯",)
    assert item_question("Is the tent under warranty?").words == ("tent",)


def test_a_rule_stated_without_the_policys_word_is_the_items_own():
    item = item_question("Can I return the Oslo sofa?")
    final = _e("The Oslo sofa is final sale.", "Oslo sofa > Details", "c2")
    terms = [_e("You can return most items within 30 days.", "Returns", "c4")]
    assert item_evidence(item, [final], terms, 3, "en") == ([final, terms[0]], READ)
