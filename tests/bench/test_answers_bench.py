"""bench/answers.py: the scorer on hand-made answers, the two shops' question files, and one end-to-end run of
the real app path on FakeBackend + fake embeddings (seconds)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import bench.answers as answers
import bench.answers_scoring as answers_scoring
from bench.answers import Question, contains, is_decline, leaks_in, normalize, numbers_in, score_answer

DOC_NUMBERS = {"30", "7", "168", "12", "9:30", "9", "18", "400", "660", "2718"}


def q(expect=None, decline=False, forbid=(), turns=("How long do I have to return a grinder?",), **kw):
    return Question(kw.pop("id", "t1"), kw.pop("lang", "en"), kw.pop("kind", "unanswerable" if decline else
                                                                         "prose_fact"),
                    list(turns), expect or [], decline, list(forbid), **kw)


# --------------------------------------------------------------------------------------------- normalising
@pytest.mark.parametrize("text, form", [
    ("三十天内可以退货", "30天"), ("退货期为 30 天", "30天"), ("３０天", "30天"), ("一到两天送达", "1-2"),
    ("1–2 business days", "1-2"), ("from 30 to 35 clicks", "30-35"), ("within five days", "5 day"),
    ("¥16,800", "16800"), ("9：30 – 18：30", "18:30"), ("两小时左右", "2小时"), ("百分之九十七", "97%"),
    ("No, it is not.", "no"), ("下午三点开始", "3点"),
])
def test_surface_forms_match_across_numerals_widths_and_spacing(text, form):
    assert contains(normalize(text), form)


@pytest.mark.parametrize("text, form", [
    ("within 150 days", "15"), ("I do not know", "no"), ("nothing", "not"), ("2.5 minutes", "5 minute"),
    ("统一", "1"),
])
def test_numbers_and_short_words_must_stand_alone(text, form):
    assert not contains(normalize(text), form)


def test_numbers_are_canonical_and_citations_are_not_numbers():
    assert numbers_in("¥16,800, 7.80 kg [2], 三十天, 016") == {"16800", "7.8", "30", "16"}


# --------------------------------------------------------------------------------------------- verdicts
def test_an_answer_with_every_fact_is_correct_and_one_missing_a_fact_is_not():
    question = q(expect=[["30 days", "30天"], ["unused", "未使用"]])
    good = score_answer(question, "Unused grinders can be returned within 30 days of delivery.", None, DOC_NUMBERS)
    assert good["correct"] and not good["invented"] and not good["leaks"]
    bad = score_answer(question, "Grinders can be returned within 30 days.", None, DOC_NUMBERS)
    assert not bad["correct"] and bad["missing"] == ["unused"]


def test_a_forbidden_form_flips_a_polarity_answer():
    question = q(expect=[["no", "not"]], forbid=["is dishwasher safe"], kind="yes_no")
    assert score_answer(question, "No, it is not dishwasher safe.", None, DOC_NUMBERS)["correct"]
    wrong = score_answer(question, "Yes, the grinder is dishwasher safe, not a problem.", None, DOC_NUMBERS)
    assert not wrong["correct"] and wrong["forbidden"]


def test_unanswerable_is_right_only_when_declined_and_otherwise_invented():
    question = q(decline=True, turns=["Do you sell espresso machines?"])
    for text, route in [("I'm sorry, I don't know the answer to that from our shop information.", None),
                        ("抱歉，我在店铺资料里没有找到这个问题的答案。", None),
                        ("Our documents do not mention espresso machines.", None),
                        ("I'm sorry, but I can't assist with that.", None), ("抱歉，我无法协助完成这个请求。", None),
                        ("I've passed your conversation to a colleague.", {"action": "handoff"})]:
        verdict = score_answer(question, text, route, DOC_NUMBERS)
        assert verdict["correct"] and verdict["declined"] and not verdict["invented"], text
    made_up = score_answer(question, "Yes! The Barista Pro costs ¥2,999.", None, DOC_NUMBERS)
    assert not made_up["correct"] and made_up["invented"] and made_up["unsupported_numbers"] == ["2999"]


def test_a_decline_on_an_answerable_question_is_wrong_even_if_it_contains_the_polarity_word():
    question = q(expect=[["no", "not", "don't"]], kind="yes_no")
    verdict = score_answer(question, "I don't know, sorry. Would you like a human colleague?", None, DOC_NUMBERS)
    assert verdict["declined"] and not verdict["correct"]


def test_wrong_answers_count_answered_answerables_that_are_not_right_but_not_declines():
    question = q(expect=[["30 days", "30天"]])
    texts = ["Grinders can be returned within 30 days.", "Grinders can be returned within 14 days.",
             "I'm sorry, I don't know the answer to that from our shop information."]
    scores = [score_answer(question, t, None, DOC_NUMBERS) for t in texts]
    summary = answers.summarize([question] * 3, scores, [1.0, 1.0, 1.0], routed=False)
    assert summary["answerable_accuracy"] == round(1 / 3, 3) and summary["wrong_answers"] == 1


def test_answers_the_second_reading_was_unsure_of_are_counted_right_and_wrong():
    from assistant.router import UNSURE_REASON

    question, unanswerable = q(expect=[["30 days", "30天"]]), q(decline=True)
    unsure = {"action": "kb_answer", "reasons": ["knowledge base: has answer (best 0.90)", UNSURE_REASON]}
    sure = {"action": "kb_answer", "reasons": ["knowledge base: has answer (best 0.90)"]}
    cases = [(question, "Grinders can be returned within 30 days.", unsure),
             (question, "Grinders can be returned within 14 days.", unsure),
             (question, "Grinders can be returned within 14 days.", sure),
             (unanswerable, "Grinders can be returned within 30 days.", unsure)]
    scores = [score_answer(qq, text, route, DOC_NUMBERS) for qq, text, route in cases]
    assert [s["unsure"] for s in scores] == [True, True, False, True]
    summary = answers.summarize([qq for qq, _, _ in cases], scores, [1.0] * 4, routed=False)
    assert (summary["unsure_right"], summary["unsure_wrong"], summary["answered_wrong"]) == (1, 2, 3)


def test_numbers_not_in_the_documents_or_the_question_are_invented():
    question = q(expect=[["30"]], turns=["I bought it 40 days ago, can I return it?"])
    fine = score_answer(question, "No: 40 days is past our 30-day window.", None, DOC_NUMBERS)
    assert fine["unsupported_numbers"] == [] and not fine["invented"]
    made_up = score_answer(question, "Returns are accepted within 30 days, or 45 days for members.", None,
                           DOC_NUMBERS)
    assert made_up["correct"] and made_up["invented"] and made_up["unsupported_numbers"] == ["45"]
    assert not score_answer(q(expect=[["free"]], allow_numbers=["577"]), "Your ¥577 order ships free.", None,
                            DOC_NUMBERS)["invented"]


def test_leaks_and_misroutes_and_the_demo_shop_name_are_caught():
    question = q(expect=[["30"]], turns=["How long do I have to return a grinder?"])
    assert leaks_in("Within 30 days [1].", "x") == ["citation_markup"]
    assert leaks_in("See bench/data/answers/slow-ember/docs/policies/returns.md", "x") == ["file_path"]
    assert leaks_in("How long do I have to return a grinder? 30 days.", question.question) == ["question_echo"]
    assert leaks_in("Within 30 days of delivery.", question.question) == []
    handed = score_answer(question, "I'm passing you to a human colleague.", {"action": "handoff"}, DOC_NUMBERS)
    assert handed["misroute"] == "handoff" and not handed["correct"]
    # the off-topic reply states nothing: a misroute for an answerable question, a decline for an unanswerable one
    off_topic = "这个问题超出了我能帮忙的范围。我可以解答商品、订单、配送和退换货方面的问题，请问有这方面的需要吗？"
    assert score_answer(question, off_topic, {"action": "refuse"}, DOC_NUMBERS)["misroute"] == "refuse"
    weather = score_answer(q(decline=True, turns=["明天苏州天气怎么样？"]), off_topic, {"action": "refuse"}, DOC_NUMBERS)
    assert weather["declined"] and not weather["invented"]
    assert score_answer(question, "Aurora Home accepts returns within 30 days.", None, DOC_NUMBERS)["wrong_shop"]


def test_the_products_own_abstain_and_fallback_texts_count_as_declines():
    texts = answers._product_declines()
    assert len(texts) >= 4
    assert all(is_decline(text, None, texts) for text in texts)
    assert not is_decline("Shipping is free on orders of ¥168 or more.", None, texts)


# --------------------------------------------------------------------------------------------- the shops
@pytest.mark.parametrize("key", ["dev", "dev2", "heldout", "heldout2"])
def test_each_shop_has_enough_questions_of_every_kind_in_both_languages(key):
    shop = answers.load_shop(key)
    kinds = Counter(x.kind for x in shop.questions)
    for kind, minimum in answers.MIN_COUNTS.items():
        assert kinds[kind] >= minimum, (key, kind, kinds[kind])
    langs = Counter(x.lang for x in shop.questions)
    assert len(shop.questions) >= 60 and min(langs["zh"], langs["en"]) >= 0.4 * len(shop.questions) - 1
    assert all(len(x.turns) >= 2 for x in shop.questions if x.kind == "followup")
    for name in ("en", "zh"):
        assert shop.meta["name"][name]
    assert shop.persona and shop.meta["contact"]["email"] and shop.meta["default_language"] in ("zh", "en")


@pytest.mark.parametrize("key", ["dev", "dev2", "heldout", "heldout2"])
def test_each_shop_has_the_documents_a_real_shop_has_in_both_languages(key):
    shop = answers.load_shop(key)
    files = [p for p in shop.docs.rglob("*") if p.is_file()]
    suffixes = Counter(p.suffix for p in files)
    assert suffixes[".md"] >= 4 and suffixes[".html"] >= 4 and suffixes[".csv"] == 1
    zh = [p for p in files if ".zh." in p.name]
    assert zh and len(zh) < len(files) - 1  # some documents Chinese only, some English only
    assert len(answers.shop_numbers(shop)) > 30


@pytest.mark.parametrize("key", ["dev", "dev2", "heldout", "heldout2"])
def test_each_shop_has_broad_policy_questions_answerable_and_not_in_both_languages(key):
    shop = answers.load_shop(key, "overview")
    kinds = Counter(x.kind for x in shop.questions)
    assert kinds["overview"] >= 8 and kinds["unanswerable"] >= 3 and set(kinds) == {"overview", "unanswerable"}
    assert {x.lang for x in shop.questions} == {"zh", "en"}
    assert not {x.id for x in shop.questions} & {x.id for x in answers.load_shop(key).questions}


@pytest.mark.parametrize("key", ["dev", "dev2", "heldout", "heldout2"])
def test_each_shop_has_item_policy_questions_answerable_and_not_in_both_languages(key):
    shop = answers.load_shop(key, "item")
    kinds = Counter(x.kind for x in shop.questions)
    assert kinds["item_policy"] >= 8 and kinds["unanswerable"] >= 2 and set(kinds) == {"item_policy", "unanswerable"}
    assert Counter(x.lang for x in shop.questions) == {"zh": 6, "en": 6}
    assert all(x.expect for x in shop.questions if x.kind == "item_policy")
    assert not {x.id for x in shop.questions} & {x.id for x in answers.load_shop(key).questions}


def test_the_quick_subset_exists_in_the_dev_shop():
    ids = {x.id for x in answers.load_shop("dev").questions}
    assert set(answers.QUICK_IDS) <= ids and len(answers.QUICK_IDS) == 12


def test_a_broken_question_is_refused_with_its_id(tmp_path, monkeypatch):
    shop = tmp_path / "broken"
    (shop / "docs").mkdir(parents=True)
    (shop / "shop.yaml").write_text("name: {en: X, zh: X}\npersona: p\n", encoding="utf-8")
    (shop / "questions.yaml").write_text("- {id: a1, lang: en, kind: unanswerable, question: q, expect: [[x]]}\n",
                                         encoding="utf-8")
    monkeypatch.setattr(answers_scoring, "DATA", tmp_path)
    monkeypatch.setitem(answers.SHOPS, "dev", "broken")
    with pytest.raises(ValueError, match="a1"):
        answers.load_shop("dev")


def test_the_bench_is_registered_with_the_runner():
    import bench.__main__ as runner

    assert "answers" in runner.BENCHES
    assert {"answerable_accuracy", "decline_rate", "invented_rate", "median_s"} <= set(answers.GOALS)


# --------------------------------------------------------------------------------------------- end to end
FAKE = {"llm": {"backend": "fake"}, "knowledge_base": {"embedder": "fake"},
        # the router's classifiers train on first use (minutes): this run checks the path, not the routing
        "chat": {"use_router": False}}


def test_three_dev_questions_go_through_the_app_and_are_scored_beside_both_baselines(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(answers, "OUT", tmp_path / "out")
    result = answers.run_shop("dev", {"fp10", "un01", "fu03"}, overrides=FAKE, quiet=True)
    assert result["questions"] == 3 and result["chunks"] > 20
    for system in answers.SYSTEMS:
        figures = result[system]
        assert figures["errors"] == 0 and set(figures["by_kind"]) == {"faq_paraphrase", "unanswerable", "followup"}
        assert 0.0 <= figures["answerable_accuracy"] <= 1.0 and figures["median_s"] is not None
        # answers stream as the widget reads them: the first piece comes no later than the whole answer
        assert figures["first_piece_median_s"] is not None
        assert figures["first_piece_median_s"] <= figures["median_s"], figures
    assert "misroute_rate" in result["ours"] and "misroute_rate" not in result["snippet"]
    # FakeBackend answers "(fake answer to: <question>)": an echo, and never a decline
    assert result["no_docs"]["leaks"] >= 2 and result["no_docs"]["decline_rate"] == 0.0
    assert "un01" in result["failing_ids"]["not_declined"]
    rows = (tmp_path / "out" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3
    for row in map(json.loads, rows):
        assert row["ours"]["answer"] and 0 < row["ours"]["first_piece_s"] <= row["ours"]["seconds"], row["ours"]
    assert "dev shop" in answers.render({"dev": result})


def test_the_heldout_shop_reports_aggregates_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(answers, "OUT", tmp_path / "out")
    result = answers.run_shop("heldout", {"h-fp02", "h-un01"}, overrides=FAKE, no_docs=False, quiet=True)
    assert "failing_ids" not in result and not (tmp_path / "out").exists()
    assert set(result) >= {"ours", "snippet"} and "no_docs" not in result


def test_question_ids_are_refused_for_a_heldout_shop(capsys):
    with pytest.raises(SystemExit):
        answers.main(["--shop", "heldout3", "--ids", "un01"])
    assert "aggregate figures only" in capsys.readouterr().err


def test_cli_help():
    from tests.conftest import run_module

    done = run_module("bench.answers", "--help")
    assert done.returncode == 0 and "--shop" in done.stdout and "--quick" in done.stdout


def test_python_m_bench_only_answers_quick_lands_in_results_md(tmp_path, monkeypatch):
    import bench.__main__ as runner

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    for name, value in (("LLM__BACKEND", "fake"), ("KNOWLEDGE_BASE__EMBEDDER", "fake"), ("CHAT__USE_ROUTER", "false")):
        monkeypatch.setenv(f"ASSISTANT_{name}", value)
    monkeypatch.setattr(runner, "STORE", tmp_path / "results.json")
    monkeypatch.setattr(answers, "OUT", tmp_path / "out")
    out = tmp_path / "RESULTS.md"
    assert runner.main(["--only", "answers", "--quick", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| answers | dev shop: answerable questions right, ours vs best snippet |" in text
    assert "| dev.ours.answerable_accuracy |" in text and "| dev.questions | 12 |" in text


def test_a_yes_no_polarity_must_lead_the_answer_not_hide_in_a_pasted_passage():
    question = q(expect=[["不可以", "不能", "无法"]], kind="yes_no", lang="zh", turns=["礼品卡可以退款吗"])
    assert score_answer(question, "不可以。礼品卡不能退款或兑换现金。", None, DOC_NUMBERS)["correct"]
    assert score_answer(question, "[1] 很抱歉，礼品卡不能退款。", None, DOC_NUMBERS)["correct"]
    pasted = "[1] 收到的货破损了怎么办？ 请拍照联系客服。\n[2] 修改地址与拒收：发货后无法修改。"
    assert not score_answer(question, pasted, None, DOC_NUMBERS)["correct"]


def test_the_products_note_on_an_unanswered_question_is_scored_apart_from_the_answer():
    from assistant.shop import Shop

    question = q(expect=[["30 days", "30天"]], turns=("How long do I have to return a grinder, and can I pay by cheque?",))
    note = Shop().text("partly_unanswered", "en", question="can I pay by cheque")
    scored = score_answer(question, "Grinders can be returned within 30 days. " + note, None, DOC_NUMBERS)
    # The note's "couldn't find" is no decline of the answered part, and its quote of the question no echo.
    assert scored["correct"] and scored["partial"] and not scored["declined"] and not scored["leaks"]
    zh = Shop().text("partly_unanswered", "zh", question="能用支票付款吗")
    assert score_answer(question, "磨豆机30天内可以退货。" + zh, None, DOC_NUMBERS)["correct"]
    # An unanswerable question answered with something else and the note is still not declined.
    unanswerable = score_answer(q(decline=True), "Grinders can be returned within 30 days. " + note, None, DOC_NUMBERS)
    assert not unanswerable["declined"] and unanswerable["invented"]
    assert not score_answer(question, "Grinders can be returned within 30 days.", None, DOC_NUMBERS)["partial"]


def test_an_answer_in_the_other_language_than_the_question_is_counted_but_still_scored_for_its_facts():
    question = q(expect=[["2700"]], lang="zh", kind="cross_language", turns=["台灯可以调色温吗？"])
    english = score_answer(question, "Features: Three colour temperatures, from warm 2700 K to daylight 6500 K.",
                           None, {"2700", "6500"})
    assert english["correct"] and english["other_language"]
    chinese = score_answer(question, "可以，有三种色温：暖光 2700 K 到日光 6500 K。", None, {"2700", "6500"})
    assert chinese["correct"] and not chinese["other_language"]
    declined = score_answer(q(decline=True, lang="zh", turns=["你们卖自行车吗？"]),
                            "I'm sorry, I don't know the answer to that from our shop information.", None, set())
    assert not declined["other_language"]


def test_a_bench_shop_writes_nothing_into_the_projects_data_folder(tmp_path):
    """The app's own files of a bench shop (uploads, gap answers, translations, analytics, feeds) go to its temp
    dir, as `python -m assistant init` puts them in a shop's folder: a run must not leave files in the repo."""
    from assistant.scaffold import SHOP_DATA_PATHS

    config = answers.shop_config(answers.load_shop("dev2"), tmp_path)
    for section, key in SHOP_DATA_PATHS:
        assert config[section][key].startswith(str(tmp_path)), (section, key)
