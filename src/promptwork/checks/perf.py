"""Performance checks: latency and cost of the call.

The limit is ``threshold`` (promptfoo's spelling) or, failing that, ``value``: a maximum in
milliseconds for ``latency`` and in US dollars for ``cost``. A cell whose latency or cost is
unknown (a cache hit's latency, a model without a price) fails with that reason rather than
passing silently.
"""

from __future__ import annotations

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec, outcome

__all__ = ["cost", "latency"]


def _limit(spec: CheckSpec, unit: str) -> float:
    limit = spec.threshold if spec.threshold is not None else spec.value
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise CheckError(f"{spec.type!r} needs a 'threshold' (maximum, in {unit})")
    return float(limit)


def latency(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The call took at most ``threshold`` milliseconds."""
    limit = _limit(spec, "milliseconds")
    if ctx.latency_ms is None:
        return outcome(False, "latency is unknown for this result (e.g. served from cache)")
    ok = ctx.latency_ms <= limit
    return outcome(ok, f"latency {ctx.latency_ms:.0f} ms {'<=' if ok else '>'} {limit:g} ms")


def cost(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The call cost at most ``threshold`` US dollars."""
    limit = _limit(spec, "US dollars")
    if ctx.cost is None:
        return outcome(False, "cost is unknown for this result (no price for this model)")
    ok = ctx.cost <= limit
    return outcome(ok, f"cost ${ctx.cost:.6g} {'<=' if ok else '>'} ${limit:.6g}")
