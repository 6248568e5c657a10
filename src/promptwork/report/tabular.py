"""The ``.csv`` export: one row per result (the per-column numbers are in
:mod:`promptwork.report.summarycsv`; the ``.md`` export is :mod:`promptwork.report.markdown`).

See :mod:`promptwork.report.export` for the columns and the escaping.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from promptwork.report.naming import named_scores
from promptwork.report.promptfoo_json import label_at
from promptwork.report.terminal import status_of
from promptwork.store.ratings import RATING_COLUMNS, rating_columns

__all__ = ["CSV_FIELDS", "csv_safe", "write_csv"]

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
    """Write one CSV row per result (``var_<name>`` columns for the union of the vars; the
    human rating columns when some row has ``ratings``)."""
    # The var columns are the union of every row's vars, only known at the end: spool the rows
    # (as the CSV fields they need) to a temporary file, then write.
    var_names: dict[str, None] = {}
    metric_names: dict[str, None] = {}  # the checks' named metrics: one column each
    rated = False  # human ratings (rows from promptwork.store.ratings.with_ratings): 4 columns
    probed = False  # a probe run (issue 21): the probe, origin test, transformation, group
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024, mode="w+",
                                       encoding="utf-8") as spool:
        for row in rows:
            variables = {str(k): _var_text(val) for k, val in (row.get("vars") or {}).items()}
            for name in variables:
                var_names.setdefault(name, None)
            named = dict(named_scores(row))
            for name in named:
                metric_names.setdefault(name, None)
            status = status_of(row)
            rated = rated or bool(row.get("ratings"))
            probed = probed or row.get("probe_kind") is not None
            record = {
                "test": int(row["test_idx"]), "repeat": int(row.get("repeat_idx") or 0),
                "vars": variables,
                "named": named,
                "description": row.get("description") or "",
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
                "rating": rating_columns(row),
                "probe": [row.get(n) for n in PROBE_COLUMNS],
            }
            spool.write(json.dumps(record, default=str) + "\n")
        spool.seek(0)
        names, metrics = list(var_names), list(metric_names)
        writer = csv.writer(f)
        writer.writerow(["test", "repeat", "description", *(f"var_{n}" for n in names),
                         *CSV_FIELDS, *(f"metric:{n}" for n in metrics),
                         *(RATING_COLUMNS if rated else ()), *(PROBE_COLUMNS if probed else ())])
        for line in spool:
            rec = json.loads(line)
            cells: list[Any] = [rec["test"], rec["repeat"], csv_safe(rec["description"])]
            cells.extend(csv_safe(rec["vars"].get(n, "")) for n in names)
            for name in CSV_FIELDS:
                value = rec[name]
                cells.append(csv_safe(value) if isinstance(value, str) else
                             ("" if value is None else value))
            cells.extend(rec["named"].get(n, "") for n in metrics)
            if rated:
                cells.extend(_rating_cell(rec["rating"][n]) for n in RATING_COLUMNS)
            if probed:
                cells.extend(_rating_cell(v) for v in rec["probe"])
            writer.writerow(cells)


#: The columns of a probe run's derived cells (empty for the suite's own tests).
PROBE_COLUMNS = ("probe_kind", "probe_origin", "probe_transform", "probe_group")


def _rating_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return csv_safe(value) if isinstance(value, str) else ("" if value is None else value)
