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
