"""One storage layer for tickets, feedback, sessions and analytics events (SQLAlchemy).

SQLite in WAL mode by default (one machine, crash-safe); PostgreSQL by URL for shops that run several app
replicas. Components declare their tables on `Base` and use the runtime's engine (`get_engine(cfg)` builds
one); nothing else knows the URL.
Writes that a client may retry (a ticket after a crash, feedback sent twice) go through `insert_idempotent`
with a client-made key, so a retry never stores a duplicate. tests/storage kill -9 writers to check this.
Conversations, events, votes and tickets are kept `retention_days` (`prune_expired`; the app runs it at
start-up and then at most once an hour as it writes events, via `maybe_prune`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Table, column, create_engine, delete, event, func, inspect, select, table, text, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from assistant.config import resolve_path
from assistant.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

DEFAULT_DB = "data/assistant.db"
# Tables holding customers' conversations, and the column that says when a row was last touched (UTC, naive).
# Tickets go by their last update: a ticket nobody touched for the whole retention period goes too.
# Tables holding customers' words or details, pruned after storage.retention_days. The order audit trail goes with
# its request: its lines quote what the customer asked for (a new address, a phone), and once the request is gone
# `forget` can no longer find them.
RETENTION_COLUMNS = {"chat_sessions": "updated_at", "app_chat_events": "time", "app_votes": "time",
                     "handoff_tickets": "updated_at", "order_requests": "updated_at", "order_dialogues": "updated_at",
                     "insights_turns": "time", "insights_faq_proposals": "updated_at"}
PRUNE_EVERY_S = 3600.0


class Base(DeclarativeBase):
    """Declarative base every component's tables share, so one `create_all` makes them all."""


