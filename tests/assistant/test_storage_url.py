"""The SQLite store lands where the config says, whatever characters the shop folder's path holds."""

import pytest
from sqlalchemy import text

from assistant.storage import get_engine, sqlite_path, sqlite_url

# "?" began the URL's query, "%20" was read as an escape (a space); "#" and a plain space are harmless to SQLAlchemy
# but are escaped or kept all the same.
AWKWARD = ["Tea? Shop", "sale%20now", "#1 Bikes", "My Shop", "云叶茶庄 100%"]


def _write_something(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
    engine.dispose()


@pytest.mark.parametrize("name", AWKWARD)
def test_an_init_shops_store_is_in_its_folder_whatever_the_folder_is_called(tmp_path, name):
    # storage.url is "sqlite:///${config_dir}/data/assistant.db": the folder was pasted in as is, so a shop in
    # ".../Tea? Shop" kept its conversations in a file ".../Tea" beside it
    from assistant.__main__ import main
    from assistant.config import load_config

    folder = tmp_path / name
    assert main(["init", str(folder), "--name", "X"]) == 0
    settings = load_config(folder / "config.yaml", env={})
    db = folder / "data" / "assistant.db"
    assert sqlite_path(settings.storage.effective_url) == str(db)  # what `insights` checks before a report
    _write_something(get_engine(settings.storage))
    assert db.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing written beside the folder


@pytest.mark.parametrize("name", AWKWARD)
def test_the_default_store_and_a_url_made_from_a_path_land_at_that_path(tmp_path, monkeypatch, name):
    from assistant.storage import StorageConfig

    root = tmp_path / name
    monkeypatch.setattr("assistant.config.REPO_ROOT", root)  # storage.url '' = data/assistant.db under the project
    _write_something(get_engine(StorageConfig()))
    assert (root / "data" / "assistant.db").is_file()
    elsewhere = tmp_path / name / "other place" / "x.db"
    assert sqlite_path(sqlite_url(elsewhere)) == str(elsewhere)
    _write_something(get_engine(url=sqlite_url(elsewhere)))
    assert elsewhere.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_sqlite_path_reads_urls_as_sqlalchemy_does():
    assert sqlite_path("sqlite:////srv/a%3Fb/x.db") == "/srv/a?b/x.db"
    assert sqlite_path("sqlite:///:memory:") is None and sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql+psycopg://u:p@h/db") is None
