"""The matrix of one run as a view model: visible columns with their summaries, one page of
tests with their cells (repeats of a cell together, with how many agree), and the paging keys.

Everything comes from :mod:`promptwork.store.matrix` (server-side paging by ``test_idx``; a page
costs the same in a 300-cell run and a 100,000-cell one). The page's text is cleaned and cut
here; the templates escape it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptwork.report.naming import varying_first, varying_names
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import EMPTY, compact_vars, one_line, status_of
from promptwork.store import RunRecord, Store
from promptwork.store.columnfigures import column_figures
from promptwork.store.matrix import MatrixFilter, cells_of_tests, page_of_tests, rated_cells
from promptwork.views.summary import SummaryTable, summary_table

__all__ = ["CellGroup", "CellItem", "ColumnView", "MatrixView", "RowView", "build_matrix_view",
           "labels_of"]

PREVIEW = 160
PAGE_SIZES = (25, 50, 100, 200)


def labels_of(run: RunRecord) -> tuple[list[str], list[str]]:
    """Prompt and model labels of a run, by index."""
    prompts = [str(p.get("label")) for p in run.settings.get("prompts", [])]
    models = [str(p.get("label")) for p in run.settings.get("providers", [])]
    return prompts, models


def _label(labels: Sequence[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"#{index}"


@dataclass(frozen=True)
class ColumnView:
    """A prompt x model column."""

    prompt_idx: int
    provider_idx: int
    prompt: str
    model: str
    visible: bool

    @property
    def key(self) -> str:
        """``P.M``, as the URL's ``cols`` parameter writes it."""
        return f"{self.prompt_idx}.{self.provider_idx}"


@dataclass(frozen=True)
class CellItem:
    """One stored cell (one repeat): verdict, score and the answer's start."""

    repeat_idx: int
    status: str  # PASS | FAIL | ERROR
    score: str
    preview: str
    empty: bool
    path: str  # the cell page's path
    rated: tuple[bool, ...] = ()  # each rater's human verdict (pass: True), if rated

    @property
    def rating(self) -> str:
        """``pass``, ``fail`` or ``mixed`` (raters disagree); empty when not rated."""
        if not self.rated:
            return ""
        return "pass" if all(self.rated) else "fail" if not any(self.rated) else "mixed"


@dataclass(frozen=True)
class CellGroup:
    """The repeats of one test in one column."""

    items: tuple[CellItem, ...]

    @property
    def status(self) -> str:
        """The most common verdict (ties: the worst)."""
        counts = Counter(i.status for i in self.items)
        return max(("ERROR", "FAIL", "PASS"), key=lambda s: (counts[s], s == "ERROR"))

    @property
    def agree(self) -> int:
        """How many repeats share the most common verdict."""
        return max(Counter(i.status for i in self.items).values())


@dataclass(frozen=True)
class RowView:
    """A test: its name, vars, and a cell group per visible column (None: no cell stored)."""

    test_idx: int
    name: str
    vars: tuple[tuple[str, str], ...]
    cells: tuple[CellGroup | None, ...]


@dataclass(frozen=True)
class MatrixView:
    """One page of a run's matrix."""

    run: RunRecord
    columns: tuple[ColumnView, ...]
    summary: SummaryTable
    rows: tuple[RowView, ...]
    filter: MatrixFilter
    limit: int
    next_after: int | None
    prev_before: int | None
    repeats: bool
    params: dict[str, str] = field(default_factory=dict)

    @property
    def visible(self) -> tuple[ColumnView, ...]:
        return tuple(c for c in self.columns if c.visible)


def _cell(run_id: str, row: Mapping[str, Any], rated: tuple[bool, ...] = ()) -> CellItem:
    status = status_of(row)
    output = row.get("output")
    empty = status != "ERROR" and not (output or "").strip()
    preview = one_line(row.get("error") if status == "ERROR" else output, PREVIEW)
    path = (f"/runs/{run_id}/cells/{row['test_idx']}/{row['prompt_idx']}/"
            f"{row['provider_idx']}/{row['repeat_idx']}")
    return CellItem(int(row["repeat_idx"]), status,
                    "" if status == "ERROR" else f"{float(row.get('score') or 0.0):.2f}",
                    EMPTY if empty else preview, empty, path, rated)


