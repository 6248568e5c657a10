"""What stored results say of a library prompt's versions: the suites of the runs that used them,
examples of passing and failing answers, the checks that fail most, and the cost per call.

The pass counts per run x model are :func:`promptwork.store.versions.version_uses`'; these are
the few extra facts a prompt card shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from promptwork.store import schema
from promptwork.store.store import Store

__all__ = ["Example", "ModelCost", "examples", "failed_checks", "model_costs", "run_suites"]


@dataclass(frozen=True, slots=True)
class Example:
    """One answer of a prompt version: its inputs, the answer and, if it failed, why."""

    run_id: str
    model: str
    vars: dict[str, Any]
    output: str
    passed: bool
    reason: str
    check: str


@dataclass(frozen=True, slots=True)
class ModelCost:
    """Mean cost of one call per model (over the cells whose cost is known)."""

    model: str
    calls: int
    mean_cost: float | None
    mean_latency_ms: float | None


def run_suites(store: Store, run_ids: Sequence[str]) -> dict[str, str | None]:
    """Each run's suite path."""
    if not run_ids:
        return {}
    r = schema.runs
    with store.engine.connect() as conn:
        rows = conn.execute(select(r.c.id, r.c.suite_path)
                            .where(r.c.id.in_(list(dict.fromkeys(run_ids))))).all()
    return {row.id: row.suite_path for row in rows}


def _models(conn: Any, run_ids: set[str]) -> dict[tuple[str, int], str]:
    r = schema.runs
    out: dict[tuple[str, int], str] = {}
    for row in conn.execute(select(r.c.id, r.c.settings).where(r.c.id.in_(list(run_ids)))):
        for i, p in enumerate((row.settings or {}).get("providers", [])):
            out[(row.id, i)] = str(p.get("label") or p.get("id"))
    return out


def _failed_component(grading: Any) -> tuple[str, str]:
    """The first failed check of a stored grading: (its type, its reason)."""
    if not isinstance(grading, dict):
        return "", ""
    for c in grading.get("components") or []:
        if isinstance(c, dict) and not c.get("pass"):
            return str(c.get("type") or ""), str(c.get("reason") or "")
    return str(grading.get("type") or ""), str(grading.get("reason") or "")


def examples(store: Store, hashes: Sequence[str], passed: bool, limit: int = 2) -> list[Example]:
    """The newest graded answers of these versions that passed (or failed), one per test."""
    if not hashes:
        return []
    res = schema.results
    query = (select(res.c.run_id, res.c.provider_idx, res.c.test_idx, res.c.vars, res.c.output,
                    res.c.grading)
             .where(res.c.prompt_hash.in_(list(hashes)), res.c.error.is_(None),
                    res.c.success.is_(passed))
             .order_by(res.c.id.desc()).limit(limit * 20))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        models = _models(conn, {r.run_id for r in rows})
    out: list[Example] = []
    seen: set[str] = set()
    for row in rows:
        key = repr(sorted((row.vars or {}).items()))
        if key in seen:
            continue
        seen.add(key)
        check, reason = ("", "") if passed else _failed_component(row.grading)
        out.append(Example(row.run_id, models.get((row.run_id, row.provider_idx), "?"),
                           dict(row.vars or {}), str(row.output or ""), passed, reason, check))
        if len(out) == limit:
            break
    return out


def failed_checks(store: Store, hashes: Sequence[str], limit: int = 5,
                  scan: int = 2000) -> list[tuple[str, int]]:
    """The checks these versions fail most (over their newest ``scan`` failed answers), with
    how often: ``[("contains", 12), ...]``."""
    if not hashes:
        return []
    res = schema.results
    query = (select(res.c.grading)
             .where(res.c.prompt_hash.in_(list(hashes)), res.c.error.is_(None),
                    res.c.success.is_(False))
             .order_by(res.c.id.desc()).limit(scan))
    counts: Counter[str] = Counter()
    with store.engine.connect() as conn:
        for (grading,) in conn.execute(query):
            if isinstance(grading, dict) and grading.get("components"):
                for c in grading["components"]:
                    if isinstance(c, dict) and not c.get("pass"):
                        counts[str(c.get("type") or "?")] += 1
            else:
                counts[_failed_component(grading)[0] or "?"] += 1
    return counts.most_common(limit)


def model_costs(store: Store, hashes: Sequence[str]) -> list[ModelCost]:
    """Mean cost and latency of one call of these versions, per model label."""
    if not hashes:
        return []
    res = schema.results
    query = (select(res.c.run_id, res.c.provider_idx, func.count().label("calls"),
                    func.sum(res.c.cost).label("cost"), func.count(res.c.cost).label("costed"),
                    func.avg(res.c.latency_ms).label("latency"))
             .where(res.c.prompt_hash.in_(list(hashes)), res.c.error.is_(None),
                    res.c.cached.is_(False))
             .group_by(res.c.run_id, res.c.provider_idx))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        models = _models(conn, {r.run_id for r in rows})
    acc: dict[str, list[float]] = {}
    for row in rows:
        a = acc.setdefault(models.get((row.run_id, row.provider_idx), "?"), [0, 0.0, 0, 0.0])
        a[0] += row.calls
        a[1] += float(row.cost or 0.0)
        a[2] += row.costed
        a[3] += float(row.latency or 0.0) * row.calls
    return [ModelCost(m, int(a[0]), a[1] / a[2] if a[2] else None,
                      a[3] / a[0] if a[0] else None) for m, a in sorted(acc.items())]
