"""After a probe run: pair each derived cell with its original in its column and let each probe
measure each column (prompt x model); the reports as JSON-able data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from promptwork.cases import CellKey, CellResult
from promptwork.probes.base import ProbeCell, ProbeReport
from promptwork.probes.plan import ProbePlan

WORST = 5


def measure_run(plan: ProbePlan, cells: Iterable[CellResult], prompt_labels: Sequence[str],
                provider_labels: Sequence[str], fail_over: float | None = None
                ) -> list[ProbeReport]:
    """Every probe's report for every column of a probe run (``fail_over`` replaces the
    probes' thresholds)."""
    originals: dict[CellKey, CellResult] = {}
    derived: list[CellResult] = []
    for cell in cells:
        if cell.key.test in plan.derived:
            derived.append(cell)
        else:
            originals[cell.key] = cell
    columns: dict[tuple[int, int], dict[int, list[ProbeCell]]] = {}
    for cell in derived:
        derivation, probe = plan.derived[cell.key.test]
        origin = CellKey(cell.key.prompt, cell.key.provider, derivation.origin, cell.key.repeat)
        pc = ProbeCell(derivation, cell, originals.get(origin))
        columns.setdefault((cell.key.prompt, cell.key.provider), {}).setdefault(
            id(probe), []).append(pc)
    for key in originals:  # a probe that derives nothing (off-topic) measures the originals
        columns.setdefault((key.prompt, key.provider), {})
    reports = []
    for probe in plan.probes:
        for (p, m), by_probe in sorted(columns.items()):
            column = f"{prompt_labels[p]} / {provider_labels[m]}"
            mine = [c for c in originals.values() if c.key.prompt == p and c.key.provider == m]
            report = probe.measure(column, by_probe.get(id(probe), []), mine)
            reports.append(report if fail_over is None else with_threshold(report, fail_over))
    return reports


#: Metrics where a high rate is good: the threshold is compared with ``1 - rate``.
HIGHER_IS_BETTER = ("agreement",)


def with_threshold(report: ProbeReport, threshold: float) -> ProbeReport:
    """The report judged against ``threshold`` (``--fail-over``): fail when the bad rate (the
    rate, or 1 - rate for an agreement) is over it."""
    bad = 1.0 - report.rate if report.metric in HIGHER_IS_BETTER else report.rate
    return replace(report, threshold=threshold, passed=bad <= threshold)


def report_dict(report: ProbeReport) -> dict[str, Any]:
    """A report as JSON-able data (worst examples with their test, transformation and answer)."""
    return {
        "kind": report.kind, "column": report.column, "metric": report.metric, "n": report.n,
        "rate": report.rate, "low": report.low, "high": report.high,
        "p_value": report.p_value, "threshold": report.threshold, "passed": report.passed,
        "notes": list(report.notes),
        "groups": [{"group": g.group, "n": g.n, "rate": g.rate, "low": g.low, "high": g.high,
                    "p_value": g.p_value} for g in report.groups],
        "worst": [_example(c) for c in report.worst[:WORST]],
    }


def _example(cell: ProbeCell) -> dict[str, Any]:
    tag = cell.derivation.case.probe
    d, o = cell.derived, cell.original
    return {
        "test": d.key.test, "origin": cell.derivation.origin, "prompt": d.key.prompt,
        "provider": d.key.provider, "repeat": d.key.repeat,
        "transform": tag.transform if tag else None, "group": tag.group if tag else None,
        "vars": dict(cell.derivation.case.vars),
        "output": d.output, "passed": d.passed if d.error is None else None,
        "error": d.error,
        "original_output": o.output if o is not None else None,
        "original_passed": (o.passed if o.error is None else None) if o is not None else None,
    }
