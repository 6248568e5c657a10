"""The rating queue of a run: its cells one after the other, by key, never loading the run.

The queue's order is the matrix order: test, prompt, model, repeat. Every step is one indexed
lookup (``ix_results_run``) from the current cell: :func:`step` gives the next or previous cell,
:func:`next_unrated` the next cell the rater has no current rating of (wrapping round to the
start), so a queue opens on the first unrated cell and a rating moves on to the next one.
:func:`rated_count` counts the cells a rater has rated in the run.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select, tuple_

from promptwork.cases import CellKey
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = ["cell_count", "first_cell", "next_unrated", "rated_count", "step"]

_res = schema.results


def _order(descending: bool = False) -> list[Any]:
    cols = [_res.c.test_idx, _res.c.prompt_idx, _res.c.provider_idx, _res.c.repeat_idx]
    return [c.desc() for c in cols] if descending else cols


def _key(cell: CellKey) -> Any:
    return tuple_(cell.test, cell.prompt, cell.provider, cell.repeat)


def _columns() -> Any:
    return tuple_(_res.c.test_idx, _res.c.prompt_idx, _res.c.provider_idx, _res.c.repeat_idx)


def _one(store: Store, query: Any) -> CellKey | None:
    with store.engine.connect() as conn:
        row = conn.execute(query.limit(1)).first()
    if row is None:
        return None
    test, prompt, provider, repeat = (int(v) for v in row)
    return CellKey(prompt, provider, test, repeat)


def _cells(run_id: str) -> Any:
    return select(_res.c.test_idx, _res.c.prompt_idx, _res.c.provider_idx,
                  _res.c.repeat_idx).where(_res.c.run_id == run_id)


def first_cell(store: Store, run_id: str) -> CellKey | None:
    """The run's first stored cell in matrix order (``None`` for a run with no cells)."""
    return _one(store, _cells(run_id).order_by(*_order()))


def step(store: Store, run_id: str, cell: CellKey,
         direction: Literal["next", "previous"]) -> CellKey | None:
    """The stored cell after (or before) ``cell`` in matrix order; ``None`` at either end."""
    if direction == "next":
        query = _cells(run_id).where(_res.c.test_idx >= cell.test, _columns() > _key(cell))
        return _one(store, query.order_by(*_order()))
    query = _cells(run_id).where(_res.c.test_idx <= cell.test, _columns() < _key(cell))
    return _one(store, query.order_by(*_order(descending=True)))


def _unrated(rater: str) -> Any:
    rt = schema.ratings
    return ~exists().where(
        rt.c.run_id == _res.c.run_id, rt.c.test_idx == _res.c.test_idx,
        rt.c.prompt_idx == _res.c.prompt_idx, rt.c.provider_idx == _res.c.provider_idx,
        rt.c.repeat_idx == _res.c.repeat_idx, rt.c.rater == rater,
        rt.c.withdrawn_at.is_(None))


def next_unrated(store: Store, run_id: str, rater: str,
                 after: CellKey | None = None) -> CellKey | None:
    """The first cell after ``after`` (from the start when ``None``) that ``rater`` has not rated,
    wrapping round to the start; ``None`` when every other cell is rated."""
    query = _cells(run_id).where(_unrated(rater)).order_by(*_order())
    if after is None:
        return _one(store, query)
    later = query.where(_res.c.test_idx >= after.test, _columns() > _key(after))
    found = _one(store, later)
    if found is None:
        found = _one(store, query.where(or_(_res.c.test_idx < after.test, and_(
            _res.c.test_idx == after.test, _columns() < _key(after)))))
    return found


def rated_count(store: Store, run_id: str, rater: str) -> int:
    """How many of the run's cells ``rater`` has a current rating of."""
    query = select(func.count()).select_from(_res).where(_res.c.run_id == run_id,
                                                          ~_unrated(rater))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def cell_count(store: Store, run_id: str) -> int:
    """How many cells the run has stored."""
    query = select(func.count()).select_from(_res).where(_res.c.run_id == run_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
