"""A question naming a place is answered first by a sentence naming it or a region that holds it, and a value asked
there only by such a sentence (knowledge_base.places, knowledge_base.asked_place_check): the mainland's delivery time
is no answer to "how long to Hong Kong?"."""

import pytest

from knowledge_base.places import asked_place, gazetteer
from tests.knowledge_base.conftest import faq_matching_anything, with_config, with_thresholds, write


@pytest.mark.parametrize("question, places, value", [
    ("How many days does delivery to Hong Kong usually take?", {"hong_kong"}, True),
    ("寄到上海大概几天能到？", {"shanghai"}, True),
    ("中国香港运费多少", {"hong_kong"}, True),  # the longer alias, not 中国 (the mainland)
    ("Do you ship to Taiwan?", {"taiwan"}, False),
    ("能寄到新疆吗", {"xinjiang"}, False),
    ("How much is shipping to Chengdu or Macau?", {"chengdu", "macau"}, True),
])
def test_places_a_question_names(question, places, value):
    found = asked_place(question)
    assert found is not None and found.places == places and found.value is value


@pytest.mark.parametrize("question", [
    "What are your opening hours (Beijing time)?", "客服几点上班？北京时间吗", "How much is shipping?",
    "Is the HK-200 kettle in stock?", "What is the chair made of?",
])
def test_questions_naming_no_place(question):
    assert asked_place(question) is None


@pytest.mark.parametrize("sentence, place, speaks", [
    ("江浙沪地区一般 1–2 天送达", "shanghai", True),
    ("In Sichuan and Chongqing delivery takes 1-2 days.", "chengdu", True),
    ("港澳地区运费 60 元", "macau", True),
    ("暂不支持寄送台湾地区和海外地址。", "taiwan", True),
    ("Shipping within mainland China costs ¥12.", "beijing", True),
    ("Shipping within mainland China costs ¥12.", "hong_kong", False),  # the mainland does not hold Hong Kong
    ("全国包邮", "taiwan", False),
    ("We ship to Germany and France.", "japan", False),
    ("Parcels to Hong Kong leave at 10:00 (Beijing time).", "beijing", False),  # a time zone, not the city
    # a sentence naming no place speaks for the shop's home (the mainland), not for Hong Kong or abroad
    ("Standard shipping costs ¥15.", "beijing", True),
    ("Standard shipping costs ¥15.", "hong_kong", False),
    ("Standard shipping costs ¥15. Delivery to Hong Kong and Macau costs ¥45.", "shanghai", True),
    ("Delivery to Hong Kong and Macau costs ¥45.", "shanghai", False),
])
def test_a_sentence_speaks_for_the_places_inside_the_regions_it_names(sentence, place, speaks):
    assert gazetteer().speaks_for(sentence, frozenset({place})) is speaks


