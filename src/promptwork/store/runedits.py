"""Changes people make to stored runs from the workbench: rename (its description) and delete."""

from __future__ import annotations

from sqlalchemy import delete, update

from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = ["delete_run", "rename_run"]

MAX_DESCRIPTION = 500


def rename_run(store: Store, run_id: str, description: str) -> None:
    """Set a run's description (its shown name).

    Raises:
        ConfigError: No such run, or a description over 500 characters.
    """
    text = description.strip()
    if len(text) > MAX_DESCRIPTION:
        raise ConfigError(f"a run description has at most {MAX_DESCRIPTION} characters")
    record = store.get_run(run_id)
    with store.engine.begin() as conn:
        conn.execute(update(schema.runs).where(schema.runs.c.id == record.id)
                     .values(description=text or None))


def delete_run(store: Store, run_id: str) -> None:
    """Delete a run and its results (its prompt versions and the cache stay).

    Raises:
        ConfigError: No such run, or a run still being written by a live process.
    """
    record = store.get_run(run_id)
    if record.shown_status == "running":
        raise ConfigError(f"run {record.id} is still running; stop it before deleting it")
    with store.engine.begin() as conn:
        conn.execute(delete(schema.results).where(schema.results.c.run_id == record.id))
        conn.execute(delete(schema.runs).where(schema.runs.c.id == record.id))
