import pytest

from tests.conftest import run_module

# The CLI tests exercise the CLI itself: the plain LLM path, without classifiers and knowledge base.
PLAIN = {"ASSISTANT_CHAT__USE_ROUTER": "false", "ASSISTANT_CHAT__USE_KNOWLEDGE_BASE": "false",
         "ASSISTANT_CHAT__USE_GUARDRAILS": "false", "ASSISTANT_CHAT__USE_HANDOFF": "false"}


@pytest.mark.parametrize("args", [["--help"], ["chat", "--help"], ["config", "--help"], ["config", "show", "--help"],
                                  ["models", "--help"]])
def test_help(args):
    r = run_module("assistant", *args)
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout


def test_help_lists_every_subcommand():
    out = run_module("assistant", "--help").stdout
    for cmd in ("chat", "config", "models"):
        assert cmd in out


def test_chat_with_fake_backend_prints_the_answer():
    r = run_module("assistant", "chat", "hello", env={**PLAIN, "ASSISTANT_LLM__BACKEND": "fake",
                                                       "ASSISTANT_LLM__FAKE_REPLIES": "[We open at 9.]"})
    assert r.returncode == 0, r.stderr
    assert "We open at 9." in r.stdout


def test_chat_empty_message_is_one_line_error():
    r = run_module("assistant", "chat", "   ", "--backend", "fake")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("InputError: the message is empty")  # in English
    assert "Traceback" not in r.stderr


def test_chat_missing_model_is_one_line_error(tmp_path):
    r = run_module("assistant", "chat", "hi", "--model", str(tmp_path / "missing.gguf"))
    assert r.returncode == 3
    assert r.stderr.strip().splitlines()[-1].startswith("ModelLoadError:")


def test_interactive_chat_reads_lines_until_empty():
    r = run_module("assistant", "chat", "--backend", "fake", input="first\nsecond\n\n", env=PLAIN)
    assert r.returncode == 0, r.stderr
    assert "fake answer to: first" in r.stdout and "fake answer to: second" in r.stdout


def test_working_counts_seconds_on_a_terminal_and_says_it_once_elsewhere():
    import io
    import time

    from assistant.cli_support import working

    piped = io.StringIO()
    with working("writing 5 variants", piped):
        time.sleep(0.05)
    assert piped.getvalue() == "writing 5 variants ...\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    with working("loading the models", tty):
        time.sleep(1.3)
    assert "loading the models ... 00:01" in tty.getvalue()  # refreshed while the work ran


def test_forget_deletes_one_conversation_everywhere_and_nothing_else(tmp_path, monkeypatch, capsys):
    """A customer's request to delete their data: named by a ticket the agent sees, counted first, deleted with
    --yes; the other conversation stays."""
    from sqlalchemy import func, select, table

    from assistant.__main__ import main
    from assistant.handoff import HandoffQueue
    from assistant.storage import ensure_tables, get_engine, session_factory, utc_now
    from assistant.web.events import VoteRow

    url = f"sqlite:///{tmp_path}/a.db"
    engine = get_engine(url=url)
    ensure_tables(engine)
    queue = HandoffQueue(engine)
    mine = queue.create_ticket("sess-mine", [{"role": "user", "content": "I'm Li Wei, where is my sofa?"}])
    other = queue.create_ticket("sess-other", [{"role": "user", "content": "Do you ship to Lisbon?"}])
    with session_factory(engine).begin() as s:
        s.add_all([VoteRow(session_id=sid, message=0, time=utc_now(), vote=1) for sid in ("sess-mine", "sess-other")])
    monkeypatch.setenv("ASSISTANT_STORAGE__URL", url)
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    assert main(["forget", "--ticket", str(mine.id)]) == 0
    assert "would delete conversation sess-min" in capsys.readouterr().out
    assert queue.get(mine.id).session_id == "sess-mine"  # only counted
    assert main(["forget", "--ticket", str(mine.id), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "deleted conversation" in out and "1 from handoff_tickets" in out and "1 from app_votes" in out
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table("handoff_tickets"))).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(table("app_votes"))).scalar_one() == 1
    assert queue.get(other.id).session_id == "sess-other"
    done = run_module("assistant", "forget", "--session", "no-such-conversation", env={"ASSISTANT_STORAGE__URL": url})
    assert done.returncode == 2 and "nothing is stored for conversation" in done.stderr


def test_forget_takes_the_conversations_phrasings_out_of_faq_proposals(tmp_path, monkeypatch, capsys):
    """A gap question a customer asked is quoted in the FAQ proposal built from it: forgetting the conversation
    takes that phrasing (and its turn) out of the proposal and leaves the other customer's."""
    import json
    from datetime import datetime

    from assistant.__main__ import main
    from assistant.insights.faq import ProposalRow
    from assistant.insights.records import TurnRow
    from assistant.storage import ensure_tables, get_engine, session_factory

    url = f"sqlite:///{tmp_path}/a.db"
    engine = get_engine(url=url)
    ensure_tables(engine)
    now = datetime(2026, 12, 1)
    with session_factory(engine).begin() as s:
        s.add_all([TurnRow(id=1, time=now, session_id="sess-mine", question="do you ship to my flat at 5 Elm Road?"),
                   TurnRow(id=2, time=now, session_id="sess-other", question="do you ship abroad?")])
        label = [{"lang": "en", "question": "Do you ship to my flat at 5 Elm Road?", "answer": "Yes, anywhere."}]
        s.add(ProposalRow(id=7, rows=json.dumps(label), turn_ids="[1, 2]", created_at=now, updated_at=now,
                          variants=json.dumps([
            {"lang": "en", "question": "do you ship to my flat at 5 Elm Road?", "turn_ids": [1], "keep": True},
            {"lang": "en", "question": "do you ship abroad?", "turn_ids": [2], "keep": True}])))
    monkeypatch.setenv("ASSISTANT_STORAGE__URL", url)
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "fake")
    assert main(["forget", "--session", "sess-mine"]) == 0
    assert "2 from insights_faq_proposals" in capsys.readouterr().out  # the phrasing and the FAQ question
    with session_factory(engine)() as s:
        assert len(json.loads(s.get(ProposalRow, 7).variants)) == 2  # only counted
    assert main(["forget", "--session", "sess-mine", "--yes"]) == 0
    with session_factory(engine)() as s:
        row = s.get(ProposalRow, 7)
        assert [v["question"] for v in json.loads(row.variants)] == ["do you ship abroad?"]
        assert json.loads(row.turn_ids) == [2]
        # the FAQ question quoted the customer word for word: blanked, and the reviewer told to write it again
        assert json.loads(row.rows)[0]["question"] == "" and json.loads(row.rows)[0]["answer"] == "Yes, anywhere."
        assert any("customer's request" in f for f in json.loads(row.flags))
