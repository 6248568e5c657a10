"""Dataset-level metrics (the suite's ``metrics:`` and ``derivedMetrics``) as report lines.

One line per column and metric, with the value and its detail already worded, so that the
terminal, HTML, Markdown and CSV reports show the same thing (the JSON export writes each
report's ``to_dict()``). Classification: accuracy / macro-F1 and the confusion matrix;
distinct n-grams: the ratio and whether it is under the suite's minimum; derived metrics: the
value (or why it is undefined) and the expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MetricLine", "confusion_text", "metric_lines"]


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One dataset metric of one column, worded for a report.

    Attributes:
        prompt_idx: The column's prompt.
        provider_idx: The column's model.
        metric: Its name (``accuracy / macro-F1``, ``distinct 2-grams``, a derived name).
        value: The value as shown.
        detail: What else a reader needs (counts, the confusion matrix, the expression).
        data: The report's ``to_dict()`` (machine-readable).
    """

    prompt_idx: int
    provider_idx: int
    metric: str
    value: str
    detail: str
    data: dict[str, Any]


def confusion_text(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """``gold: predicted=n, ...; ...`` for the non-empty rows of a confusion matrix."""
    return "; ".join(
        f"{gold}: " + ", ".join(f"{pred}={n}" for pred, n in zip(labels, row, strict=True) if n)
        for gold, row in zip(labels, matrix, strict=True) if any(row))


def metric_lines(reports: Sequence[Any]) -> list[MetricLine]:
    """Lines of :func:`promptwork.metrics.dataset_metrics` reports, in their order."""
    lines = []
    for r in reports:
        data = r.to_dict()
        if data["type"] == "classification":
            metric = "accuracy / macro-F1"
            value = f"{r.accuracy:.1%} / {r.macro_f1:.3f}"
            detail = f"n={r.n}; {confusion_text(r.labels, r.matrix)}"
        elif data["type"] == "derived":
            metric = r.name
            value = f"{r.value:.4g}" if r.value is not None else "undefined"
            detail = r.expression + (f" ({r.reason})" if r.reason else "")
        else:
            metric = f"distinct {r.n}-grams"
            value = f"{r.ratio:.3f}"
            detail = f"{r.outputs} outputs" + ("" if r.passed else f" (below min {r.minimum:g})")
        lines.append(MetricLine(r.prompt_idx, r.provider_idx, metric, value, detail, data))
    return lines
