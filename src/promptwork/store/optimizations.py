"""Queries over stored optimizations (runs whose settings say ``kind: optimize``).

An optimization's run holds its candidates as prompts and two "provider" columns: the search
(train and validation examples) and the test split report; see
:mod:`promptwork.optimizer.history`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, select

from promptwork.store import schema
from promptwork.store.store import RunRecord, Store

__all__ = ["CandidateCells", "candidate_cells", "optimize_runs"]


def _is_optimize() -> ColumnElement[bool]:
    kind: ColumnElement[str] = schema.runs.c.settings["kind"].as_string()
    return kind == "optimize"


def optimize_runs(store: Store, limit: int = 50, offset: int = 0) -> list[RunRecord]:
    """The stored optimizations, newest first (settings only; no result row is read)."""
    r = schema.runs
    query = (select(r).where(_is_optimize())
             .order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit).offset(offset))
    with store.engine.connect() as conn:
        return [RunRecord(**dict(row)) for row in conn.execute(query).mappings()]


@dataclass(frozen=True, slots=True)
class CandidateCells:
    """The cells of one candidate in one phase (0: search, 1: test split report)."""

    candidate: int
    phase: int
    cells: int
    passed: int
    failed: int
    errors: int
    mean_score: float | None

    @property
    def graded(self) -> int:
        return self.passed + self.failed


def candidate_cells(store: Store, run_id: str) -> list[CandidateCells]:
    """Per candidate and phase: cells, passes, failures, errors and mean score (in SQL)."""
    res = schema.results
    ok = res.c.error.is_(None)
    query = (
        select(res.c.prompt_idx, res.c.provider_idx, func.count().label("cells"),
               func.sum(case((and_(ok, res.c.success.is_(True)), 1), else_=0)).label("passed"),
               func.sum(case((and_(ok, res.c.success.is_(False)), 1), else_=0)).label("failed"),
               func.sum(case((ok, 0), else_=1)).label("errors"),
               func.avg(case((ok, res.c.score), else_=None)).label("mean"))
        .where(res.c.run_id == run_id)
        .group_by(res.c.prompt_idx, res.c.provider_idx)
        .order_by(res.c.prompt_idx, res.c.provider_idx)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [CandidateCells(int(r["prompt_idx"]), int(r["provider_idx"]), int(r["cells"]),
                           int(r["passed"] or 0), int(r["failed"] or 0), int(r["errors"] or 0),
                           None if r["mean"] is None else float(r["mean"])) for r in rows]
