"""``g-eval`` with a scripted grader: two calls per criterion, scores out of 10, threshold."""

from __future__ import annotations

from typing import Any

import pytest

from checks.graders import ScriptedGrader
from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.errors import GradingError
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError, ProviderError

STEPS = '{"steps": ["Read the answer", "Compare it with the criterion"]}'


def score(n: float, reason: str = "fine") -> str:
    return f'Here is my grade: {{"score": {n}, "reason": "{reason}"}}'


async def g_eval(grader: ScriptedGrader, **spec: Any) -> CheckResult:
    parsed = parse_spec({"type": spec.pop("type", "g-eval"), **spec})
    ctx = CheckContext("The answer.", prompt_text="Explain X.", grader=grader)
    return await arun_check(parsed, ctx)


async def test_passes_at_the_default_threshold() -> None:
    grader = ScriptedGrader(STEPS, score(8))
    r = await g_eval(grader, value="Is accurate", provider="openai:gpt-4o-mini")
    assert r.passed and r.score == pytest.approx(0.8)
    assert r.reason == "g-eval score 0.80 >= threshold 0.7: fine"
    steps_prompt, scoring_prompt = (p for p, _ in grader.calls)
    assert "Is accurate" in steps_prompt
    assert "1. Read the answer" in scoring_prompt and "The answer." in scoring_prompt
    assert "Explain X." in scoring_prompt
    assert all(provider == "openai:gpt-4o-mini" for _, provider in grader.calls)


async def test_fails_below_threshold_and_negation() -> None:
    r = await g_eval(ScriptedGrader(STEPS, score(6, "vague")), value="Is precise")
    assert not r.passed and r.score == pytest.approx(0.6) and "vague" in r.reason
    r = await g_eval(ScriptedGrader(STEPS, score(6)), value="Leaks secrets", type="not-g-eval")
    assert r.passed and r.score == pytest.approx(0.4)


async def test_list_of_criteria_is_averaged() -> None:
    grader = ScriptedGrader(STEPS, score(10), STEPS, score(4))
    r = await g_eval(grader, value=["Clear", "Complete"], threshold=0.8)
    assert not r.passed and r.score == pytest.approx(0.7)
    assert "(mean of 2 criteria)" in r.reason and len(grader.calls) == 4


async def test_unreadable_answer_fails_never_inverted() -> None:
    for type_ in ("g-eval", "not-g-eval"):
        r = await g_eval(ScriptedGrader(STEPS, "I would say quite good."), value="x", type=type_)
        assert not r.passed and "no JSON object with 'score'" in r.reason


async def test_grader_failure_is_no_verdict() -> None:
    grader = ScriptedGrader(ProviderError("rate limited", kind="rate_limit", status=429))
    with pytest.raises(GradingError) as info:
        await g_eval(grader, value="x")
    assert info.value.kind == "grader"


async def test_without_a_grader_it_fails_saying_so() -> None:
    spec = parse_spec({"type": "g-eval", "value": "x"})
    r = await arun_check(spec, CheckContext("out"))
    assert not r.passed and "needs a grading model" in r.reason


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "g-eval"}, "needs a 'value'"),
        ({"type": "g-eval", "value": [1]}, "list of criteria"),
        ({"type": "g-eval", "value": "x", "threshold": 7}, "between 0 and 1"),
        ({"type": "g-eval", "value": "x", "provider": 5}, "'provider' must be"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)