def build_matrix_view(
    store: Store,
    run: RunRecord,
    flt: MatrixFilter,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> MatrixView:
    """A page of ``run``'s matrix under ``flt``.

    The per-column figures of a finished run are the ones stored at its finish
    (:func:`promptwork.store.columnfigures.column_figures`); a running run's are computed live.

    Raises:
        ConfigError: A bad filter (unknown mode, invalid regular expression).
    """
    prompts, models = labels_of(run)
    numbers, metrics = column_figures(store, run)
    keys = [(n.prompt_idx, n.provider_idx) for n in numbers]
    shown = set(flt.columns) & set(keys) or set(keys)
    columns = tuple(ColumnView(p, m, _label(prompts, p), _label(models, m), (p, m) in shown)
                    for p, m in keys)
    summaries = [ColumnSummary(
        n.prompt_idx, n.provider_idx, _label(prompts, n.prompt_idx),
        _label(models, n.provider_idx), passes=n.passes, fails=n.fails, errors=n.errors,
        score_sum=n.score_sum, prompt_tokens=n.prompt_tokens,
        completion_tokens=n.completion_tokens, cost=n.cost, cost_known=n.cost_known,
        cached=n.cached,
        # the column's mean per named metric (computed in the database) as a one-value list
        named={k: [v] for k, v in metrics.get((n.prompt_idx, n.provider_idx), {}).items()},
    ) for n in numbers]
    latencies = {(n.prompt_idx, n.provider_idx): (n.p50_ms, n.p95_ms) for n in numbers}
    page_filter = MatrixFilter(flt.mode, flt.search, flt.regex, flt.check,
                               tuple(sorted(shown)) if shown != set(keys) else ())
    tests, more = page_of_tests(store, run.id, page_filter, after=after, before=before, limit=limit)
    cells = cells_of_tests(store, run.id, tests)
    ratings = rated_cells(store, run.id, tests)  # one query for the page
    by_test: dict[int, dict[tuple[int, int], list[CellItem]]] = {}
    variables: dict[int, dict[str, Any]] = {}
    descriptions: dict[int, str] = {}
    repeats = False
    for row in cells:
        t = int(row["test_idx"])
        variables.setdefault(t, dict(row.get("vars") or {}))
        if row.get("description"):
            descriptions.setdefault(t, str(row["description"]))
        repeats = repeats or int(row["repeat_idx"]) > 0
        column = (int(row["prompt_idx"]), int(row["provider_idx"]))
        rated = ratings.get((t, *column, int(row["repeat_idx"])), ())
        by_test.setdefault(t, {}).setdefault(column, []).append(_cell(run.id, row, rated))
    varying = varying_names(variables.values())
    rows = []
    for t in tests:
        own = variables.get(t, {})
        name = (one_line(descriptions[t], 200) if t in descriptions
                else compact_vars(varying_first(own, varying), 200))
        groups = by_test.get(t, {})
        rows.append(RowView(
            t, name,
            tuple((one_line(k, 80), one_line(v if isinstance(v, str) else repr(v), 500))
                  for k, v in own.items()),
            tuple(CellGroup(tuple(groups[(c.prompt_idx, c.provider_idx)]))
                  if (c.prompt_idx, c.provider_idx) in groups else None
                  for c in columns if c.visible)))
    forward = before is None
    next_after = tests[-1] if tests and (more if forward else True) else None
    prev_before = tests[0] if tests and ((after is not None) if forward else more) else None
    return MatrixView(run, columns, summary_table(summaries, latencies), tuple(rows),
                      page_filter, limit, next_after, prev_before, repeats)
