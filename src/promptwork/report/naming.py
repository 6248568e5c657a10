"""What names a report's row and what a cell's named metrics are, shared by every report.

A row (a test) is named by its description (promptfoo's ``description`` on a test, or a CSV's
``__description`` column) when it has one; otherwise by its vars, those that vary between the
tests first, so that truncation cuts the defaults shared by every row rather than what tells
the rows apart.

Named metrics are the ``metric:`` names of a cell's checks (``facts``, ``tone``...); a cell's
value for a name is the mean score of its checks with that name. Columns average them over
their graded cells (:attr:`promptwork.report.summary.ColumnSummary.named`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["metric_names", "named_scores", "varying_first", "varying_names"]


def named_scores(row: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """``(name, score)`` of each named metric of a stored cell, in first-seen order; none for an
    error cell (it has no verdict)."""
    if row.get("error") is not None:
        return ()
    sums: dict[str, list[float]] = {}
    for comp in (row.get("grading") or {}).get("components", []) or []:
        metric = comp.get("metric")
        if metric:
            sums.setdefault(str(metric), []).append(float(comp.get("score") or 0.0))
    return tuple((name, sum(v) / len(v)) for name, v in sums.items())


def metric_names(named: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every name of the given ``{name: value}`` maps, in first-seen order."""
    names: dict[str, None] = {}
    for mapping in named:
        for name in mapping:
            names.setdefault(name, None)
    return list(names)


def varying_names(vars_by_test: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the vars whose value is not the same in every test (missing counts as a value)."""
    seen: dict[str, str] = {}
    varying: set[str] = set()
    tests = list(vars_by_test)
    for variables in tests:
        for name, value in variables.items():
            text = repr(value)
            if seen.setdefault(name, text) != text:
                varying.add(name)
    for variables in tests:
        varying.update(name for name in seen if name not in variables)
    return varying


def varying_first(variables: Mapping[str, Any], varying: set[str] | Sequence[str]
                  ) -> dict[str, Any]:
    """``variables`` with the varying ones first (each group in its own order)."""
    first = {k: v for k, v in variables.items() if k in varying}
    return {**first, **{k: v for k, v in variables.items() if k not in varying}}
