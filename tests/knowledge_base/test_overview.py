"""Broad questions about a whole policy get the main terms of the page on it (knowledge_base.overview)."""

import pytest

from knowledge_base.overview import Page, lead_sentences, overview_evidence, policy_topic, topic_page
from knowledge_base.retrieval import SearchHit
from tests.knowledge_base.conftest import write


@pytest.mark.parametrize("question, words", [
    ("What is your return policy?", ("return",)), ("What's your shipping policy?", ("shipping",)),
    ("Tell me about your warranty.", ("warranty",)), ("How do returns work?", ("returns",)),
    ("Can you explain your refund policy?", ("refund",)), ("What are your delivery options?", ("delivery",)),
    ("你们的退货政策是什么？", ("退货",)), ("介绍一下你们的保修政策", ("保修",)), ("运费怎么算？", ("运费",)),
    ("租装备有哪些规定？", ("租",)), ("What is your product return policy?", ("return",)),
    ("What is your policy on shipping?", ("shipping",)), ("What are your rules for rentals?", ("rentals",)),
    ("What is your international shipping policy?", ("international", "shipping")),
    ("你们的以旧换新政策是什么？", ("以旧换新",)),
])
def test_broad_policy_questions_name_their_topic(question, words):
    assert policy_topic(question).words == words


@pytest.mark.parametrize("question", [
    "What is your return policy for opened coffee?", "What's the warranty on the grinder?", "What is your address?",
    "What are the dimensions?", "What is the price?", "你们有学生优惠政策吗？", "Can I return a used tent?",
    # one fact of a policy
    "What is your return address?", "What are your store hours?", "What is the delivery time?",
    "What is your refund status?", "发货时间是怎样的？",
])
def test_narrower_questions_are_no_broad_ones(question):
    assert policy_topic(question) is None


def _hit(source, heading, kind="doc"):
    return SearchHit(id=source, score=1.0, text=f"{heading}\nbody", source=source, title=heading,
                     metadata={"heading": heading, "kind": kind})


def test_the_topic_page_is_a_retrieved_one_then_any_in_the_store_then_a_section():
    returns = policy_topic("What is your return policy?")
    product = _hit("p.html", "Tent > Delivery")
    assert topic_page(returns, [product, _hit("r.md", "Returns and refunds > 30 days")]) == ("r.md", "")
    # the Chinese question's English-only returns page is not among the passages, but the store has it
    pages = [Page("s.zh.md", "配送说明", "zh"), Page("r.md", "Returns and refunds", "en")]
    assert topic_page(policy_topic("退货政策是什么？"), [product], pages, "zh") == ("r.md", "")
    # a product page's "Delivery" section is no shipping policy while the shop has a shipping page
    assert topic_page(policy_topic("What's your shipping policy?"), [product], pages, "en") == ("s.zh.md", "")
    assert topic_page(policy_topic("What's your shipping policy?"), [product], [], "en") == ("p.html", "Delivery")
    # a topic no page names is not answered with the nearest page's terms
    assert topic_page(policy_topic("What is your international shipping policy?"), [product], pages) is None
    assert topic_page(returns, [_hit("faq.csv", "Can I return it?", kind="faq")]) is None


def _chunks(*sections):
    out = []
    for i, (heading, text) in enumerate(sections):
        meta = {"heading": f"Returns — Shop > {heading}", "chunk_index": i, "source": "r.md", "title": "Returns"}
        out.append((f"c{i}", f"Returns — Shop > {heading}\n{text}", meta))
    return out


def test_each_section_leads_with_its_first_sentence_and_its_first_figure():
    chunks = _chunks(("Coffee", "Food is returned only unopened. You can return unopened coffee within 7 days."),
                     ("Items that cannot be returned", "- Gift cards.\n- Opened tea."),
                     ("Equipment", "Grinders can be returned within 30 days if unused. Tell us first."))
    leads = [lead for _, lead in lead_sentences(chunks)]
    # the exceptions are no main term
    assert leads == [["Food is returned only unopened.", "You can return unopened coffee within 7 days."],
                     ["Grinders can be returned within 30 days if unused."]]


def test_the_pages_opening_words_without_a_figure_are_no_term():
    chunks = [("c0", "Returns — Shop\nWe want every pet to be happy.", {"heading": "Returns — Shop", "chunk_index": 0})]
    chunks += _chunks(("Coffee", "You can return unopened coffee within 7 days."))
    assert [lead for _, lead in lead_sentences(chunks)] == [["You can return unopened coffee within 7 days."]]


