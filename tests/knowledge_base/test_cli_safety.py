"""What the CLI must never do: empty a collection on a missing folder, rewrite every shop's thresholds, leave
a store behind a mistyped --db, print a traceback, or sit silent for minutes on one big file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from assistant.cli_support import run_cli
from assistant.errors import InputError
from knowledge_base import KnowledgeBase, KnowledgeBaseConfig
from knowledge_base.__main__ import main
from knowledge_base.chunking import chunk_text
from knowledge_base.thresholds import CALIBRATION_FILE

from .conftest import write

FAKE = {"ASSISTANT_KNOWLEDGE_BASE__EMBEDDER": "fake", "ASSISTANT_LLM__BACKEND": "fake"}
LABELLED = ("question,label\nHow can I delete my account?,f1\nDo you take Alipay?,f2\n"
            "Can I pay by Alipay please?,f2\nWhat is the capital of France?,none\nWho won the cup in 1998?,none\n")


@pytest.fixture
def fake_env(monkeypatch):
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def faq_store(tmp_path, fake_env):
    """A small FAQ collection on the fake embedder: (tmp_path, ["--db", DB, "--collection", "faqs"])."""
    faq = write(tmp_path / "faq.csv", "id,question,answer\nf1,How do I delete my account?,Settings > Privacy.\n"
                                      "f2,Can I pay with Alipay?,Yes we accept Alipay.\n")
    store = ["--db", str(tmp_path / "db"), "--collection", "faqs"]
    assert main(["ingest", str(faq), *store]) == 0
    return tmp_path, store


def one_line_error(argv, capsys) -> str:
    capsys.readouterr()
    assert run_cli(main, argv) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


# --- 1. sync on a folder that is not there -------------------------------------------------------------------
def test_sync_refuses_a_missing_or_emptied_root_and_removes_nothing(tmp_path, fake_env, capsys):
    docs = tmp_path / "docs"
    write(docs / "a.md", "# A\nShipping takes three days.")
    write(docs / "b.txt", "Returns within thirty days.")
    store = ["--db", str(tmp_path / "db"), "--collection", "small"]
    assert main(["ingest", str(docs), *store]) == 0
    docs.rename(tmp_path / "moved")  # the folder moved away, or the drive unmounted
    err = one_line_error(["sync", str(docs), *store], capsys)
    assert "no such file or folder" in err and "nothing was changed" in err
    docs.mkdir()  # an empty mount point
    assert "holds no file to ingest" in one_line_error(["sync", str(docs), *store], capsys)
    assert main(["stats", *store]) == 0 and json.loads(capsys.readouterr().out)["chunks"] == 2
    fresh = tmp_path / "fresh_db"
    assert "nothing was changed" in one_line_error(["sync", str(tmp_path / "absent"), "--db", str(fresh)], capsys)
    assert not fresh.exists()  # no new empty store either


def test_sync_still_removes_a_deleted_file(make_kb, tmp_path):
    write(tmp_path / "docs" / "keep.md", "Keep this page.")
    gone = write(tmp_path / "docs" / "gone.md", "This page goes.")
    kb = make_kb()
    kb.ingest([tmp_path / "docs"], progress=False)
    gone.unlink()
    assert kb.sync([tmp_path / "docs"], progress=False).chunks_removed == 1
    with pytest.raises(InputError, match="no such file or folder"):
        kb.sync([tmp_path / "docs", tmp_path / "absent"], progress=False)
    assert kb.store.count() == 1


# --- 2. calibrate ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("query,id\nhello,f1\n", "missing column(s) question, label"),
    ("question,label\n", "no labelled questions"),
    ("question,label\nHow do I delete my account?,\n", "has no label"),
    ("question,label\nHow do I delete my account?,f1\n", "label some questions 'none'"),
])
def test_calibrate_refuses_csvs_it_cannot_measure_anything_on(faq_store, capsys, text, expected):
    tmp_path, store = faq_store
    bad = write(tmp_path / "bad.csv", text)
    err = one_line_error(["calibrate", str(bad), "--write", *store], capsys)
    assert expected in err
    assert not (tmp_path / "db" / "calibration.json").exists()


def test_calibrate_refuses_questions_about_another_knowledge_base(faq_store, capsys):
    tmp_path, store = faq_store
    # no CSV: the demo shop's questions, on a collection that is not the demo's
    assert "does not hold the demo shop" in one_line_error(["calibrate", "--write", *store], capsys)
    other = write(tmp_path / "other.csv", "question,label\nWhen are you open?,en-hours\nHi?,none\n")
    assert "none of its 1 FAQ row ids" in one_line_error(["calibrate", str(other), *store], capsys)


def test_calibrate_on_the_demo_says_which_questions_it_used(demo_kb, fake_env, capsys):
    capsys.readouterr()
    assert main(["calibrate", "--db", demo_kb.cfg.db_path, "--collection", demo_kb.cfg.collection]) == 0
    out, err = capsys.readouterr()
    assert "calibration_questions.csv" in err and json.loads(out)["questions"] == 71


def test_calibrate_write_stores_the_shops_thresholds_not_the_shipped_ones(faq_store, capsys):
    tmp_path, store = faq_store
    shipped = CALIBRATION_FILE.read_bytes()
    data = write(tmp_path / "labelled.csv", LABELLED)
    capsys.readouterr()
    assert main(["calibrate", str(data), "--write", *store]) == 0
    out = capsys.readouterr().out
    own = tmp_path / "db" / "calibration.json"
    assert f"written to {own}" in out
    assert CALIBRATION_FILE.read_bytes() == shipped
    entry = json.loads(own.read_text(encoding="utf-8"))["faqs"]["fake"]
    assert entry["questions"] == 5

    def kb(collection):
        cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection=collection, embedder="fake")
        return KnowledgeBase.from_config(cfg)

    shop = kb("faqs")  # the runtime reads the shop's file first
    assert (shop.abstain_threshold, shop.faq_threshold) == (entry["abstain"], entry["faq"])
    assert shop.stats()["calibration"] == str(own)
    other = kb("another")  # a collection with no thresholds of its own keeps the defaults
    assert (other.abstain_threshold, other.faq_threshold) == (0.0, 1.01)


# --- 3. one-line errors, not tracebacks ------------------------------------------------------------------------
def test_missing_csv_and_bad_output_paths_are_one_line(faq_store, capsys):
    tmp_path, store = faq_store
    assert "nope.csv: no such file" in one_line_error(["calibrate", str(tmp_path / "nope.csv"), *store], capsys)
    queries = write(tmp_path / "q.csv", "query\nAlipay\n")
    folder = tmp_path / "somefolder"
    folder.mkdir()
    err = one_line_error(["search", "--queries", str(queries), "--output", str(folder), *store], capsys)
    assert "is a folder" in err
    nested = tmp_path / "nodir" / "x" / "out.jsonl"  # missing folders are created
    assert main(["search", "--queries", str(queries), "--output", str(nested), *store]) == 0
    assert json.loads(nested.read_text(encoding="utf-8"))["query"] == "Alipay"


# --- 4. big files ---------------------------------------------------------------------------------------------
def test_one_huge_line_is_cut_into_every_piece_in_order():
    # No newline, no sentence end, no space: all hard cuts (stepped by index; cutting the rest off after each
    # piece copied it each time, about a minute for 16 MB).
    text = "".join(chr(0x4E00 + i % 2000) for i in range(2_000_000))
    chunks = chunk_text(text, 600, 80)
    assert len(chunks) == 3334 and "".join(chunks) == text


def test_a_large_file_shows_progress_over_its_chunks(make_kb, tmp_path, monkeypatch):
    import tqdm

    bars = []
    real = tqdm.tqdm

    def recording(*args, **kwargs):
        bars.append(kwargs)
        return real(*args, **{**kwargs, "disable": True})

    monkeypatch.setattr(tqdm, "tqdm", recording)
    big = write(tmp_path / "big.txt", "lorem ipsum dolor sit amet " * 4000)  # ~108k characters on one line
    kb = make_kb(batch_size=16)
    report = kb.ingest([big], progress=True)
    chunked = [b for b in bars if b.get("unit") == "chunk"]
    assert len(chunked) == 1 and chunked[0]["total"] == report.chunks_added > 16
    assert chunked[0]["disable"] is not True  # shown on a terminal


# --- 5. read-only commands create nothing ------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["search", "hello"], ["list"], ["stats"], ["ask", "hello?"],
                                  ["eval", "{q}"], ["calibrate", "{labelled}"], ["delete", "--all"]])
def test_commands_that_read_need_an_existing_store_and_create_none(tmp_path, fake_env, capsys, argv):
    files = {"q": write(tmp_path / "q.csv", "query,id\nhello,f1\n"), "labelled": write(tmp_path / "l.csv", LABELLED)}
    argv = [a.format(**files) for a in argv]
    for db in (tmp_path / "kbdb_new", tmp_path / "plain"):
        (tmp_path / "plain").mkdir(exist_ok=True)
        err = one_line_error([*argv, "--db", str(db), "--collection", "shop"], capsys)
        assert f"no knowledge base at {db}" in err
    assert not (tmp_path / "kbdb_new").exists() and not any((tmp_path / "plain").iterdir())


# --- 6. no Chroma warning on reopening a collection ------------------------------------------------------------
def test_reopening_a_collection_warns_nothing(tmp_path, fake_embedder):
    cfg = KnowledgeBaseConfig(db_path=str(tmp_path / "db"), collection="warn")
    write(tmp_path / "a.md", "# A\nFirst page.")
    write(tmp_path / "b.md", "# B\nSecond page.")
    KnowledgeBase.from_config(cfg, fake_embedder).ingest([tmp_path / "a.md"], progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kb = KnowledgeBase.from_config(cfg, fake_embedder)  # a new store object: Chroma reads the stored schema
        assert kb.ingest([tmp_path / "b.md"], progress=False).chunks_added == 1
        kb.search("second page")
    assert not [w for w in caught if "reconstruct embedding function" in str(w.message)]
    assert Path(cfg.db_path, "chroma.sqlite3").is_file()


def test_a_sync_in_another_process_is_seen_by_the_running_app_even_when_the_chunk_count_stays(tmp_path, fake_env):
    """The app keeps a vector index and BM25 in memory: a `sync` run in a terminal that replaced one chunk by
    another (same count) made every search fail or return the deleted passage until a restart."""
    from tests.conftest import run_module

    docs = write(tmp_path / "docs" / "hours.md", "# Hours\n\nWe are open on Sundays from 10 to 16.\n").parent
    cfg = KnowledgeBaseConfig(embedder="fake", db_path=str(tmp_path / "db"), collection="hours")
    kb = KnowledgeBase.from_config(cfg)
    kb.ingest([docs], progress=False)
    assert "open on Sundays" in kb.search("Sundays")[0].text
    write(docs / "hours.md", "# Hours\n\nWe are closed on Sundays; open Monday to Saturday.\n")
    done = run_module("knowledge_base", "sync", str(docs), "--db", str(tmp_path / "db"), "--collection", "hours",
                      env=FAKE)
    assert done.returncode == 0, done.stderr
    hits = kb.search("Sundays")
    assert [h.text for h in hits] and all("open on Sundays" not in h.text for h in hits)
    assert "closed on Sundays" in hits[0].text


def test_calibration_never_picks_an_faq_threshold_that_answers_a_question_labelled_wrong_verbatim():
    from knowledge_base.evaluate import strict_threshold

    assert strict_threshold([0.9, 0.95], [0.5, 0.8]) == pytest.approx(0.85)
    # the wrong match outscores every right one: nothing verbatim, not the balanced-accuracy cut (0.5)
    t = strict_threshold([0.3, 0.45], [0.2, 0.6])
    assert t > 0.6 and not any(s >= t for s in (0.2, 0.6))


def test_a_search_without_results_prints_no_table_header(faq_store, capsys):
    _, store = faq_store
    assert main(["search", "Alipay", "--filter", "lang=fr", *store]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "no results"
