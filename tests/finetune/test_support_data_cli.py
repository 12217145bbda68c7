"""`python -m finetune support-data` given the wrong paths or files: one line, the earlier pairs kept."""

from __future__ import annotations

import pytest

from assistant.cli_support import run_cli
from assistant.errors import InputError
from finetune import support_data
from finetune.__main__ import main
from tests.conftest import REPO

SHOP = {"en": "Test Shop", "zh": "测试店"}
PRODUCTS = REPO / "knowledge_base" / "demo" / "products"


@pytest.fixture
def no_build(monkeypatch):
    """Checks of the paths must come before the documents are read (and the pairs built)."""
    calls = []
    monkeypatch.setattr(support_data, "build", lambda *a, **k: calls.append(a) or pytest.fail("built anyway"))
    return calls


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_output_that_is_a_folder(tmp_path, no_build, capsys):
    assert run_cli(main, ["support-data", "--output", str(tmp_path)]) == 2
    assert "takes a file name" in one_line(capsys)


def test_heldout_output_must_not_replace_the_training_pairs(tmp_path, no_build, capsys):
    out = str(tmp_path / "pairs.jsonl")
    assert run_cli(main, ["support-data", "--output", out, "--heldout-output", out]) == 2
    assert "--heldout-output must differ from --output" in one_line(capsys)


def test_output_must_not_replace_a_questions_file(tmp_path, no_build, capsys):
    questions = tmp_path / "q.yaml"
    questions.write_text("- question: hi\n", encoding="utf-8")
    assert run_cli(main, ["support-data", "--output", str(questions), "--questions", str(questions)]) == 2
    assert "is a --questions file" in one_line(capsys)
    assert questions.read_text(encoding="utf-8") == "- question: hi\n"


def test_kb_folder_is_relative_to_the_current_folder(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(support_data, "build", lambda folders, *a, **k: seen.append(folders) or support_data.BuildReport())
    (tmp_path / "kb").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["support-data", "--kb-folder", "kb", "--output", "pairs.jsonl"]) == 0
    assert [f.resolve() for f in seen[0]] == [(tmp_path / "kb").resolve()]


@pytest.mark.parametrize("text,expect", [
    (b"- question: [unclosed\n", "not valid YAML at line 1"),
    ("- question: 退货要多久？\n".encode("gbk"), "iconv -f GBK"),
    (b"- just a string\n", "question 1 must be a mapping"),
    (b"- question: hi\n  evidence: one sentence, not a list\n", "'evidence' list of texts"),
])
def test_bad_questions_file_is_one_line(tmp_path, text, expect):
    path = tmp_path / "q.yaml"
    path.write_bytes(text)
    with pytest.raises(InputError, match=expect):
        support_data.load_questions(path)


def test_nothing_left_to_train_on_is_refused_and_keeps_the_old_file(tmp_path):
    out, held = tmp_path / "pairs.jsonl", tmp_path / "held.jsonl"
    out.write_text("earlier pairs\n", encoding="utf-8")
    with pytest.raises(InputError, match="no training pairs left"):
        support_data.build([PRODUCTS], out, SHOP, heldout_output=held, heldout_fraction=1.0)
    assert out.read_text(encoding="utf-8") == "earlier pairs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl"]


def test_an_interrupted_build_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "pairs.jsonl"
    out.write_text("earlier pairs\n", encoding="utf-8")
    real, done = support_data.render, []

    def render(*a, **k):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(1)
        return real(*a, **k)

    monkeypatch.setattr(support_data, "render", render)
    with pytest.raises(KeyboardInterrupt):
        support_data.build([PRODUCTS], out, SHOP)
    assert out.read_text(encoding="utf-8") == "earlier pairs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl"]