def test_a_table_is_one_lead_with_all_its_rows_and_what_each_column_is():
    chunks = _chunks(("Periods", "| Item | Warranty |\n|---|---|\n| Grinder | 2 years |\n| Kettle | 1 year |"),
                     ("Prices", "| Item | Per day | Deposit |\n|---|---|---|\n| Tent | ¥45 | ¥800 |"))
    assert [lead for _, lead in lead_sentences(chunks)] == [["Grinder: 2 years; Kettle: 1 year."],
                                                           ["Tent: Per day ¥45, Deposit ¥800."]]


def _overview(question, *args, **kwargs):
    return overview_evidence(question, policy_topic(question), *args, **kwargs)


class _Finder:
    """Scores a lead by the words it shares with a fixed list (a stand-in for the embedder)."""

    def __init__(self, liked):
        self.liked = liked

    def score(self, question, texts):
        return [sum(w in t for w in self.liked) * 0.1 for t in texts]


def test_the_leads_the_question_is_about_in_page_order():
    chunks = [(f"c{i}", f"Contact and privacy > {h}\n{t}", {"heading": f"Contact and privacy > {h}", "chunk_index": i,
                                                           "source": "p.md"})
              for i, (h, t) in enumerate([("Contact us", "Call 400-123 from 9 to 6."),
                                          ("What we collect", "We keep your name and address."),
                                          ("Events", "A tasting every Saturday at 3."),
                                          ("Deleting your account", "We delete your data within 15 days.")])]
    hits = [SearchHit("p.md", 1.0, chunks[0][1], "p.md", "Contact and privacy", metadata=chunks[0][2])]
    evidence = _overview("What is your privacy policy?", hits, lambda source: chunks,
                                 _Finder(["name", "data", "address"]), count=2)
    # "Contact us" names another topic, the events score lowest
    # "Contact us" names another topic; of the rest, the two the question is most about, in page order
    assert [e.text for e in evidence] == ["We keep your name and address.", "We delete your data within 15 days."]
    assert _overview("What is your address?", hits, lambda source: chunks, _Finder([]), count=2) == []
    assert _overview("What is your privacy policy?", hits, lambda source: chunks, _Finder([]), count=0) == []


def test_a_broad_question_gets_the_returns_pages_main_terms_not_its_closest_sentence(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "returns.md", "# Returns, refunds and cancellations — Ember\n\n## Coffee\nFood is returned only "
                               "unopened. You can return unopened coffee within 7 days of delivery.\n\n"
                               "## Equipment\nGrinders can be returned within 30 days if unused.\n\n"
                               "## Cancelling an order\nOnce it has shipped, return it under the rules above.\n")
    write(docs / "privacy.md", "# Privacy — Ember\n\n## Text messages\nYou can unsubscribe from text messages at "
                               "any time by replying TD.\n")
    kb = make_kb()
    assert kb.ingest([docs], progress=False).ok
    lookup = kb.lookup("What is your return policy?", "en")
    assert lookup.answerable and lookup.broad
    answer = kb.answerer().extractive(lookup)
    assert "7 days" in answer and "30 days" in answer and "rules above" not in answer
    assert all(c.score > 0 for c in lookup.citations)  # a section read from the store cites how well it matched
    assert not kb.lookup("What is your return policy for opened coffee?", "en").broad
    off = make_kb(overview_sentences=0)
    assert not off.lookup("What is your return policy?", "en").broad


def test_the_second_reading_does_not_read_a_policys_main_terms_as_one_fact():
    from assistant.llm import FakeBackend
    from knowledge_base.answer import Lookup
    from knowledge_base.grounding import Evidence
    from knowledge_base.second_reading import Verifier

    hit = SearchHit("r.md", 0.5, "Returns\nYou can return within 30 days.", "r.md", "Returns")
    lookup = Lookup("What is your return policy?", "en", hits=[hit], answerable=True, broad=True,
                    evidence=[Evidence("You can return within 30 days.", hit, 0.5, "Returns")], evidence_score=0.5)
    reader = FakeBackend()
    assert Verifier(reader, "YES or NO.", skip_above=1.01).check(lookup) == []
    assert lookup.answerable and reader.calls == []


