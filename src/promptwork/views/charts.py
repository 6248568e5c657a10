"""Bar charts of a run's columns as view models (coordinates computed here); the template
``partials/charts.html`` draws them as inline SVG, with no script and nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import best_columns, clean, format_latency, format_rate, truncate

__all__ = ["Bar", "Chart", "Tick", "latency_chart", "pass_rate_chart"]

LABEL_W = 260
PLOT_W = 360
ROW_H = 28
TOP = 30


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Bar:
    """One column's row: its label, bars ``(width, fill, title)``, an interval and a value."""

    y: int
    label: str
    title: str
    bars: tuple[tuple[float, str, str], ...]
    interval: tuple[float, float] | None
    value: str


@dataclass(frozen=True)
class Chart:
    title: str
    aria: str
    width: int
    height: int
    ticks: tuple[Tick, ...]
    rows: tuple[Bar, ...]
    label_w: int = LABEL_W
    plot_w: int = PLOT_W
    top: int = TOP

    @property
    def bottom(self) -> int:
        return self.height - 20


def _name(col: ColumnSummary) -> str:
    return truncate(clean(f"{col.prompt_label} \u00d7 {col.provider_label}"), 38)


def _title(col: ColumnSummary) -> str:
    return f"{col.prompt_label} \u00d7 {col.provider_label}"


def pass_rate_chart(columns: Sequence[ColumnSummary]) -> Chart:
    """Each column's pass rate, its 95% Wilson interval as an error bar (winner in green)."""
    best = best_columns(columns)
    rows = []
    for i, col in enumerate(columns):
        y = TOP + i * ROW_H
        if not col.graded:
            rows.append(Bar(y, _name(col), _title(col), (), None, "n/a"))
            continue
        low, high = col.interval
        fill = "#1a7f37" if (col.prompt_idx, col.provider_idx) in best else "#54aeff"
        rows.append(Bar(y, _name(col), _title(col),
                        ((PLOT_W * col.pass_rate, fill, format_rate(col)),),
                        (LABEL_W + PLOT_W * low, LABEL_W + PLOT_W * high),
                        f"{100 * col.pass_rate:.1f}%"))
    ticks = tuple(Tick(LABEL_W + PLOT_W * t / 100, f"{t}%") for t in (0, 25, 50, 75, 100))
    return Chart("Pass rate (95% Wilson interval)",
                 "Pass rate per prompt and model, with 95% intervals",
                 LABEL_W + PLOT_W + 70, TOP + ROW_H * len(columns) + 24, ticks, tuple(rows))


def latency_chart(columns: Sequence[ColumnSummary]) -> Chart:
    """Each column's latency: p50 (dark) over p95 (light)."""
    p95s = [c.latency(95) for c in columns]
    top = max((p for p in p95s if p is not None), default=0.0) or 1.0
    rows = []
    for i, col in enumerate(columns):
        y = TOP + i * ROW_H
        p50, p95 = col.latency(50), col.latency(95)
        if p50 is None or p95 is None:
            rows.append(Bar(y, _name(col), _title(col), (), None, "n/a"))
            continue
        rows.append(Bar(y, _name(col), _title(col), (
            (PLOT_W * p95 / top, "#b6e3ff", f"p95 {format_latency(p95)}"),
            (PLOT_W * p50 / top, "#0969da", f"p50 {format_latency(p50)}")), None,
            f"{format_latency(p50)} / {format_latency(p95)}"))
    ticks = tuple(Tick(LABEL_W + PLOT_W * f, format_latency(top * f))
                  for f in (0, 0.25, 0.5, 0.75, 1.0))
    return Chart("Latency: p50 (dark), p95 (light)", "Latency p50 and p95 per prompt and model",
                 LABEL_W + PLOT_W + 90, TOP + ROW_H * len(columns) + 24, ticks, tuple(rows))
