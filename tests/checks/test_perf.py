"""latency and cost checks."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, run_check
from promptwork.checks.registry import parse_spec
from promptwork.errors import ConfigError


def run(check: dict[str, Any], **ctx: Any) -> CheckResult:
    return run_check(parse_spec(check), CheckContext("x", **ctx))


def test_latency() -> None:
    assert run({"type": "latency", "threshold": 500}, latency_ms=120.0).passed
    r = run({"type": "latency", "threshold": 100}, latency_ms=120.0)
    assert not r.passed and r.reason == "latency 120 ms > 100 ms"
    assert run({"type": "latency", "value": 200}, latency_ms=120.0).passed
    assert run({"type": "not-latency", "threshold": 100}, latency_ms=120.0).passed


def test_cost() -> None:
    assert run({"type": "cost", "threshold": 0.01}, cost=0.002).passed
    assert not run({"type": "cost", "threshold": 0.001}, cost=0.002).passed


def test_unknown_measure_fails() -> None:
    assert not run({"type": "latency", "threshold": 100}).passed
    r = run({"type": "cost", "threshold": 1})
    assert not r.passed and "unknown" in r.reason


@pytest.mark.parametrize("check", [{"type": "latency"}, {"type": "cost", "value": "cheap"}])
def test_limit_required(check: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="needs a 'threshold'"):
        parse_spec(check)
