"""grade_cell: the one grading path of eval and optimize (transforms, errors, cross-prompt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, CheckSpec, registry
from promptwork.checks.base import GraderRef
from promptwork.checks.grade import UNDECIDED, grade_cell, refuse_cross_prompt
from promptwork.checks.registry import parse_spec
from promptwork.checks.transform import js_available
from promptwork.errors import ConfigError, ProviderError

pytestmark = pytest.mark.asyncio


def specs(*checks: dict[str, Any]) -> list[CheckSpec]:
    return [parse_spec(c) for c in checks]


class Judge:
    """A grader that answers from a list (a ProviderError is raised)."""

    def __init__(self, *answers: str | ProviderError):
        self.answers = list(answers)
        self.prompts: list[str] = []

    async def __call__(self, prompt: str, provider: GraderRef | None = None) -> str:
        self.prompts.append(prompt)
        answer = self.answers.pop(0)
        if isinstance(answer, ProviderError):
            raise answer
        return answer


RUBRIC = {"type": "llm-rubric", "value": "is polite"}


async def test_a_verdict_with_the_test_threshold() -> None:
    checks = specs({"type": "contains", "value": "Paris"}, {"type": "contains", "value": "zz"})
    graded = await grade_cell(checks, CheckContext("Paris is big"))
    assert graded.error is None and graded.grade is not None
    assert not graded.grade.passed and graded.grade.score == 0.5
    lenient = await grade_cell(checks, CheckContext("Paris is big"), threshold=0.5)
    assert lenient.grade is not None and lenient.grade.passed
    assert lenient.grade.reason.startswith("score 0.50 vs threshold 0.5")


@pytest.mark.parametrize("type_", ["llm-rubric", "not-llm-rubric"])
async def test_a_failed_grader_call_is_an_error_never_a_score(type_: str) -> None:
    judge = Judge(ProviderError("slow down", kind="rate_limit", status=429))
    checks = specs({"type": "contains", "value": "x"}, {**RUBRIC, "type": type_},
                   {"type": "contains", "value": "y"})
    graded = await grade_cell(checks, CheckContext("x y", grader=judge))
    assert graded.grade is None and graded.error is not None
    assert graded.error.kind == "grader" and "HTTP 429" in graded.error.message
    assert len(graded.checks) == 1  # stopped at the error: no later grader calls


async def test_a_grader_verdict_still_grades() -> None:
    judge = Judge('{"pass": false, "score": 0.2, "reason": "rude"}')
    graded = await grade_cell(specs(RUBRIC), CheckContext("go away", grader=judge))
    assert graded.error is None and graded.grade is not None
    assert not graded.grade.passed and graded.grade.score == pytest.approx(0.2)


async def test_a_crash_in_a_builtin_check_is_an_internal_error_with_its_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
        found: dict[str, CheckResult] = {}
        return found["missing"]  # a bug: KeyError

    monkeypatch.setitem(registry._loaded, "contains", broken)
    graded = await grade_cell(specs({"type": "contains", "value": "x"}), CheckContext("x"))
    assert graded.grade is None and graded.error is not None
    assert graded.error.kind == "internal" and "promptwork bug" in graded.error.message
    assert graded.error.detail is not None
    assert "Traceback" in graded.error.detail and "KeyError" in graded.error.detail


async def test_user_errors_fail_the_check() -> None:
    checks = specs({"type": "python", "value": "1 / 0"},
                   {"type": "contains", "value": "{{ nowhere }}"},
                   {"type": "contains", "value": {"a": 1}})
    graded = await grade_cell(checks, CheckContext("x"))
    assert graded.error is None and graded.grade is not None and not graded.grade.passed
    reasons = [r.reason for _, r in graded.checks]
    assert "ZeroDivisionError" in reasons[0]
    assert "undefined variable nowhere" in reasons[1]
    assert "needs a string or number value" in reasons[2]


async def test_cross_prompt_checks_wait_for_the_caller_or_are_refused() -> None:
    checks = specs({"type": "select-best", "value": "the kindest"})
    graded = await grade_cell(checks, CheckContext("a"))
    assert graded.pending and graded.grade is not None and not graded.grade.passed
    assert graded.checks[0][1].reason == UNDECIDED
    with pytest.raises(ConfigError, match="'select-best' compares the outputs of several"):
        await grade_cell(checks, CheckContext("a"), cross_prompt=False)
    with pytest.raises(ConfigError, match=r"tests\.csv:3: 'select-best'"):
        refuse_cross_prompt(checks, "tests.csv:3")


async def test_python_transforms(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(
        "import json\n"
        "def get_transform(output, context):\n"
        "    return output.upper() + context['vars']['tail']\n"
        "def category(output, context):\n"
        "    return json.loads(output)['category']\n"
        "def nothing(output, context):\n"
        "    return None\n"
        "def context_of(output, context):\n"
        "    return 'ctx:' + output\n")
    ctx = CheckContext('{"category": "b"}', vars={"tail": "!"}, base_dir=tmp_path)
    # The test's transform changes what every check sees.
    graded = await grade_cell(specs({"type": "equals", "value": '{"CATEGORY": "B"}!'}), ctx,
                              options={"transform": "file://t.py"})
    assert graded.grade is not None and graded.grade.passed
    assert graded.output == '{"CATEGORY": "B"}!'
    # A check's transform changes what that check sees only.
    checks = specs({"type": "equals", "value": "b", "transform": "file://t.py:category"},
                   {"type": "contains", "value": "category"})
    graded = await grade_cell(checks, ctx)
    assert graded.grade is not None and graded.grade.passed
    # A transform that returns nothing fails its check, saying why.
    graded = await grade_cell(
        specs({"type": "contains", "value": "b", "transform": "file://t.py:nothing"}), ctx)
    assert graded.grade is not None and not graded.grade.passed
    assert "returned nothing" in graded.grade.reason
    # contextTransform reads the output before the test's transform; the check sees 'context'.
    checks = specs({"type": "python",
                    "value": "{'pass': True, 'reason': context['vars']['context']}",
                    "contextTransform": "file://t.py:context_of"})
    graded = await grade_cell(checks, ctx, options={"transform": "file://t.py"})
    assert graded.grade is not None and graded.grade.passed
    assert graded.checks[0][1].reason == 'ctx:{"category": "b"}'
    # A failing test transform is an error of kind "transform".
    graded = await grade_cell(specs({"type": "contains", "value": "b"}), ctx,
                              options={"transform": "file://t.py:missing"})
    assert graded.error is not None and graded.error.kind == "transform"
    assert "no function 'missing'" in graded.error.message


@pytest.mark.skipif(js_available(), reason="mini-racer is installed: JavaScript transforms run")
async def test_javascript_transforms_are_refused_by_name_without_an_engine() -> None:
    with pytest.raises(ConfigError, match=r"'transform' 'output.toUpperCase\(\)' is JavaScript"):
        parse_spec({"type": "equals", "value": "A", "transform": "output.toUpperCase()"})


@pytest.mark.skipif(not js_available(), reason="needs mini-racer")
async def test_javascript_transforms() -> None:
    checks = specs({"type": "equals", "value": "HI", "transform": "output.toUpperCase()"},
                   {"type": "equals", "value": "b",
                    "transform": "const o = JSON.parse(output);\nreturn o.category;"})
    graded = await grade_cell(checks, CheckContext("hi"), options=None)
    assert graded.checks[0][1].passed
    graded = await grade_cell(checks[1:], CheckContext('{"category": "b"}'))
    assert graded.grade is not None and graded.grade.passed
