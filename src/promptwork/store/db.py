"""Engines and migrations: SQLite by default (WAL, busy timeout), PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from promptwork.errors import ConfigError

STORE_DIR = ".promptwork"
BUSY_TIMEOUT_MS = 30_000
#: The newest migration's revision id (tests check it matches the migrations folder). Knowing it
#: lets an up-to-date store open without importing Alembic (~70 ms of start-up).
SCHEMA_HEAD = "0011"


def default_url(folder: str | Path) -> str:
    """The SQLite store next to a suite: ``FOLDER/.promptwork/promptwork.db``."""
    path = Path(folder).resolve() / STORE_DIR / "promptwork.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # The timeout first: switching a new file to WAL needs a lock that another process that is
    # creating the same store may hold for a moment.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _switch_to_wal(cur)
    # NORMAL is durable against process crashes (kill -9) in WAL mode; only an OS crash can
    # lose the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _switch_to_wal(cur: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting out other processes that hold the file.

    SQLite may answer this pragma with "database is locked" at once, without calling its busy
    handler (another connection is switching the same new file, or recovering its WAL), so the
    busy timeout alone does not cover it: retry until the same deadline.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (``sqlite:///...`` or ``postgresql://...``)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the maintained driver; SQLAlchemy's bare postgresql:// means psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except ImportError:
        raise ConfigError(
            "PostgreSQL needs a driver: pip install 'promptwork[postgres]'"
        ) from None
    except Exception as exc:  # a malformed URL
        raise ConfigError(f"bad database URL: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrations_head() -> str | None:
    """The newest revision in the migrations folder (imports Alembic)."""
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision, or None for an empty database."""
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError:
        return None
    return None if row is None else str(row[0])


#: Any fixed number: the PostgreSQL advisory lock that serialises migrations of one database.
_PG_MIGRATION_LOCK = 0x70726F6D  # "prom"
#: Next to a SQLite store file: held while the store is created or migrated.
LOCK_NAME = "store.lock"


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


_LOCK_NOTE = b"promptwork: held while the store next to it is created or migrated\n"


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (blocking). No lock without a path, on
    Windows, or where the file cannot be made (then opening the store reports the problem)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own busy timeout must do
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    try:
        fh = path.open("a+b")
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            if fh.tell() == 0:  # append mode: at the end, so 0 means a new, empty file
                fh.write(_LOCK_NOTE)
                fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def migrate(engine: Engine, lock_file: Path | None = None) -> None:
    """Bring the schema to the newest revision (no-op when it is current).

    Safe when several processes open a fresh store at once: the schema is checked again, and
    created at most once, under a lock (``lock_file`` for SQLite, an advisory lock held by the
    migration's transaction for PostgreSQL).
    """
    if current_revision(engine) == SCHEMA_HEAD:
        return
    with _file_lock(lock_file), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        if _revision(conn) == SCHEMA_HEAD:  # another process created it meanwhile
            return
        from alembic import command

        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


#: Engines of SQLite store files opened by this process, with the file's (device, inode).
_ENGINES: dict[str, tuple[Engine, tuple[int, int]]] = {}
_ENGINES_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_ENGINES.clear)  # a child must not share pooled connections


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    db = parsed.database
    if not parsed.drivername.startswith("sqlite") or not db or db == ":memory:" or (
            db.startswith("file:")):
        return None
    return Path(db)


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def open_engine(url: str) -> Engine:
    """An engine for ``url`` with its schema brought up to date.

    A SQLite store file's engine is kept for the process: opening the same store again (one
    ``evaluate()`` after another) skips the engine set-up, the schema check and the compilation
    of its SQL statements (each engine caches those). If the file was deleted or replaced in the
    meantime, a new engine is made and checked.
    """
    path = _sqlite_file(url)
    if path is None:
        engine = make_engine(url)
        migrate(engine)
        return engine
    with _ENGINES_LOCK:
        cached = _ENGINES.get(url)
        if cached is not None and cached[1] == _file_id(path):
            return cached[0]
        if cached is not None:
            cached[0].dispose()
            del _ENGINES[url]
        engine = make_engine(url)
        migrate(engine, path.with_name(LOCK_NAME))
        ident = _file_id(path)
        if ident is not None:
            _ENGINES[url] = (engine, ident)
        return engine
