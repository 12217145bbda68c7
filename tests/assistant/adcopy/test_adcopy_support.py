"""The word check ("words not in the input"): every content word of an asset is backed by the product's row,
the brand file or a generic marketing word; numbers match the row exactly, across trivially converted units."""

from __future__ import annotations

import pytest

from assistant.adcopy.facts import FactChecker
from assistant.adcopy.support import WordSupportConfig, load_lexicon
from assistant.errors import ConfigError

ROW_ZH = "实木书架\n橡木实木，五层，高180厘米，免工具安装。\n稳固；简约\n售价 1299"
ROW_EN = ("Insulated cooler bag\n24 litre, keeps food cold for 12 hours, leak-proof liner.\ncold for hours; easy to carry\n"
          "price 59")


@pytest.mark.parametrize("planted,kind,word", [
    ("橡木书架，免费送货上门", "claim", "免费"),           # a service the row never offered
    ("橡木五层书架，上门安装", "word", "上门"),
    ("橡木五层书架，意大利设计", "word", "意大利"),        # an origin
    ("橡木五层书架，荣获设计大奖", "certification", "大奖"),  # an award
    ("橡木五层书架，比松木书架更结实", "word", "比"),        # a comparison
    ("橡木五层书架，每层承重30公斤", "number", "30公斤"),    # a load the row does not state
    ("橡木五层书架，背板带防倒固定件", "word", "背板"),      # a part the row does not have
])
def test_a_planted_claim_of_each_kind_is_flagged_zh(checker, planted, kind, word):
    bad = checker.unsupported(planted, checker.sources(ROW_ZH))
    assert any(c.kind == kind and word in c.text for c in bad), bad


@pytest.mark.parametrize("planted,kind,word", [
    ("24 litre cooler bag with lifetime support", "word", "support"),
    ("24 litre cooler bag with a built-in bottle opener", "word", "opener"),
    ("24 litre cooler bag, keeps food cold for 48 hours", "number", "48"),
    ("24 litre cooler bag, 20% lighter", "number", "20%"),
    ("24 litre cooler bag, colder than any other", "word", "than"),
    ("The coldest 24 litre cooler bag", "word", "coldest"),     # a superlative the row does not make
    ("Italian-made 24 litre cooler bag", "word", "italian"),
    ("24 litre cooler bag, waterproof", "claim", "waterproof"),
])
def test_a_planted_claim_of_each_kind_is_flagged_en(checker, planted, kind, word):
    bad = checker.unsupported(planted, checker.sources(ROW_EN))
    assert any(c.kind == kind and word in c.text.lower() for c in bad), bad


@pytest.mark.parametrize("row,clean", [
    (ROW_EN, "Keeps food cold for 12 hours: a 24 litre cooler bag that is easy to carry."),
    (ROW_EN, "Pack lunch for the whole family: 24 litres, leak-proof, cold for hours."),
    (ROW_EN, "Take it to the beach this summer: the insulated cooler bag, now 59."),
    (ROW_ZH, "五层橡木书架，简约稳固，1.8米高，免工具装好。"),   # 装好 = 安装, 1.8米 = 180厘米
    (ROW_ZH, "客厅书房都合适的橡木书架，五层，简约有质感。"),
])
def test_a_supported_paraphrase_is_not_flagged(checker, row, clean):
    assert checker.unsupported(clean, checker.sources(row)) == []


def test_numbers_match_exactly_across_trivial_unit_conversions(checker):
    src = checker.sources(ROW_ZH)
    assert checker.unsupported("高1.8米的橡木书架", src) == []            # 1.8 m = 180 cm
    assert checker.unsupported("高1800毫米的橡木书架", src) == []
    assert [c.kind for c in checker.unsupported("高1.9米的橡木书架", src)] == ["number"]
    assert [c.kind for c in checker.unsupported("高180英寸的橡木书架", src)] == ["number"]  # same value, other unit
    en = checker.sources(ROW_EN)
    assert checker.unsupported("A 24,000 ml cooler bag", en) == []        # 24 litre
    assert checker.unsupported("Cold for 720 minutes", en) == []          # 12 hours
    assert [c.kind for c in checker.unsupported("A 24 kg cooler bag", en)] == ["number"]
    sized = checker.sources("Duvet cover, 200 x 230 cm")
    assert checker.unsupported("Duvet cover, 2 m x 2.3 m", sized) == []   # each side of "A x B cm" has the unit
    assert [c.name for c in checker.unsupported("Duvet cover, 200 x 240 cm", sized)] == ["240 cm"]


