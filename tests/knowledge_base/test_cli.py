"""The CLI contract: names, flags and output formats that scripts outside the repo rely on."""

from __future__ import annotations

import json

import pytest

from assistant.errors import InputError
from knowledge_base.__main__ import build_parser, main
from tests.conftest import run_module

from .conftest import write

FAKE = {"ASSISTANT_KNOWLEDGE_BASE__EMBEDDER": "fake", "ASSISTANT_LLM__BACKEND": "fake"}
COMMANDS = ("ingest", "sync", "search", "ask", "list", "stats", "delete", "eval", "calibrate")


def test_help_as_a_user_runs_it():
    proc = run_module("knowledge_base", "--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert command in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0 and "--collection" in capsys.readouterr().out


@pytest.fixture
def faq_db(tmp_path, monkeypatch):
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)
    faq = write(tmp_path / "faq.csv", "faq_id,q,a\nf1,How do I delete my account?,Settings > Privacy.\n"
                                      "f2,Can I pay with Alipay?,Yes we accept Alipay.\n"
                                      "f3,退货期限是多久？,30天内可以退货。\n")
    db = str(tmp_path / "db")
    rc = main(["ingest", str(faq), "--db", db, "--collection", "faqs", "--id-column", "faq_id",
               "--question-column", "q", "--answer-column", "a"])
    assert rc == 0
    return tmp_path, db


def test_ingest_search_batch_eval_list_stats_delete(faq_db, capsys):
    tmp_path, db = faq_db
    store = ["--db", db, "--collection", "faqs"]
    capsys.readouterr()
    assert main(["search", "delete my account", "--k", "2", *store]) == 0
    table = capsys.readouterr().out
    assert "f1" in table.splitlines()[1]
    assert main(["search", "account", "--filter", "kind=faq", *store]) == 0 and "f1" in capsys.readouterr().out
    with pytest.raises(InputError, match=r"--filter: unknown key 'foo' \(one of: source, title, heading, kind, lang"):
        main(["search", "account", "--filter", "foo=bar", *store])  # it matched nothing, silently

    queries = write(tmp_path / "q.csv", "text,gold\nremove my account,f1\n支付宝可以吗 Alipay,f2\n退货多久,f3\n")
    out = tmp_path / "out.jsonl"
    assert main(["search", "--queries", str(queries), "--query-column", "text", "--output", str(out),
                 "--k", "2", *store]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["query"] for line in lines] == ["remove my account", "支付宝可以吗 Alipay", "退货多久"]
    first = lines[0]["results"][0]
    assert set(first) == {"id", "score", "source", "text"} and first["id"] == "f1"
    assert lines[2]["results"][0]["id"] == "f3"

    capsys.readouterr()
    assert main(["eval", str(queries), "--query-column", "text", "--id-column", "gold", "--k", "2", *store]) == 0
    report = capsys.readouterr().out
    assert "hybrid" in report and "bm25" in report and "vector" in report
    # a short row, a padded id, an id the collection lacks, a row without one: said, never a traceback or a 0
    odd = write(tmp_path / "odd.csv", "text,gold\nremove my account, f1 \n退货多久,nope\n只有问题,\nshort\n")
    assert main(["eval", str(odd), "--query-column", "text", "--id-column", "gold", "--k", "1", *store]) == 0
    out = capsys.readouterr()
    assert "not in collection" in out.err and "'nope'" in out.err and "without an expected id" in out.err
    hybrid = next(line for line in out.out.splitlines() if line.startswith("hybrid")).split()
    assert len(hybrid) == 3 and 0 <= float(hybrid[1]) <= 1  # hit@1 once, then MRR
    with pytest.raises(InputError, match="nothing to evaluate"):
        main(["eval", str(write(tmp_path / "none.csv", "text,gold\nhello,\n")), "--query-column", "text",
              "--id-column", "gold", *store])
    assert main(["list", *store]) == 0 and "faq.csv" in capsys.readouterr().out
    assert main(["stats", *store]) == 0 and json.loads(capsys.readouterr().out)["faq_rows"] == 3
    assert main(["delete", "--id", "f2", *store]) == 0 and "deleted 1 chunk" in capsys.readouterr().out
    assert main(["stats", *store]) == 0 and json.loads(capsys.readouterr().out)["chunks"] == 2


def test_ask_prints_answer_and_citations(faq_db, capsys, monkeypatch):
    _, db = faq_db
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_BASE__FAQ_THRESHOLD", "0.99")
    capsys.readouterr()
    assert main(["ask", "Can I pay with Alipay?", "--db", db, "--collection", "faqs"]) == 0
    out = capsys.readouterr().out
    assert "Yes we accept Alipay." in out and "FAQ answer" in out and "row f2" in out


