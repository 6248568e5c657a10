"""Single cells of a column, for side-by-side views (the compare page's answer diff)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from promptwork.store import schema
from promptwork.store.store import Store

__all__ = ["column_cell"]


def column_cell(store: Store, run_id: str, column: tuple[int, int], test_idx: int,
                repeat_idx: int = 0) -> dict[str, Any] | None:
    """The result row of one test (and repeat) in one prompt x model column, or None."""
    res = schema.results
    query = select(res).where(
        res.c.run_id == run_id, res.c.prompt_idx == column[0],
        res.c.provider_idx == column[1], res.c.test_idx == test_idx,
        res.c.repeat_idx == repeat_idx)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)
