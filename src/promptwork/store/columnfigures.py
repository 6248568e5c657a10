"""A finished run's per-column figures, computed once and kept in the store (migration 0008).

The matrix's column summary (verdict counts for the pass rate and its interval, mean score,
tokens, cost, p50/p95 latency, the named metrics' means) costs a pass over the run's cells: the
named metrics read every cell's grading JSON (about a second for 100,000 cells). A finished run's
cells no longer change, so :func:`store_column_figures` computes them when the run finishes (the
runner calls it) and :func:`column_figures` reads them back; a finished run stored before this
(or whose figures are stale: resumed, extended) has them computed and stored on its first read.
A running run's figures are computed afresh on every read and never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from promptwork.store import schema
from promptwork.store.matrix import ColumnNumbers, column_metrics, column_numbers
from promptwork.store.store import RunRecord, Store

__all__ = ["Figures", "column_figures", "store_column_figures"]

#: A run's column numbers, and each column's mean per named metric (in the column's order).
Figures = tuple[list[ColumnNumbers], dict[tuple[int, int], dict[str, float]]]


def _computed(store: Store, run_id: str) -> Figures:
    return column_numbers(store, run_id), column_metrics(store, run_id)


def store_column_figures(store: Store, run_id: str) -> Figures:
    """Compute a run's per-column figures and store them (replacing any kept before), keyed by
    the run's end time and stored cell count at this moment; returns them.

    Called by the runner when a run finishes. Storing the same figures twice at once (two pages
    opening a run stored before migration 0008) keeps one copy.
    """
    run = store.get_run(run_id)
    figures = _computed(store, run.id)
    numbers, metrics = figures
    rows = [{
        "run_id": run.id, "prompt_idx": n.prompt_idx, "provider_idx": n.provider_idx,
        "finished_at": run.finished_at, "cells": run.done_cells, "passes": n.passes,
        "fails": n.fails, "errors": n.errors, "score_sum": n.score_sum,
        "prompt_tokens": n.prompt_tokens, "completion_tokens": n.completion_tokens,
        "cost": n.cost, "cost_known": n.cost_known, "cached": n.cached, "p50_ms": n.p50_ms,
        "p95_ms": n.p95_ms,
        "metrics": [[k, v] for k, v in metrics.get((n.prompt_idx, n.provider_idx), {}).items()],
    } for n in numbers]
    fig = schema.column_figures
    try:
        with store.engine.begin() as conn:
            conn.execute(delete(fig).where(fig.c.run_id == run.id))
            if rows:
                conn.execute(insert(fig), rows)
    except IntegrityError:  # another request stored them meanwhile: the same figures
        pass
    return figures


def _kept(store: Store, run: RunRecord) -> Figures | None:
    """The stored figures of ``run`` if they were computed for its current end and cells."""
    fig = schema.column_figures
    query = (select(fig).where(fig.c.run_id == run.id)
             .order_by(fig.c.prompt_idx, fig.c.provider_idx))
    with store.engine.connect() as conn:
        rows: list[Mapping[str, Any]] = [dict(r) for r in conn.execute(query).mappings()]
    if not rows or any(r["cells"] != run.done_cells or r["finished_at"] != run.finished_at
                       for r in rows):
        return None
    numbers = [ColumnNumbers(
        int(r["prompt_idx"]), int(r["provider_idx"]), int(r["passes"]), int(r["fails"]),
        int(r["errors"]), float(r["score_sum"]), int(r["prompt_tokens"]),
        int(r["completion_tokens"]), float(r["cost"]), bool(r["cost_known"]), int(r["cached"]),
        None if r["p50_ms"] is None else float(r["p50_ms"]),
        None if r["p95_ms"] is None else float(r["p95_ms"])) for r in rows]
    metrics = {(int(r["prompt_idx"]), int(r["provider_idx"])):
               {str(k): float(v) for k, v in r["metrics"]} for r in rows if r["metrics"]}
    return numbers, metrics


def column_figures(store: Store, run: RunRecord) -> Figures:
    """``run``'s per-column figures: stored ones for a finished run (computed and stored on the
    first read when missing or stale), computed afresh for a running one."""
    if run.status == "running" or run.finished_at is None:
        return _computed(store, run.id)
    kept = _kept(store, run)
    if kept is not None:
        return kept
    return store_column_figures(store, run.id)
