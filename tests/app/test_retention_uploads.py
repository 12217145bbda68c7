"""Stored conversations, events, votes and tickets expire (`storage.retention_days`), pruned at start-up and
hourly by the running app; re-uploading a document never destroys the good copy; zip bombs are refused."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from assistant import storage
from assistant.config import load_config
from assistant.errors import ConfigError, IngestError, StorageError
from assistant.web import staff
from tests.app.test_exposed_defaults import served


def _now():
    return datetime.now(UTC).replace(tzinfo=None)


def seed(engine, age_days: float, tag: str) -> None:
    """One row of each kept kind, last touched `age_days` ago."""
    from assistant.handoff import TicketRow
    from assistant.session_store import ChatSessionRow
    from assistant.web.events import ChatEventRow, VoteRow

    when = _now() - timedelta(days=age_days)
    storage.ensure_tables(engine)
    with storage.session_factory(engine).begin() as s:
        s.add(ChatSessionRow(id=f"s-{tag}", history_json="[]", state_json="null", updated_at=when))
        s.add(ChatEventRow(time=when, kind="answer", session_id=f"s-{tag}"))
        s.add(VoteRow(session_id=f"s-{tag}", message=0, time=when, channel="ui", vote=1))
        s.add(TicketRow(ticket_key=f"k-{tag}", session_id=f"s-{tag}", message_key="1:x", transcript="[]",
                        created_at=when, updated_at=when))


def counts(engine) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as c:
        # the tables `seed` fills (the others follow the same rule: storage.RETENTION_COLUMNS)
        return {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in ("chat_sessions", "app_chat_events", "app_votes", "handoff_tickets")}


def wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_the_running_app_prunes_at_start_up_and_hourly(tmp_path):
    settings = load_config(env={}, overrides={"storage": {"url": f"sqlite:///{tmp_path}/app.db",
                                                          "retention_days": 30}})
    engine = storage.get_engine(settings.storage)
    seed(engine, 45, "old")
    seed(engine, 5, "recent")
    assert set(counts(engine).values()) == {2}
    with served(tmp_path, storage_overrides={"retention_days": 30}) as server:
        assert wait_for(lambda: set(counts(engine).values()) == {1}), counts(engine)  # start-up pruned "old"
        seed(engine, 31, "later")  # expires while the app runs
        server.runtime.retention._last -= storage.PRUNE_EVERY_S + 1  # an hour has passed
        r = httpx.post(f"{server.url}/widget/api/chat", json={"message": "hello"}, timeout=30)
        assert r.status_code == 200
        assert wait_for(lambda: counts(engine)["handoff_tickets"] == 1), counts(engine)
        assert counts(engine)["app_chat_events"] == 2 and counts(engine)["app_votes"] == 1  # recent + hello


def test_retention_settings():
    assert storage.StorageConfig().retention_days == 90
    with pytest.raises(ConfigError, match="retention_days"):
        storage.StorageConfig(retention_days=-1)
    engine = storage.get_engine(url="sqlite:///:memory:")
    assert storage.prune_expired(engine, 0) == {}  # 0 = keep forever
    never = storage.Retention(storage.StorageConfig(retention_days=0), lambda: pytest.fail("pruned"))
    assert never.maybe_prune(force=True) is None


# --- re-uploading a document ------------------------------------------------------------------------------
@pytest.fixture
def uploads(tmp_path, monkeypatch, fake_runtime):
    folder = tmp_path / "uploads"
    monkeypatch.setattr(fake_runtime.settings.app, "upload_dir", str(folder))
    return folder


def upload(runtime, tmp_path, name: str, data: bytes) -> str:
    src = tmp_path / "incoming" / name
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    log, _ = list(staff.ingest_files(runtime, "admin", [str(src)]))[-1]
    return log


def hits(runtime, query):
    return " ".join(staff.kb_search(runtime, "agent", query, 5)[0]["text"])


V1 = b"# Warranty\n\nEvery Aurora lamp has a two-year warranty covering the dimmer.\n"
V2 = b"# Warranty\n\nEvery Aurora lamp now has a five-year warranty covering everything.\n"


def test_a_bad_reupload_keeps_the_good_copy_and_its_chunks(fake_runtime, tmp_path, uploads):
    assert "✅ warranty.md" in upload(fake_runtime, tmp_path, "warranty.md", V1)
    log = upload(fake_runtime, tmp_path, "warranty.md", bytes(range(256)) * 40)  # binary junk, same name
    assert "❌ warranty.md" in log and "binary" in log and str(tmp_path) not in log
    assert (uploads / "warranty.md").read_bytes() == V1
    assert "two-year warranty" in hits(fake_runtime, "lamp warranty")
    assert "✅ warranty.md" in upload(fake_runtime, tmp_path, "warranty.md", V2)  # a good new version replaces it
    assert (uploads / "warranty.md").read_bytes() == V2
    found = hits(fake_runtime, "lamp warranty")
    assert "five-year" in found and "two-year" not in found
    assert sorted(p.name for p in uploads.iterdir()) == ["warranty.md"]  # no temporary files left behind


def test_a_store_failure_during_reupload_restores_the_previous_version(fake_runtime, tmp_path, uploads,
                                                                       monkeypatch):
    upload(fake_runtime, tmp_path, "warranty.md", V1)
    kb = staff.knowledge_base(fake_runtime)
    real_ingest, calls = kb.ingest, []

    def failing_once(paths, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise StorageError("the vector store went away")
        return real_ingest(paths, **kw)

    monkeypatch.setattr(kb, "ingest", failing_once)
    log = upload(fake_runtime, tmp_path, "warranty.md", V2)
    assert "❌ warranty.md" in log and "previous version stays" in log
    assert (uploads / "warranty.md").read_bytes() == V1 and len(calls) == 2  # restored, then re-ingested
    assert "two-year warranty" in hits(fake_runtime, "lamp warranty")
    assert sorted(p.name for p in uploads.iterdir()) == ["warranty.md"]


def test_a_failed_first_upload_leaves_nothing(fake_runtime, tmp_path, uploads):
    log = upload(fake_runtime, tmp_path, "empty.md", b"")
    assert "❌ empty.md" in log and "empty" in log
    assert list(uploads.iterdir()) == []


# --- zip bombs --------------------------------------------------------------------------------------------
def zipped(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_office_uploads_are_checked_before_parsing(fake_runtime, tmp_path, uploads, monkeypatch):
    from knowledge_base import loaders

    monkeypatch.setattr(loaders, "MIN_ZIP_BUDGET_MB", 1)  # 1 MB of zeros stands in for a gigabyte
    kb_mb = fake_runtime.settings.knowledge_base.max_file_mb
    monkeypatch.setattr(loaders, "MAX_ZIP_RATIO", 1 / kb_mb)  # budget: 1 MB
    bomb = zipped({"word/document.xml": bytes(3 * 1024 * 1024)})
    log = upload(fake_runtime, tmp_path, "manual.docx", bomb)
    line = next(line for line in log.split("\n\n") if line.startswith("❌ manual.docx"))
    assert "refused: the archive expands to 3 MB" in line and "\n" not in line  # one line
    monkeypatch.setattr(loaders, "MAX_ZIP_ENTRIES", 50)
    many = zipped({f"xl/worksheets/sheet{i}.xml": b"<x/>" for i in range(60)})
    assert "refused: the archive holds 60 entries" in upload(fake_runtime, tmp_path, "faq.xlsx", many)
    path = tmp_path / "bomb.docx"
    path.write_bytes(bomb)
    with pytest.raises(IngestError, match="zip bomb"):
        loaders.load_document(path, kb_mb)
    assert list(uploads.iterdir()) == []


def test_real_office_files_still_load(tmp_path):
    import docx
    from openpyxl import Workbook

    from knowledge_base import loaders

    d = docx.Document()
    d.add_heading("Returns", 1)
    d.add_paragraph("Free returns within 30 days.")
    d.save(tmp_path / "r.docx")
    sections, _ = loaders.load_document(tmp_path / "r.docx", 20)
    assert "Free returns" in sections[0].text
    wb = Workbook()
    wb.active.append(["question", "answer"])
    wb.active.append(["Do you ship abroad?", "Yes, to 30 countries."])
    wb.save(tmp_path / "f.xlsx")
    from knowledge_base.faq_tables import load_table

    rows = load_table(tmp_path / "f.xlsx", 20, loaders.TableOptions())
    assert rows[0].answer == "Yes, to 30 countries."
