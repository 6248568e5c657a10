"""A self-contained, offline HTML report of a run.

One file, nothing fetched: no CDN, no web fonts, no images, no scripts. Charts are inline SVG
drawn here. Interactivity is plain ``<details>`` elements.

Model output is hostile until proven otherwise (it can hold ``<script>``, ``<img onerror>``,
``<svg onload>``, ``javascript:`` links, remote markdown images): every output, var, label and
reason is written through :func:`html.escape` after control characters are neutralised, and a
strict Content-Security-Policy forbids scripts and any network access even if something slipped
through.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from promptwork import __version__
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
    CellView,
    best_columns,
    build_matrix,
    clean,
    column_label,
    compact_vars,
    format_cost,
    format_latency,
    format_rate,
    format_score,
    row_label,
    truncate,
)
from promptwork.store import RunRecord

__all__ = ["CSP", "render_html"]

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       "base-uri 'none'; form-action 'none'")

MAX_ROWS = 2000
FULL_OUTPUT_LIMIT = 20000

_STYLE = """
:root { color-scheme: light; --pass: #1a7f37; --fail: #cf222e; --error: #9a6700;
  --pass-bg: #dafbe1; --fail-bg: #ffebe9; --error-bg: #fff8c5; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
  color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #57606a; margin: 0 0 4px; } code { font-family: ui-monospace, monospace; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 5px 8px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.best td.rate { color: var(--pass); font-weight: 600; }
.matrix td { max-width: 420px; }
.matrix td.pass { background: var(--pass-bg); } .matrix td.fail { background: var(--fail-bg); }
.matrix td.error { background: var(--error-bg); } .matrix td.test { max-width: 260px; }
.st { font-weight: 700; } .pass .st { color: var(--pass); } .fail .st { color: var(--fail); }
.error .st { color: var(--error); } .dim { color: #57606a; }
.out { white-space: pre-wrap; word-break: break-word; margin: 2px 0; }
details summary { cursor: pointer; color: #0969da; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: 6px;
  margin: 4px 0; max-height: 480px; overflow: auto; font: 12px/1.4 ui-monospace, monospace; }
ul.checks { margin: 4px 0; padding-left: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; display: inline-block; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
"""


def _e(value: Any) -> str:
    """Cleaned and HTML-escaped (quotes included, so it is safe in attributes too)."""
    return html.escape(clean(value), quote=True)


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
    """
    matrix = build_matrix(rows, max_rows, output_limit=200, full_limit=FULL_OUTPUT_LIMIT)
    page_title = title or f"promptwork run {run.id}"
    passes = sum(c.passes for c in columns)
    fails = sum(c.fails for c in columns)
    errors = sum(c.errors for c in columns)
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(page_title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(page_title)}</h1>",
        f'<p class="meta">Run <code>{_e(run.id)}</code> · {_e(run.status)} · created '
        f"{_e(_when(run.created_at))}"
        + (f" · finished {_e(_when(run.finished_at))}" if run.finished_at else "") + "</p>",
    ]
    if run.description:
        out.append(f'<p class="meta">{_e(run.description)}</p>')
    out.append(f'<p class="meta">{passes} passed · {fails} failed · {errors} errors</p>')
    out.append("</header>")

    out.append("<section><h2>Summary</h2>")
    out.append(_summary(columns))
    out.append("</section>")

    if columns:
        out.append('<section><h2>Charts</h2><div class="charts">')
        out.append(pass_rate_svg(columns))
        out.append(latency_svg(columns))
        out.append("</div></section>")

    out.append("<section><h2>Results</h2>")
    if matrix.omitted:
        total = len(matrix.rows) + matrix.omitted
        out.append(f'<p class="note">Showing the first {len(matrix.rows)} of {total} tests; '
                   f"{matrix.omitted} omitted. Export the run to JSON, JSONL or CSV for all "
                   "of them.</p>")
    out.append('<table class="matrix"><thead><tr><th>Test</th>')
    for col in matrix.columns:
        out.append(f"<th>{_e(column_label(col, prompt_labels, provider_labels))}</th>")
    out.append("</tr></thead><tbody>")
    for key in matrix.rows:
        if descriptions and key[0] in descriptions:
            test = _e(truncate(clean(descriptions[key[0]]), 300))
        else:
            test = _e(compact_vars(matrix.vars.get(key[0]), 300))
        out.append(f'<tr><td class="test"><span class="dim">{_e(row_label(key, matrix.repeats))}'
                   f"</span> {test}")
        full_vars = matrix.vars.get(key[0])
        if full_vars:
            out.append("<details><summary>vars</summary><pre>")
            out.append("\n".join(f"{_e(k)}: {_e(v)}" for k, v in full_vars.items()))
            out.append("</pre></details>")
        out.append("</td>")
        for col in matrix.columns:
            out.append(_cell(matrix.cells.get((key, col))))
        out.append("</tr>")
    out.append("</tbody></table></section>")
    out.append(f"<footer>Generated by promptwork {_e(__version__)}. This page loads nothing "
               "from the network and runs no scripts.</footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _summary(columns: Sequence[ColumnSummary]) -> str:
    best = best_columns(columns)
    parts = ['<table class="summary"><thead><tr><th>Prompt</th><th>Model</th>'
             "<th>Pass rate [95% CI]</th><th>Mean score</th><th>Errors</th><th>Tokens</th>"
             "<th>Cost</th><th>p50</th><th>p95</th><th>Cached</th></tr></thead><tbody>"]
    for col in columns:
        is_best = (col.prompt_idx, col.provider_idx) in best
        row_class = ' class="best"' if is_best else ""
        parts.append(
            f"<tr{row_class}><td>{_e(col.prompt_label)}</td>"
            f"<td>{_e(col.provider_label)}</td>"
            f'<td class="num rate">{_e(format_rate(col))}{" ★" if is_best else ""}</td>'
            f'<td class="num">{format_score(col.mean_score) if col.graded else "n/a"}</td>'
            f'<td class="num">{col.errors}</td>'
            f'<td class="num">{col.prompt_tokens + col.completion_tokens:,}</td>'
            f'<td class="num">{_e(format_cost(col))}</td>'
            f'<td class="num">{_e(format_latency(col.latency(50)))}</td>'
            f'<td class="num">{_e(format_latency(col.latency(95)))}</td>'
            f'<td class="num">{col.cached}</td></tr>'
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _cell(cell: CellView | None) -> str:
    if cell is None:
        return '<td class="dim">\u2013</td>'
    kind = cell.status.lower()
    parts = [f'<td class="{kind}"><div class="st">{cell.status}']
    if cell.status != "ERROR":
        parts.append(f" {cell.score:.2f}")
    parts.append("</div>")
    if cell.status == "ERROR":
        parts.append(f'<div class="out">{_e(cell.error)}</div>')
    else:
        parts.append(f'<div class="out">{_e(cell.output)}</div>')
    parts.append("<details><summary>details</summary>")
    if cell.full_output:
        parts.append(f"<pre>{_e(cell.full_output)}</pre>")
    if cell.full_error:
        parts.append(f"<p><b>Error:</b> {_e(cell.full_error)}</p>")
    if cell.full_reason:
        parts.append(f"<p><b>Reason:</b> {_e(cell.full_reason)}</p>")
    if cell.components:
        parts.append('<ul class="checks">')
        for check, passed, score, reason in cell.components:
            mark = "pass" if passed else "fail"
            parts.append(f'<li><span class="{mark}">{mark.upper()}</span> <code>{_e(check)}'
                         f"</code> {score:.2f} {_e(reason)}</li>")
        parts.append("</ul>")
    facts = []
    if cell.latency_ms is not None:
        facts.append(f"latency {format_latency(cell.latency_ms)}")
    if cell.cost is not None:
        facts.append(f"cost ${cell.cost:.6f}")
    if cell.cached:
        facts.append("cached")
    if facts:
        parts.append(f'<p class="dim">{_e(" · ".join(facts))}</p>')
    parts.append("</details></td>")
    return "".join(parts)


# -- charts (inline SVG, no scripts) --------------------------------------------------------------

_LABEL_W = 260
_PLOT_W = 360
_ROW_H = 28
_TOP = 30


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{_e(label)}">')


def _col_name(col: ColumnSummary) -> str:
    return truncate(clean(f"{col.prompt_label} \u00d7 {col.provider_label}"), 38)


def pass_rate_svg(columns: Sequence[ColumnSummary]) -> str:
    """Horizontal bars of each column's pass rate with its 95% Wilson interval as error bar."""
    width = _LABEL_W + _PLOT_W + 70
    height = _TOP + _ROW_H * len(columns) + 24
    best = best_columns(columns)
    parts = [_svg_open(width, height, "Pass rate per prompt and model, with 95% intervals"),
             '<text x="0" y="16" font-weight="600">Pass rate (95% Wilson interval)</text>']
    parts.extend(_axis(height, [0, 25, 50, 75, 100], "%"))
    for i, col in enumerate(columns):
        y = _TOP + i * _ROW_H
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 17}" text-anchor="end">'
                     f"<title>{_e(col.prompt_label)} \u00d7 {_e(col.provider_label)}</title>"
                     f"{_e(_col_name(col))}</text>")
        if not col.graded:
            parts.append(f'<text x="{_LABEL_W + 4}" y="{y + 17}" fill="#57606a">n/a</text>')
            continue
        low, high = col.interval
        bar = _PLOT_W * col.pass_rate
        fill = "#1a7f37" if (col.prompt_idx, col.provider_idx) in best else "#54aeff"
        parts.append(f'<rect x="{_LABEL_W}" y="{y + 5}" width="{bar:.1f}" height="16" '
                     f'fill="{fill}"><title>{_e(format_rate(col))}</title></rect>')
        x1, x2, mid = _LABEL_W + _PLOT_W * low, _LABEL_W + _PLOT_W * high, y + 13
        parts.append(f'<line x1="{x1:.1f}" y1="{mid}" x2="{x2:.1f}" y2="{mid}" '
                     'stroke="#1f2328" stroke-width="1.5"/>')
        for x in (x1, x2):
            parts.append(f'<line x1="{x:.1f}" y1="{mid - 5}" x2="{x:.1f}" y2="{mid + 5}" '
                         'stroke="#1f2328" stroke-width="1.5"/>')
        parts.append(f'<text x="{_LABEL_W + _PLOT_W + 6}" y="{y + 17}">'
                     f"{100 * col.pass_rate:.1f}%</text>")
    parts.append("</svg>")
    return "".join(parts)


def latency_svg(columns: Sequence[ColumnSummary]) -> str:
    """Horizontal bars of each column's latency: p50 (dark) over p95 (light)."""
    width = _LABEL_W + _PLOT_W + 90
    height = _TOP + _ROW_H * len(columns) + 24
    p95s = [c.latency(95) for c in columns]
    top = max((p for p in p95s if p is not None), default=0.0) or 1.0
    parts = [_svg_open(width, height, "Latency p50 and p95 per prompt and model"),
             '<text x="0" y="16" font-weight="600">Latency: p50 (dark), p95 (light)</text>']
    ticks = [top * f for f in (0, 0.25, 0.5, 0.75, 1.0)]
    parts.extend(_axis(height, ticks, "ms", scale=top))
    for i, col in enumerate(columns):
        y = _TOP + i * _ROW_H
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 17}" text-anchor="end">'
                     f"<title>{_e(col.prompt_label)} \u00d7 {_e(col.provider_label)}</title>"
                     f"{_e(_col_name(col))}</text>")
        p50, p95 = col.latency(50), col.latency(95)
        if p50 is None or p95 is None:
            parts.append(f'<text x="{_LABEL_W + 4}" y="{y + 17}" fill="#57606a">n/a</text>')
            continue
        parts.append(f'<rect x="{_LABEL_W}" y="{y + 5}" width="{_PLOT_W * p95 / top:.1f}" '
                     f'height="16" fill="#b6e3ff"><title>p95 {format_latency(p95)}</title></rect>')
        parts.append(f'<rect x="{_LABEL_W}" y="{y + 5}" width="{_PLOT_W * p50 / top:.1f}" '
                     f'height="16" fill="#0969da"><title>p50 {format_latency(p50)}</title></rect>')
        parts.append(f'<text x="{_LABEL_W + _PLOT_W + 6}" y="{y + 17}">'
                     f"{_e(format_latency(p50))} / {_e(format_latency(p95))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _axis(height: int, ticks: Sequence[float], unit: str, scale: float = 100.0) -> list[str]:
    out = []
    bottom = height - 20
    for t in ticks:
        x = _LABEL_W + _PLOT_W * (t / scale)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP - 2}" x2="{x:.1f}" y2="{bottom}" '
                   'stroke="#d0d7de" stroke-width="1"/>')
        label = f"{t:.0f}{unit}" if unit == "%" else format_latency(t)
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" '
                   f'fill="#57606a">{_e(label)}</text>')
    return out
