"""The second reading of word-check flags (claim_reader.py): a YES clears a word flag, a NO, an odd reply or an
error keeps it, exact facts are never read, and the model is built only when a word flag needs reading."""

from __future__ import annotations

import pytest

from assistant.adcopy import AdCopyConfig, AdCopyGenerator, Brief
from assistant.adcopy.claim_reader import ClaimReader, claim_reader_for
from assistant.adcopy.facts import FactChecker
from assistant.errors import ConfigError, GenerationError, ModelLoadError
from assistant.llm import FakeBackend

ROW = "Linen duvet cover, stonewashed, 200x230 cm. Soft, breathable."
# "hidden pocket" and "zipper" are in no source and no generic list: the word check flags them.
WORD_ONLY = "Stonewashed linen with a hidden pocket"
WITH_NUMBER = "Stonewashed linen with a hidden pocket, 300 thread count"


@pytest.fixture(scope="module")
def plain() -> FactChecker:
    return FactChecker()


def _checker(*replies, default=None) -> tuple[FactChecker, FakeBackend]:
    fb = FakeBackend(list(replies), default=default)
    return FactChecker(reader=ClaimReader(fb)), fb


def test_the_word_check_flags_the_example_words(plain):
    # the premise of the tests below: without a reader these texts fail on word flags only / on a number too
    assert {c.kind for c in plain.unsupported(WORD_ONLY, ROW)} == {"word"}
    assert "number" in {c.kind for c in plain.unsupported(WITH_NUMBER, ROW)}


def test_yes_clears_the_word_flags_and_the_question_shows_row_and_clause():
    checker, fb = _checker("YES")
    assert checker.unsupported(WORD_ONLY, ROW) == []
    assert len(fb.calls) == 1
    question = fb.last_prompt[-1].content
    assert ROW in question and WORD_ONLY in question and "pocket" in question
    opts = fb.calls[0]["options"]
    assert opts.max_tokens == 2 and opts.temperature == 0.0


@pytest.mark.parametrize("reply", ["NO", "", "Maybe", "I think yes"])
def test_anything_but_yes_keeps_the_flags(reply, plain):
    checker, _ = _checker(reply)
    assert checker.unsupported(WORD_ONLY, ROW) == plain.unsupported(WORD_ONLY, ROW)


def test_an_error_keeps_the_flags_and_is_not_remembered(plain):
    checker, fb = _checker(GenerationError("llama.cpp died"), "YES")
    assert checker.unsupported(WORD_ONLY, ROW) == plain.unsupported(WORD_ONLY, ROW)
    assert checker.unsupported(WORD_ONLY, ROW) == []  # the next asset asks again
    assert len(fb.calls) == 2


def test_exact_facts_are_never_read(plain):
    checker, fb = _checker(default="YES")
    assert checker.unsupported(WITH_NUMBER, ROW) == plain.unsupported(WITH_NUMBER, ROW)
    assert fb.calls == []  # the number fails the text already: no model call


def test_supported_text_needs_no_reading():
    checker, fb = _checker(default="YES")
    assert checker.unsupported("Soft, breathable stonewashed linen", ROW) == []
    assert fb.calls == []


def test_one_question_per_clause_and_answers_are_cached():
    checker, fb = _checker("NO", "YES")
    text = "Stonewashed linen, hidden pocket, a zipper that never snags"
    flags = checker.unsupported(text, ROW)
    # two clauses hold flags: the first read NO keeps its word, the second read YES clears its words
    assert [c.text for c in flags] == ["hidden", "pocket"]
    assert len(fb.calls) == 2
    assert checker.unsupported(text, ROW) == flags and len(fb.calls) == 2  # same row, same clause: cached


def test_repair_removes_only_the_clause_read_as_unsupported():
    fb = FakeBackend(default="NO")
    checker = FactChecker(reader=ClaimReader(fb))
    fixed, bad = checker.repair("Soft stonewashed linen, with a hidden pocket.", ROW)
    assert fixed == "Soft stonewashed linen." and [c.text for c in bad] == ["hidden", "pocket"]


