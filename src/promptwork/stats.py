"""Statistics for comparing prompts and models: intervals, paired tests, classification metrics.

Everything here is pure Python (no numpy/scipy) and deterministic: the bootstrap takes a seed.

Conventions:
    * Comparisons are always "B versus A": differences are ``b - a``, so a positive difference
      means B scored higher.
    * For pass/fail pairs, McNemar's notation is used: ``b`` counts items A passed and B failed
      (B's *regressions*), ``c`` counts items A failed and B passed (B's *fixes*).
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any, TypeVar

__all__ = [
    "PairedResult",
    "PassFailComparison",
    "accuracy",
    "compare_pass_fail",
    "confusion_matrix",
    "macro_f1",
    "mcnemar_exact",
    "paired_bootstrap",
    "percentile",
    "wilson_interval",
]

L = TypeVar("L", bound=Hashable)

SIGNIFICANCE = 0.05


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Better behaved than the normal ("Wald") interval for small ``n`` and for rates near 0 or 1:
    it never leaves ``[0, 1]`` and is not degenerate at 0/n or n/n.

    Args:
        successes: Number of successes (e.g. passed tests).
        n: Number of trials.
        confidence: Two-sided confidence level.

    Returns:
        ``(low, high)``; ``(0.0, 1.0)`` when ``n`` is 0 (nothing is known).

    Raises:
        ValueError: ``successes`` outside ``0..n`` or a bad ``confidence``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    z = _z(confidence)
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - margin)
    high = 1.0 if successes == n else min(1.0, center + margin)
    return low, high


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test on the discordant pairs.

    Under the null hypothesis (A and B are equally good) each discordant pair is equally likely to
    favour either side, so ``min(b, c)`` follows Binomial(b + c, 1/2). The p-value is twice the
    lower tail, capped at 1. Computed with exact integer arithmetic, so large counts do not
    underflow.

    Args:
        b: Pairs where A passed and B failed.
        c: Pairs where A failed and B passed.

    Returns:
        The two-sided p-value (1.0 when there are no discordant pairs).
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must be non-negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    if b == c:
        return 1.0
    k = min(b, c)
    term = total = 1  # C(n, 0); then C(n, i+1) = C(n, i) * (n - i) / (i + 1), exactly
    for i in range(k):
        term = term * (n - i) // (i + 1)
        total += term
    return float(min(Fraction(1), Fraction(2 * total, 2**n)))


@dataclass(frozen=True, slots=True)
class PairedResult:
    """Result of :func:`paired_bootstrap`.

    Attributes:
        mean_diff: Observed mean of ``b - a``.
        low: Lower bound of the bootstrap percentile interval of the mean difference.
        high: Upper bound.
        p_value: Two-sided bootstrap p-value for "mean difference is 0".
    """

    mean_diff: float
    low: float
    high: float
    p_value: float


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedResult:
    """Paired bootstrap of the mean difference ``mean(b - a)``.

    Items are resampled with replacement (keeping each item's pair together). The interval is the
    percentile interval of the resampled means. The p-value is two-sided and read off the same
    bootstrap distribution: twice the smaller of the fractions of resampled means at or below 0
    and at or above 0, with the usual ``(count + 1) / (n_resamples + 1)`` correction so it is
    never exactly 0, capped at 1.

    Args:
        a: Scores of A, one per item.
        b: Scores of B on the same items, in the same order.
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the random generator (results are reproducible).
        confidence: Level of the interval.

    Raises:
        ValueError: Empty or unequal-length inputs, ``n_resamples < 1``, or a bad ``confidence``.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples must have equal length, got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("paired_bootstrap needs at least one pair")
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    _z(confidence)
    diffs = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    observed = math.fsum(diffs) / n
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(diffs, k=n)) / n for _ in range(n_resamples))
    alpha = 1.0 - confidence
    low = percentile(means, 100.0 * alpha / 2.0)
    high = percentile(means, 100.0 * (1.0 - alpha / 2.0))
    at_or_below = sum(1 for m in means if m <= 0.0)
    at_or_above = sum(1 for m in means if m >= 0.0)
    p = 2.0 * (min(at_or_below, at_or_above) + 1) / (n_resamples + 1)
    return PairedResult(mean_diff=observed, low=low, high=high, p_value=min(1.0, p))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (``q`` in 0..100) with linear interpolation between ranks.

    Same definition as numpy's default (``method="linear"``): the value at fractional rank
    ``(n - 1) * q / 100`` of the sorted values. ``percentile(latencies, 95)`` is the p95.

    Raises:
        ValueError: Empty ``values`` or ``q`` outside 0..100.
    """
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(float(v) for v in values)
    rank = (len(ordered) - 1) * q / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    frac = rank - lo
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


@dataclass(frozen=True, slots=True)
class PassFailComparison:
    """Result of :func:`compare_pass_fail`.

    Attributes:
        n: Number of paired items.
        a_passed: Items A passed.
        b_passed: Items B passed.
        b: Discordant pairs where A passed and B failed (B's regressions).
        c: Discordant pairs where A failed and B passed (B's fixes).
        p_value: Exact McNemar p-value.
        significant: ``p_value < 0.05``.
        verdict: One line for humans, e.g. ``B is better: 12 fixes, 3 regressions, p=0.035``.
    """

    n: int
    a_passed: int
    b_passed: int
    b: int
    c: int
    p_value: float
    significant: bool
    verdict: str

    @property
    def fixes(self) -> int:
        """Items B passed that A failed."""
        return self.c

    @property
    def regressions(self) -> int:
        """Items A passed that B failed."""
        return self.b

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "a_passed": self.a_passed,
            "b_passed": self.b_passed,
            "b": self.b,
            "c": self.c,
            "fixes": self.fixes,
            "regressions": self.regressions,
            "p_value": self.p_value,
            "significant": self.significant,
            "verdict": self.verdict,
        }


def format_p(p: float) -> str:
    """A p-value for humans: two significant digits, ``<0.001`` for tiny values."""
    if p < 0.001:
        return "<0.001"
    return f"={p:.2g}"


def compare_pass_fail(a: Sequence[bool], b: Sequence[bool]) -> PassFailComparison:
    """Compare two pass/fail vectors on the same items with the exact McNemar test.

    Args:
        a: A's pass/fail per item.
        b: B's pass/fail on the same items, same order.

    Returns:
        Counts, p-value, significance at 0.05, and a plain-language verdict such as
        ``"B is better: 12 fixes, 3 regressions, p=0.035"`` or
        ``"no significant difference (p=0.42)"``.

    Raises:
        ValueError: Unequal lengths.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples must have equal length, got {len(a)} and {len(b)}")
    regressions = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    fixes = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    p = mcnemar_exact(regressions, fixes)
    significant = p < SIGNIFICANCE
    if significant:
        counts = f"{_plural(fixes, 'fix', 'fixes')}, {_plural(regressions, 'regression')}"
        better = "B" if fixes > regressions else "A"
        verdict = f"{better} is better: {counts}, p{format_p(p)}"
    else:
        verdict = f"no significant difference (p{format_p(p)})"
    return PassFailComparison(
        n=len(a),
        a_passed=sum(1 for x in a if x),
        b_passed=sum(1 for y in b if y),
        b=regressions,
        c=fixes,
        p_value=p,
        significant=significant,
        verdict=verdict,
    )


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


# --- classification metrics -------------------------------------------------------------------


def _check_pair(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> None:
    if len(labels_true) != len(labels_pred):
        raise ValueError(
            "labels_true and labels_pred differ in length: "
            f"{len(labels_true)} vs {len(labels_pred)}"
        )
    if not labels_true:
        raise ValueError("no labels given")


def _label_order(labels: Sequence[L]) -> list[L]:
    """Distinct labels, sorted when they are comparable, else in order of first appearance."""
    distinct = list(dict.fromkeys(labels))
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:
        return distinct


def accuracy(labels_true: Sequence[Hashable], labels_pred: Sequence[Hashable]) -> float:
    """Fraction of items whose predicted label equals the true label.

    Raises:
        ValueError: Empty or unequal-length inputs.
    """
    _check_pair(labels_true, labels_pred)
    hits = sum(1 for t, p in zip(labels_true, labels_pred, strict=True) if t == p)
    return hits / len(labels_true)


def confusion_matrix(
    labels_true: Sequence[L], labels_pred: Sequence[L], labels: Sequence[L] | None = None
) -> tuple[list[L], list[list[int]]]:
    """Confusion matrix: ``matrix[i][j]`` counts items of true label ``labels[i]`` predicted as
    ``labels[j]``.

    Args:
        labels_true: True labels.
        labels_pred: Predicted labels.
        labels: Row/column order; by default every label seen in either input, sorted when the
            labels are comparable. Items whose labels are not in ``labels`` are left out.

    Returns:
        ``(labels, matrix)``.
    """
    _check_pair(labels_true, labels_pred)
    order = list(labels) if labels is not None else _label_order([*labels_true, *labels_pred])
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for t, p in zip(labels_true, labels_pred, strict=True):
        if t in index and p in index:
            matrix[index[t]][index[p]] += 1
    return order, matrix


def macro_f1(
    labels_true: Sequence[L], labels_pred: Sequence[L], labels: Sequence[L] | None = None
) -> float:
    """Unweighted mean of per-label F1 scores.

    Every label seen in either input counts (like scikit-learn's default), so a label the model
    invents lowers the score. A label's F1 is 0 when it has no true positives (precision or recall
    undefined counts as 0).

    Raises:
        ValueError: Empty or unequal-length inputs.
    """
    order, matrix = confusion_matrix(labels_true, labels_pred, labels)
    if not order:
        return 0.0
    scores: list[float] = []
    for i in range(len(order)):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        actual = sum(matrix[i])
        if tp == 0:
            scores.append(0.0)
            continue
        precision = tp / predicted
        recall = tp / actual
        scores.append(2 * precision * recall / (precision + recall))
    return math.fsum(scores) / len(scores)
