"""Checks on what the provider reported about an answer rather than on its text.

* ``finish-reason``: the model stopped for the reason in the value (``stop``, ``length``,
  ``content_filter``, ``tool_calls``), compared case-insensitively, as promptfoo does. A provider
  that reported no finish reason cannot decide it: the check fails, saying so.
* ``perplexity``: ``exp(-mean token log-probability)`` of the answer; passes when it is at most
  ``threshold`` (always, without one). Score 1 when it passes, else 0 (promptfoo's).
* ``perplexity-score``: ``1 / (1 + perplexity)``, in (0, 1], higher is better; it is the score, and
  the check passes when it is at least ``threshold`` (always, without one).

Both perplexity checks need per-token log-probabilities: ask the provider for them
(``logprobs: true`` in its config or params). Without them the check fails, saying so.
"""

from __future__ import annotations

import math

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec, outcome

__all__ = ["finish_reason", "perplexity", "perplexity_score", "spec_problem"]


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with one of these checks (checked when the suite loads), or ``None``."""
    if spec.type == "finish-reason":
        if not isinstance(spec.value, str) or not spec.value.strip():
            return "value must be the expected finish reason (stop, length, content_filter...)"
    elif spec.threshold is not None and spec.threshold < 0:
        return f"'threshold' must be >= 0, got {spec.threshold:g}"
    return None


def finish_reason(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The model stopped for the expected reason."""
    expected = str(spec.value).strip()
    actual = ctx.finish_reason
    if actual is None:
        raise CheckError(
            f"provider {ctx.provider_id or ''} did not report a finish reason".replace("  ", " ")
        )
    same = actual.strip().lower() == expected.lower()
    return outcome(same, f"finish reason {actual!r}" + ("" if same else f", not {expected!r}"))


def _perplexity(spec: CheckSpec, ctx: CheckContext) -> float:
    if not ctx.logprobs:
        raise CheckError(
            f"'{spec.type}' needs the answer's token log-probabilities; ask the provider for "
            "them (logprobs: true in its config)"
        )
    mean = math.fsum(t.logprob for t in ctx.logprobs) / len(ctx.logprobs)
    return math.exp(-mean)


def perplexity(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer's perplexity is at most ``threshold``."""
    value = _perplexity(spec, ctx)
    if spec.threshold is None:
        return outcome(True, f"perplexity {value:.4f} (no threshold)")
    passed = value <= spec.threshold
    relation = "<=" if passed else ">"
    return outcome(passed, f"perplexity {value:.4f} {relation} threshold {spec.threshold:g}")


def perplexity_score(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """``1 / (1 + perplexity)`` is at least ``threshold``."""
    score = 1.0 / (1.0 + _perplexity(spec, ctx))
    if spec.threshold is None:
        return CheckResult(True, score, f"perplexity score {score:.4f} (no threshold)")
    passed = score >= spec.threshold
    relation = ">=" if passed else "<"
    return CheckResult(
        passed, score, f"perplexity score {score:.4f} {relation} threshold {spec.threshold:g}"
    )