def test_ask_gives_the_chats_second_reading_unless_told_not_to(faq_db, capsys, monkeypatch):
    """An agent testing a question sees what a customer would get: evidence the second reading turns down is
    declined, not answered."""
    from assistant.llm.fake import FakeBackend
    from assistant.runtime import Runtime
    from knowledge_base.second_reading import Verifier

    _, db = faq_db
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_BASE__FAQ_THRESHOLD", "2")  # read as evidence, not a verbatim FAQ row
    reader = FakeBackend(default="NO")
    monkeypatch.setattr(Runtime, "verifier", property(lambda self: Verifier(reader, "Does the TEXT answer it?")))
    store = ["--db", db, "--collection", "faqs"]
    capsys.readouterr()
    assert main(["ask", "Can I pay with Alipay?", *store]) == 0
    out = capsys.readouterr().out
    assert "declined" in out and "Yes we accept Alipay." not in out and reader.calls
    assert main(["ask", "Can I pay with Alipay?", "--no-second-reading", *store]) == 0
    assert "Yes we accept Alipay." in capsys.readouterr().out


def test_errors_are_one_line_and_non_zero(tmp_path, capsys, monkeypatch):
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)
    bad = write(tmp_path / "bad.csv", "x,y\n1,2\n")
    good = write(tmp_path / "good.md", "# Hi\nHello there.")
    proc = run_module("knowledge_base", "ingest", str(bad), str(good), "--db", str(tmp_path / "db"),
                      "--collection", "demo", env=FAKE)
    assert proc.returncode != 0
    assert "bad.csv: missing column(s) question, answer" in proc.stderr and "Traceback" not in proc.stderr
    assert "1 added" in proc.stdout  # the good file still went in

    from assistant.cli_support import run_cli

    capsys.readouterr()
    assert run_cli(main, ["search", "hello", "--db", str(tmp_path / "db"), "--collection", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "collection 'nope' not found" in err


def test_an_id_in_two_tables_is_deleted_only_where_the_source_says(faq_db, capsys, monkeypatch):
    from assistant.errors import InputError

    tmp_path, db = faq_db
    store = ["--db", db, "--collection", "faqs"]
    other = write(tmp_path / "more.csv", "faq_id,q,a\nf1,Do you ship abroad?,Only to Hong Kong.\n")
    assert main(["ingest", str(other), *store, "--id-column", "faq_id", "--question-column", "q",
                 "--answer-column", "a"]) == 0
    with pytest.raises(InputError, match=r"id 'f1' is in 2 documents .*add --source"):
        main(["delete", "--id", "f1", *store])
    capsys.readouterr()
    assert main(["list", *store]) == 0 and "more.csv" in capsys.readouterr().out  # nothing went
    assert main(["delete", "--id", "f1", "--source", str(other), *store]) == 0
    assert "deleted 1 chunk" in capsys.readouterr().out
    assert main(["stats", *store]) == 0 and json.loads(capsys.readouterr().out)["faq_rows"] == 3  # faq.csv's f1 stays


def test_delete_takes_the_path_as_it_was_ingested(faq_db, capsys, monkeypatch):
    from assistant.errors import NotFoundError

    tmp_path, db = faq_db
    store = ["--db", db, "--collection", "faqs"]
    monkeypatch.chdir(tmp_path)  # `ingest faq.csv` from here stored the absolute path
    with pytest.raises(NotFoundError, match="a source is named as `list` shows it"):
        main(["delete", "--source", "other.csv", *store])
    assert main(["delete", "--source", "faq.csv", *store]) == 0 and "deleted 3 chunk" in capsys.readouterr().out


def test_dropping_the_collection_needs_a_yes(faq_db, capsys, monkeypatch):
    from assistant.errors import InputError

    _, db = faq_db
    store = ["--db", db, "--collection", "faqs"]
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(InputError, match=r"--all drops collection 'faqs' \(3 chunks\): add --yes"):
        main(["delete", "--all", *store])
    # at a terminal: Ctrl-D (end of input) at the question is a no, not a traceback
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": (_ for _ in ()).throw(EOFError))
    assert main(["delete", "--all", *store]) == 1 and "nothing deleted" in capsys.readouterr().out
    assert main(["delete", "--all", "--yes", *store]) == 0 and "dropped collection 'faqs'" in capsys.readouterr().out


def test_calibration_labels_are_read_whatever_their_case(tmp_path):
    # "None" typed in a spreadsheet had been read as a FAQ row id, and the file refused as all answerable
    from knowledge_base.evaluate import read_labelled

    path = write(tmp_path / "l.csv", "question,label\nDo you sell bikes?,None\nHow long is delivery?,Answerable\n"
                                     "Can I pay by card?,f2\n")
    assert [label for _, label in read_labelled(path)] == ["none", "answerable", "f2"]
