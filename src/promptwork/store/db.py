"""Engines and migrations: SQLite by default (WAL, busy timeout), PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from promptwork.errors import ConfigError

STORE_DIR = ".promptwork"
BUSY_TIMEOUT_MS = 30_000


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


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is current)."""
    cfg = _alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
