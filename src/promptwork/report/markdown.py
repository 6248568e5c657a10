"""The ``.md`` export: summary, dataset metrics, the result matrix, and the long answers.

Written for pasting into wikis such as Notion, which show HTML literally: the tables hold no
HTML, no entity and no ``<br>``. Markdown syntax in model output is neutralised with backslash
escapes (CommonMark's own, which every renderer removes), so an output cannot make a link, an
image, emphasis, a tag or a new table cell. Each answer is either whole in its cell (one line of
at most :data:`CELL_LIMIT` characters) or cut there with a mark giving its length and a
reference (``A3``) to the "Answers" section below the table, where it is written whole (up to
:data:`FULL_LIMIT` characters, else cut with a mark) in a fenced code block, which renders
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from promptwork.report.datasetlines import metric_lines
from promptwork.report.naming import metric_names
from promptwork.report.promptfoo_json import iso, label_at
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
    EMPTY,
    CellView,
    best_columns,
    build_matrix,
    clean,
    column_label,
    format_cost,
    format_latency,
    format_named,
    format_rate,
    format_score,
    row_label,
    row_name,
    truncate,
)
from promptwork.store import RunRecord

__all__ = ["CELL_LIMIT", "FULL_LIMIT", "MD_MAX_ROWS", "md_escape", "write_markdown"]

#: Most tests shown in a Markdown export's result matrix.
MD_MAX_ROWS = 2000
#: Longest answer written whole in its table cell (one line).
CELL_LIMIT = 200
#: Longest answer written in the "Answers" section.
FULL_LIMIT = 20000

# Markdown syntax, tags, and an ``&`` that would start an entity (``&lt;``, ``&#60;``).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~<>]|&(?=#?\w+;))")
_LINE_BREAKS = re.compile(r"\s*(\r\n|\r|\n)\s*")


def md_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, Markdown and HTML syntax
    backslash-escaped (no entity, no ``<br>``), line breaks written as `` / ``."""
    value = _LINE_BREAKS.sub(" / ", clean(text).strip())
    return _MD_SPECIAL.sub(r"\\\1", value)


def _fenced(text: str) -> str:
    """``text`` in a fenced code block whose fence no backtick run inside can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}\n"


def _fits(cell: CellView) -> bool:
    return cell.length <= CELL_LIMIT and "\n" not in cell.full_output.strip()


def write_markdown(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    descriptions: Mapping[int, str] | None,
    dataset: Sequence[Any] = (),
) -> None:
    """Write the summary, the dataset metrics, the result matrix and the long answers."""
    f.write(f"# promptwork run {md_escape(run.id)}\n\n")
    f.write(f"Status: {md_escape(run.status)} · created {md_escape(iso(run.created_at))}\n\n")
    if run.description:
        f.write(md_escape(run.description) + "\n\n")
    _summary(f, columns)
    if dataset:
        f.write("\n## Dataset metrics\n\n| Prompt | Model | Metric | Value | Detail |\n"
                "|---|---|---|---:|---|\n")
        for line in metric_lines(dataset):
            f.write(f"| {md_escape(label_at(prompt_labels, line.prompt_idx))} "
                    f"| {md_escape(label_at(provider_labels, line.provider_idx))} "
                    f"| {md_escape(line.metric)} | {md_escape(line.value)} "
                    f"| {md_escape(line.detail)} |\n")
    matrix = build_matrix(rows, MD_MAX_ROWS, output_limit=CELL_LIMIT, full_limit=FULL_LIMIT)
    f.write("\n## Results\n\n")
    if matrix.omitted:
        f.write(f"Showing the first {len(matrix.rows)} of {len(matrix.rows) + matrix.omitted} "
                f"tests; {matrix.omitted} omitted.\n\n")
    head = [md_escape(column_label(c, prompt_labels, provider_labels)) for c in matrix.columns]
    f.write("| Test | " + " | ".join(head) + " |\n")
    f.write("|---|" + "---|" * len(matrix.columns) + "\n")
    below: list[tuple[str, str, CellView]] = []  # (reference, heading, cell)
    for key in matrix.rows:
        name = f"{row_label(key, matrix.repeats)} {row_name(matrix, key[0], 120, descriptions)}"
        cells = [md_escape(name)]
        for col in matrix.columns:
            cell = matrix.cells.get((key, col))
            if cell is None:
                cells.append("\u2013")
                continue
            if cell.status == "ERROR":
                cells.append(f"**ERROR** {md_escape(cell.error)}")
                continue
            text = f"**{cell.status}** {cell.score:.2f} "
            if cell.empty:
                text += f"_{md_escape(EMPTY)}_"
            elif _fits(cell):
                text += md_escape(cell.full_output)
            else:
                ref = f"A{len(below) + 1}"
                below.append((ref, f"{name} · {column_label(col, prompt_labels, provider_labels)}",
                              cell))
                text += (f"{md_escape(truncate(cell.output, 120))} "
                         f"_\\[cut: {cell.length:,} characters, whole answer {ref} below\\]_")
            if cell.status == "FAIL" and cell.reason:
                text += f" — _{md_escape(cell.reason)}_"
            cells.append(text)
        f.write("| " + " | ".join(cells) + " |\n")
    if below:
        f.write("\n## Answers\n\nAnswers too long or with several lines for a table cell, "
                "written whole.\n")
        for ref, heading, cell in below:
            f.write(f"\n### {ref}: {md_escape(heading)}\n\n")
            if cell.length > FULL_LIMIT:
                f.write(f"_\\[cut at {FULL_LIMIT:,} of {cell.length:,} characters\\]_\n\n")
            f.write(_fenced(cell.full_output))


def _summary(f: IO[str], columns: Sequence[ColumnSummary]) -> None:
    names = metric_names(c.named_means for c in columns)
    f.write("## Summary\n\n")
    f.write("| Prompt | Model | Pass rate [95% CI] | Mean score | "
            + "".join(f"{md_escape(n)} | " for n in names)
            + "Errors | Tokens | Cost | p50 | p95 | Cached |\n")
    f.write("|---|---|---:|---:|" + "---:|" * len(names) + "---:|---:|---:|---:|---:|---:|\n")
    best = best_columns(columns)
    for summary in columns:
        rate = md_escape(format_rate(summary))
        if (summary.prompt_idx, summary.provider_idx) in best:
            rate = f"**{rate}** ★"
        score = format_score(summary.mean_score) if summary.graded else "n/a"
        named = "".join(f"{format_named(summary, n)} | " for n in names)
        f.write(f"| {md_escape(summary.prompt_label)} | {md_escape(summary.provider_label)} "
                f"| {rate} | {score} | {named}{summary.errors} "
                f"| {summary.prompt_tokens + summary.completion_tokens} "
                f"| {md_escape(format_cost(summary))} "
                f"| {format_latency(summary.latency(50))} "
                f"| {format_latency(summary.latency(95))} | {summary.cached} |\n")
