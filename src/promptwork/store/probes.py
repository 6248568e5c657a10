"""Store queries of probe runs: a run's cells with their probe tags, and the probe figures
kept with the run (its summary's ``probes``) for the workbench."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update

from promptwork.cases import CellKey, CellResult, ProbeTag
from promptwork.checks.base import CheckResult
from promptwork.store import schema
from promptwork.store.store import Store
from promptwork.types import Completion, Usage


def probe_tag(row: Mapping[str, Any]) -> ProbeTag | None:
    """The probe tag of a stored result row (None for a cell of the suite's own tests)."""
    if row.get("probe_kind") is None:
        return None
    return ProbeTag(str(row["probe_kind"]), int(row["probe_origin"]),
                    str(row.get("probe_transform") or ""), str(row.get("probe_group") or ""))


def cell_of(row: Mapping[str, Any]) -> CellResult:
    """A stored result row as the :class:`CellResult` the probes measure."""
    completion = None
    if row.get("output") is not None:
        completion = Completion(row["output"], str(row.get("provider_id") or ""),
                                Usage(row.get("prompt_tokens"), row.get("completion_tokens")),
                                row.get("latency_ms") or 0.0, row.get("cost"),
                                row.get("finish_reason"), cached=bool(row.get("cached")))
    grading = row.get("grading")
    grade = (CheckResult.from_dict(grading) if row.get("error") is None
             and isinstance(grading, dict) and "pass" in grading else None)
    return CellResult(
        CellKey(row["prompt_idx"], row["provider_idx"], row["test_idx"], row["repeat_idx"]),
        row.get("vars") or {}, row.get("prompt_text") or "", completion, grade,
        row.get("error"), row.get("error_kind"), params=row.get("params") or {},
        description=row.get("description"), probe=probe_tag(row))


def run_cells(store: Store, run_id: str) -> Iterator[CellResult]:
    """Every cell of a run, probe tags included, in matrix order."""
    for row in store.results(run_id):
        yield cell_of(row)


def probe_counts(store: Store, run_id: str) -> dict[str, int]:
    """Derived cells per probe kind in a run (empty for a run without probes)."""
    res = schema.results
    query = (select(res.c.probe_kind, func.count()).where(
        res.c.run_id == run_id, res.c.probe_kind.is_not(None)).group_by(res.c.probe_kind))
    with store.engine.connect() as conn:
        return {str(kind): int(n) for kind, n in conn.execute(query)}


def save_probe_reports(store: Store, run_id: str, reports: Sequence[Mapping[str, Any]]) -> None:
    """Keep a probe run's figures with the run (its summary's ``probes``)."""
    record = store.get_run(run_id)
    summary = {**(record.summary or {}), "probes": [dict(r) for r in reports]}
    with store.engine.begin() as conn:
        conn.execute(update(schema.runs).where(schema.runs.c.id == record.id).values(
            summary=summary))


def probe_reports(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The probe figures kept with a run (empty when it was not a probe run)."""
    reports = (store.get_run(run_id).summary or {}).get("probes")
    return [dict(r) for r in reports] if isinstance(reports, list) else []
