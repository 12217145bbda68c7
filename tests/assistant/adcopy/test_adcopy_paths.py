"""Display paths (google_rsa's path1/path2) are derived from the keywords: one that breaks a lint rule is
skipped, not put on every variant where the final check then drops them all."""

from __future__ import annotations

from assistant.adcopy import Brief


def test_a_keyword_that_breaks_a_rule_is_no_path_and_costs_no_variant(make_gen, numbered):
    reply = numbered("Aurora Linen Duvet Cover", "Soft Stonewashed Linen", "Linen for Calm Nights")
    gen, _ = make_gen(default=reply)
    brief = Brief(product="Aurora linen duvet cover", channel="google_rsa", n=3, language="en",
                  keywords=["FREE shipping", "最好床品", "linen duvet", "bedding"], attributes=["soft", "stonewashed"])
    result = gen.generate(brief)
    # Before: path1 "FREE-shipping" (capitals) and path2 "最好床品" (Advertising Law) failed the final check of
    # every variant: 0 of 3 came back.
    assert result.variants
    assert {(v.fields["path1"], v.fields["path2"]) for v in result.variants} == {("linen-duvet", "bedding")}


def test_paths_from_a_chinese_title_are_whole_words_not_pieces_of_a_size(make_gen, numbered):
    gen, _ = make_gen(default=numbered("极光水洗亚麻四件套", "极光水洗亚麻四件套，北欧简约风纯色床单被套枕套，适用1.8米床"))
    brief = Brief(product="水洗亚麻四件套 1.8米床 北欧简约风纯色床单被套枕套", channel="google_rsa", n=1, language="zh")
    result = gen.generate(brief)
    # Before: path2 "米床" ("metre bed", what is left of "1.8米床" without its figure); a title run too long for a
    # path was cut anywhere ("北欧简约风纯"). Google takes an ad without a second path.
    assert result.variants
    assert {(v.fields.get("path1"), v.fields.get("path2", "")) for v in result.variants} == {("水洗亚麻四件套", "")}
