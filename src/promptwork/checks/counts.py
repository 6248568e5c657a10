"""Checks on the size of the answer.

* ``word-count`` (promptfoo's): the value is an exact number of words, or ``{min, max}`` (either
  may be left out; both bounds inclusive). Words are runs of non-space characters.
* ``min-length`` / ``max-length``: the answer has at least / at most ``value`` characters
  (``threshold`` is accepted in place of ``value``). Not promptfoo types, but suites use them.
* ``empty``: the answer is empty or only whitespace; written ``not-empty`` to require an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, outcome

__all__ = ["empty", "max_length", "min_length", "spec_problem", "word_count"]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a size check (checked when the suite loads), or ``None``."""
    value = spec.value
    if spec.type == "word-count":
        if _count(value):
            return None
        if isinstance(value, Mapping) and value and set(value) <= {"min", "max"}:
            if not all(_count(v) for v in value.values()):
                return "'min' and 'max' must be whole numbers >= 0"
            if "min" in value and "max" in value and value["min"] > value["max"]:
                return f"'min' ({value['min']}) is above 'max' ({value['max']})"
            return None
        return "value must be a number of words, or {min: N, max: M}"
    if spec.type in ("min-length", "max-length"):
        limit = value if value is not None else spec.threshold
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if not _count(limit):
            return "value must be a number of characters (a whole number >= 0)"
        return None
    if value is not None:
        return "takes no 'value'"
    return None


def word_count(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer has the given number of words, or a number within ``{min, max}``."""
    words = len(ctx.output.split())
    value = spec.value
    if isinstance(value, Mapping):
        low, high = value.get("min"), value.get("max")
        passed = (low is None or words >= low) and (high is None or words <= high)
        bounds = f"[{low if low is not None else 0}, {high if high is not None else 'inf'}]"
        return outcome(passed, f"{words} words, {'within' if passed else 'outside'} {bounds}")
    passed = words == value
    return outcome(passed, f"{words} words" + ("" if passed else f", not {value}"))


def _limit(spec: CheckSpec) -> int:
    return int(spec.value if spec.value is not None else spec.threshold or 0)


def min_length(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer has at least ``value`` characters."""
    size, limit = len(ctx.output), _limit(spec)
    passed = size >= limit
    return outcome(passed, f"{size} characters {'>=' if passed else '<'} {limit}")


def max_length(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer has at most ``value`` characters."""
    size, limit = len(ctx.output), _limit(spec)
    passed = size <= limit
    return outcome(passed, f"{size} characters {'<=' if passed else '>'} {limit}")


def empty(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The answer is empty or only whitespace (``not-empty`` requires an answer)."""
    is_empty = not ctx.output.strip()
    return outcome(is_empty, "output is empty" if is_empty else "output is not empty")
