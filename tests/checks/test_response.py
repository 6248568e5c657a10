"""``finish-reason``, ``perplexity``, ``perplexity-score``: checks on what the provider reported."""

from __future__ import annotations

import math
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError
from promptwork.types import TokenLogprob


async def run(spec: dict[str, Any], **ctx: Any) -> CheckResult:
    return await arun_check(parse_spec(spec), CheckContext("answer", provider_id="p", **ctx))


class TestFinishReason:
    async def test_match_is_case_insensitive(self) -> None:
        r = await run({"type": "finish-reason", "value": "STOP"}, finish_reason="stop")
        assert r.passed and r.score == 1.0

    async def test_mismatch_and_negation(self) -> None:
        r = await run({"type": "finish-reason", "value": "stop"}, finish_reason="length")
        assert not r.passed and r.reason == "finish reason 'length', not 'stop'"
        r = await run({"type": "not-finish-reason", "value": "stop"}, finish_reason="length")
        assert r.passed

    async def test_value_rendered_with_vars(self) -> None:
        spec = parse_spec({"type": "finish-reason", "value": "{{ why }}"})
        ctx = CheckContext("a", vars={"why": "tool_calls"}, finish_reason="tool_calls")
        assert (await arun_check(spec, ctx)).passed

    async def test_unreported_reason_fails_both_ways(self) -> None:
        for type_ in ("finish-reason", "not-finish-reason"):
            r = await run({"type": type_, "value": "stop"})
            assert not r.passed and "did not report a finish reason" in r.reason


LOGPROBS = (TokenLogprob("a", -0.1), TokenLogprob("b", -0.5), TokenLogprob("c", -0.3))
PERPLEXITY = math.exp(0.3)  # exp(-mean(-0.1, -0.5, -0.3))


class TestPerplexity:
    async def test_below_and_above_threshold(self) -> None:
        r = await run({"type": "perplexity", "threshold": 1.5}, logprobs=LOGPROBS)
        assert r.passed and f"{PERPLEXITY:.4f} <= threshold 1.5" in r.reason
        r = await run({"type": "perplexity", "threshold": 1.2}, logprobs=LOGPROBS)
        assert not r.passed and r.score == 0.0
        r = await run({"type": "not-perplexity", "threshold": 1.2}, logprobs=LOGPROBS)
        assert r.passed

    async def test_score_is_normalized(self) -> None:
        r = await run({"type": "perplexity-score"}, logprobs=LOGPROBS)
        assert r.passed and r.score == pytest.approx(1 / (1 + PERPLEXITY))
        r = await run({"type": "perplexity-score", "threshold": 0.5}, logprobs=LOGPROBS)
        assert not r.passed and r.score == pytest.approx(1 / (1 + PERPLEXITY))

    async def test_without_logprobs_it_fails_saying_so(self) -> None:
        for type_ in ("perplexity", "not-perplexity", "perplexity-score"):
            r = await run({"type": type_, "threshold": 2})
            assert not r.passed and "logprobs: true" in r.reason


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "finish-reason"}, "needs a 'value'"),
        ({"type": "finish-reason", "value": 3}, "expected finish reason"),
        ({"type": "perplexity", "threshold": -1}, ">= 0"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)
