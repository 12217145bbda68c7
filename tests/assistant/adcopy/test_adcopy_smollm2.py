"""One real-model run: the embedded SmolLM2 writes headlines; whatever it says, nothing over the limit or
with a banned word comes back, and the result says honestly how many it could produce."""

from __future__ import annotations

import pytest

from assistant.adcopy import AdCopyConfig, AdCopyGenerator, Brief, get_channel, load_brand
from assistant.adcopy.text import contains_term


@pytest.mark.slow
def test_smollm2_headlines_obey_the_rules(smollm2_backend):
    brand = load_brand()
    # one list call, and a rewrite call only if that took under 5 s: this test must stay cheap on a busy CI box
    cfg = AdCopyConfig(embedder="ngram", sentiment=False, max_rounds=1, batch_size=4, time_budget_s=5)
    gen = AdCopyGenerator(smollm2_backend, cfg, brand)
    result = gen.generate(Brief(product="Stonewashed linen duvet cover", n=3, fields=["headline"], language="en",
                                keywords=["linen"]))
    head = get_channel("google_rsa").field("headline")
    assert result.llm_calls >= 1 and result.requested == 3
    assert result.produced == len(result.variants)
    if result.produced < 3:
        assert any(n.startswith(f"could only produce {result.produced} of 3") for n in result.notes)
    for v in result.variants:
        text = v.fields["headline"]
        assert head.fits(text) and contains_term(text, "Aurora")
        assert not any(contains_term(text, w) for w in brand.banned("en"))
