"""Output options of `python -m assistant.insights` and `python -m assistant test-suite`: missing folders are
created, a file given where a folder is expected (or the reverse) is one line naming the option, never a
traceback, and it is said before any work is done."""

from __future__ import annotations

import argparse
import json

import pytest

from assistant.errors import InputError
from assistant.insights.__main__ import check_outputs
from assistant.outputs import output_file, output_folder
from tests.assistant.insights.conftest import ask
from tests.conftest import run_module


def test_output_file_creates_its_folder_and_refuses_a_folder(tmp_path):
    path = output_file(tmp_path / "no" / "such" / "g.csv", "--csv", "gaps.csv")
    assert path.parent.is_dir() and not path.exists()
    with pytest.raises(InputError, match=r"--csv takes a file name \(e.g. gaps.csv\), but .* is a folder"):
        output_file(tmp_path, "--csv", "gaps.csv")
    with pytest.raises(InputError, match="not a folder"):
        output_file(f"{tmp_path}/new/", "--csv")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InputError, match=r"cannot write .*plain/g.csv: .*plain is a file, not a folder"):
        output_file(tmp_path / "plain" / "g.csv", "--csv")


def test_output_folder_is_created_and_a_file_is_refused(tmp_path):
    assert output_folder(tmp_path / "a" / "b", "--plots").is_dir()
    (tmp_path / "plain").write_text("mine")
    with pytest.raises(InputError, match=r"--plots takes a folder \(it writes several files into it\), but"):
        output_folder(tmp_path / "plain", "--plots")
    assert (tmp_path / "plain").read_text() == "mine"