def test_words_are_cut_where_jieba_cuts_them_or_not(checker):
    """jieba cuts 极光好睡床品 into 极光/好/睡床/品; the generic 好睡 and the row's 床品 still cover it."""
    src = checker.sources("亚麻床品", "极光家居")
    assert checker.unsupported("极光好睡床品", src) == []


def test_latin_names_in_chinese_copy_are_checked_but_translations_are_left_to_exact_checks(checker):
    zh_row = checker.sources("登山徒步鞋\n防水透气膜，橡胶大底，防滑耐磨。")
    assert "vibram" in {c.text for c in checker.unsupported("登山鞋，Vibram大底", zh_row)}
    assert [c.kind for c in checker.unsupported("徒步鞋，IPX8防水", zh_row)] == ["code"]
    en_row = checker.sources("Stonewashed linen duvet cover\nEuropean flax linen, 200 x 200 cm")
    assert checker.unsupported("亚麻被套，200x200厘米", en_row) == []        # zh copy, en row: no zh words to back it
    assert [c.kind for c in checker.unsupported("亚麻被套，220x200厘米", en_row)] == ["number"]


def test_the_word_check_can_be_turned_off_and_generic_words_must_be_text(tmp_path):
    src_text = "Insulated cooler bag, 24 litre"
    assert FactChecker(words=False).unsupported("Cooler bag with a bottle opener", src_text) == []
    claims = tmp_path / "claims.yaml"
    claims.write_text("units: {}\nmaterials: {}\ncolours: {}\ncertifications: {}\nclaims: {}\nword_check: false\n",
                      encoding="utf-8")
    assert FactChecker(claims).unsupported("Cooler bag with a bottle opener", src_text) == []
    bad = tmp_path / "words.yaml"
    bad.write_text("en: {function: [a, on]}\nzh: {function: [的]}\n", encoding="utf-8")  # bare `on` is a boolean
    with pytest.raises(ConfigError, match="quote"):
        load_lexicon(str(bad))
    with pytest.raises(ConfigError):
        WordSupportConfig(min_prefix=2)


def test_a_bare_comparative_of_a_feel_word_is_puffery_a_comparison_is_a_claim(checker):
    src = checker.sources(ROW_EN)
    assert checker.unsupported("Cooler nights, 24 litre cooler bag", src) == []   # "cooler" of generic "cool"
    assert "than" in {c.text for c in checker.unsupported("24 litre cooler bag, softer than the rest", src)}
    assert "sturdier" in {c.text for c in checker.unsupported("A sturdier 24 litre cooler bag", src)}


def test_the_generator_cuts_or_drops_copy_with_an_unsupported_word(make_gen, numbered):
    from assistant.adcopy import Brief

    gen, _ = make_gen(numbered("Aurora cooler, bottle opener", "Aurora bottle opener inside",
                               "Aurora: 24 litre, leak-proof"), default="")
    result = gen.generate(Brief(product="Insulated cooler bag", n=3, fields=["headline"], language="en",
                                details="24 litre, keeps food cold for 12 hours, leak-proof liner."))
    heads = {v.fields["headline"]: v.fixes for v in result.variants}
    assert set(heads) == {"Aurora cooler", "Aurora: 24 litre, leak-proof"}  # the clause cut, the rest kept
    assert any("opener" in f for f in heads["Aurora cooler"])
    assert any("unsupported" in reason and "word" in reason for reason in result.rejected)  # nothing true left: dropped


def test_what_passed_on_a_paraphrase_is_listed_for_the_reviewer(checker):
    src = checker.sources("Linen duvet cover, machine washable")
    text = "Linen duvet cover, easy washing"
    assert checker.unsupported(text, src) == []
    assert checker.novel_words(text, src) == ["washing"]         # backed by "washable", not literally
    assert checker.novel_words("Linen duvet cover for lazy Sunday mornings", src) == []  # generic words only


def test_the_word_check_runs_on_feed_rows_by_default_not_on_a_two_line_brief(make_gen, numbered):
    from assistant.adcopy import Brief

    replies = ("Aurora cooler, bottle opener", "Aurora bottle opener inside", "Aurora: 24 litre, leak-proof")
    brief = dict(product="Insulated cooler bag", n=3, fields=["headline"], language="en")
    gen, _ = make_gen(numbered(*replies), default="")
    heads = {v.fields["headline"] for v in gen.generate(Brief(**brief, attributes=["24 litre"])).variants}
    assert "Aurora bottle opener inside" in heads  # no row to hold it to: only listed facts are checked
    gen, _ = make_gen(numbered(*replies), default="")
    gen.cfg.word_check = "always"
    heads = {v.fields["headline"] for v in gen.generate(Brief(**brief, attributes=["24 litre"])).variants}
    assert "Aurora bottle opener inside" not in heads
