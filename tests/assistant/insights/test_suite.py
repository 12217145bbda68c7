"""`python -m assistant test-suite FILE`: expectations checked through the chat pipeline, the diff against the
previous run after the shop changed a price, and one-line errors for a malformed suite."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.assistant.insights.conftest import FAQ
from tests.conftest import run_module

SUITE = """
conversations:
  - id: shipping
    turns:
      - say: How much does shipping cost?
        expect: {cites: faq.csv, handoff: false, must: ["¥15"], must_not: ["¥20"]}
      - say: 运费是多少？
        expect: {cites: ship-cost-zh, must: "15元"}
  - id: returns
    turns:
      - How long do I have to return an item?
      - say: How long do I have to return an item?
        expect: {must: ["30 days"]}
"""


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A config file for a small shop on fakes (no router: the suite runs the rest of the pipeline), its FAQ
    ingested, and a suite beside it."""
    from assistant.config import load_config
    from knowledge_base import KnowledgeBase

    monkeypatch.setenv("SHOP_ASSISTANT_CACHE", str(tmp_path / "cache"))
    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ, encoding="utf-8")
    config = tmp_path / "shop.yaml"
    config.write_text(yaml.safe_dump({
        "llm": {"backend": "fake"},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb"), "collection": "suite-test",
                           "abstain_threshold": 0.6, "faq_threshold": 0.99},
        "app": {"ingest_demo_kb": False},
        "chat": {"use_router": False, "use_guardrails": False},
        "storage": {"url": f"sqlite:///{tmp_path}/shop.db"},
    }), encoding="utf-8")
    settings = load_config(config, env={})
    KnowledgeBase.from_config(settings.knowledge_base).ingest([faq], progress=False)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    return config, suite, faq, settings


def run_suite(config, suite, capsys, *extra):
    from assistant.__main__ import main

    code = main(["test-suite", str(suite), "--config", str(config), "--no-progress", *extra])
    return code, capsys.readouterr().out


def test_suite_passes_then_shows_what_a_price_change_broke(shop, capsys):
    from knowledge_base import KnowledgeBase

    config, suite, faq, settings = shop
    code, out = run_suite(config, suite, capsys)
    assert code == 0, out
    assert "3 passed, 0 failed (3 checked turns in 2 conversations" in out
    assert "no earlier run to compare with" in out
    stored = json.loads((suite.parent / "suite.last-run.json").read_text(encoding="utf-8"))
    assert [r["case"] for r in stored["results"]] == ["shipping", "shipping", "returns", "returns"]
    code, out = run_suite(config, suite, capsys)
    assert code == 0 and "no change since the run of" in out

    faq.write_text(FAQ.replace("¥15", "¥20"), encoding="utf-8")  # the shop edits a price before a sale
    KnowledgeBase.from_config(settings.knowledge_base).ingest([faq], progress=False)
    code, out = run_suite(config, suite, capsys)
    assert code == 1
    assert "2 passed, 1 failed" in out
    assert "FAIL shipping #1: missing '¥15'; says '¥20'" in out
    assert out.count("  pass ") == 2  # every checked turn is listed, as passed or failed
    assert "BROKEN  shipping #1" in out and "CHANGED shipping #1: answer" in out and "¥20" in out


def test_suite_output_option_and_store_untouched(shop, capsys, tmp_path):
    from sqlalchemy import create_engine, inspect

    config, suite, _, _ = shop
    out_file = tmp_path / "runs" / "latest.json"
    code, out = run_suite(config, suite, capsys, "--output", str(out_file))
    assert code == 0 and out_file.exists() and str(out_file) in out
    db = tmp_path / "shop.db"
    if db.exists():  # conversations and tickets of a suite run go to a throw-away store
        assert "chat_sessions" not in inspect(create_engine(f"sqlite:///{db}")).get_table_names()


@pytest.mark.parametrize("text, message", [
    ("conversations: []", "non-empty 'conversations'"),
    ("conversations:\n  - id: a\n    turns: [{say: hi, expect: {route: x}}]", "'expect' keys must be among"),
    ("conversations:\n  - id: a\n    turns: [{expect: {must: x}}]", "a turn 1 needs 'say:"),
    ("conversations:\n  - id: a\n    turns: [{say: hi, expect: {handoff: maybe}}]", "handoff must be true or false"),
    ("conversations: [", "bad YAML in regression suite"),
    ("conversations:\n  - id: ship\n    turns: [hi, {say: cost, expect: {action: kb_anwser}}]",
     r"ship turn 2 action: unknown action 'kb_anwser' \(did you mean kb_answer\?\); valid actions: kb_answer, "),
    ("conversations:\n  - id: a\n    turns: [{say: hi, expect: {action: [small_talk, smalltalk]}}]",
     "unknown action 'smalltalk'"),
    # a mistyped key would check nothing and pass
    ("conversations:\n  - id: a\n    turns: [{say: hi, expected: {action: decline}}]",
     r"a turn 1: unknown key 'expected' \(did you mean 'expect'\?\)"),
    ("conversations:\n  - id: a\n    turn: [hi]", "conversation 1 needs a non-empty 'turns' list"),
    ("conversations:\n  - id: a\n    turns: [hi]\n    desc: x", r"bad.yaml: a: unknown key 'desc'"),
    ("version: 2\nconversations:\n  - id: a\n    turns: [hi]", r"bad.yaml: unknown key 'version'"),
])
def test_malformed_suites_are_one_line_errors(tmp_path, text, message):
    from assistant.errors import InputError
    from assistant.insights.suite import load

    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load(path)


