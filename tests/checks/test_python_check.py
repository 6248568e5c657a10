"""The python check: inline expressions, bodies, files, and result forms."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, run_check
from promptwork.checks.python_check import normalize_result
from promptwork.checks.registry import parse_spec
from promptwork.types import TokenLogprob


def run(check: dict[str, Any], output: str = "hello world", **ctx: Any) -> CheckResult:
    return run_check(parse_spec({"type": "python", **check}), CheckContext(output, **ctx))


def test_expression_bool() -> None:
    assert run({"value": "output.startswith('hello')"}).passed
    r = run({"value": "'bye' in output"})
    assert not r.passed and r.score == 0.0
    assert run({"type": "not-python", "value": "'bye' in output"}).passed


def test_expression_sees_context_and_modules() -> None:
    ok = run(
        {"value": "context['vars']['n'] == len(output.split()) and json.loads('1') == 1"},
        vars={"n": 2},
    )
    assert ok.passed
    assert run({"value": "bool(re.match(r'h\\w+', output)) and math.pi > 3"}).passed
    assert run(
        {"value": "context['logProbs'] == [-0.5] and context['provider']['id'] == 'echo'"},
        logprobs=(TokenLogprob("hi", -0.5),),
        provider_id="echo",
    ).passed


def test_number_result_and_threshold() -> None:
    r = run({"value": "len(output) / 20"})  # 0.55 > 0
    assert r.passed and r.score == pytest.approx(0.55)
    assert not run({"value": "len(output) / 20", "threshold": 0.6}).passed
    assert run({"value": "len(output) / 20", "threshold": 0.5}).passed
    assert not run({"value": "0"}).passed


def test_multiline_body() -> None:
    body = textwrap.dedent(
        """
        words = output.split()
        if len(words) != 2:
            return {'pass': False, 'score': 0, 'reason': 'need two words'}
        return {'pass': True, 'score': 0.9, 'reason': 'two words'}
        """
    )
    r = run({"value": body})
    assert (r.passed, r.score, r.reason) == (True, 0.9, "two words")
    r = run({"value": body}, output="one")
    assert (r.passed, r.reason) == (False, "need two words")


def test_body_without_return_is_a_failed_result() -> None:
    r = run({"value": "x = 1\ny = 2"})
    assert not r.passed and "returned None" in r.reason


def test_user_exception_is_a_failed_result() -> None:
    r = run({"value": "1 / 0"})
    assert not r.passed and r.score == 0.0 and "ZeroDivisionError" in r.reason
    # an error is never turned into a pass by negation
    assert not run({"type": "not-python", "value": "1 / 0"}).passed


def test_sys_exit_does_not_end_the_run() -> None:
    r = run({"value": "__import__('sys').exit(3)"})
    assert not r.passed and "sys.exit(3)" in r.reason


def test_syntax_error_is_a_failed_result() -> None:
    r = run({"value": "def (:\n  pass"})
    assert not r.passed and "does not compile" in r.reason


def test_value_is_not_templated() -> None:
    # Python code may contain {{ }} (e.g. in f-strings); it must reach Python unchanged.
    assert run({"value": "f'{{x}}' == '{x}'"}).passed


def test_file_reference(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("WORD = 'hello'\n")
    (tmp_path / "checks.py").write_text(
        textwrap.dedent(
            """
            from helper import WORD

            def get_assert(output, context):
                return WORD in output

            def scored(output, context):
                return {'score': 0.3, 'reason': f"vars={context['vars']}"}
            """
        )
    )
    assert run({"value": "file://checks.py"}, base_dir=tmp_path).passed
    r = run({"value": "file://checks.py:scored"}, base_dir=tmp_path, vars={"a": 1})
    assert r.passed and r.score == 0.3 and r.reason == "vars={'a': 1}"
    r = run({"value": "file://checks.py:scored", "threshold": 0.5}, base_dir=tmp_path)
    assert not r.passed and "< threshold 0.5" in r.reason
    r = run({"value": "file://checks.py:missing"}, base_dir=tmp_path)
    assert not r.passed and "no function 'missing'" in r.reason
    r = run({"value": "file://nope.py"}, base_dir=tmp_path)
    assert not r.passed and "cannot read" in r.reason


@pytest.mark.parametrize(
    ("raw", "threshold", "passed", "score"),
    [
        (True, None, True, 1.0),
        (False, 0.5, False, 0.0),
        (0.7, None, True, 0.7),
        (0.7, 0.8, False, 0.7),
        ("true", None, True, 1.0),
        ("FALSE", None, False, 0.0),
        ("0.25", None, True, 0.25),
        ('{"pass": true, "score": 0.4}', None, True, 0.4),
        ({"pass_": True}, None, True, 1.0),
        ({"score": 0.0}, None, False, 0.0),
        ({"pass": True, "score": 0.4}, 0.5, False, 0.4),
    ],
)
def test_normalize_result(raw: Any, threshold: float | None, passed: bool, score: float) -> None:
    r = normalize_result(raw, threshold)
    assert (r.passed, r.score) == (passed, score)


@pytest.mark.parametrize("raw", [None, "maybe", [1], {"reason": "x"}, {"pass": "yes"}])
def test_normalize_result_rejects(raw: Any) -> None:
    with pytest.raises(TypeError):
        normalize_result(raw, None)