def test_gaps_csv_into_a_folder_that_does_not_exist_yet(runtime, tmp_path, capsys):
    from assistant.insights.__main__ import _gaps

    ask(runtime, "Do you sell gift cards?")
    args = argparse.Namespace(command="gaps", top=5, csv=str(tmp_path / "nodir2" / "g.csv"))
    check_outputs(args)
    assert _gaps(runtime, args) == 0
    assert "Do you sell gift cards?" in (tmp_path / "nodir2" / "g.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("argv, message", [
    (["usage", "--csv", "{tmp}/file.csv"], "--csv takes a folder"),
    (["outcomes", "--plots", "{tmp}/file.csv"], "--plots takes a folder"),
    (["outcomes", "--csv", "{tmp}/file.csv/sub"], "file.csv is a file, not a folder"),
    (["gaps", "--csv", "{tmp}"], "--csv takes a file name"),
    (["faq-check", "--csv", "{tmp}/file.csv/x.csv"], "file.csv is a file, not a folder"),
])
def test_cli_output_mix_ups_are_one_line(tmp_path, argv, message):
    (tmp_path / "file.csv").write_text("keep me", encoding="utf-8")
    r = run_module("assistant.insights", *[a.replace("{tmp}", str(tmp_path)) for a in argv],
                   env={"ASSISTANT_LLM__BACKEND": "fake", "ASSISTANT_STORAGE__URL": f"sqlite:///{tmp_path}/s.db",
                        "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().count("\n") == 0 and message in r.stderr, r.stderr
    assert (tmp_path / "file.csv").read_text(encoding="utf-8") == "keep me"


def test_outcomes_writes_into_new_nested_folders(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "s.db").close()  # an app that has started once (the report creates no store)
    # and has ingested nothing yet: the document plot is empty, the report still runs
    r = run_module("assistant.insights", "outcomes", "--csv", str(tmp_path / "a" / "b"), "--plots",
                   str(tmp_path / "p" / "q"), env={"ASSISTANT_LLM__BACKEND": "fake", "HF_HUB_OFFLINE": "1",
                                                  "ASSISTANT_STORAGE__URL": f"sqlite:///{tmp_path}/s.db",
                                                  "ASSISTANT_KNOWLEDGE_BASE__DB_PATH": str(tmp_path / "kb")},
                   timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "a" / "b" / "outcomes_by_day.csv").exists()
    assert (tmp_path / "p" / "q" / "csat_trend.png").exists()
    assert (tmp_path / "p" / "q" / "document_usage.png").exists()


def test_suite_output_that_is_a_folder_is_refused_before_the_run(tmp_path):
    from assistant.insights.suite import run_file

    suite = tmp_path / "suite.yaml"
    suite.write_text("conversations:\n  - id: a\n    turns: [hello]\n", encoding="utf-8")
    with pytest.raises(InputError, match="--output takes a file name"):
        run_file(None, suite, tmp_path)  # no settings needed: nothing runs
    (tmp_path / "suite.last-run.json").mkdir()
    with pytest.raises(InputError, match="the run file beside the suite .* is a folder"):
        run_file(None, suite)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InputError, match="plain is a file, not a folder"):
        run_file(None, suite, tmp_path / "plain" / "run.json")


def test_replace_text_swaps_the_whole_file_or_leaves_the_old_one(tmp_path, monkeypatch):
    import os

    import pytest

    from assistant.outputs import replace_text

    target = tmp_path / "registry.json"
    replace_text(target, "old")
    replace_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        replace_text(target, "half")
    assert target.read_text(encoding="utf-8") == "new" and [p.name for p in tmp_path.iterdir()] == ["registry.json"]


def test_a_report_on_a_store_that_is_not_there_says_so_and_creates_none(tmp_path):
    env = {"ASSISTANT_LLM__BACKEND": "fake", "HF_HUB_OFFLINE": "1",
           "ASSISTANT_STORAGE__URL": f"sqlite:///{tmp_path}/typo/x.db",
           "ASSISTANT_KNOWLEDGE_BASE__EMBEDDER": "fake", "ASSISTANT_KNOWLEDGE_BASE__DB_PATH": str(tmp_path / "kb")}
    r = run_module("assistant.insights", "outcomes", "--csv", str(tmp_path / "out"), env=env, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "no store at" in r.stderr and "check storage.url" in r.stderr
    assert not (tmp_path / "typo").exists() and not (tmp_path / "out").exists()  # nothing left behind
    # the FAQ check reads the knowledge base alone: a shop that has not chatted yet can run it
    r = run_module("assistant.insights", "faq-check", env=env, timeout=120)
    assert "no store at" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


def test_reports_read_the_knowledge_base_as_it_is(tmp_path):
    """The app's start ingests the demo shop and the contact rows; a report's runtime does neither, so documents
    an admin deleted do not come back because someone looked at the gap report."""
    from assistant.config import load_config
    from assistant.runtime import Runtime

    settings = load_config(env={}, overrides={
        "llm": {"backend": "fake"}, "app": {"ingest_demo_kb": True},
        "knowledge_base": {"embedder": "fake", "db_path": str(tmp_path / "kb")},
        "storage": {"url": f"sqlite:///{tmp_path}/s.db"}})
    from assistant.errors import NotFoundError

    with pytest.raises(NotFoundError, match="collection 'shop' not found"):  # nothing ingested by looking
        Runtime(settings, sync_kb=False).kb.store.count()
    assert Runtime(settings).kb.store.count() > 0  # the app's own start does ingest the demo shop
    deleted = Runtime(settings, sync_kb=False).kb
    source = next(meta["source"] for _, _, meta in deleted.store.iter_all(documents=False))
    before = deleted.store.count()
    deleted.delete(sources=[source])
    assert Runtime(settings, sync_kb=False).kb.store.count() < before  # a report does not bring it back


def test_a_record_the_report_cannot_read_is_one_line(tmp_path):
    import sqlite3

    import assistant.insights.records  # noqa: F401 - its table joins the store's tables
    from assistant.config import load_config
    from assistant.runtime import Runtime

    db = tmp_path / "s.db"
    settings = load_config(env={}, overrides={"llm": {"backend": "fake"}, "storage": {"url": f"sqlite:///{db}"}})
    assert Runtime(settings).storage_engine is not None  # the tables, as the app creates them
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO insights_turns (time, session_id, message, channel, language, intent, action, "
                    "handoff, question, searched, answer, cited) "
                    "VALUES ('2026-13-45 99:99:99', 's', 0, 'widget', 'en', '', 'decline', 0, 'q', '', 'a', '[]')")
    r = run_module("assistant.insights", "outcomes", env={"ASSISTANT_LLM__BACKEND": "fake", "HF_HUB_OFFLINE": "1",
                                                          "ASSISTANT_STORAGE__URL": f"sqlite:///{db}"}, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "the store holds a record the report cannot read" in r.stderr


def test_a_turn_records_what_its_lookup_worked_from_when_it_is_answered(runtime):
    """Not worked out later by searching the question again: a several-question message is looked up part by
    part, and a question answered from its translation ends with the translation's lookup."""
    import pandas as pd

    from tests.assistant.insights.conftest import ask

    reply, _ = ask(runtime, "How much does shipping cost?")
    turns = pd.read_sql("SELECT retrieved FROM insights_turns", runtime.storage_engine)
    assert reply.retrieved and json.loads(turns.retrieved.iloc[-1]) == reply.retrieved


def test_outcomes_plots_are_the_four_the_docs_list(runtime, tmp_path):
    from assistant.insights.__main__ import _outcomes

    ask(runtime, "How much does shipping cost?")
    args = argparse.Namespace(command="outcomes", csv=None, plots=str(tmp_path / "plots"))
    check_outputs(args)
    assert _outcomes(runtime, args) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "csat_trend.png", "document_usage.png", "outcomes_by_day.png", "outcomes_by_intent.png"]
