"""Per-column (prompt x provider) summaries of a run, computed from its stored rows.

Pass rates come with 95% Wilson intervals. There is one definition of the pass rate, used by the
summary table and the run's last line alike (:func:`pass_rate`, :data:`RATE_MEANING`):
passed cells over graded cells (passed + failed). Errors (failed model or grader calls, checks that
crashed) have no verdict: they are counted apart and are not in the denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promptwork.stats import percentile, wilson_interval

#: What a pass rate is, in words (shown under the summary table and on the run's last line).
RATE_MEANING = "pass rate = passed / graded (passed + failed); errors are counted apart"


def pass_rate(passes: int, fails: int) -> float | None:
    """Passed over graded cells; ``None`` when nothing was graded (errors are not graded)."""
    graded = passes + fails
    return passes / graded if graded else None


@dataclass
class ColumnSummary:
    """Aggregates for one prompt x provider column."""

    prompt_idx: int
    provider_idx: int
    prompt_label: str
    provider_label: str
    passes: int = 0
    fails: int = 0
    errors: int = 0
    score_sum: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cost_known: bool = True
    cached: int = 0
    latencies: list[float] = field(default_factory=list)
    named: dict[str, list[float]] = field(default_factory=dict)
    #: Set by :func:`promptwork.report.winner.mark_winner`: the best column, significantly
    #: better than the runner-up (the only column that gets the winner mark).
    winner: bool = False

    @property
    def graded(self) -> int:
        return self.passes + self.fails

    @property
    def total(self) -> int:
        return self.graded + self.errors

    @property
    def pass_rate(self) -> float:
        """See :func:`pass_rate` (0 when nothing was graded)."""
        return pass_rate(self.passes, self.fails) or 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.passes, self.graded) if self.graded else (0.0, 0.0)

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.graded if self.graded else 0.0

    @property
    def named_means(self) -> dict[str, float]:
        """Mean score of each named metric (the checks' ``metric:``) over the graded cells."""
        return {k: sum(v) / len(v) for k, v in self.named.items() if v}

    def latency(self, q: float) -> float | None:
        return percentile(self.latencies, q) if self.latencies else None

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "prompt": self.prompt_label,
            "provider": self.provider_label,
            "prompt_idx": self.prompt_idx,
            "provider_idx": self.provider_idx,
            "passes": self.passes,
            "fails": self.fails,
            "errors": self.errors,
            "pass_rate": self.pass_rate,
            "pass_rate_ci95": [low, high],
            "mean_score": self.mean_score,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost if self.cost_known else None,
            "latency_p50_ms": self.latency(50),
            "latency_p95_ms": self.latency(95),
            "cached": self.cached,
            "named_scores": {k: sum(v) / len(v) for k, v in self.named.items() if v},
            "winner": self.winner,
        }


def summarize(
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: list[str],
    provider_labels: list[str],
) -> list[ColumnSummary]:
    """Fold stored result rows into one :class:`ColumnSummary` per column, in column order."""
    columns: dict[tuple[int, int], ColumnSummary] = {}
    for row in rows:
        key = (int(row["prompt_idx"]), int(row["provider_idx"]))
        col = columns.get(key)
        if col is None:
            col = columns[key] = ColumnSummary(
                key[0], key[1], _label(prompt_labels, key[0]), _label(provider_labels, key[1])
            )
        if row.get("error") is not None:
            col.errors += 1
            continue
        if row["success"]:
            col.passes += 1
        else:
            col.fails += 1
        col.score_sum += float(row["score"] or 0.0)
        col.prompt_tokens += int(row.get("prompt_tokens") or 0)
        col.completion_tokens += int(row.get("completion_tokens") or 0)
        if row.get("cost") is None:
            col.cost_known = False
        else:
            col.cost += float(row["cost"])
        if row.get("cached"):
            col.cached += 1
        if row.get("latency_ms") is not None:
            col.latencies.append(float(row["latency_ms"]))
        for comp in (row.get("grading") or {}).get("components", []):
            metric = comp.get("metric")
            if metric:
                col.named.setdefault(metric, []).append(float(comp.get("score", 0.0)))
    return [columns[k] for k in sorted(columns)]


def _label(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"#{index}"
