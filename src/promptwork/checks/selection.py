"""``max-score``: of one test's outputs (across prompts and models), the one whose other checks
scored highest passes (promptfoo's ``max-score``).

No model is called. Each output's score is the mean of its other checks' scores weighted per
check type (``value.weights``, default 1 per type; ``value.method: sum`` adds instead of
averaging). The highest score wins; a tie goes to the first output. With ``value.threshold``, no
output wins when the best score is below it. ``select-best`` and ``max-score`` results are left
out of the scores, as are the outputs of cells that errored.

Like ``select-best``, one answer alone cannot decide it: :func:`max_score_cell` fails saying so,
and the caller that holds all of a test's cells decides it with :func:`max_score_results` (or
:func:`decide_max_score` on scores it computed with :func:`aggregate_score`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec

__all__ = [
    "aggregate_score",
    "decide_max_score",
    "max_score_cell",
    "max_score_results",
    "spec_problem",
]

_METHODS = ("average", "sum")
_OPTIONS = ("method", "weights", "threshold")
#: Cross-output checks whose results are not part of an output's score.
_NOT_SCORED = frozenset({"select-best", "max-score"})


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``max-score`` check (checked when the suite loads), or ``None``."""
    if spec.negate:
        return "'max-score' cannot be negated (it picks one winner among the outputs)"
    value = spec.value
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return "value must be a mapping with 'method', 'weights' and/or 'threshold'"
    unknown = [key for key in value if key not in _OPTIONS]
    if unknown:
        return f"unknown option(s) {', '.join(map(str, unknown))}; known: {', '.join(_OPTIONS)}"
    if value.get("method", "average") not in _METHODS:
        return f"'method' must be one of {', '.join(_METHODS)}, got {value.get('method')!r}"
    weights = value.get("weights", {})
    if not isinstance(weights, Mapping) or not all(
        isinstance(k, str) and _number(w) and w >= 0 for k, w in weights.items()
    ):
        return "'weights' must map check types to numbers >= 0"
    if "threshold" in value and not _number(value["threshold"]):
        return f"'threshold' must be a number, got {value['threshold']!r}"
    return None


def max_score_cell(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """``max-score`` on one answer alone: it cannot be decided, so it fails, saying why."""
    raise CheckError(
        "'max-score' compares the outputs of several prompts or models for one test; one output "
        "alone cannot decide it"
    )


def _options(spec: CheckSpec) -> Mapping[str, Any]:
    return spec.value if isinstance(spec.value, Mapping) else {}


def aggregate_score(
    spec: CheckSpec, graded: Sequence[tuple[CheckSpec, CheckResult]]
) -> float | None:
    """One output's score for ``max-score`` ``spec`` from its other checks; ``None`` if none."""
    options = _options(spec)
    weights: Mapping[str, float] = options.get("weights") or {}
    pairs = []
    for other, result in graded:
        if other.type in _NOT_SCORED:
            continue
        weight = weights.get(other.name, weights.get(other.type, 1.0))
        pairs.append((float(weight), result.score))
    if not pairs:
        return None
    total = math.fsum(w * s for w, s in pairs)
    if options.get("method", "average") == "sum":
        return total
    weight_sum = math.fsum(w for w, _ in pairs)
    return total / weight_sum if weight_sum > 0 else 0.0


def decide_max_score(scores: Sequence[float | None], threshold: float | None = None) -> int | None:
    """The index of the highest score (the first on a tie); ``None`` entries are skipped.

    Returns ``None`` when no score is given, or the best is below ``threshold``.
    """
    best: int | None = None
    for i, score in enumerate(scores):
        if score is not None and (best is None or score > (scores[best] or 0.0)):
            best = i
    if best is None:
        return None
    if threshold is not None and (scores[best] or 0.0) < threshold:
        return None
    return best


def max_score_results(
    spec: CheckSpec, outputs: Sequence[Sequence[tuple[CheckSpec, CheckResult]] | None]
) -> list[CheckResult | None]:
    """Decide ``max-score`` among one test's outputs.

    Args:
        spec: The ``max-score`` check.
        outputs: For each output, its graded checks; ``None`` for a cell that errored.

    Returns:
        One result per output (``None`` for an errored cell): the winner passes with score 1, the
        others fail with score 0, each reason giving the scores.
    """
    scores = [aggregate_score(spec, graded) if graded is not None else None for graded in outputs]
    threshold = _options(spec).get("threshold")
    results: list[CheckResult | None] = []
    if all(score is None for score, graded in zip(scores, outputs, strict=True) if graded):
        return [
            None
            if graded is None
            else CheckResult(
                False, 0.0, "'max-score' needs other checks to score the outputs",
                spec.metric, spec.name,
            )
            for graded in outputs
        ]
    winner = decide_max_score(scores, threshold)
    shown = ", ".join(
        f"{i + 1}: {'error' if s is None else f'{s:.3f}'}" for i, s in enumerate(scores)
    )
    for i, graded in enumerate(outputs):
        if graded is None:
            results.append(None)
            continue
        won = winner == i
        if won:
            reason = f"highest score {scores[i]:.3f} of {len(outputs)} outputs ({shown})"
        elif winner is None:
            reason = f"no output reached threshold {threshold:g} ({shown})"
        else:
            reason = f"output {winner + 1} scored highest ({shown})"
        results.append(
            CheckResult(won, 1.0 if won else 0.0, reason, spec.metric, spec.name)
        )
    return results