def test_every_region_a_place_is_in_is_a_place_of_the_file(tmp_path):
    bad = tmp_path / "places.yaml"
    bad.write_text("lyon: {en: [lyon], in: [rhone]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="rhone"):
        gazetteer(str(bad))


def test_a_value_asked_for_a_place_no_sentence_names_is_declined_near_the_documents(make_kb, tmp_path):
    kb = make_kb()
    write(tmp_path / "docs" / "shipping.md",
          "# Shipping\n\nDelivery within mainland China takes 2-5 days.\n\nParcels to Hong Kong take 3-6 days.\n\n"
          "We also ship to Taiwan for a flat fee of ¥80.\n")
    assert kb.ingest([tmp_path / "docs"], progress=False).ok
    kb = with_thresholds(kb, abstain=0.0, faq=1.01)
    answered = kb.lookup("How many days does delivery to Hong Kong take?")
    assert answered.answerable and answered.evidence[0].text == "Parcels to Hong Kong take 3-6 days."
    assert all("Hong Kong" in e.text for e in answered.evidence)
    # the mainland holds Beijing: its sentence answers
    beijing = kb.lookup("How many days does delivery to Beijing take?")
    assert beijing.answerable and beijing.evidence[0].text.startswith("Delivery within mainland China")
    declined = kb.lookup("How many days does delivery to Japan take?")
    assert not declined.answerable and not declined.evidence and declined.turned_down
    # a yes/no question is answered by what the documents say of anywhere ("we ship within the mainland only")
    assert kb.lookup("Do you deliver to Japan?").evidence
    off = with_config(kb, asked_place_check=False)
    assert off.lookup("How many days does delivery to Japan take?").evidence


def test_an_faq_row_not_naming_the_place_asked_does_not_answer_a_value_asked_there(make_kb, tmp_path):
    kb = faq_matching_anything(make_kb, tmp_path, "f1,How much is shipping?,Shipping within mainland China costs ¥12.\n",
                               "Parcels to Hong Kong cost ¥60 and take 3-6 days.")
    assert kb.lookup("How much is shipping?").faq is not None
    to_hong_kong = kb.lookup("How much is shipping to Hong Kong?")
    assert to_hong_kong.faq is None and to_hong_kong.evidence[0].text.startswith("Parcels to Hong Kong cost ¥60")
    # a yes/no question may be answered by the row ("we ship within the mainland")
    assert kb.lookup("Do you ship to Hong Kong?").faq is not None


def test_a_shop_lists_its_own_places(tmp_path):
    own = tmp_path / "places.yaml"
    own.write_text("france: {en: [france], zh: [法国]}\nlyon: {en: [lyon], zh: [里昂], in: [france]}\n",
                   encoding="utf-8")
    found = asked_place("How long does delivery to Lyon take?", str(own))
    assert found.places == {"lyon"} and found.speaks_for("Delivery within France: 2-3 days.")
    assert asked_place("How long does delivery to Hong Kong take?", str(own)) is None


@pytest.mark.parametrize("text", [None, "- just\n- a list\n", "lyon: {en: [lyon], in: [rhone]}\n",
                                  "lyon: {en: [lyon]}\nlyons: {en: [lyon]}\n"])
def test_a_places_file_that_cannot_be_read_is_a_config_error_at_start(tmp_path, text):
    from assistant.errors import ConfigError
    from knowledge_base.config import KnowledgeBaseConfig

    path = tmp_path / "places.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="places_file"):
        KnowledgeBaseConfig(db_path=str(tmp_path / "db"), places_file=str(path))


@pytest.mark.parametrize(("previous", "follow_up", "asked"), [
    ("Do you ship to Japan?", "and to Hong Kong?", "Do you ship to Hong Kong?"),
    ("能寄到日本吗？", "那香港呢？", "能寄到香港吗？"),
    ("Do you ship to Japan?", "那香港呢？", "Do you ship to Hong Kong?"),  # named in the question's language
    ("寄到上海要几天？", "寄到新疆呢？", "寄到新疆要几天？"),
    ("How long does delivery to Beijing take?", "what about Xinjiang?", "How long does delivery to Xinjiang take?"),
    ("运费多少？", "那香港呢？", None),  # no place to replace: the model adds it
    ("Do you ship to Japan?", "and how much is it to Hong Kong?", None),  # a question of its own
    ("How long to Japan?", "and Japan?", None),
    ("Opening hours (Beijing time)?", "and Hong Kong?", None),  # a time zone is no place asked about
])
def test_a_follow_up_naming_only_a_new_place_is_the_question_before_asked_there(previous, follow_up, asked):
    assert gazetteer().swapped(previous, follow_up) == asked


def test_an_faq_row_naming_the_place_must_state_the_value_in_the_sentence_naming_it(make_kb, tmp_path):
    # the row names Taiwan, and states a fee, but not Taiwan's: "and to Taiwan?" had got the mainland's ¥12
    kb = faq_matching_anything(make_kb, tmp_path, "f1,How much is shipping?,Orders within mainland China cost ¥12. "
                                                  "Hong Kong and Taiwan orders have their own rates.\n"
                                                  "f2,How much is shipping to Macau?,Orders to Macau cost ¥45.\n",
                               "Orders to Taiwan cost ¥70 and take 5-8 days.")
    taiwan = kb.lookup("How much is shipping to Taiwan?")
    assert taiwan.faq is None and taiwan.evidence[0].text.startswith("Orders to Taiwan cost ¥70")
    assert kb.lookup("How much is shipping to Beijing?").faq is not None  # the mainland holds it
    macau = kb.lookup("What does shipping to Macau cost?")
    assert macau.faq is not None and macau.faq.row_id == "f2"  # the row's question names the place


def test_an_faq_row_read_as_evidence_is_held_to_the_same_sentence_rule():
    # not matched as the question, the row is one evidence "sentence": naming Taiwan and stating ¥12 somewhere in
    # it is not stating Taiwan's fee ("How much is shipping to Taiwan?" had got the mainland's row, sent unread)
    from knowledge_base.asked import asked_for
    from knowledge_base.config import KnowledgeBaseConfig
    from knowledge_base.grounding import Evidence
    from knowledge_base.retrieval import SearchHit

    def row(question: str, answer: str) -> Evidence:
        hit = SearchHit("f1", 1.0, answer, "faq.csv", question, metadata={"kind": "faq", "question": question})
        return Evidence(answer, hit, 1.04, context=question)

    wants = asked_for("How much is shipping to Taiwan?", KnowledgeBaseConfig())  # a price, asked for Taiwan
    assert not wants.says(row("How much is shipping?", "Orders within mainland China cost ¥12. "
                                                        "Hong Kong, Macau, Taiwan and overseas orders have their own rates."))
    assert wants.says(row("Do you ship to Hong Kong, Macau and Taiwan?", "Yes. Taiwan orders cost ¥70."))
    assert wants.says(row("How much is shipping to Taiwan?", "¥70 per order."))  # the row's question names it
