"""The second file of a CSV export: every per-column number of the run, one per line.

``results.csv`` has one row per result; next to it, ``results.summary.csv`` has one row per
column and number, in long form (``prompt, provider, metric, value, detail``) so that any
spreadsheet can filter and pivot it:

- ``pass_rate`` (detail: the 95% Wilson interval), ``mean_score``, ``passes``, ``fails``,
  ``errors``, ``latency_p50_ms``, ``latency_p95_ms``, ``cost``, ``tokens``;
- ``metric:NAME`` for each named metric of the checks (``metric: facts``): its mean score;
- the dataset metrics: ``accuracy`` and ``macro_f1`` (detail: the confusion matrix),
  ``distinct_Ngrams``, and each derived metric by its name (empty value when undefined, with
  the reason in the detail).

Text cells go through the same formula guard as ``results.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from promptwork.report.datasetlines import confusion_text
from promptwork.report.promptfoo_json import label_at
from promptwork.report.summary import ColumnSummary
from promptwork.report.tabular import csv_safe

__all__ = ["SUMMARY_FIELDS", "summary_csv_path", "write_summary_csv"]

SUMMARY_FIELDS = ["prompt", "provider", "metric", "value", "detail"]


def summary_csv_path(path: Path) -> Path:
    """``results.csv`` -> ``results.summary.csv``."""
    return path.with_name(f"{path.stem}.summary{path.suffix}")


def write_summary_csv(
    f: IO[str],
    columns: Sequence[ColumnSummary],
    dataset: Sequence[Any],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
) -> None:
    """Write the per-column numbers and the dataset metrics (see the module docs)."""
    writer = csv.writer(f)
    writer.writerow(SUMMARY_FIELDS)

    def put(prompt: str, provider: str, metric: str, value: Any, detail: str = "") -> None:
        shown = "" if value is None else value
        writer.writerow([csv_safe(prompt), csv_safe(provider), csv_safe(metric),
                         csv_safe(shown) if isinstance(shown, str) else shown,
                         csv_safe(detail)])

    for col in columns:
        p, m = col.prompt_label, col.provider_label
        low, high = col.interval
        put(p, m, "pass_rate", col.pass_rate if col.graded else None,
            f"95% CI {low:.4f}-{high:.4f}" if col.graded else "nothing graded")
        put(p, m, "mean_score", col.mean_score if col.graded else None)
        for name in ("passes", "fails", "errors", "cached"):
            put(p, m, name, getattr(col, name))
        put(p, m, "latency_p50_ms", col.latency(50))
        put(p, m, "latency_p95_ms", col.latency(95))
        put(p, m, "cost", col.cost if col.cost_known else None,
            "" if col.cost_known else "some call's price is unknown")
        put(p, m, "tokens", col.prompt_tokens + col.completion_tokens)
        for name, value in col.named_means.items():
            put(p, m, f"metric:{name}", value)
    for report in dataset:
        d = report.to_dict()
        p = label_at(prompt_labels, report.prompt_idx)
        m = label_at(provider_labels, report.provider_idx)
        if d["type"] == "classification":
            detail = f"n={d['n']}; {confusion_text(d['labels'], d['confusion'])}"
            put(p, m, "accuracy", d["accuracy"], detail)
            put(p, m, "macro_f1", d["macro_f1"], detail)
        elif d["type"] == "derived":
            put(p, m, str(d["name"]), d["value"],
                str(d["expression"]) + (f" ({d['reason']})" if d.get("reason") else ""))
        else:
            flag = "" if d["pass"] else f"; below min {d['min']:g}"
            put(p, m, f"distinct_{d['n']}grams", d["ratio"], f"{d['outputs']} outputs{flag}")
