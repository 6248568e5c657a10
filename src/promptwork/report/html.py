"""A self-contained, offline HTML report of a run.

One file, nothing fetched: no CDN, no web fonts, no images, no scripts. Charts are inline SVG.
Interactivity is plain ``<details>`` elements.

The page is rendered by the same autoescaped Jinja2 templates as the web workbench
(:mod:`promptwork.templating`: ``report/report.html`` on ``base.html`` in its ``standalone``
form, with the shared ``partials/summary.html`` and ``partials/chart.html``): escaping has one
place. Model output is hostile until proven otherwise (``<script>``, ``<img onerror>``,
``<svg onload>``, ``javascript:`` links, remote markdown images): every output, var, label and
reason is printed escaped after control characters are neutralised, and a strict
Content-Security-Policy forbids scripts and any network access even if something slipped
through. The optimizer's report (:mod:`promptwork.optimizer.html`) is rendered the same way
(``report/optimization.html``) under the same :data:`CSP`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from promptwork.derived import NamedSums, derived_specs
from promptwork.report.datasetlines import metric_lines
from promptwork.report.notes import run_notes
from promptwork.report.promptfoo_json import label_at
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
    CellView,
    build_matrix,
    column_label,
    format_latency,
    row_label,
    row_name,
)
from promptwork.store import RunRecord
from promptwork.templating import environment
from promptwork.version import __version__
from promptwork.views.charts import latency_chart, pass_rate_chart
from promptwork.views.summary import summary_table

__all__ = ["CSP", "render_html"]

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       "base-uri 'none'; form-action 'none'")

MAX_ROWS = 2000
FULL_OUTPUT_LIMIT = 20000


def render_html(
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    *,
    max_rows: int = MAX_ROWS,
    descriptions: Mapping[int, str] | None = None,
    title: str | None = None,
    dataset: Sequence[Any] = (),
) -> str:
    """The report as one HTML document.

    Args:
        run: The stored run (id, dates, status, description).
        rows: Its result rows (any order; streamed, only the first ``max_rows`` tests are kept).
        prompt_labels: Label of each prompt, by ``prompt_idx``.
        provider_labels: Label of each provider, by ``provider_idx``.
        columns: Per-column summaries (:func:`promptwork.report.summary.summarize`).
        max_rows: Tests (test x repeat rows) shown in the matrix.
        descriptions: Optional test descriptions by ``test_idx``.
        title: Page title; default ``promptwork run <id>``.
        dataset: The run's dataset-metric reports (classification, distinct n-grams; derived
            ones are computed here from the rows).
    """
    sums = NamedSums()  # derived metrics, summed while the matrix reads the rows
    matrix = build_matrix(sums.watch(rows), max_rows, output_limit=200,
                          full_limit=FULL_OUTPUT_LIMIT)
    derived = sums.derived(derived_specs(run.settings))
    lines = [line for line in metric_lines(dataset) if line.data.get("type") != "derived"]
    matrix_rows = []
    for key in matrix.rows:
        cells = []
        for col in matrix.columns:
            cell = matrix.cells.get((key, col))
            cells.append(None if cell is None else (cell, _facts(cell)))
        matrix_rows.append((row_label(key, matrix.repeats),
                            row_name(matrix, key[0], 300, descriptions),
                            matrix.vars.get(key[0]) or {}, cells))
    return environment().get_template("report/report.html").render(
        standalone=True, csp=Markup(CSP),  # noqa: S704 (our constant, quotes kept)
        csrf_token="", extra_style="", version=__version__,
        title=title or f"promptwork run {run.id}", run=run,
        passes=sum(c.passes for c in columns), fails=sum(c.fails for c in columns),
        errors=sum(c.errors for c in columns), notes=run_notes(run.settings),
        summary=summary_table(columns),
        derived=[(label_at(prompt_labels, r.prompt_idx), label_at(provider_labels, r.provider_idx),
                  r.name, f"{r.value:.4g}" if r.value is not None
                  else f"undefined ({r.reason})", r.expression) for r in derived],
        dataset=[_dataset_line(line, prompt_labels, provider_labels) for line in lines],
        charts=[pass_rate_chart(columns), latency_chart(columns)] if columns else [],
        omitted=matrix.omitted, shown=len(matrix.rows),
        matrix_headers=[column_label(c, prompt_labels, provider_labels)
                        for c in matrix.columns],
        matrix_rows=matrix_rows,
    )


def _facts(cell: CellView) -> str:
    facts = []
    if cell.latency_ms is not None:
        facts.append(f"latency {format_latency(cell.latency_ms)}")
    if cell.cost is not None:
        facts.append(f"cost ${cell.cost:.6f}")
    if cell.cached:
        facts.append("cached")
    return " · ".join(facts)


def _dataset_line(line: Any, prompt_labels: Sequence[str],
                  provider_labels: Sequence[str]) -> dict[str, Any]:
    """A dataset metric's row; a classification keeps its confusion matrix (gold labels as
    rows, predictions as columns)."""
    data = line.data
    out: dict[str, Any] = {
        "prompt": label_at(prompt_labels, line.prompt_idx),
        "model": label_at(provider_labels, line.provider_idx),
        "metric": line.metric, "value": line.value, "detail": line.detail,
        "confusion": None, "labels": [], "n": 0}
    if data.get("type") == "classification":
        labels = [str(x) for x in data["labels"]]
        out["labels"] = labels
        out["n"] = int(data["n"])
        out["confusion"] = [(gold, [int(n) for n in counts])
                            for gold, counts in zip(labels, data["confusion"], strict=True)]
    return out
