"""Tabular exports: ``.csv`` (one row per result) and ``.md`` (summary and result matrix).

See :mod:`promptwork.report.export` for the columns and the escaping of each format.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from promptwork.report.promptfoo_json import iso, label_at
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
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
    status_of,
)
from promptwork.store import RunRecord

__all__ = ["CSV_FIELDS", "MD_MAX_ROWS", "csv_safe", "md_escape", "write_csv", "write_markdown"]

# -- CSV ------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
CSV_FIELDS = ["prompt", "provider", "provider_id", "output", "status", "pass", "score", "reason",
              "error", "error_kind", "latency_ms", "cost", "prompt_tokens", "completion_tokens",
              "cached"]


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas: prefix ``'`` to text starting with ``= + - @``, tab or
    carriage return, unless it is a plain number."""
    if text and text[0] in "=+-@\t\r" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _var_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def write_csv(
    f: IO[str],
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
) -> None:
    """Write one CSV row per result (``var_<name>`` columns for the union of the vars)."""
    # The var columns are the union of every row's vars, only known at the end: spool the rows
    # (as the CSV fields they need) to a temporary file, then write.
    var_names: dict[str, None] = {}
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024, mode="w+",
                                       encoding="utf-8") as spool:
        for row in rows:
            variables = {str(k): _var_text(val) for k, val in (row.get("vars") or {}).items()}
            for name in variables:
                var_names.setdefault(name, None)
            status = status_of(row)
            record = {
                "test": int(row["test_idx"]), "repeat": int(row.get("repeat_idx") or 0),
                "vars": variables,
                "prompt": label_at(prompt_labels, int(row["prompt_idx"])),
                "provider": label_at(provider_labels, int(row["provider_idx"])),
                "provider_id": row.get("provider_id") or "",
                "output": row.get("output") or "",
                "status": status,
                "pass": "true" if status == "PASS" else "false",
                # An error has no verdict, so no score: the cell is left empty.
                "score": None if row.get("error") is not None or row.get("score") is None
                else float(row["score"]),
                "reason": (row.get("grading") or {}).get("reason", ""),
                "error": row.get("error") or "",
                "error_kind": row.get("error_kind") or "",
                "latency_ms": row.get("latency_ms"),
                "cost": row.get("cost"),
                "prompt_tokens": row.get("prompt_tokens"),
                "completion_tokens": row.get("completion_tokens"),
                "cached": "true" if row.get("cached") else "false",
            }
            spool.write(json.dumps(record, default=str) + "\n")
        spool.seek(0)
        names = list(var_names)
        writer = csv.writer(f)
        writer.writerow(["test", "repeat", *(f"var_{n}" for n in names), *CSV_FIELDS])
        for line in spool:
            rec = json.loads(line)
            cells: list[Any] = [rec["test"], rec["repeat"]]
            cells.extend(csv_safe(rec["vars"].get(n, "")) for n in names)
            for name in CSV_FIELDS:
                value = rec[name]
                cells.append(csv_safe(value) if isinstance(value, str) else
                             ("" if value is None else value))
            writer.writerow(cells)


# -- Markdown -------------------------------------------------------------------------------------

#: Most tests shown in a Markdown export's result matrix.
MD_MAX_ROWS = 2000

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


def md_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: no HTML, no link/image/emphasis syntax, no pipes
    or line breaks that would break the row."""
    value = clean(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_SPECIAL.sub(r"\\\1", value)
    return re.sub(r"\r\n|\r|\n", "<br>", value)


def write_markdown(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    descriptions: Mapping[int, str] | None,
) -> None:
    """Write the summary table and the result matrix as Markdown."""
    f.write(f"# promptwork run {md_escape(run.id)}\n\n")
    meta = f"Status: {md_escape(run.status)} · created {md_escape(iso(run.created_at))}"
    f.write(meta + "\n\n")
    if run.description:
        f.write(md_escape(run.description) + "\n\n")
    f.write("## Summary\n\n")
    f.write("| Prompt | Model | Pass rate [95% CI] | Mean score | Errors | Tokens | Cost "
            "| p50 | p95 | Cached |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    best = best_columns(columns)
    for summary in columns:
        rate = md_escape(format_rate(summary))
        if (summary.prompt_idx, summary.provider_idx) in best:
            rate = f"**{rate}**"
        score = format_score(summary.mean_score) if summary.graded else "n/a"
        f.write(f"| {md_escape(summary.prompt_label)} | {md_escape(summary.provider_label)} "
                f"| {rate} | {score} | {summary.errors} "
                f"| {summary.prompt_tokens + summary.completion_tokens} "
                f"| {md_escape(format_cost(summary))} "
                f"| {format_latency(summary.latency(50))} "
                f"| {format_latency(summary.latency(95))} | {summary.cached} |\n")
    matrix = build_matrix(rows, MD_MAX_ROWS, output_limit=300)
    f.write("\n## Results\n\n")
    if matrix.omitted:
        f.write(f"Showing the first {len(matrix.rows)} of {len(matrix.rows) + matrix.omitted} "
                f"tests; {matrix.omitted} omitted.\n\n")
    head = [md_escape(column_label(c, prompt_labels, provider_labels)) for c in matrix.columns]
    f.write("| Test | " + " | ".join(head) + " |\n")
    f.write("|---|" + "---|" * len(matrix.columns) + "\n")
    for key in matrix.rows:
        if descriptions and key[0] in descriptions:
            test = md_escape(descriptions[key[0]])
        else:
            test = md_escape(compact_vars(matrix.vars.get(key[0]), 120))
        cells = [f"{md_escape(row_label(key, matrix.repeats))} {test}"]
        for col in matrix.columns:
            cell = matrix.cells.get((key, col))
            if cell is None:
                cells.append("\u2013")
            elif cell.status == "ERROR":
                cells.append(f"**ERROR** {md_escape(cell.error)}")
            else:
                text = f"**{cell.status}** {cell.score:.2f} {md_escape(cell.output)}"
                if cell.status == "FAIL" and cell.reason:
                    text += f"<br>_{md_escape(cell.reason)}_"
                cells.append(text)
        f.write("| " + " | ".join(cells) + " |\n")
