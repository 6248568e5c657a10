"""Geometry of small line charts, for a template partial to draw as inline SVG.

The view computes every coordinate (numbers only); the template loops over series and points
and prints labels through autoescape. Nothing here writes markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["COLOURS", "Chart", "ChartPoint", "ChartSeries", "Tick", "line_chart", "xy_chart"]

#: Series colours, in order (colour-blind safe, as the optimizer report's).
COLOURS = ("#0969da", "#1a7f37", "#8250df", "#bc4c00", "#cf222e", "#57606a")


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One point: its position and what its tooltip says."""

    x: float
    y: float
    value: float
    title: str


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One line of the chart."""

    name: str
    colour: str
    points: tuple[ChartPoint, ...]

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of an SVG polyline (numbers only)."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True, slots=True)
class Tick:
    """A grid line or axis label at ``pos`` (y for the value axis, x for the other)."""

    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A line chart of values in [0, 1] against an ordinal axis (runs, oldest first)."""

    title: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    series: tuple[ChartSeries, ...]

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def line_chart(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[tuple[int, float, str]]]],
               width: int = 560, height: int = 200) -> Chart:
    """Lay out ``series`` of ``(x index into labels, value in [0, 1], tooltip)`` points.

    Args:
        title: The chart's accessible title.
        labels: The x axis's labels, in order (at most 8 are printed).
        series: ``(name, points)`` per line.
        width: Width in pixels.
        height: Height in pixels.
    """
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + (plot_w * i / n if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(1.0, max(0.0, v)))

    y_ticks = tuple(Tick(y(v / 4), f"{v * 25}%") for v in range(5))
    step = max(1, -(-len(labels) // 8))
    x_ticks = tuple(Tick(x(i), label) for i, label in enumerate(labels) if i % step == 0)
    lines = tuple(
        ChartSeries(name, COLOURS[k % len(COLOURS)],
                    tuple(ChartPoint(x(i), y(v), v, tip) for i, v, tip in points))
        for k, (name, points) in enumerate(series))
    return Chart(title, width, height, left, right, top, bottom, y_ticks, x_ticks, lines)


def xy_chart(title: str, x_max: float,
             series: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
             width: int = 560, height: int = 220) -> Chart:
    """Lay out ``series`` of ``(x in [0, x_max], value in [0, 1], tooltip)`` points (a numeric
    x axis, e.g. task-model calls used)."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    top_x = x_max if x_max > 0 else 1.0

    def x(v: float) -> float:
        return left + plot_w * min(1.0, max(0.0, v / top_x))

    def y(v: float) -> float:
        return top + plot_h * (1 - min(1.0, max(0.0, v)))

    y_ticks = tuple(Tick(y(v / 4), f"{v / 4:.2f}") for v in range(5))
    x_ticks = tuple(Tick(x(top_x * i / 4), f"{round(top_x * i / 4)}") for i in range(5))
    lines = tuple(
        ChartSeries(name, COLOURS[k % len(COLOURS)],
                    tuple(ChartPoint(x(px), y(v), v, tip) for px, v, tip in points))
        for k, (name, points) in enumerate(series))
    return Chart(title, width, height, left, right, top, bottom, y_ticks, x_ticks, lines)