def test_a_page_titled_with_the_questions_own_word_or_its_topic_comes_before_a_looser_one():
    warranty = policy_topic("你们的保修政策是什么？")
    pages = [Page("service.zh.md", "维修服务价目表", "zh"), Page("warranty.md", "Warranty and repairs", "en")]
    # the workshop's price list (维修) in the customer's language is no warranty policy
    assert topic_page(warranty, [], pages, "zh") == ("warranty.md", "")
    kit = _hit("kit.html", "Puncture Repair Kit > Specs")
    assert topic_page(policy_topic("What is your warranty policy?"), [kit], pages, "en") == ("warranty.md", "")
    # with no page but the looser one, it is the one
    assert topic_page(warranty, [], pages[:1], "zh") == ("service.zh.md", "")


def test_words_besides_the_topic_must_be_on_the_page_and_pick_its_sections():
    chunks = [(f"c{i}", f"Shipping > {h}\n{t}", {"heading": f"Shipping > {h}", "chunk_index": i, "source": "s.md"})
              for i, (h, t) in enumerate([("Mainland", "Every order ships for 12 yuan, free over 168."),
                                          ("Cold brew", "The cold brew concentrate ships chilled, in 24 hours.")])]
    pages = [Page("s.md", "Shipping", "en"), Page("s.zh.md", "配送说明", "zh")]
    cold = _overview("What is your cold brew shipping policy?", [], lambda source: chunks, _Finder([]),
                             count=2, pages=pages[:1], language="en")
    assert [e.text for e in cold] == ["The cold brew concentrate ships chilled, in 24 hours."]
    assert _overview("What is your international shipping policy?", [], lambda source: chunks, _Finder([]),
                             count=2, pages=pages[:1], language="en") == []
    # a page in the other language cannot show them: the question is answered as any other
    assert topic_page(policy_topic("What is your international shipping policy?"), [], pages[1:], "en",
                      lambda source: []) is None


def test_a_list_is_one_lead_under_its_heading():
    chunks = _chunks(("What we collect", "- Your name.\n- Your address and phone number.\n- Your orders."))
    assert [lead for _, lead in lead_sentences(chunks)] == [
        ["What we collect: Your name; Your address and phone number; Your orders."]]


@pytest.mark.parametrize("source, translation, problems", [
    ("You can return unopened items within 30 days.", "您可以在30天内退货。", ["dropped"]),
    ("You can return unopened items within 30 days.", "未开封的商品可在30天内退货。", []),
    ("You can return unopened items within 30 days.", "未开封的商品30天内无条件退货。", ["without condition"]),
    ("偏远地区附加费不参与满额包邮。", "The remote-area surcharge counts toward free shipping.", ["dropped"]),
    ("偏远地区附加费不参与满额包邮。", "The surcharge does not count toward free shipping.", []),
    ("3只装无线耳机", "A pack of 3 wireless earbuds", []), ("Delivery takes 3 days.", "3天送达。", []),
    # the number kept, the currency changed: "58 元" is no "$58"
    ("30 毫升瓶装: 价格58 元", "30 ml bottle: Price $58", ["currency"]),
    ("30 毫升瓶装: 价格58 元", "30 ml bottle: price ¥58", []), ("Price: ¥169.", "价格：169 元。", []),
])
def test_a_translation_may_not_drop_the_texts_conditions(source, translation, problems):
    from knowledge_base.grounding import translation_changes_conditions

    found = translation_changes_conditions(source, translation)
    assert len(found) == len(problems) and all(p in f for p, f in zip(problems, found, strict=True)), found


def test_the_page_names_of_a_language_are_its_titles_without_the_shop(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "docs" / "returns.md", "# Returns and refunds — Slow Ember Roasters\n\nReturn within 30 days.\n")
    write(tmp_path / "docs" / "cold-brew.md", "# Cold Brew Concentrate\n\nSteeped for 18 hours.\n")
    write(tmp_path / "docs" / "longjing.zh.md", "# 西湖龙井 明前特级\n\n产地：杭州西湖梅家坞。\n")
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    assert sorted(kb.page_index.names("en")) == ["Cold Brew Concentrate", "Returns and refunds"]
    assert kb.page_index.names("zh") == ["西湖龙井 明前特级"]
    assert len(kb.page_index.names("en", limit=1)) == 1
