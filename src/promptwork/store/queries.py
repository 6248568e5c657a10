"""Read-side queries over stored runs, shared by ``promptwork runs`` and the later web pages.

* :func:`run_overviews`: the run list, newest first, with each run's pass rate, cells, errors,
  cost and shown status, aggregated in the database (one query, whatever the runs' size).
* :func:`result_rows`: the result rows of one run filtered by verdict (passed, failed, error)
  and by prompt or model index, in matrix order, streamed; with ``limit``/``offset`` for paging.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, func, or_, select

from promptwork.store import schema
from promptwork.store.owner import run_status
from promptwork.store.store import Store

__all__ = ["RunOverview", "Verdict", "result_rows", "run_overviews"]

Verdict = Literal["passed", "failed", "error"]


@dataclass(frozen=True, slots=True)
class RunOverview:
    """One line of the run list.

    Attributes:
        id: Run id.
        created_at: When it started.
        status: Status to show (``interrupted`` for a run whose process died, see
            :mod:`promptwork.store.owner`).
        stored_status: Status as stored.
        description: The suite's description.
        suite_path: The suite file.
        prompts: Prompt labels.
        models: Model (provider) labels.
        total_cells: Cells planned.
        done_cells: Cells stored.
        passed: Cells whose checks passed.
        failed: Cells whose checks failed.
        errors: Cells with an error (no verdict).
        cost: Summed cost of the calls with a known price.
        cost_known: Whether every answered call had a known price.
    """

    id: str
    created_at: datetime
    status: str
    stored_status: str
    description: str | None
    suite_path: str | None
    prompts: tuple[str, ...]
    models: tuple[str, ...]
    total_cells: int
    done_cells: int
    passed: int
    failed: int
    errors: int
    cost: float
    cost_known: bool

    @property
    def pass_rate(self) -> float | None:
        """Passed over graded cells (errors apart); None when nothing was graded."""
        graded = self.passed + self.failed
        return self.passed / graded if graded else None

    @property
    def resumable(self) -> bool:
        """Not complete: ``promptwork eval --resume RUN`` finishes it (unless it is live)."""
        return self.status in ("interrupted", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "created_at": self.created_at.isoformat(), "status": self.status,
            "stored_status": self.stored_status, "description": self.description,
            "suite_path": self.suite_path, "prompts": list(self.prompts),
            "models": list(self.models), "total_cells": self.total_cells,
            "done_cells": self.done_cells, "passed": self.passed, "failed": self.failed,
            "errors": self.errors, "pass_rate": self.pass_rate,
            "cost": self.cost if self.cost_known else None,
        }


def run_overviews(store: Store, limit: int = 20, offset: int = 0,
                  search: str | None = None) -> list[RunOverview]:
    """The newest runs with their aggregates.

    Args:
        store: The store.
        limit: Runs returned.
        offset: Runs skipped (paging).
        search: Keep runs whose id, description or suite path contains this text
            (case-insensitive).
    """
    r, res = schema.runs, schema.results
    ok = res.c.error.is_(None)
    counts = (
        select(
            res.c.run_id,
            func.count().label("n"),
            func.sum(case((and_(ok, res.c.success.is_(True)), 1), else_=0)).label("passed"),
            func.sum(case((and_(ok, res.c.success.is_(False)), 1), else_=0)).label("failed"),
            func.sum(case((ok, 0), else_=1)).label("errors"),
            func.sum(res.c.cost).label("cost"),
            func.sum(case((and_(ok, res.c.cost.is_(None)), 1), else_=0)).label("unpriced"),
        )
        .group_by(res.c.run_id)
        .subquery()
    )
    query = select(r, counts.c.n, counts.c.passed, counts.c.failed, counts.c.errors,
                   counts.c.cost, counts.c.unpriced).outerjoin(counts, counts.c.run_id == r.c.id)
    if search:
        literal = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"
        query = query.where(or_(
            func.lower(r.c.id).like(pattern, escape="\\"),
            func.lower(func.coalesce(r.c.description, "")).like(pattern, escape="\\"),
            func.lower(func.coalesce(r.c.suite_path, "")).like(pattern, escape="\\")))
    query = query.order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit).offset(offset)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        settings = row["settings"] or {}
        out.append(RunOverview(
            id=row["id"], created_at=row["created_at"],
            status=run_status(row["status"], settings), stored_status=row["status"],
            description=row["description"], suite_path=row["suite_path"],
            prompts=tuple(str(p.get("label")) for p in settings.get("prompts", [])),
            models=tuple(str(p.get("label")) for p in settings.get("providers", [])),
            total_cells=int(row["total_cells"]), done_cells=int(row["n"] or 0),
            passed=int(row["passed"] or 0), failed=int(row["failed"] or 0),
            errors=int(row["errors"] or 0), cost=float(row["cost"] or 0.0),
            cost_known=not row["unpriced"],
        ))
    return out


def result_rows(
    store: Store,
    run_id: str,
    *,
    verdicts: Collection[Verdict] = (),
    prompt_idx: int | None = None,
    provider_idx: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    """A run's result rows in matrix order (test, prompt, provider, repeat), filtered, streamed.

    Args:
        store: The store.
        run_id: The run (full id).
        verdicts: Keep only cells with one of these verdicts (all when empty).
        prompt_idx: Keep only this prompt's cells.
        provider_idx: Keep only this model's cells.
        limit: At most this many rows.
        offset: Rows skipped (paging).

    Raises:
        ValueError: An unknown verdict.
    """
    res = schema.results
    ok = res.c.error.is_(None)
    wanted = {"passed": and_(ok, res.c.success.is_(True)),
              "failed": and_(ok, res.c.success.is_(False)),
              "error": res.c.error.is_not(None)}
    unknown = set(verdicts) - set(wanted)
    if unknown:
        raise ValueError(f"unknown verdicts {sorted(unknown)}; use passed, failed, error")
    query = select(res).where(res.c.run_id == run_id)
    if verdicts:
        query = query.where(or_(*(wanted[v] for v in sorted(set(verdicts)))))
    if prompt_idx is not None:
        query = query.where(res.c.prompt_idx == prompt_idx)
    if provider_idx is not None:
        query = query.where(res.c.provider_idx == provider_idx)
    query = query.order_by(res.c.test_idx, res.c.prompt_idx, res.c.provider_idx,
                           res.c.repeat_idx).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=1000)).mappings():
            yield dict(row)
