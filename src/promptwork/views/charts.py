"""Small charts as view models: every coordinate is computed here, and the one template partial
``partials/chart.html`` draws any :class:`Chart` as inline SVG (no script, nothing fetched).

A chart is a list of drawing primitives: grid lines under everything, bars, marks over the bars
(interval whiskers), series (a polyline and/or dots) and text labels. Labels and tooltips are
printed by the partial through autoescape; nothing here writes markup.

* :func:`pass_rate_chart`, :func:`latency_chart`: a run's columns as horizontal bars (the
  report).
* :func:`line_chart`: values in [0, 1] against an ordinal axis (a prompt's pass rate by run).
* :func:`xy_chart`: values in [0, 1] against a numeric axis (an optimization's score against
  task-model calls, each candidate a dot, finalists filled).
* :func:`interval_chart`: rates with their 95% intervals as bars with whiskers (seed vs best).
* :func:`contribution_bar`: one value as a bar from the middle (an ablation's contribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import best_columns, clean, format_latency, format_rate, truncate

__all__ = [
    "COLOURS",
    "Bar",
    "Chart",
    "ChartPoint",
    "ChartSeries",
    "Label",
    "Rule",
    "contribution_bar",
    "interval_chart",
    "latency_chart",
    "line_chart",
    "pass_rate_chart",
    "xy_chart",
]

#: Series colours, in order (colour-blind safe).
COLOURS = ("#0969da", "#1a7f37", "#8250df", "#bc4c00", "#cf222e", "#57606a")
GRID, MUTED, INK, BEST, BAR = "#d0d7de", "#57606a", "#1f2328", "#1a7f37", "#54aeff"
FINALIST, DROPPED = "#0969da", "#8c959f"


@dataclass(frozen=True, slots=True)
class Rule:
    """A straight line (grid line, axis, whisker)."""

    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class Bar:
    """A filled rectangle with a tooltip."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Label:
    """A text at a position; ``title`` is its tooltip (the full text of a cut label)."""

    x: float
    y: float
    text: str
    anchor: str = "start"  # start | middle | end
    fill: str = INK
    bold: bool = False
    title: str = ""


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One point: its position, value and tooltip; ``filled`` dots are solid, others hollow."""

    x: float
    y: float
    value: float
    title: str
    filled: bool = True
    radius: float = 3.0
    colour: str = ""  # the series' colour when empty


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """A line and/or dots."""

    name: str
    colour: str
    points: tuple[ChartPoint, ...]
    line: bool = True
    dots: bool = True

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of an SVG polyline (numbers only)."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart: its size, accessible name and primitives, drawn in this order: grid, bars,
    marks, series, labels."""

    title: str
    aria: str
    width: int
    height: int
    grid: tuple[Rule, ...] = ()
    bars: tuple[Bar, ...] = ()
    marks: tuple[Rule, ...] = ()
    series: tuple[ChartSeries, ...] = ()
    labels: tuple[Label, ...] = ()

    @property
    def empty(self) -> bool:
        """No data drawn (no bar and no point)."""
        return not self.bars and not any(s.points for s in self.series)


# -- bars of a run's columns (the report) ---------------------------------------------------------

LABEL_W, PLOT_W, ROW_H, TOP = 260, 360, 28, 30


def _name(col: ColumnSummary) -> tuple[str, str]:
    full = f"{col.prompt_label} \u00d7 {col.provider_label}"
    return truncate(clean(full), 38), full


def _frame(title: str, count: int, ticks: Sequence[tuple[float, str]],
           label_w: int = LABEL_W, plot_w: int = PLOT_W, row_h: int = ROW_H,
           extra: int = 70) -> tuple[int, int, list[Rule], list[Label]]:
    width, height = label_w + plot_w + extra, TOP + row_h * count + 24
    bottom = height - 20
    grid = [Rule(label_w + plot_w * f, TOP - 2, label_w + plot_w * f, bottom) for f, _ in ticks]
    labels = [Label(0, 16, title, bold=True)]
    labels += [Label(label_w + plot_w * f, bottom + 14, text, "middle", fill=MUTED)
               for f, text in ticks]
    return width, height, grid, labels


