"""`python -m assistant init DIR`: a new shop's folder that loads, ingests and speaks as that shop."""

import pytest

from assistant.__main__ import main


def test_init_writes_a_shop_folder_that_loads_and_ingests(tmp_path, capsys):
    from assistant.config import load_config
    from knowledge_base import KnowledgeBase
    from knowledge_base.embeddings import FakeEmbedder

    folder = tmp_path / "bikes"
    assert main(["init", str(folder), "--name", "Spoke & Chain", "--email", "help@spoke.example",
                 "--description", "an online bike shop"]) == 0
    assert "python app.py --config" in capsys.readouterr().out
    kinds = {p.suffix for p in (folder / "knowledge").rglob("*") if p.is_file()}
    assert {".csv", ".md", ".txt", ".html", ".docx", ".pdf", ".xlsx"} <= kinds  # one of every supported type
    settings = load_config(folder / "config.yaml", env={})
    assert settings.shop.name == {"en": "Spoke & Chain"} and settings.shop.contact_email == "help@spoke.example"
    assert str(folder) in settings.knowledge_base.db_path  # ${config_dir} resolved to the folder
    # The shop section replaced the demo's whole: nothing of it is inherited.
    assert "Aurora" not in str(settings.shop) and "aurorahome" not in str(settings.shop)
    kb = KnowledgeBase.from_config(settings.knowledge_base, FakeEmbedder())
    report = kb.ingest([settings.knowledge_base.demo_path], progress=False)
    assert not report.errors and len(report.files) == 7


def test_init_refuses_a_non_empty_folder_and_bad_details(tmp_path):
    from assistant.errors import ConfigError, InputError

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        main(["init", str(tmp_path / "x"), "--name", "A"])
    with pytest.raises(ConfigError, match="contact_email"):
        main(["init", str(tmp_path / "y"), "--name", "A", "--email", "not-an-email"])


def test_init_help():
    from tests.conftest import run_module

    done = run_module("assistant", "init", "--help")
    assert done.returncode == 0 and "--name" in done.stdout