def test_chinese_copy_is_asked_in_chinese_and_english_prompt_can_be_forced():
    row = "水洗亚麻四件套，1.8米床适用，柔软透气"
    text = "水洗亚麻四件套，附带收纳袋"
    for language, marker in (("auto", "商品信息"), ("en", "PRODUCT INFO")):
        fb = FakeBackend(default="NO")
        FactChecker(reader=ClaimReader(fb, language=language)).unsupported(text, row)
        assert fb.calls and marker in fb.last_prompt[-1].content


def test_turned_round_question_clears_on_no_and_keeps_on_yes(plain):
    for reply, cleared in (("NO", True), ("YES", False), ("", False)):
        fb = FakeBackend(default=reply)
        flags = FactChecker(reader=ClaimReader(fb, ask="added")).unsupported(WORD_ONLY, ROW)
        assert (flags == []) is cleared and (cleared or flags == plain.unsupported(WORD_ONLY, ROW))
        assert "add anything" in fb.last_prompt[-1].content


def test_asset_context_shows_the_whole_text():
    fb = FakeBackend(default="NO")
    FactChecker(reader=ClaimReader(fb, context="asset", examples=False)).unsupported(
        "Stonewashed linen, hidden pocket", ROW)
    assert len(fb.calls) == 1 and "CLAIM: Stonewashed linen, hidden pocket" in fb.last_prompt[-1].content
    assert [m.role for m in fb.last_prompt] == ["system", "user"]  # no examples


def test_the_model_is_built_lazily_and_a_failed_build_keeps_flags(plain):
    built = []

    def build():
        built.append(1)
        raise ModelLoadError("no such model")

    checker = FactChecker(reader=ClaimReader(build))
    assert checker.unsupported("Soft breathable linen", ROW) == [] and built == []
    assert checker.unsupported(WORD_ONLY, ROW) == plain.unsupported(WORD_ONLY, ROW)
    checker.unsupported("Linen with a zipper", ROW)
    assert built == [1]  # not retried on every flag


def test_config_key_is_validated():
    assert AdCopyConfig().claim_reader == ""
    assert AdCopyConfig(claim_reader="qwen2.5-1.5b").claim_reader == "qwen2.5-1.5b"
    with pytest.raises(ConfigError, match="claim_reader"):
        AdCopyConfig(claim_reader="gpt-5")


def test_off_means_no_reader_and_the_generator_passes_it_only_to_the_word_check(brand):
    assert claim_reader_for("", FakeBackend()) is None
    fb = FakeBackend(default="YES")
    gen = AdCopyGenerator(FakeBackend(), AdCopyConfig(embedder="ngram", sentiment=False,
                                                      claim_reader="qwen2.5-1.5b"), brand)
    row = Brief(product="Linen duvet cover", language="en", details=ROW)
    guard = gen.guard(row, [])
    assert guard.checker.reader is not None and guard.checker.reader._backend is None  # not loaded yet
    guard.checker.reader._backend = fb  # the fake stands in for the model the factory would load
    assert guard.checker.unsupported(WORD_ONLY, guard.sources) == [] and len(fb.calls) == 1
    brief_only = gen.guard(Brief(product="Linen duvet cover", language="en"), [])
    assert brief_only.checker.reader is None  # no word check on a bare brief: nothing to read


@pytest.mark.slow
def test_qwen_reader_tells_a_paraphrase_from_an_invention():
    pytest.importorskip("llama_cpp")
    from assistant.adcopy.claim_reader import reader_backend
    from assistant.llm import LLMConfig

    reader = ClaimReader(reader_backend("qwen2.5-1.5b", LLMConfig(n_threads=2)))
    checker = FactChecker(reader=reader)
    row = "Insulated steel water bottle, 750 ml, keeps drinks cold for 24 hours, leak-proof lid."
    assert checker.unsupported("Ice-cold water all day long, and the lid never leaks", row) == []
    assert checker.unsupported("Comes with a built-in fruit infuser", row) != []