@dataclass
class StorageConfig:
    url: str = field(
        default="",
        metadata={"help": "SQLAlchemy URL; '' = SQLite (WAL) at data/assistant.db; postgresql+psycopg://... for replicas"},
    )
    echo: bool = field(default=False, metadata={"help": "log SQL statements"})
    retention_days: int = field(
        default=90,
        metadata={"help": "days conversations, chat events, votes and handoff tickets are kept; 0 = forever"},
    )
    reconnect_s: float = field(
        default=30.0,
        metadata={"help": "when the store cannot be opened (a database server still starting), try again every this "
                          "many seconds, and bring tickets, order requests and stored conversations back; 0 = never"},
    )

    def __post_init__(self):
        if self.url and not self.url.startswith(("sqlite", "postgresql")):
            raise ConfigError(f"url must be a sqlite:// or postgresql+psycopg:// URL, got {self.url!r}")
        if self.retention_days < 0:
            raise ConfigError(f"retention_days must be >= 0 (0 = keep forever), got {self.retention_days}")
        if self.reconnect_s < 0:
            raise ConfigError(f"reconnect_s must be >= 0 (0 = never try again), got {self.reconnect_s}")

    @property
    def effective_url(self) -> str:
        if self.url:
            return self.url
        return sqlite_url(resolve_path(DEFAULT_DB))


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of the SQLite file at `path`, any legal path: pasted into "sqlite:///..." as is, a "?"
    in a folder's name began the URL's query and a "%" an escape, and the database landed somewhere else."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash loses no commit
    cur.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode against process crashes
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def sqlite_path(url: str) -> str | None:
    """The file of a sqlite:/// URL as get_engine opens it; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    try:
        path = make_url(url).database  # unquoted as create_engine unquotes it ("%3F" is a "?" in the name)
    except ArgumentError:
        return None  # not a URL at all: create_engine says so
    return path if path and path != ":memory:" else None


def get_engine(cfg: StorageConfig | None = None, url: str | None = None) -> Engine:
    """A new engine (its own connection pool) with every table of `Base` created. Build it once per process
    and share it: the app's is `Runtime.storage_engine`."""
    url = url or (cfg or StorageConfig()).effective_url
    try:
        if url.startswith("sqlite"):
            if path := sqlite_path(url):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, echo=bool(cfg and cfg.echo), connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # connect_timeout: an unreachable server is a StorageError in seconds, not a hung start-up
            engine = create_engine(url, echo=bool(cfg and cfg.echo), pool_pre_ping=True,
                                   connect_args={"connect_timeout": 10})
        _create_all(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the store at {url.split('@')[-1]}: {exc.__class__.__name__}: {exc}") from None
    return engine


# Any constant: replicas take the same PostgreSQL advisory lock while they create tables.
_DDL_LOCK_ID = 0x5A5A_0010


def _create_all(engine: Engine) -> None:
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Two replicas starting together would both CREATE TABLE and one fail on pg_type's unique
                    # index (found by tests/storage); the lock makes the second see the first's tables.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _DDL_LOCK_ID})
                Base.metadata.create_all(conn)
            return
        except OperationalError as exc:
            # SQLite has no such lock: two processes may both see "no table" and one then fails; retry sees it.
            if "already exists" not in str(exc) or attempt == 2:
                raise


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def ensure_tables(engine: Engine) -> None:
    """Create the tables declared so far (call after importing the module that declares yours)."""
    try:
        _create_all(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot create tables: {exc}") from None


def _dialect_insert(session: Session, table):
    """(table, the dialect's INSERT construct), which knows ON CONFLICT on SQLite and PostgreSQL."""
    target = table.__table__ if hasattr(table, "__table__") else table
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two dialects above are configurable
        raise StorageError(f"upserts do not support {dialect}")
    return target, insert


def insert_or_replace(session: Session, table: type[Base] | Table, row: dict) -> None:
    """INSERT one row, or UPDATE every other column of the row with the same primary key (an upsert)."""
    target, insert = _dialect_insert(session, table)
    keys = [c.name for c in target.primary_key.columns]
    stmt = insert(target).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={k: stmt.excluded[k] for k in row if k not in keys})
    try:
        session.execute(stmt)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot write to {target.name}: {exc.__class__.__name__}: {exc}") from None


def insert_idempotent(session: Session, table: type[Base] | Table, rows: list[dict]) -> int:
    """INSERT rows, skipping those whose primary/unique key is already stored; returns how many were new.

    For writes a client retries after a crash or timeout: give each row a key made by the client (a uuid),
    and the retry is a no-op instead of a duplicate. Works on SQLite and PostgreSQL (ON CONFLICT DO NOTHING).
    """
    if not rows:
        return 0
    target, insert = _dialect_insert(session, table)
    try:
        result = session.execute(insert(target).on_conflict_do_nothing(), rows)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot write to {target.name}: {exc.__class__.__name__}: {exc}") from None
    # executemany reports -1 on some drivers; the count is informative only
    return max(result.rowcount or 0, 0)


# --- retention -------------------------------------------------------------------------------------------
def prune_expired(engine: Engine, retention_days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete rows older than `retention_days` from the conversation tables that exist; rows deleted per table.

    One DELETE per table in one transaction, on an indexed time column (handoff tickets' `updated_at` is not
    indexed: their table is small); cheap enough to run at start-up and hourly.
    """
    if retention_days <= 0:
        return {}
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    try:
        present = set(inspect(engine).get_table_names())
        removed = {}
        with engine.begin() as conn:
            for name, when in RETENTION_COLUMNS.items():
                if name in present:
                    result = conn.execute(delete(table(name, column(when))).where(column(when) < cutoff))
                    removed[name] = max(result.rowcount or 0, 0)
            if {"order_audit", "order_requests"} <= present:
                requests = table("order_requests", column("id"))
                result = conn.execute(delete(table("order_audit", column("request_id")))
                                      .where(column("request_id").not_in(select(requests.c.id))))
                removed["order_audit"] = max(result.rowcount or 0, 0)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot prune expired rows: {exc.__class__.__name__}: {exc}") from None
    if any(removed.values()):
        log.info("retention (%d days): removed %s", retention_days,
                 ", ".join(f"{n} from {t}" for t, n in removed.items() if n))
    return removed


# Where one conversation's rows are, by the column holding its session id (a customer's request to delete their
# data): the conversation, its events and votes, tickets, order requests and order dialogue, the gap report's turns.
CONVERSATION_COLUMNS = {"chat_sessions": "id", "app_chat_events": "session_id", "app_votes": "session_id",
                        "handoff_tickets": "session_id", "order_requests": "session_id",
                        "order_dialogues": "session_id", "insights_turns": "session_id"}


def forget_conversation(engine: Engine, session_id: str, dry_run: bool = True) -> dict[str, int]:
    """Rows per table that hold conversation `session_id` (and the audit lines of its order requests, which may
    quote an address it gave); deleted in one transaction unless `dry_run`."""
    try:
        present = set(inspect(engine).get_table_names())
        found: dict[str, int] = {}
        with engine.begin() as conn:
            requests = []
            if "order_requests" in present:
                requests = [r[0] for r in conn.execute(select(column("id")).select_from(
                    table("order_requests", column("session_id"))).where(column("session_id") == session_id))]
            if "insights_faq_proposals" in present and "insights_turns" in present:
                found["insights_faq_proposals"] = _forget_proposal_phrasings(conn, session_id, dry_run)
            for name, col in CONVERSATION_COLUMNS.items():
                if name in present:
                    rows = table(name, column(col))
                    found[name] = conn.execute(select(func.count()).select_from(rows)
                                               .where(column(col) == session_id)).scalar_one()
                    if not dry_run and found[name]:
                        conn.execute(delete(rows).where(column(col) == session_id))
            if "order_audit" in present and requests:
                audit = table("order_audit", column("request_id"))
                found["order_audit"] = conn.execute(select(func.count()).select_from(audit)
                                                    .where(column("request_id").in_(requests))).scalar_one()
                if not dry_run:
                    conn.execute(delete(audit).where(column("request_id").in_(requests)))
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot remove the conversation: {exc.__class__.__name__}: {exc}") from None
    return {name: n for name, n in found.items() if n}


def _forget_proposal_phrasings(conn, session_id: str, dry_run: bool) -> int:
    """FAQ proposals quote customers' gap questions (their phrasings, with the turns they came from): the
    phrasings from this conversation's turns, counted and (unless `dry_run`) taken out of every proposal. Runs
    before the turns themselves are deleted, so their ids are still known."""
    from knowledge_base.text import normalize_question

    turns = table("insights_turns", column("id"), column("session_id"))
    ids = {r[0] for r in conn.execute(select(turns.c.id).where(turns.c.session_id == session_id))}
    if not ids:
        return 0
    said = {normalize_question(r[0]) for r in conn.execute(select(column("question")).select_from(
        table("insights_turns", column("question"), column("session_id"))).where(column("session_id") == session_id))}
    proposals = table("insights_faq_proposals", column("id"), column("variants"), column("turn_ids"), column("rows"),
                      column("flags"))
    removed = 0
    for pid, variants_json, turn_ids_json, rows_json, flags_json in conn.execute(
            select(proposals.c.id, proposals.c.variants, proposals.c.turn_ids, proposals.c.rows,
                   proposals.c.flags)).all():
        variants = json.loads(variants_json or "[]")
        kept = [v for v in variants if not ids & set(v.get("turn_ids") or [])]
        turn_ids = [t for t in json.loads(turn_ids_json or "[]") if t not in ids]
        # The proposal's FAQ question starts as the group's label, one customer's words as they wrote them
        rows = json.loads(rows_json or "[]")
        quoted = [r for r in rows if isinstance(r, dict) and normalize_question(r.get("question", "")) in said]
        removed += len(variants) - len(kept) + len(quoted)
        if dry_run or not (quoted or len(kept) < len(variants) or len(turn_ids) < len(json.loads(turn_ids_json or "[]"))):
            continue
        for r in quoted:
            r["question"] = ""
        flags = json.loads(flags_json or "[]") + (["a question was taken out at a customer's request: write the "
                                                    "FAQ question again before publishing"] if quoted else [])
        conn.execute(update(proposals).where(proposals.c.id == pid).values(
            variants=json.dumps(kept, ensure_ascii=False), turn_ids=json.dumps(turn_ids),
            rows=json.dumps(rows, ensure_ascii=False), flags=json.dumps(flags, ensure_ascii=False)))
    return removed


def utc_now() -> datetime:
    """Now as the store keeps times: UTC, without a zone (SQLite keeps none)."""
    return datetime.now(UTC).replace(tzinfo=None)


def add_missing_columns(engine: Engine, table_name: str, columns: dict[str, str]) -> None:
    """Stores made before a column was added get it ({name: its SQL type and default}, e.g. "TEXT DEFAULT ''");
    SQLite and PostgreSQL both take ADD COLUMN. Old rows read the default."""
    try:
        have = {c["name"] for c in inspect(engine).get_columns(table_name)}
        for name, declared in columns.items():
            if name not in have:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {declared}"))
                log.info("store: added the %s column to %s", name, table_name)
    except SQLAlchemyError as exc:
        if "duplicate column" not in str(exc).lower() and "already exists" not in str(exc).lower():
            raise StorageError(f"cannot upgrade the {table_name} table: {exc}") from None


def runtime_sessions(runtime, name: str, added_columns: dict[str, dict[str, str]] | None = None):
    """Sessions on the runtime's store, its tables made once (built and kept by the runtime under `name`);
    `added_columns` ({table: {column: SQL type}}): columns added to the tables since their first release."""
    def build():
        engine = runtime.storage_engine
        if engine is None:
            raise RuntimeError(f"the store is unavailable: {runtime.degraded.get('storage', 'unknown reason')}")
        ensure_tables(engine)
        for table_name, columns in (added_columns or {}).items():
            add_missing_columns(engine, table_name, columns)
        return session_factory(engine)
    return runtime.component(name, build)


class Retention:
    """Deletes what is older than `retention_days`; `maybe_prune()` is cheap enough to call on every write."""

    def __init__(self, cfg: StorageConfig, engine: Callable[[], Engine]):
        self.cfg, self._engine = cfg, engine
        self._last = -PRUNE_EVERY_S
        self._lock = threading.Lock()

    def maybe_prune(self, force: bool = False) -> dict[str, int] | None:
        """Prune when last pruned over PRUNE_EVERY_S ago (or `force`); never raises."""
        if self.cfg.retention_days <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < PRUNE_EVERY_S:
                return None
            self._last = now
        try:
            return prune_expired(self._engine(), self.cfg.retention_days)
        except Exception as exc:  # noqa: BLE001 - retention must never cost a customer an answer
            log.warning("retention: %s", exc)
            return None
