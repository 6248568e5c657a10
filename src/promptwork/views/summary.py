"""The per-column summary table as shown in HTML (the report and the workbench's matrix page).

Built from :class:`promptwork.report.summary.ColumnSummary` values: their numbers, formatted
once here; the template ``partials/summary.html`` only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promptwork.report.naming import metric_names
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
    best_columns,
    format_cost,
    format_latency,
    format_named,
    format_rate,
    format_score,
)

__all__ = ["SummaryRow", "SummaryTable", "summary_table"]


@dataclass(frozen=True)
class SummaryRow:
    """One column's line: every value already formatted as text."""

    prompt: str
    model: str
    rate: str
    mean_score: str
    named: tuple[str, ...]
    errors: int
    tokens: int
    cost: str
    p50: str
    p95: str
    cached: int
    best: bool


@dataclass(frozen=True)
class SummaryTable:
    """The table: the named metrics' names (one column each) and one row per column."""

    metrics: tuple[str, ...]
    rows: tuple[SummaryRow, ...]


def summary_table(
    columns: Sequence[ColumnSummary],
    latencies: Mapping[tuple[int, int], tuple[float | None, float | None]] | None = None,
) -> SummaryTable:
    """The summary of ``columns``; ``latencies`` gives (p50, p95) by column key when the
    summaries hold no latencies (computed in the database instead)."""
    best = best_columns(columns)
    names = tuple(metric_names(c.named_means for c in columns))
    rows = []
    for col in columns:
        key = (col.prompt_idx, col.provider_idx)
        p50, p95 = (latencies or {}).get(key, (col.latency(50), col.latency(95)))
        rows.append(SummaryRow(
            prompt=col.prompt_label, model=col.provider_label, rate=format_rate(col),
            mean_score=format_score(col.mean_score) if col.graded else "n/a",
            named=tuple(format_named(col, n) for n in names), errors=col.errors,
            tokens=col.prompt_tokens + col.completion_tokens, cost=format_cost(col),
            p50=format_latency(p50), p95=format_latency(p95), cached=col.cached,
            best=key in best))
    return SummaryTable(names, tuple(rows))
