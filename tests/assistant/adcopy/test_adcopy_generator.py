"""The generator on a FakeBackend: limits, repair, banned/required words, caps, ranking, adapters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.adcopy import AdCopyConfig, AdCopyGenerator, Brief
from assistant.adcopy.channels import get_channel
from assistant.adcopy.text import contains_term
from assistant.errors import InputError, NotFoundError
from assistant.llm import FakeBackend

from .conftest import _numbered


def all_within_limits(result) -> bool:
    channel = get_channel(result.channel)
    return all(channel.field(f).fits(t) for v in result.variants for f, t in v.fields.items())


def test_several_headlines_per_call_checked_and_ranked(make_gen, numbered):
    gen, backend = make_gen(numbered(
        "Aurora linen sheets, soft", "Sleep cool with Aurora linen", "Aurora: linen for hot nights",
        "Aurora stonewashed linen bedding for everyone",  # 45 > 30: cut or repaired, never returned long
    ))
    result = gen.generate(Brief(product="linen bed sheets", n=3, fields=["headline"], language="en",
                                keywords=["linen"]))
    assert result.produced == 3 and result.requested == 3
    assert len(backend.calls) <= 2  # one list call (+ at most one repair), not one call per variant
    assert all_within_limits(result)
    assert [v.rank for v in result.variants] == [1, 2, 3]
    totals = [v.scores["total"] for v in result.variants]
    assert all(set(v.scores) >= {"fit", "keywords", "readability", "tone", "diversity", "total"}
               for v in result.variants)
    assert totals[0] == max(totals)


def test_too_long_items_are_cut_at_a_word_boundary_before_asking_the_model(make_gen, numbered):
    long_one = "Aurora linen sheets that stay cool all summer long"  # 50 > 30, no clause boundary
    gen, backend = make_gen(numbered(long_one, "Aurora soft linen"))
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en"))
    texts = [v.fields["headline"] for v in result.variants]
    assert len(backend.calls) == 1 and result.produced == 2  # no rewrite call needed
    cut = next(t for t in texts if t != "Aurora soft linen")
    assert long_one.startswith(cut) and long_one[len(cut)] == " "  # whole words only
    assert contains_term(cut, "Aurora") and all_within_limits(result)


def test_items_no_cut_can_save_are_shortened_by_the_model_not_returned(make_gen, numbered):
    long_one = "Aurora Supercalifragilisticlinenbedding"  # one long word: the only cut is a stub
    gen, backend = make_gen(numbered(long_one, "Aurora soft linen"), numbered("Aurora cool linen sheets"))
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en"))
    assert "Rewrite each line" in backend.calls[1]["messages"][-1].content
    assert long_one in backend.calls[1]["messages"][-1].content
    texts = [v.fields["headline"] for v in result.variants]
    assert "Aurora cool linen sheets" in texts and long_one not in texts
    assert all_within_limits(result)


def test_repetitive_long_items_yield_different_clause_runs(make_gen, numbered):
    # qwen2.5-0.5b's habit: every line opens with the product, then different clauses; the first clause
    # alone would be the same headline each time, so a later run of the model's own clauses is kept instead.
    gen, backend = make_gen(numbered("亚麻四件套，轻盈清爽，适合小户型夏天使用", "亚麻四件套，越洗越软，卧室一下子安静了"))
    result = gen.generate(Brief(product="亚麻四件套", n=2, fields=["headline"], language="zh"))
    texts = [v.fields["headline"] for v in result.variants]
    assert len(backend.calls) == 1 and result.produced == 2 and len(set(texts)) == 2
    assert all(t.startswith("极光｜") for t in texts) and all_within_limits(result)


def test_unfixable_items_are_dropped_with_reasons(make_gen, numbered):
    too_long = "x" * 40
    gen, _ = make_gen(*[numbered("Aurora soft linen", too_long)] + [numbered(too_long)] * 10)
    result = gen.generate(Brief(product="linen sheets", n=3, fields=["headline"], language="en"))
    assert result.produced == 1
    assert any("could only produce 1 of 3" in n and "too long" in n for n in result.notes)
    assert result.rejected.get("headline: too long", 0) >= 1
    assert all_within_limits(result)


def test_banned_words_never_returned_in_either_script(make_gen, numbered):
    gen, _ = make_gen(
        numbered("Aurora linen, cheapest ever", "Aurora: the BEST EVER linen", "Aurora cool linen"),
        numbered("Aurora linen, cheapest in town", "Aurora best ever sheets"),  # the "repair" still bad
        numbered("Aurora soft linen"),
    )
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en"))
    for v in result.variants:
        assert not any(contains_term(v.fields["headline"], w) for w in ("cheapest", "best ever"))
    zh_gen, _ = make_gen(numbered("極光亞麻，全網最低價", "极光亚麻床品", "极光床品第一品牌"),
                         numbered("极光好睡床品"))
    zh = zh_gen.generate(Brief(product="亚麻床品", n=2, fields=["headline"], language="zh"))
    assert [v.fields["headline"] for v in zh.variants] == ["极光亚麻床品", "极光好睡床品"] or \
        {v.fields["headline"] for v in zh.variants} == {"极光亚麻床品", "极光好睡床品"}


def test_required_terms_enforced_on_every_variant(make_gen, numbered):
    gen, _ = make_gen(numbered("Soft linen sheets", "Cool linen bedding"))
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en"))
    assert result.produced == 2
    for v in result.variants:  # added in front where it fits ("Aurora | ...")
        assert contains_term(v.fields["headline"], "Aurora")


def test_banned_words_that_make_every_variant_impossible(make_gen, numbered):
    gen, _ = make_gen(default=numbered("Aurora linen sheets", "Aurora linen bedding"))
    result = gen.generate(Brief(product="linen sheets", n=3, fields=["headline"], language="en",
                                banned_words=["linen"]))
    assert result.produced == 0 and result.variants == []
    why = next(n for n in result.notes if n.startswith("could only produce 0 of 3"))
    assert "banned word" in why
    with pytest.raises(InputError, match="banned word"):
        gen.generate(Brief(product="x", n=1, language="en", required_terms=["Aurora Sale"], banned_words=["sale"]))


def test_bad_briefs_fail_clearly(make_gen, numbered):
    gen, _ = make_gen()
    with pytest.raises(InputError, match="product"):
        Brief(product="  ")
    with pytest.raises(InputError, match="n must be at least 1"):
        Brief(product="sofa", n=0)
    with pytest.raises(NotFoundError, match="unknown channel 'tiktok'"):
        gen.generate(Brief(product="sofa", channel="tiktok"))


def test_huge_n_is_capped_with_a_message(make_gen, numbered):
    cfg = AdCopyConfig(embedder="ngram", sentiment=False, max_variants=4, max_rounds=1)
    gen, backend = make_gen(numbered(*[f"Aurora linen {w}" for w in ("cool", "soft", "calm", "light", "airy")]),
                            cfg=cfg)
    result = gen.generate(Brief(product="linen", n=10_000, fields=["headline"], language="en"))
    assert result.requested == 10_000 and result.produced == 4
    assert "capped at adcopy.max_variants = 4" in result.notes[0]
    assert "Write 5 ad headlines" in backend.calls[0]["messages"][-1].content  # asked for 4 + margin, not 10,000


def test_near_duplicates_are_merged(make_gen, numbered):
    gen, _ = make_gen(numbered("Aurora soft linen sheets", "Aurora soft linen sheets now", "Aurora cool cotton quilt"),
                      default="")
    result = gen.generate(Brief(product="linen and cotton bedding", n=3, fields=["headline"], language="en"))
    texts = [v.fields["headline"] for v in result.variants]
    assert len(texts) == 2 and "Aurora cool cotton quilt" in texts
    # refused while filling (so another round is asked for), and said so in "could only produce 2 of 3"
    assert result.rejected.get("headline: near-duplicate") == 1
    assert any("could only produce 2 of 3" in n and "near-duplicate" in n for n in result.notes)


def test_injected_embedder_and_sentiment_drive_scores(make_gen, numbered):
    class OneHot:  # every text orthogonal: maximal diversity
        def embed_documents(self, texts):
            return [[1.0 if i == j else 0.0 for j in range(len(texts))] for i in range(len(texts))]

    gen, _ = make_gen(numbered("Aurora calm linen", "Aurora bright quilt"), embedder=OneHot(),
                      sentiment=lambda texts: [0.9 if "bright" in t else 0.1 for t in texts])
    result = gen.generate(Brief(product="linen and cotton bedding", n=2, fields=["headline"], language="en", tone="upbeat"))
    by_text = {v.fields["headline"]: v.scores for v in result.variants}
    assert by_text["Aurora bright quilt"]["tone"] > by_text["Aurora calm linen"]["tone"]
    assert all(s["diversity"] == 1.0 for s in by_text.values())


def test_multi_field_channel_with_derived_paths(make_gen, numbered):
    gen, _ = make_gen(
        numbered("Aurora linen sheets", "Cool linen for summer"),
        numbered("Stonewashed linen from Aurora. Free returns for 30 days.",
                 "Breathable linen sheets that get softer with every wash, from Aurora."),
    )
    result = gen.generate(Brief(product="linen sheets", channel="google_rsa", n=2, language="en",
                                keywords=["linen sheets", "summer bedding"]))
    assert result.produced == 2
    v = result.variants[0]
    assert set(v.fields) == {"headline", "description", "path1", "path2"}
    assert v.fields["path1"] == "linen-sheets" and v.fields["path2"] == "summer-bedding"
    assert all(contains_term(v.fields["description"], "Aurora") for v in result.variants)  # the carrier field
    assert all_within_limits(result)


def test_adapter_used_only_when_configured(make_gen, numbered):
    gen, backend = make_gen(numbered("Aurora linen"), adapters={"adcopy": "adapters/adcopy.gguf"})
    gen.generate(Brief(product="linen", n=1, fields=["headline"], language="en"))
    assert backend.calls[0]["options"].adapter == "adcopy"
    gen2, backend2 = make_gen(numbered("Aurora linen"), adapters={"support": "x.gguf"})
    gen2.generate(Brief(product="linen", n=1, fields=["headline"], language="en"))
    assert backend2.calls[0]["options"].adapter is None


def test_adapter_writes_only_its_fields(make_gen, numbered, cfg):
    """An adapter trained on the headline lists learnt headlines: descriptions go to the base model unless adapter_fields says so."""
    import dataclasses

    replies = (numbered("Aurora linen sheets"), numbered("Stonewashed linen from Aurora, softer with every wash."))
    gen, backend = make_gen(*replies, adapters={"adcopy": "a.gguf"})
    gen.generate(Brief(product="linen sheets", channel="google_rsa", n=1, language="en", keywords=["linen"]))
    used = {("headline" if "headline" in c["messages"][-1].content.lower() else "description"): c["options"].adapter
            for c in backend.calls}
    assert used == {"headline": "adcopy", "description": None}
    every = dataclasses.replace(cfg, adapter_fields=[])
    gen, backend = make_gen(*replies, adapters={"adcopy": "a.gguf"}, cfg=every)
    gen.generate(Brief(product="linen sheets", channel="google_rsa", n=1, language="en", keywords=["linen"]))
    assert {c["options"].adapter for c in backend.calls} == {"adcopy"}


def test_the_backends_adapters_decide_not_only_the_settings(fake_settings, brand, numbered):
    """The app's backend carries the registered adapters, which the settings' list does not."""
    from types import SimpleNamespace

    backend = FakeBackend([numbered("Aurora linen")])
    backend.cfg = SimpleNamespace(adapters={"adcopy": "registered.gguf"})
    fake_settings.sections["adcopy"] = AdCopyConfig(embedder="ngram", sentiment=False)
    gen = AdCopyGenerator(backend, fake_settings, brand)
    assert gen.adapter == "adcopy"
    gen.generate(Brief(product="linen", n=1, fields=["headline"], language="en"))
    assert backend.calls[0]["options"].adapter == "adcopy"


def test_settings_object_is_accepted(fake_settings, brand, numbered):
    backend = FakeBackend([numbered("Aurora linen")])
    fake_settings.sections["adcopy"] = AdCopyConfig(embedder="ngram", sentiment=False)
    gen = AdCopyGenerator(backend, fake_settings, brand)
    assert gen.cfg.embedder == "ngram" and gen.adapter is None
    assert gen.generate(Brief(product="linen", n=1, fields=["headline"], language="en")).produced == 1


def test_sms_fits_one_segment_in_chinese(make_gen, numbered):
    long_sms = "极光家居亚麻床品限时八折，" + "透气柔软" * 15 + "，回T退订"
    gen, _ = make_gen(numbered(long_sms, "极光家居亚麻床品本周八折，越洗越软，点击选购。回T退订"), default="")
    result = gen.generate(Brief(product="亚麻床品", channel="sms", n=2, language="zh"))
    assert result.produced >= 1 and all_within_limits(result)
    assert all(len(v.fields["text"]) <= 70 for v in result.variants)


def test_sentiment_adapter_and_its_neutral_fallback(monkeypatch):
    import assistant.classifiers as classifiers
    from assistant.adcopy.scoring import NEUTRAL_TONE, load_sentiment

    class Pred:
        def __init__(self, pos):
            self.scores = {"positive": pos, "negative": 1 - pos}

    class Clf:
        def predict(self, texts):
            return [Pred(0.8 if "love" in t else 0.2) for t in texts]

    monkeypatch.setattr(classifiers, "default_classifiers", lambda cfg=None: (None, Clf()))
    fn, why = load_sentiment(None)
    assert why == "" and fn(["we love it", "meh"]) == [0.8, 0.2]

    def broken(cfg=None):
        raise RuntimeError("no training data")

    monkeypatch.setattr(classifiers, "default_classifiers", broken)
    fn, why = load_sentiment(None)
    assert fn is None and "neutral" in why and str(NEUTRAL_TONE) in why


def test_each_round_asks_for_new_angles_until_enough_distinct_items(make_gen, numbered):
    gen, backend = make_gen(numbered("Aurora soft linen", "Aurora soft linen"), numbered("Aurora cool cotton quilt"),
                            default="")
    result = gen.generate(Brief(product="linen and cotton bedding", n=2, fields=["headline"], language="en"))
    assert result.produced == 2 and len(backend.calls) == 2
    first, second = (c["messages"][-1].content.split("numbered list")[-1] for c in backend.calls[:2])
    assert first != second  # same brief, different angles: a new seed alone mostly repeats the model


def test_no_new_call_starts_after_the_time_budget(make_gen, numbered):
    cfg = AdCopyConfig(embedder="ngram", sentiment=False, time_budget_s=1e-6)
    gen, backend = make_gen(numbered("Aurora soft linen"), default=numbered("Aurora cool cotton quilt"), cfg=cfg)
    result = gen.generate(Brief(product="linen and cotton bedding", n=3, fields=["headline"], language="en"))
    assert len(backend.calls) == 1 and result.produced == 1
    assert any("could only produce 1 of 3" in n and "time budget" in n for n in result.notes)


@pytest.mark.parametrize("bad", [{"time_budget_s": -1}, {"batch_size": 0}, {"max_rounds": 11},
                                 {"long_text_model": "gpt-9"}])
def test_config_rejects_bad_values_naming_the_field(bad):
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match=f"^{next(iter(bad))} must"):
        AdCopyConfig(**bad)


def test_brand_alone_and_pieces_of_an_example_are_not_new_copy(make_gen, numbered):
    # the brand's exemplar headline is "Aurora Linen Bedding"; small models copy it whole or in part
    gen, _ = make_gen(numbered("Aurora", "Aurora Linen", "Aurora Linen Bedding", "Aurora soft cotton quilt"), default="")
    result = gen.generate(Brief(product="linen and cotton bedding", n=3, fields=["headline"], language="en"))  # 4 per call
    assert [v.fields["headline"] for v in result.variants] == ["Aurora soft cotton quilt"]
    # "Aurora" alone: nothing but the brand, and too short for a 30-character headline (either refusal holds)
    assert result.rejected.get("headline: nothing but the brand", 0) + \
        result.rejected.get("headline: too short for the field", 0) == 1
    assert result.rejected["headline: copied an example"] == 2


def test_a_model_looping_on_one_line_is_cut_off_mid_stream(make_gen, numbered):
    looping = numbered("Aurora soft linen", *["Aurora cool sheets"] * 3, "Aurora never read", "Aurora nor this")
    gen, _ = make_gen(looping, default="")
    result = gen.generate(Brief(product="linen and cotton bedding", n=6, fields=["headline"], language="en"))
    texts = [v.fields["headline"] for v in result.variants]
    assert sorted(texts) == ["Aurora cool sheets", "Aurora soft linen"]  # the stream stopped at the 3rd repeat
    assert result.rejected["headline: duplicate"] == 2


def test_selling_points_count_in_the_keyword_score(make_gen, numbered):
    gen, _ = make_gen(numbered("Aurora: breathable, soft", "Aurora linen for cool nights"))
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en",
                                attributes=["breathable", "soft"]))
    scores = {v.fields["headline"]: v.scores["keywords"] for v in result.variants}
    assert scores == {"Aurora: breathable, soft": 1.0, "Aurora linen for cool nights": 0.0}


def test_a_list_of_the_selling_points_is_not_copy(make_gen, numbered, cfg):
    listed = "考虑：宽松、显瘦、灰色、街头、条纹、卫衣"
    prose = "灰色条纹卫衣，宽松显瘦，周末逛街穿上它，轻松又有型。"
    gen, backend = make_gen(numbered(listed), numbered(prose), default="", cfg=replace(cfg, cover_selling_points=False))
    result = gen.generate(Brief(product="卫衣", channel="weibo", n=1, language="zh",
                                attributes=["宽松", "显瘦", "灰色", "街头", "条纹"]))
    assert [v.fields["text"] for v in result.variants] == ["极光｜" + prose]  # the brand term put in front
    assert result.rejected == {"text: lists the selling points, not copy": 1}


def test_a_list_of_the_rows_description_and_the_brand_is_not_copy_either(make_gen, numbered, cfg):
    listed = "极光｜紫砂壶，西施壶，200毫升，原矿紫泥，手工拉坯。"
    prose = "这把西施壶用原矿紫泥手工拉坯，200毫升刚好一人一壶。"
    gen, _ = make_gen(numbered(listed), numbered(prose), default="", cfg=replace(cfg, cover_selling_points=False))
    result = gen.generate(Brief(product="西施壶", channel="weibo", n=1, language="zh",
                                details="紫砂壶，西施壶，200毫升，原矿紫泥，手工拉坯"))
    assert [v.fields["text"] for v in result.variants] == ["极光｜" + prose]
    assert result.rejected == {"text: lists the selling points, not copy": 1}


@pytest.mark.parametrize("rewrite,kept", [
    ("灰色条纹卫衣，宽松显瘦，街头感十足，周末逛街穿上它，轻松又有型。", True),   # names 街头 too: kept
    ("灰色、条纹、街头、宽松、显瘦、卫衣", False),                              # a list: refused
    ("灰色卫衣，周末穿上它，轻松又有型。", False),                              # names fewer: the original stays
])
def test_a_long_text_gets_one_call_to_work_in_the_selling_points_it_left_out(make_gen, numbered, cfg, rewrite, kept):
    prose = "灰色条纹卫衣，宽松显瘦，周末逛街穿上它，轻松又有型。"
    gen, backend = make_gen(numbered(prose), rewrite, default="")
    result = gen.generate(Brief(product="卫衣", channel="weibo", n=1, language="zh",
                                attributes=["宽松", "显瘦", "灰色", "街头", "条纹"]))
    assert "街头" in backend.calls[-1]["messages"][-1].content  # the missing point is asked for by name
    assert result.variants[0].fields["text"] == "极光｜" + (rewrite if kept else prose)
    if kept:  # the reviewer sees what was added, and the draft it replaced is kept beside it
        assert "text: selling points worked in: 街头" in result.variants[0].fixes
        assert result.rewrites["极光｜" + rewrite] == "极光｜" + prose


def test_paragraph_per_call_asks_for_one_paragraph_per_variant(make_gen, cfg):
    first = "灰色条纹卫衣，宽松显瘦，街头感十足，周末逛街穿上它，轻松又有型。"
    second = "文案：\n这件条纹卫衣是灰色的，宽松版型很显瘦，\n走在街头也有自己的态度。"
    gen, backend = make_gen(first, second, default="", cfg=replace(cfg, paragraph_per_call=True,
                                                                    cover_selling_points=False))
    result = gen.generate(Brief(product="卫衣", channel="weibo", n=2, language="zh",
                                attributes=["宽松", "显瘦", "灰色", "街头", "条纹"]))
    asks = [c["messages"][-1].content for c in backend.calls]
    assert len(asks) >= 2 and all("写一段卫衣" in a and "不要罗列" in a for a in asks[:2])
    assert not any("1." in a for a in asks[:2])  # no numbered list asked for
    texts = sorted(v.fields["text"] for v in result.variants)
    # the label line dropped and the paragraph's lines joined into one text
    assert texts == sorted(["极光｜" + first, "极光｜这件条纹卫衣是灰色的，宽松版型很显瘦，走在街头也有自己的态度。"])


def test_only_exemplars_about_a_product_like_this_one_are_shown():
    # The demo's ceramic-bowl post ("早餐、面条、沙拉都合适") shown for a bath towel put "早餐" into its copy.
    from assistant.adcopy import get_channel
    from assistant.adcopy.brand import load_brand
    from assistant.adcopy.prompts import examples_for

    brand, weibo = load_brand(), get_channel("weibo")
    assert examples_for(brand, weibo, "text", "zh")  # without a product: every one of the channel
    assert examples_for(brand, weibo, "text", "zh", "新疆长绒棉浴巾") == []
    assert examples_for(brand, weibo, "text", "zh", "手作陶瓷马克杯")  # 陶瓷 (the brand's name shares nothing)
    assert examples_for(brand, get_channel("google_rsa"), "headline", "en", "Aurora linen sheets")


def test_paragraphs_asked_one_per_call_stop_at_the_time_budget(make_gen, cfg):
    # A row of a feed took 314 s under a 120 s budget: the n paragraphs of one round were asked for without a look.
    para = "灰色条纹卫衣，宽松显瘦，街头感十足，周末逛街穿上它，轻松又有型。"
    gen, backend = make_gen(default=para, cfg=replace(cfg, paragraph_per_call=True, cover_selling_points=False,
                                                       time_budget_s=1e-6))
    result = gen.generate(Brief(product="卫衣", channel="weibo", n=4, language="zh",
                                attributes=["宽松", "显瘦", "灰色", "街头", "条纹"]))
    assert len(backend.calls) == 1 and result.produced == 1  # the field's first call, then no other


def test_paragraph_per_call_leaves_short_fields_and_briefs_without_points_to_the_list(make_gen, numbered, cfg):
    gen, backend = make_gen(numbered("Aurora soft linen", "Aurora cool linen"),
                            cfg=replace(cfg, paragraph_per_call=True))
    result = gen.generate(Brief(product="linen sheets", n=2, fields=["headline"], language="en",
                                attributes=["soft", "cool"]))
    assert len(backend.calls) == 1 and result.produced == 2  # headlines: still one numbered list
    gen, backend = make_gen(numbered("灰色条纹卫衣，周末逛街穿上它，轻松又有型。"), default="",
                            cfg=replace(cfg, paragraph_per_call=True))
    gen.generate(Brief(product="卫衣", channel="weibo", n=1, language="zh"))
    assert "写一段" not in backend.calls[0]["messages"][-1].content  # no selling points: the list prompt
    gen, backend = make_gen(numbered("灰色条纹卫衣，宽松显瘦，周末逛街穿上它，轻松又有型。"), default="",
                            cfg=replace(cfg, paragraph_per_call=False))
    gen.generate(Brief(product="卫衣", channel="weibo", n=1, language="zh", attributes=["宽松", "灰色"]))
    assert "写一段" not in backend.calls[0]["messages"][-1].content  # switched off: the list prompt


def test_long_fields_go_to_the_long_text_model_without_the_adapter(make_gen, numbered, cfg):
    big = FakeBackend([_numbered("Soft Aurora linen sheets make every bedroom calm, cool and easy to love.")],
                      default="")
    gen, backend = make_gen(numbered("Aurora linen sheets"), numbered("Cool Aurora linen"), default="",
                            adapters={"adcopy": "a.gguf"},
                            cfg=replace(cfg, long_text_model="qwen2.5-1.5b", adapter_fields=[],
                                        cover_selling_points=False), long_backend=big)
    result = gen.generate(Brief(product="linen sheets", channel="meta_feed", n=1, language="en",
                                keywords=["linen"]))
    assert result.variants, result.notes
    long_field = next(f for f, t in result.variants[0].fields.items() if t.startswith("Soft Aurora"))
    assert len(big.calls) >= 1 and all(c["options"].adapter is None for c in big.calls)
    assert not any("primary" in c["messages"][-1].content.lower() for c in backend.calls)  # short fields stay
    assert {c["options"].adapter for c in backend.calls} == {"adcopy"}
    assert long_field == "primary_text"



def test_a_generator_with_another_long_text_writer_shares_its_scorers(make_gen, cfg):
    from assistant.errors import ConfigError

    gen, _ = make_gen(default="")
    assert gen.with_long_text_model("") is gen  # already the chat model
    larger = gen.with_long_text_model("qwen2.5-1.5b")
    assert larger.cfg.long_text_model == "qwen2.5-1.5b" and gen.cfg.long_text_model == ""
    assert larger.backend is gen.backend and larger._get_similarity().embedder is gen._get_similarity().embedder
    assert larger._get_sentiment() is gen._get_sentiment()
    assert larger.with_long_text_model("").cfg.long_text_model == ""
    with pytest.raises(ConfigError):
        gen.with_long_text_model("gpt-9")
