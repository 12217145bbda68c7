"""kill -9 a writer mid-way, restart it: nothing acknowledged is lost, nothing is duplicated, the store opens.

SQLite (the default, WAL) always; PostgreSQL against a real server when its binaries are installed.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text

from assistant.errors import StorageError
from assistant.storage import StorageConfig, get_engine
from tests.storage.harness import read_acks_then_kill, run_writer, start_writer

BATCHES, SIZE = 60, 20


def _batches(url: str) -> dict[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT batch, COUNT(*) FROM durability_probe GROUP BY batch")).all())
    finally:
        engine.dispose()


def _kill_and_restart(url: str) -> None:
    writer = start_writer(url, "--batches", str(BATCHES), "--batch-size", str(SIZE), "--delay", "0.01")
    acked = read_acks_then_kill(writer, acks_wanted=15)
    after_kill = _batches(url)
    # every acknowledged batch survived, and no batch is half-written (one transaction each)
    assert {f"b{b}" for b in after_kill} >= set(acked)
    assert all(n == SIZE for n in after_kill.values()), after_kill
    assert len(after_kill) < BATCHES, "the writer finished before the kill: nothing was tested"
    # restart: the writer resends every batch; keys make the resends no-ops
    assert run_writer(url, "--batches", str(BATCHES), "--batch-size", str(SIZE)).stdout.endswith("DONE\n")
    final = _batches(url)
    assert final == {b: SIZE for b in range(BATCHES)}


def test_sqlite_survives_kill_9_mid_write(tmp_path):
    db = tmp_path / "store.db"
    _kill_and_restart(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _feedback(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT generation_id, COUNT(*) FROM adcopy_feedback WHERE edited_json IS NOT NULL "
                "AND rating = 1 GROUP BY generation_id")).all())
    finally:
        engine.dispose()


def test_adcopy_feedback_survives_kill_9_mid_write(tmp_path):
    """The real feedback table, written through FeedbackStore.record: acknowledged judgements all survive."""
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    n = 120
    writer = start_writer(url, "--kind", "feedback", "--batches", str(n), "--delay", "0.01")
    acked = read_acks_then_kill(writer, acks_wanted=15)
    after_kill = _feedback(url)
    assert set(after_kill) >= set(acked)  # nothing acknowledged is lost
    assert set(after_kill.values()) == {1}  # nothing duplicated, every stored row complete
    assert len(after_kill) < n, "the writer finished before the kill: nothing was tested"
    assert run_writer(url, "--kind", "feedback", "--batches", str(n)).stdout.endswith("DONE\n")
    assert _feedback(url) == {f"b{i}": 1 for i in range(n)}
    with sqlite3.connect(tmp_path / "feedback.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_sqlite_corrupt_file_is_a_storage_error(tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open the store"):
        get_engine(StorageConfig(url=f"sqlite:///{db}"))


def test_postgres_survives_kill_9_mid_write(postgres_url):
    _kill_and_restart(postgres_url)


def test_postgres_two_replicas_write_the_same_keys_once(postgres_url):
    url = postgres_url
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS durability_probe"))
    engine.dispose()
    # two app replicas retrying the same client keys at the same time
    a = start_writer(url, "--batches", "40", "--batch-size", "10", "--name", "a")
    b = start_writer(url, "--batches", "40", "--batch-size", "10", "--name", "b")
    for proc in (a, b):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    assert _batches(url) == {n: 10 for n in range(40)}


def test_unreachable_postgres_is_a_storage_error():
    with pytest.raises(StorageError, match="cannot open the store"):
        get_engine(StorageConfig(url="postgresql+psycopg://nobody@127.0.0.1:9/none"))
