"""The one chart module and its one partial: geometry in the view, markup and escaping in
``partials/chart.html`` (the report, the prompt page and the optimization page draw with it)."""

from __future__ import annotations

import re

from promptwork.report.summary import ColumnSummary
from promptwork.templating import environment
from promptwork.views.charts import (
    BEST,
    DROPPED,
    FINALIST,
    contribution_bar,
    interval_chart,
    line_chart,
    pass_rate_chart,
    xy_chart,
)

EVIL = "<script>alert(1)</script>"


def _draw(chart: object) -> str:
    return environment().get_template("partials/chart.html").render(chart=chart)


def test_bars_with_intervals_and_an_ungraded_column() -> None:
    cols = [ColumnSummary(0, 0, EVIL, "m", passes=3, fails=1),
            ColumnSummary(1, 0, "p2", "m", errors=2)]
    chart = pass_rate_chart(cols)
    assert len(chart.bars) == 1 and chart.bars[0].width == 360 * 0.75
    assert len(chart.marks) == 3  # one whisker: a line and two caps
    svg = _draw(chart)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert ">n/a</text>" in svg and ">75.0%</text>" in svg


def test_a_line_chart_puts_runs_in_order_and_names_its_series() -> None:
    chart = line_chart("t", ["a", "b", "c"], [(EVIL, [(0, 0.0, "x"), (2, 1.0, "y")])])
    [series] = chart.series
    assert series.points[0].x < series.points[1].x and series.points[1].y < series.points[0].y
    svg = _draw(chart)
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 2
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;</title>" in svg


def test_candidates_as_dots_filled_or_hollow() -> None:
    chart = xy_chart("score", 100, [("best so far", [(0, 0.5, "s"), (50, 0.8, "t")])],
                     dots=[(10, 0.5, "seed", True, FINALIST), (20, 0.2, EVIL, False, DROPPED),
                           (50, 0.8, "best", True, BEST)])
    steps, dots = chart.series
    assert not steps.dots and not dots.line and len(dots.points) == 3
    svg = _draw(chart)
    circles = re.findall(r'<circle [^>]*fill="([^"]+)"', svg)
    assert circles == [FINALIST, "#fff", BEST]
    assert svg.count("<polyline") == 1 and "<script" not in svg


def test_intervals_and_contributions() -> None:
    chart = interval_chart("test", [("seed", 3, 10, 0.1, 0.6, False),
                                    ("best", 8, 10, 0.5, 0.95, True)])
    svg = _draw(chart)
    assert "3/10 = 30.0% [10.0\u201360.0%]" in svg and f'fill="{BEST}"' in svg
    left, right = contribution_bar(-0.5, 1.0), contribution_bar(0.25, 1.0)
    assert left.bars[0].x == 40 and left.bars[0].width == 40
    assert right.bars[0].x == 80 and right.bars[0].width == 20
    assert contribution_bar(0.0, 0.0).bars[0].width == 0
