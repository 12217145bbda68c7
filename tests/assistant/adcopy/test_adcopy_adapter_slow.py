"""The shipped adcopy adapter on the embedded Qwen2.5-0.5B (llama.cpp): short, rule-abiding headlines in few calls."""

from __future__ import annotations

import pytest

from assistant.adcopy import AdCopyConfig, AdCopyGenerator, Brief, get_channel, load_brand
from assistant.adcopy.text import contains_term


@pytest.mark.slow
def test_shipped_adapter_writes_8_zh_headlines_in_at_most_two_calls():
    pytest.importorskip("llama_cpp")
    from assistant.llm import LLMConfig, build_backend
    from assistant.llm.adapter_registry import adapters_for

    adapters = adapters_for("llamacpp", "qwen2.5-0.5b", registry="/nonexistent/registry.json")
    backend = build_backend(LLMConfig(backend="llamacpp", model="qwen2.5-0.5b", n_ctx=2048, n_threads=2,
                                      temperature=0.8, max_tokens=256, adapters=adapters))
    brand = load_brand()
    gen = AdCopyGenerator(backend, AdCopyConfig(embedder="ngram", sentiment=False), brand)
    result = gen.generate(Brief(product="水洗亚麻四件套", n=8, fields=["headline"], language="zh"))
    head = get_channel("google_rsa").field("headline")
    assert result.adapter == "adcopy"
    # The bare model needs 4-8 calls for 8 (it writes sentences, repeats, runs over): measured in bench/adcopy.py.
    assert result.produced == 8 and result.llm_calls <= 2, (result.llm_calls, result.rejected)
    for v in result.variants:
        text = v.fields["headline"]
        assert head.fits(text) and contains_term(text, "极光")
        assert not any(contains_term(text, w) for w in brand.banned("zh"))