def pass_rate_chart(columns: Sequence[ColumnSummary]) -> Chart:
    """Each column's pass rate, its 95% Wilson interval as an error bar (winner in green)."""
    best = best_columns(columns)
    title = "Pass rate (95% Wilson interval)"
    width, height, grid, labels = _frame(
        title, len(columns), [(t / 100, f"{t}%") for t in (0, 25, 50, 75, 100)])
    bars, marks = [], []
    for i, col in enumerate(columns):
        y = TOP + i * ROW_H
        short, full = _name(col)
        labels.append(Label(LABEL_W - 8, y + 17, short, "end", title=full))
        if not col.graded:
            labels.append(Label(LABEL_W + 4, y + 17, "n/a", fill=MUTED))
            continue
        low, high = col.interval
        fill = BEST if (col.prompt_idx, col.provider_idx) in best else BAR
        bars.append(Bar(LABEL_W, y + 5, PLOT_W * col.pass_rate, 16, fill, format_rate(col)))
        marks += _whisker(LABEL_W + PLOT_W * low, LABEL_W + PLOT_W * high, y + 13, 5)
        labels.append(Label(LABEL_W + PLOT_W + 6, y + 17, f"{100 * col.pass_rate:.1f}%"))
    return Chart(title, "Pass rate per prompt and model, with 95% intervals", width, height,
                 tuple(grid), tuple(bars), tuple(marks), (), tuple(labels))


def _whisker(x1: float, x2: float, mid: float, half: float) -> list[Rule]:
    return [Rule(x1, mid, x2, mid, INK, 1.5), Rule(x1, mid - half, x1, mid + half, INK, 1.5),
            Rule(x2, mid - half, x2, mid + half, INK, 1.5)]


def latency_chart(columns: Sequence[ColumnSummary]) -> Chart:
    """Each column's latency: p50 (dark) over p95 (light)."""
    p95s = [c.latency(95) for c in columns]
    top = max((p for p in p95s if p is not None), default=0.0) or 1.0
    title = "Latency: p50 (dark), p95 (light)"
    width, height, grid, labels = _frame(
        title, len(columns), [(f, format_latency(top * f)) for f in (0, 0.25, 0.5, 0.75, 1.0)],
        extra=90)
    bars = []
    for i, col in enumerate(columns):
        y = TOP + i * ROW_H
        short, full = _name(col)
        labels.append(Label(LABEL_W - 8, y + 17, short, "end", title=full))
        p50, p95 = col.latency(50), col.latency(95)
        if p50 is None or p95 is None:
            labels.append(Label(LABEL_W + 4, y + 17, "n/a", fill=MUTED))
            continue
        bars.append(Bar(LABEL_W, y + 5, PLOT_W * p95 / top, 16, "#b6e3ff",
                        f"p95 {format_latency(p95)}"))
        bars.append(Bar(LABEL_W, y + 5, PLOT_W * p50 / top, 16, "#0969da",
                        f"p50 {format_latency(p50)}"))
        labels.append(Label(LABEL_W + PLOT_W + 6, y + 17,
                            f"{format_latency(p50)} / {format_latency(p95)}"))
    return Chart(title, "Latency p50 and p95 per prompt and model", width, height,
                 tuple(grid), tuple(bars), (), (), tuple(labels))


# -- lines and dots -------------------------------------------------------------------------

LEFT, RIGHT, PLOT_TOP, BOTTOM = 44, 12, 28, 40


def _axes(title: str, width: int, height: int, y_ticks: Sequence[tuple[float, str]],
          x_ticks: Sequence[tuple[float, str]], x_title: str
          ) -> tuple[list[Rule], list[Label]]:
    grid = [Rule(LEFT, y, width - RIGHT, y) for y, _ in y_ticks]
    labels = [Label(0, 16, title, bold=True)]
    labels += [Label(LEFT - 6, y + 4, text, "end", fill=MUTED) for y, text in y_ticks]
    labels += [Label(x, height - BOTTOM + 16, text, "middle", fill=MUTED) for x, text in x_ticks]
    if x_title:
        labels.append(Label(LEFT + (width - LEFT - RIGHT) / 2, height - 6, x_title, "middle",
                            fill=MUTED))
    return grid, labels


def _y(height: int) -> tuple[float, float]:
    return PLOT_TOP, height - PLOT_TOP - BOTTOM