def test_diff_lines():
    from assistant.insights.suite import TurnResult, diff

    before = {"a #1": {"case": "a", "turn": 1, "text": "Shipping is ¥15.", "action": "kb_answer", "cited": ["x"],
                       "handoff": False, "failures": []},
              "b #1": {"case": "b", "turn": 1, "text": "no", "action": "decline", "cited": [], "handoff": False,
                       "failures": ["action decline (expected kb_answer)"]},
              "c #1": {"case": "c", "turn": 1, "text": "", "action": "", "cited": [], "handoff": False,
                       "failures": []}}
    now = [TurnResult("a", 1, "q", "Shipping is ¥20.", "kb_answer", ["x"], False, True, ["missing '¥15'"]),
           TurnResult("b", 1, "q", "yes", "kb_answer", ["y"], False, True, []),
           TurnResult("d", 1, "q", "hi", "small_talk", [], False, False, [])]
    lines = diff(before, now)
    assert lines[0] == "BROKEN  a #1: missing '¥15'"
    assert lines[1].startswith("CHANGED a #1: answer 'Shipping is ¥15.' -> 'Shipping is ¥20.'")
    assert lines[2] == "FIXED   b #1"
    assert lines[3].startswith("CHANGED b #1: action decline -> kb_answer; cites [] -> ['y']")
    assert lines[4:] == ["NEW     d #1: pass", "GONE    c #1"]


def test_help_and_missing_file():
    r = run_module("assistant", "test-suite", "--help")
    assert r.returncode == 0 and "--output" in r.stdout and "must/must-not" in r.stdout
    r = run_module("assistant", "test-suite", "/nonexistent/suite.yaml", env={"ASSISTANT_LLM__BACKEND": "fake"})
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "regression suite not found" in r.stderr


def test_every_action_a_turn_can_end_with_is_accepted():
    """The valid actions come from where they are made: the router's list, the order desk's replies (checked
    against the desk's own note of them), a refused attack and a failed turn."""
    import re
    from pathlib import Path

    import assistant.orders.desk as desk
    from assistant.insights.suite import ORDER_ACTIONS, known_actions, parse
    from assistant.router import ACTIONS

    note = re.search(r"action: str\s+#\s*(.+)", Path(desk.__file__).read_text(encoding="utf-8")).group(1)
    assert set(ORDER_ACTIONS) == {a.strip() for a in note.split("|")}
    assert set(ACTIONS) | {"refuse", "error"} <= set(known_actions())
    turns = [{"say": "hi", "expect": {"action": a}} for a in known_actions()]
    assert len(parse({"conversations": [{"id": "all", "turns": turns}]})[0].turns) == len(known_actions())


@pytest.mark.parametrize("text, phrase, found", [
    ("签收后 30 天内可以退货。", "30天内", True),
    ("You can e-mail us any time.", "email us", True),
    ("A 1-year warranty.", "1 year", True),
    ("Ｗｅ ship ＦＲＥＥ", "free", True),
    ("Ask our piano teacher.", "no tea", False),  # spaces ignored, word ends not
    ("Shipping is ¥150.", "¥15", False),  # a price is not part of a larger one
    ("Shipping is ¥15.", "¥15", True),
    ("Standard shipping", "dard ship", False),
])
def test_phrases_ignore_spacing_and_hyphens_but_not_word_ends(text, phrase, found):
    from assistant.insights.suite import says

    assert says(text, phrase) is found


def test_a_suite_that_checks_nothing_says_so(shop, capsys):
    config, suite, _, _ = shop
    suite.write_text("conversations:\n  - id: a\n    turns:\n      - How much does shipping cost?\n", encoding="utf-8")
    code, out = run_suite(config, suite, capsys)
    assert code == 0 and "no turn has 'expect': nothing was checked" in out



def test_a_cited_name_the_knowledge_base_does_not_hold_is_named_apart_from_the_failure(shop, capsys):
    config, suite, _, _ = shop
    suite.write_text(SUITE.replace("cites: ship-cost-zh", "cites: shiping-cost-zh"), encoding="utf-8")
    code, out = run_suite(config, suite, capsys)
    assert code == 1 and "FAIL shipping #2: does not cite 'shiping-cost-zh'" in out
    assert "shipping #2: cites 'shiping-cost-zh', which no document, title or FAQ row" in out
    assert "shipping #1: cites" not in out  # faq.csv is there


def test_a_turn_the_model_failed_on_fails_even_without_expectations():
    """A shop's suite run while its LLM server is down got the shop's apology on every turn: that is no pass."""
    from types import SimpleNamespace

    from assistant.chat_session import Reply, SessionStore
    from assistant.insights.suite import parse, run

    class DownChat:
        sessions = SessionStore()

        def respond(self, text, session):
            reply = Reply("Sorry, I can't answer right now.", route={"action": "kb_answer"},
                          error="cannot reach the LLM server at http://127.0.0.1:9/v1")
            return SimpleNamespace(collect=lambda: reply)

    cases = parse({"conversations": [{"id": "a", "turns": ["hello", {"say": "cost?", "expect": {"must": "Sorry"}}]}]})
    first, second = run(DownChat(), cases, progress=False)
    assert first.checked and first.failures == ["the model failed: cannot reach the LLM server at http://127.0.0.1:9/v1"]
    assert second.failures[0].startswith("the model failed") and not second.passed


def test_an_unreadable_earlier_run_is_set_aside_not_overwritten(shop, capsys):
    config, suite, _, _ = shop
    kept = suite.with_name("suite.last-run.json")
    kept.write_text('{"meta": ', encoding="utf-8")
    _, out = run_suite(config, suite, capsys)
    assert "cannot be read" in out and "suite.last-run.json.unreadable" in out
    assert suite.with_name("suite.last-run.json.unreadable").read_text(encoding="utf-8") == '{"meta": '
    assert json.loads(kept.read_text(encoding="utf-8"))["results"]  # this run is the new reference
