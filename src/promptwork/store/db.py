"""Engines and migrations: SQLite by default (WAL, busy timeout), PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from promptwork.errors import ConfigError

STORE_DIR = ".promptwork"
BUSY_TIMEOUT_MS = 30_000
#: The newest migration's revision id (tests check it matches the migrations folder). Knowing it
#: lets an up-to-date store open without importing Alembic (~70 ms of start-up).
SCHEMA_HEAD = "0001"


def default_url(folder: str | Path) -> str:
    """The SQLite store next to a suite: ``FOLDER/.promptwork/promptwork.db``."""
    path = Path(folder).resolve() / STORE_DIR / "promptwork.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # NORMAL is durable against process crashes (kill -9) in WAL mode; only an OS crash can
    # lose the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is current)."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