def line_chart(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[tuple[int, float, str]]]],
               width: int = 560, height: int = 220) -> Chart:
    """Lay out ``series`` of ``(x index into labels, value in [0, 1], tooltip)`` points.

    Args:
        title: The chart's title.
        labels: The x axis's labels, in order (at most 8 are printed).
        series: ``(name, points)`` per line.
        width: Width in pixels.
        height: Height in pixels.
    """
    top, plot_h = _y(height)
    plot_w = width - LEFT - RIGHT
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / n if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(1.0, max(0.0, v)))

    step = max(1, -(-len(labels) // 8))
    grid, texts = _axes(title, width, height, [(y(v / 4), f"{v * 25}%") for v in range(5)],
                        [(x(i), label) for i, label in enumerate(labels) if i % step == 0], "")
    lines = tuple(
        ChartSeries(name, COLOURS[k % len(COLOURS)],
                    tuple(ChartPoint(x(i), y(v), v, tip) for i, v, tip in points))
        for k, (name, points) in enumerate(series))
    texts += _legend([(s.name, s.colour) for s in lines], width)
    return Chart(title, title, width, height, tuple(grid), (), (), lines, tuple(texts))


def _legend(entries: Sequence[tuple[str, str]], width: int) -> list[Label]:
    """Legend entries as coloured text (names of series) at the top right."""
    out = []
    x = width - RIGHT
    for name, colour in reversed(entries):
        out.append(Label(x, 16, f"\u25cf {truncate(clean(name), 30)}", "end", colour,
                         title=name))
        x -= 8 + 7 * min(32, len(name) + 2)
    return out


def xy_chart(title: str, x_max: float,
             series: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
             width: int = 640, height: int = 260, x_title: str = "",
             dots: Sequence[tuple[float, float, str, bool, str]] = ()) -> Chart:
    """Lay out ``series`` of ``(x in [0, x_max], value in [0, 1], tooltip)`` points against a
    numeric x axis, and loose ``dots`` ``(x, value, tooltip, filled, colour)`` (drawn as one
    series named "candidates" with no line)."""
    top, plot_h = _y(height)
    plot_w = width - LEFT - RIGHT
    top_x = x_max if x_max > 0 else 1.0

    def x(v: float) -> float:
        return LEFT + plot_w * min(1.0, max(0.0, v / top_x))

    def y(v: float) -> float:
        return top + plot_h * (1 - min(1.0, max(0.0, v)))

    grid, texts = _axes(title, width, height, [(y(v / 4), f"{v / 4:.2f}") for v in range(5)],
                        [(x(top_x * i / 4), f"{round(top_x * i / 4)}") for i in range(5)],
                        x_title)
    lines = [ChartSeries(name, BEST if k == 0 else COLOURS[k % len(COLOURS)],
                         tuple(ChartPoint(x(px), y(v), v, tip) for px, v, tip in points),
                         dots=False)
             for k, (name, points) in enumerate(series)]
    if dots:
        lines.append(ChartSeries("candidates", FINALIST, tuple(
            ChartPoint(x(px), y(v), v, tip, filled, 4.5 if colour == BEST else 3.5, colour)
            for px, v, tip, filled, colour in dots), line=False))
    return Chart(title, title, width, height, tuple(grid), (), (), tuple(lines), tuple(texts))


def interval_chart(title: str, rows: Sequence[tuple[str, int, int, float, float, bool]]
                   ) -> Chart:
    """Rates ``(name, passed, n, low, high, best)`` as bars with their intervals as whiskers."""
    label_w, plot_w, row_h = 70, 420, 32
    width, height, grid, labels = _frame(
        title, len(rows), [(t / 100, f"{t}%") for t in (0, 25, 50, 75, 100)],
        label_w=label_w, plot_w=plot_w, row_h=row_h, extra=230)
    bars, marks = [], []
    for i, (name, passed, n, low, high, best) in enumerate(rows):
        y = TOP + i * row_h
        rate = passed / n if n else 0.0
        text = f"{passed}/{n} = {100 * rate:.1f}% [{100 * low:.1f}\u2013{100 * high:.1f}%]"
        labels.append(Label(label_w - 8, y + 19, name, "end"))
        bars.append(Bar(label_w, y + 6, plot_w * rate, 18, BEST if best else BAR, text))
        marks += _whisker(label_w + plot_w * low, label_w + plot_w * high, y + 15, 6)
        labels.append(Label(label_w + plot_w + 8, y + 19, text))
    return Chart(title, title, width, height, tuple(grid), tuple(bars), tuple(marks), (),
                 tuple(labels))


def contribution_bar(value: float, scale: float, width: int = 160, height: int = 14) -> Chart:
    """A bar from the middle: right and green for a positive value, left and red otherwise."""
    half = width / 2
    length = half * min(1.0, abs(value) / scale) if scale > 0 else 0.0
    x = half if value >= 0 else half - length
    colour = BEST if value > 0 else "#cf222e"
    return Chart("", f"contribution {value:+.3f}", width, height,
                 bars=(Bar(x, 2, length, height - 4, colour),),
                 marks=(Rule(half, 0, half, height, MUTED),))
