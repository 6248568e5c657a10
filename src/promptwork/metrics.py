"""Dataset-level metrics declared in a suite's ``metrics:`` list.

``classification``: the predicted label of each answer is the first of the known labels that
appears in it as a word (case-insensitive), or ``(none)``; per column we report accuracy,
macro-F1 and the confusion matrix against the gold label variable::

    metrics:
      - type: classification
        label: label              # the test variable holding the gold label
        labels: [positive, negative]   # optional; default: every gold value seen

``distinct-ngrams``: how little a column's outputs repeat each other: distinct word n-grams over
all n-grams across the column's outputs (1.0: no n-gram is ever repeated)::

    metrics:
      - type: distinct-ngrams
        n: 2        # default 2
        min: 0.6    # optional: flag a column below this ratio
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from promptwork.derived import DerivedReport, derived_metrics
from promptwork.errors import ConfigError
from promptwork.stats import accuracy, confusion_matrix, macro_f1

NONE_LABEL = "(none)"
METRIC_TYPES = ("classification", "distinct-ngrams")


@dataclass
class ClassificationReport:
    prompt_idx: int
    provider_idx: int
    n: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    matrix: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "classification", "prompt_idx": self.prompt_idx,
                "provider_idx": self.provider_idx, "n": self.n, "accuracy": self.accuracy,
                "macro_f1": self.macro_f1, "labels": self.labels, "confusion": self.matrix}


def validate_metrics(specs: list[Any], where: str = "metrics") -> list[dict[str, Any]]:
    out = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or spec.get("type") not in METRIC_TYPES:
            raise ConfigError(
                f"{where}[{i}]: a metric needs type: one of {', '.join(METRIC_TYPES)}")
        if spec["type"] == "distinct-ngrams":
            n, low = spec.get("n", 2), spec.get("min")
            if not isinstance(n, int) or n < 1:
                raise ConfigError(f"{where}[{i}]: 'n' must be a positive integer")
            if low is not None and not isinstance(low, int | float):
                raise ConfigError(f"{where}[{i}]: 'min' must be a number between 0 and 1")
            out.append(dict(spec))
            continue
        if not isinstance(spec.get("label"), str):
            raise ConfigError(
                f"{where}[{i}]: classification needs 'label': the gold-label variable")
        labels = spec.get("labels")
        if labels is not None and not (isinstance(labels, list) and all(
                isinstance(x, str) for x in labels)):
            raise ConfigError(f"{where}[{i}]: 'labels' must be a list of strings")
        out.append(dict(spec))
    return out


def predict_label(output: str | None, labels: list[str]) -> str:
    """The known label that appears first in ``output`` as a whole word."""
    if not output:
        return NONE_LABEL
    best, best_pos = NONE_LABEL, len(output) + 1
    for label in labels:
        m = re.search(rf"(?<!\w){re.escape(label)}(?!\w)", output, re.IGNORECASE)
        if m and m.start() < best_pos:
            best, best_pos = label, m.start()
    return best


def classification(
    rows: Iterable[Mapping[str, Any]], spec: Mapping[str, Any]
) -> list[ClassificationReport]:
    """Per-column classification metrics over stored rows (errors count as ``(none)``)."""
    var = spec["label"]
    gold: dict[tuple[int, int], list[str]] = {}
    outputs: dict[tuple[int, int], list[str | None]] = {}
    for row in rows:
        value = (row.get("vars") or {}).get(var)
        if value is None:
            continue
        key = (int(row["prompt_idx"]), int(row["provider_idx"]))
        gold.setdefault(key, []).append(str(value))
        outputs.setdefault(key, []).append(row.get("output"))
    reports = []
    for key in sorted(gold):
        truth = gold[key]
        labels = list(spec.get("labels") or sorted(set(truth)))
        pred = [predict_label(o, labels) for o in outputs[key]]
        order = labels + ([NONE_LABEL] if NONE_LABEL in pred else [])
        names, matrix = confusion_matrix(truth, pred, order)
        reports.append(ClassificationReport(
            key[0], key[1], len(truth), accuracy(truth, pred), macro_f1(truth, pred, order),
            [str(n) for n in names], matrix))
    return reports


@dataclass
class DiversityReport:
    prompt_idx: int
    provider_idx: int
    n: int
    ratio: float
    outputs: int
    minimum: float | None

    @property
    def passed(self) -> bool:
        return self.minimum is None or self.ratio >= self.minimum

    def to_dict(self) -> dict[str, Any]:
        return {"type": "distinct-ngrams", "prompt_idx": self.prompt_idx,
                "provider_idx": self.provider_idx, "n": self.n, "ratio": self.ratio,
                "outputs": self.outputs, "min": self.minimum, "pass": self.passed}


def distinct_ngrams(
    rows: Iterable[Mapping[str, Any]], spec: Mapping[str, Any]
) -> list[DiversityReport]:
    """Per column: distinct n-grams / all n-grams over the outputs (errors skipped)."""
    n = int(spec.get("n", 2))
    grams: dict[tuple[int, int], list[tuple[str, ...]]] = {}
    counts: dict[tuple[int, int], int] = {}
    for row in rows:
        output = row.get("output")
        if output is None:
            continue
        key = (int(row["prompt_idx"]), int(row["provider_idx"]))
        words = re.findall(r"\w+", output.lower())
        grams.setdefault(key, []).extend(
            tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        counts[key] = counts.get(key, 0) + 1
    minimum = spec.get("min")
    return [
        DiversityReport(k[0], k[1], n, len(set(g)) / len(g) if g else 0.0, counts[k],
                        float(minimum) if minimum is not None else None)
        for k, g in sorted(grams.items())
    ]


def dataset_metrics(
    rows_factory: Any, specs: list[Mapping[str, Any]]
) -> list[ClassificationReport | DiversityReport | DerivedReport]:
    """Every declared metric; ``rows_factory()`` yields the run's rows afresh for each.

    The suite's ``derivedMetrics`` come last, all from one pass over the rows.
    """
    reports: list[ClassificationReport | DiversityReport | DerivedReport] = []
    derived = [spec for spec in specs if spec["type"] == "derived"]
    for spec in specs:
        if spec["type"] == "derived":
            continue
        if spec["type"] == "classification":
            reports.extend(classification(rows_factory(), spec))
        else:
            reports.extend(distinct_ngrams(rows_factory(), spec))
    if derived:
        reports.extend(derived_metrics(rows_factory(), derived))
    return reports
