"""What ingest says about a table or folder it could only partly read: the cause in one line, never silence."""

from __future__ import annotations

import pytest

from assistant.errors import IngestError
from knowledge_base.__main__ import main
from knowledge_base.config import KnowledgeBaseConfig
from knowledge_base.ingest import build_chunks
from knowledge_base.loaders import TableOptions

from .conftest import write

CFG = KnowledgeBaseConfig()
FAKE = {"ASSISTANT_KNOWLEDGE_BASE__EMBEDDER": "fake", "ASSISTANT_LLM__BACKEND": "fake"}
HALF_FILLED = "id,question,answer\nq1,Do you ship abroad?,No.\nq2,,Yes.\nq3,Gift wrap?,\n"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """cli(command, *paths) -> (exit code, stdout, stderr) of the KB CLI on the fake embedder."""
    for key, value in FAKE.items():
        monkeypatch.setenv(key, value)

    def run(command, *paths, capsys):
        rc = main([command, *map(str, paths), "--db", str(tmp_path / "db"), "--collection", "msgs"])
        out = capsys.readouterr()
        return rc, out.out, out.err
    return run


def test_a_table_with_only_a_header_says_so(tmp_path):
    p = write(tmp_path / "faq.csv", "id,question,answer\n\n")
    with pytest.raises(IngestError) as info:
        build_chunks(p, CFG, TableOptions())
    assert str(info.value) == f"{p}: the table has a header (id, question, answer) but no rows"


def test_a_stray_quote_names_its_line_and_the_rest_of_the_batch_goes_in(make_kb, tmp_path):
    docs = tmp_path / "docs"
    bad = write(docs / "faq.csv", 'id,question,answer\nq1,Do you ship abroad?,No.\nq2,"Gift wrap?,Yes.\n'
                                  "q3,Returns?,30 days.\n")
    write(docs / "good.md", "# Warranty\nTwo years on furniture.")
    with pytest.raises(IngestError, match=r"faq\.csv line 3: malformed CSV .*unbalanced \" quote"):
        build_chunks(bad, CFG, TableOptions())
    report = make_kb().ingest([docs], progress=False)
    (error,) = report.errors
    assert error.error.startswith(f"{bad} line 3: malformed CSV") and "\n" not in error.error
    assert [f.status for f in report.files if f is not error] == ["added"]


def test_quoted_fields_of_a_good_table_read_as_before(tmp_path):
    p = write(tmp_path / "faq.csv", 'id,question,answer\nq1,"Sizes, colours?","S, M and L; the ""Oat"" one"\n'
                                    'q2,"Two\nlines?",Yes.\n')
    rows = [c.metadata for c in build_chunks(p, CFG, TableOptions())]
    assert [m["row_id"] for m in rows] == ["q1", "q2"]
    assert build_chunks(p, CFG, TableOptions())[0].text.count('"Oat"') == 1


def test_rows_without_a_question_or_answer_are_named(make_kb, tmp_path):
    p = write(tmp_path / "faq.csv", HALF_FILLED)
    kb = make_kb()
    for status in ("added", "unchanged"):  # still missing on the next run: still said
        report = kb.ingest([p], progress=False)
        assert report.ok and [f.status for f in report.files] == [status]
        assert report.files[0].notes == [f"{p}: skipped rows 3, 4 (no question or no answer)"]
        assert report.summary().endswith(f"; {p}: skipped rows 3, 4 (no question or no answer)")
    assert kb.store.count() == 1


def test_the_cli_summary_names_skipped_rows_and_exits_zero(cli, tmp_path, capsys):
    p = write(tmp_path / "faq.csv", "question,answer\nQ1,A1\n\n,A3\n")
    rc, out, err = cli("ingest", p, capsys=capsys)
    assert rc == 0 and err == ""
    assert out.strip().endswith("faq.csv: skipped row 4 (no question or no answer)")  # the file's own row number


def folder_with_junk(root):
    write(root / "a.md", "# Hours\nOpen 9 to 5.")
    write(root / "sub" / "c.bin", "payload")
    for junk in (".DS_Store", "Thumbs.db", "desktop.ini", "~$Guide.docx", "a.md~", ".drafts/x.md"):
        write(root / junk, "junk")
    return root


@pytest.mark.parametrize("command", ["ingest", "sync"])
def test_a_folder_names_files_of_other_types_in_one_line_and_junk_not_at_all(cli, tmp_path, capsys, command):
    docs = folder_with_junk(tmp_path / "docs")
    rc, out, err = cli(command, docs, capsys=capsys)
    assert rc == 0 and err == ""
    assert out.splitlines()[-1].startswith("1 file(s): 1 added;")
    assert out.strip().endswith(f"; {docs}: skipped 1 file of an unsupported type: sub/c.bin")
    for junk in ("DS_Store", "Thumbs", "desktop", "Guide", "a.md~", "drafts"):
        assert junk not in out


def test_many_skipped_files_stay_one_line(make_kb, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "a.md", "# Hours\nOpen 9 to 5.")
    for i in range(7):
        write(docs / f"img{i}.png", "png")
    (note,) = make_kb().ingest([docs], progress=False).notes
    assert note == f"{docs}: skipped 7 files of an unsupported type: img0.png, img1.png, img2.png, img3.png, " \
                   "img4.png and 2 more"


def test_an_unquoted_comma_in_an_answer_keeps_the_whole_answer_and_says_so(make_kb, tmp_path):
    p = write(tmp_path / "faq.csv", "id,question,answer,lang\nq1,Can I change my order?,Yes before it ships. Once it has"
                                    " shipped, it cannot be changed.,en\nq2,Filter life?,Up to 1,500 L.,en\n"
                                    "q3,Do you ship abroad?,No.,en,,\n")
    kb = make_kb()
    report = kb.ingest([p], progress=False)
    assert report.ok and kb.store.count() == 3
    rows = [c.metadata for c in build_chunks(p, CFG, TableOptions())]
    # the answer column gets the extra cells back, with the comma as written; the language column stays itself
    assert rows[0]["answer"] == "Yes before it ships. Once it has shipped, it cannot be changed."
    assert rows[1]["answer"] == "Up to 1,500 L." and rows[0]["lang"] == rows[1]["lang"] == "en"
    assert rows[2]["answer"] == "No."  # empty cells after the last column are no overflow
    assert report.files[0].notes == [f"{p}: rows 2, 3 had more cells than the header (an unquoted comma?); the "
                                     "extra text was kept in the answer column, 'answer': check it, or put such a "
                                     "cell in double quotes"]


def test_rows_answering_one_question_differently_are_named(make_kb, tmp_path):
    # A row added with the new answer while the old one stayed: which one a customer got was down to the ranking
    p = write(tmp_path / "faq.csv", "id,question,answer\nq1,Do you ship abroad?,No.\nq2,Gift wrap?,Yes.\n"
                                    "q3,Gift wrap?,Yes.\nq4,do you ship abroad,Yes: to Hong Kong and Macau.\n")
    report = make_kb().ingest([p], progress=False)
    assert report.ok and report.chunks_added == 4
    # q2 and q3 say the same: no conflict to name
    assert report.files[0].notes == [f"{p}: rows 2, 5 ask the same question ('Do you ship abroad?') with different "
                                     "answers: a customer gets one of them; keep one"]
