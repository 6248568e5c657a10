"""Rich tables of a run for the terminal: the result matrix and the per-column summary.

Model output is untrusted: every piece of it goes through :func:`clean` (control characters and
ANSI escapes neutralised, see :func:`promptwork.cli.output.safe_text`) and is put into Rich
``Text`` objects, which Rich never parses for markup, so ``[bold]`` or ``[link=...]`` in an
output stays literal text.

The small helpers here (:func:`status_of`, :func:`compact_vars`, :func:`format_rate`...) are shared
by the other report writers (Markdown, HTML, JUnit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rich.table import Table
from rich.text import Text

from promptwork.report.datasetlines import metric_lines
from promptwork.report.naming import metric_names, named_scores, varying_first, varying_names
from promptwork.report.summary import RATE_MEANING, ColumnSummary
from promptwork.sanitize import safe_text

__all__ = [
    "EMPTY",
    "CellView",
    "Matrix",
    "build_matrix",
    "clean",
    "compact_vars",
    "format_cost",
    "format_latency",
    "format_named",
    "format_rate",
    "matrix_table",
    "one_line",
    "row_name",
    "status_of",
    "summary_table",
    "truncate",
]

_SPACES = re.compile(r"\s+")

#: How an empty answer is shown (instead of nothing, which looks like a display problem).
EMPTY = "(empty)"

STATUS_STYLE = {"PASS": "bold green", "FAIL": "bold red", "ERROR": "bold yellow"}


def clean(text: Any) -> str:
    """Any value as display-safe text: control characters, ANSI escapes and bidi overrides are
    written out as ``\\xNN`` / ``\\uNNNN`` instead of acting on the terminal."""
    if text is None:
        return ""
    return safe_text(text if isinstance(text, str) else str(text))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def one_line(text: Any, limit: int) -> str:
    """Cleaned, whitespace-collapsed and truncated: for table cells."""
    return truncate(_SPACES.sub(" ", clean(text)).strip(), limit)


def status_of(row: Mapping[str, Any]) -> str:
    """``ERROR`` (the call failed), ``PASS`` or ``FAIL`` (the checks' verdict)."""
    if row.get("error") is not None:
        return "ERROR"
    return "PASS" if row.get("success") else "FAIL"


def compact_vars(variables: Mapping[str, Any] | None, limit: int = 60) -> str:
    """``name=value, other=value`` on one line, cleaned and truncated."""
    if not variables:
        return "(no vars)"
    parts = []
    for key, value in variables.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return one_line(", ".join(parts), limit)


def format_rate(col: ColumnSummary) -> str:
    """Pass rate with its 95% Wilson interval, ``72.0% [61.1-80.8]`` (en dash); ``n/a`` when
    nothing was graded."""
    if not col.graded:
        return "n/a"
    low, high = col.interval
    return f"{100 * col.pass_rate:.1f}% [{100 * low:.1f}\u2013{100 * high:.1f}]"


def format_cost(col: ColumnSummary) -> str:
    """Total cost in dollars, or ``n/a`` when some call's price is unknown."""
    if not col.cost_known:
        return "n/a"
    return f"${col.cost:.4f}" if col.cost < 1 else f"${col.cost:,.2f}"


def format_latency(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def format_named(col: ColumnSummary, name: str) -> str:
    """A column's mean score on a named metric, or a dash when none of its cells has it."""
    value = col.named_means.get(name)
    return "\u2013" if value is None else f"{value:.2f}"


def format_score(score: Any) -> str:
    try:
        return f"{float(score):.2f}"
    except (TypeError, ValueError):
        return "-"


def best_columns(columns: Sequence[ColumnSummary]) -> set[tuple[int, int]]:
    """Key of the winner: the best column when it is significantly better than the runner-up
    (:mod:`promptwork.report.winner` sets ``winner``); empty otherwise, ties included."""
    return {(c.prompt_idx, c.provider_idx) for c in columns if c.winner}


# -- the matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellView:
    """What a report shows of one result cell (outputs already cleaned and truncated)."""

    status: str
    score: float
    output: str
    reason: str
    error: str
    full_output: str = ""
    full_reason: str = ""
    full_error: str = ""
    components: tuple[tuple[str, bool, float, str], ...] = ()
    latency_ms: float | None = None
    cost: float | None = None
    cached: bool = False
    #: The answer is empty (or only whitespace): reports say "(empty)" instead of nothing.
    empty: bool = False
    #: Scores of the cell's named metrics (``metric:`` of its checks), by name.
    named: tuple[tuple[str, float], ...] = ()
    #: Characters in the whole answer (the previews above may be cut).
    length: int = 0


@dataclass
class Matrix:
    """Result cells folded into report rows (one per test and repeat) and columns.

    Attributes:
        columns: Column keys ``(prompt_idx, provider_idx)`` in order.
        rows: Row keys ``(test_idx, repeat_idx)`` shown, in order.
        vars: Vars of each shown test.
        cells: ``cells[(row_key, column_key)]``.
        omitted: How many row keys were not kept (beyond the cap).
        repeats: Whether any row has a repeat index above 0.
    """

    columns: list[tuple[int, int]]
    rows: list[tuple[int, int]]
    vars: dict[int, dict[str, Any]]
    cells: dict[tuple[tuple[int, int], tuple[int, int]], CellView]
    omitted: int
    repeats: bool
    #: Descriptions of the shown tests that have one (``description``, ``__description``).
    descriptions: dict[int, str] = field(default_factory=dict)
    #: Names of the vars that differ between the shown tests (computed on first use).
    varying: set[str] | None = None


def build_matrix(
    rows: Iterable[Mapping[str, Any]], max_rows: int, output_limit: int = 80, full_limit: int = 0
) -> Matrix:
    """Fold result rows into a :class:`Matrix` keeping the first ``max_rows`` (test, repeat) rows.

    Memory stays bounded by ``max_rows`` times the number of columns, whatever the number of
    rows: cells of a row key beyond the cap are dropped as soon as a smaller key fills it.

    Args:
        rows: Stored result rows, any order.
        max_rows: Row keys kept.
        output_limit: Characters of the one-line output preview.
        full_limit: Characters of the full (multi-line) output, reason and error kept; 0 keeps
            none (terminal tables only need the preview).
    """
    columns: set[tuple[int, int]] = set()
    keys: set[tuple[int, int]] = set()
    kept: dict[tuple[int, int], dict[tuple[int, int], CellView]] = {}
    variables: dict[int, dict[str, Any]] = {}
    descriptions: dict[int, str] = {}
    repeats = False
    limit = max(0, max_rows)
    worst: tuple[int, int] | None = None  # largest kept key, tracked once the cap is reached
    for row in rows:
        key = (int(row["test_idx"]), int(row.get("repeat_idx") or 0))
        col = (int(row["prompt_idx"]), int(row["provider_idx"]))
        columns.add(col)
        keys.add(key)
        repeats = repeats or key[1] > 0
        if key not in kept:
            if len(kept) >= limit:
                if worst is None or key > worst:
                    continue
                del kept[worst]
                kept[key] = {}
                worst = max(kept)
            else:
                kept[key] = {}
                if len(kept) == limit:
                    worst = max(kept)
        grading = row.get("grading") or {}
        cell = CellView(
            status=status_of(row),
            score=float(row.get("score") or 0.0),
            output=one_line(row.get("output"), output_limit),
            reason=one_line(grading.get("reason", ""), output_limit),
            error=one_line(row.get("error"), output_limit),
            latency_ms=_float(row.get("latency_ms")),
            cost=_float(row.get("cost")),
            cached=bool(row.get("cached")),
            empty=row.get("error") is None and not (row.get("output") or "").strip(),
            named=named_scores(row),
            length=len(row.get("output") or ""),
        )
        if full_limit > 0:
            cell = replace(
                cell,
                full_output=truncate(clean(row.get("output")), full_limit),
                full_reason=truncate(clean(grading.get("reason", "")), full_limit),
                full_error=truncate(clean(row.get("error")), full_limit),
                components=tuple(
                    (clean(c.get("type", "")), bool(c.get("pass")),
                     float(c.get("score") or 0.0), truncate(clean(c.get("reason", "")), 500))
                    for c in grading.get("components", [])[:50]
                ),
            )
        kept[key][col] = cell
        variables.setdefault(key[0], dict(row.get("vars") or {}))
        if row.get("description"):
            descriptions.setdefault(key[0], str(row["description"]))
    shown = sorted(kept)
    shown_tests = {k[0] for k in shown}
    return Matrix(
        columns=sorted(columns),
        rows=shown,
        vars={t: v for t, v in variables.items() if t in shown_tests},
        cells={(k, c): cell for k in shown for c, cell in kept[k].items()},
        omitted=len(keys) - len(shown),
        repeats=repeats,
        descriptions={t: d for t, d in descriptions.items() if t in shown_tests},
    )


def row_name(matrix: Matrix, test: int, limit: int,
             descriptions: Mapping[int, str] | None = None) -> str:
    """A row's name, one line of at most ``limit`` characters: the test's description, else
    its vars with those that vary between the shown tests first."""
    description = (descriptions or {}).get(test) or matrix.descriptions.get(test)
    if description:
        return one_line(description, limit)
    if matrix.varying is None:
        matrix.varying = varying_names(matrix.vars.values())
    return compact_vars(varying_first(matrix.vars.get(test) or {}, matrix.varying), limit)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def row_label(key: tuple[int, int], repeats: bool) -> str:
    test, repeat = key
    return f"#{test}" + (f" r{repeat}" if repeats else "")


def column_label(col: tuple[int, int], prompt_labels: Sequence[str],
                 provider_labels: Sequence[str]) -> str:
    return f"{_label(prompt_labels, col[0])} \u00d7 {_label(provider_labels, col[1])}"


def _label(labels: Sequence[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"#{index}"


def matrix_table(
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    max_rows: int = 50,
    *,
    descriptions: Mapping[int, str] | None = None,
    output_limit: int = 80,
) -> Table:
    """The result matrix: one row per test (and repeat), one column per prompt x model.

    Args:
        rows: Stored result rows (any order).
        prompt_labels: Label of each prompt, by ``prompt_idx``.
        provider_labels: Label of each provider, by ``provider_idx``.
        max_rows: Tests (test x repeat rows) shown; the rest are counted in the caption.
        descriptions: Optional test descriptions by ``test_idx``, shown instead of the vars.
        output_limit: Characters of output shown per cell.
    """
    matrix = build_matrix(rows, max_rows, output_limit)
    table = Table(title="Results", show_lines=True, expand=False)
    table.add_column("Test", overflow="fold", max_width=40)
    for col in matrix.columns:
        header = Text(one_line(column_label(col, prompt_labels, provider_labels), 60))
        table.add_column(header, overflow="fold", max_width=48)
    for key in matrix.rows:
        label = Text(row_label(key, matrix.repeats) + " ", style="dim")
        label.append(row_name(matrix, key[0], 60, descriptions))
        cells: list[Text] = [label]
        for col in matrix.columns:
            cell = matrix.cells.get((key, col))
            cells.append(_cell_text(cell))
        table.add_row(*cells)
    if matrix.omitted:
        table.caption = (f"showing the first {len(matrix.rows)} of "
                         f"{len(matrix.rows) + matrix.omitted} tests; "
                         f"{matrix.omitted} omitted (export the run for all of them)")
    return table


def _cell_text(cell: CellView | None) -> Text:
    if cell is None:
        return Text("\u2013", style="dim")
    text = Text()
    text.append(cell.status, style=STATUS_STYLE[cell.status])
    if cell.status == "ERROR":
        text.append("\n")
        text.append(cell.error, style="yellow")
        return text
    text.append(f" {cell.score:.2f}")
    if cell.empty:
        text.append("\n")
        text.append(EMPTY, style="italic magenta")
    elif cell.output:
        text.append("\n")
        text.append(cell.output)
    if cell.status == "FAIL" and cell.reason:
        text.append("\n")
        text.append(cell.reason, style="dim")
    return text


# -- the summary --------------------------------------------------------------------------------


def summary_table(columns: Sequence[ColumnSummary], *, title: str = "Summary") -> Table:
    """Per prompt x model: pass rate with 95% Wilson interval, mean score, errors, tokens, cost,
    latency p50/p95 and cached answers; the winner (significantly better than the runner-up,
    see :mod:`promptwork.report.winner`) is marked with a star."""
    best = best_columns(columns)
    table = Table(title=title, caption=RATE_MEANING)
    table.add_column("Prompt", overflow="fold")
    table.add_column("Model", overflow="fold")
    table.add_column("Pass rate [95% CI]", justify="right")
    table.add_column("Mean score", justify="right")
    names = metric_names(c.named_means for c in columns)  # the checks' named metrics
    for name in names:
        table.add_column(Text(one_line(name, 30), style="bold"), justify="right")
    table.add_column("Errors", justify="right")
    table.add_column("Tokens", justify="right")
    table.add_column("Cost", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("Cached", justify="right")
    for col in columns:
        is_best = (col.prompt_idx, col.provider_idx) in best
        rate = Text(format_rate(col), style="bold green" if is_best else "")
        if is_best:
            rate.append(" ★", style="bold green")
        errors = Text(str(col.errors), style="yellow" if col.errors else "")
        table.add_row(
            Text(one_line(col.prompt_label, 60)),
            Text(one_line(col.provider_label, 60)),
            rate,
            Text(format_score(col.mean_score) if col.graded else "n/a"),
            *(Text(format_named(col, name)) for name in names),
            errors,
            Text(f"{col.prompt_tokens + col.completion_tokens:,}"),
            Text(format_cost(col)),
            Text(format_latency(col.latency(50))),
            Text(format_latency(col.latency(95))),
            Text(str(col.cached)),
        )
    return table


def metrics_table(reports: Sequence[Any], prompt_labels: Sequence[str],
                  provider_labels: Sequence[str]) -> Table:
    """Dataset-level metrics (classification accuracy / macro-F1 / confusion, diversity,
    derived metrics), worded by :func:`promptwork.report.datasetlines.metric_lines`."""
    table = Table(title="Dataset metrics")
    for col in ("Prompt", "Model", "Metric", "Value", "Detail"):
        table.add_column(col)
    for line in metric_lines(reports):
        table.add_row(Text(one_line(_label(prompt_labels, line.prompt_idx), 60)),
                      Text(one_line(_label(provider_labels, line.provider_idx), 60)),
                      Text(clean(line.metric)), Text(line.value), Text(clean(line.detail)))
    return table
