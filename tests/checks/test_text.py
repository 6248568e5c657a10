"""Text checks: pass, fail and negation of each, promptfoo value forms."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, run_check
from promptwork.checks.registry import parse_spec
from promptwork.checks.text import looks_like_refusal, parse_list


def run(check: dict[str, Any], output: str, **vars: Any) -> CheckResult:
    return run_check(parse_spec(check), CheckContext(output=output, vars=vars))


CASES: list[tuple[dict[str, Any], str, bool]] = [
    ({"type": "equals", "value": "Paris"}, "Paris", True),
    ({"type": "equals", "value": "Paris"}, "Paris.", False),
    ({"type": "equals", "value": "Paris"}, " Paris", False),
    ({"type": "equals", "value": 42}, "42.0", True),
    ({"type": "equals", "value": 42}, "forty-two", False),
    ({"type": "equals", "value": True}, "true", True),
    ({"type": "equals", "value": {"a": [1, 2]}}, '{ "a": [1, 2] }', True),
    ({"type": "equals", "value": {"a": [1, 2]}}, '{"a": [2, 1]}', False),
    ({"type": "equals", "value": [1, "x"]}, "not json", False),
    ({"type": "equals", "value": ""}, "", True),
    ({"type": "contains", "value": "Paris"}, "It is Paris.", True),
    ({"type": "contains", "value": "Paris"}, "It is paris.", False),
    ({"type": "contains", "value": 7}, "lucky 7", True),
    ({"type": "icontains", "value": "PARIS"}, "It is paris.", True),
    ({"type": "icontains", "value": "London"}, "It is paris.", False),
    ({"type": "contains-any", "value": ["cat", "dog"]}, "a dog", True),
    ({"type": "contains-any", "value": "cat, dog"}, "a dog", True),
    ({"type": "contains-any", "value": "cat, dog"}, "a Dog", False),
    ({"type": "icontains-any", "value": "cat, dog"}, "a Dog", True),
    ({"type": "icontains-any", "value": ["cat", "bird"]}, "a Dog", False),
    ({"type": "contains-all", "value": ["cat", "dog"]}, "cat and dog", True),
    ({"type": "contains-all", "value": "cat,dog"}, "cat only", False),
    ({"type": "icontains-all", "value": "CAT, Dog"}, "cat and dog", True),
    ({"type": "icontains-all", "value": ["cat", "fish"]}, "cat and dog", False),
    ({"type": "regex", "value": r"^\d{3}-\d{4}$"}, "555-1234", True),
    ({"type": "regex", "value": r"^\d{3}-\d{4}$"}, "call 555-1234", False),
    ({"type": "starts-with", "value": "Yes"}, "Yes, indeed", True),
    ({"type": "starts-with", "value": "Yes"}, "No. Yes", False),
    ({"type": "is-refusal"}, "I'm sorry, but I can't help with that.", True),
    ({"type": "is-refusal"}, "", True),
    ({"type": "is-refusal"}, "The capital of France is Paris.", False),
]


@pytest.mark.parametrize(("check", "output", "expected"), CASES)
def test_pass_fail_and_negation(check: dict[str, Any], output: str, expected: bool) -> None:
    result = run(check, output)
    assert result.passed is expected, result.reason
    assert result.score == (1.0 if expected else 0.0)
    assert result.check_type == check["type"]
    negated = run({**check, "type": "not-" + check["type"]}, output)
    assert negated.passed is (not expected)
    assert negated.score == 1.0 - result.score
    assert negated.check_type == "not-" + check["type"]


def test_reasons_are_facts() -> None:
    assert run({"type": "contains", "value": "x"}, "abc").reason == "output does not contain 'x'"
    r = run({"type": "contains-all", "value": "a, q, z"}, "abc")
    assert r.reason == "output is missing 'q', 'z'"


def test_value_is_a_template_over_vars() -> None:
    assert run({"type": "contains", "value": "{{ city }}"}, "in Paris", city="Paris").passed
    assert not run({"type": "contains", "value": "{{ city }}"}, "in Rome", city="Paris").passed
    r = run({"type": "contains-all", "value": ["{{ a }}", "{{ b | upper }}"]}, "x Y", a="x", b="y")
    assert r.passed


def test_comma_list_parsing() -> None:
    assert parse_list("a, b ,c") == ["a", "b", "c"]
    assert parse_list('"a, b", c') == ["a, b", "c"]
    assert parse_list(["x", 1]) == ["x", "1"]
    assert parse_list("a,,b") == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't assist with that request.",
        "I cannot help with creating malware.",
        "I\u2019m unable to provide that information.",
        "As an AI language model, I cannot share personal opinions on that.",
        "Sorry, I can't do that.",
        "I must respectfully decline.",
        "That request violates my guidelines, so I won't continue.",
        "   ",
    ],
)
def test_refusals(text: str) -> None:
    assert looks_like_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry to hear about your order. Here is how to get a refund: ...",
        "I can't believe how easy this is: just run pip install.",
        "Sure! Here is the recipe.",
        "The answer is 42.",
        "x" * 500 + " I cannot help with that",  # far from the start: probably quoted
    ],
)
def test_not_refusals(text: str) -> None:
    assert not looks_like_refusal(text)


def test_wrong_value_kind_is_a_failed_result() -> None:
    r = run({"type": "contains", "value": {"a": 1}}, "abc")
    assert not r.passed and r.score == 0.0
    assert "needs a string or number value" in r.reason
