"""What the RAG-style model-graded checks share: their common options, validated one way."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks.asking import options_problem
from promptwork.checks.base import CheckSpec
from promptwork.checks.registry import parse_spec
from promptwork.errors import ConfigError

CHECKS: list[dict[str, Any]] = [
    {"type": "g-eval", "value": "is polite"},
    {"type": "context-faithfulness"},
    {"type": "context-recall", "value": "Paris is in France."},
    {"type": "context-relevance"},
    {"type": "answer-relevance"},
    {"type": "conversation-relevance"},
]

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"threshold": 1.5}, "'threshold' must be between 0 and 1, got 1.5"),
    ({"rubricPrompt": "Grade {{ output"}, "bad template in rubricPrompt"),
    ({"rubricPrompt": 3}, "'rubricPrompt' must be a template string"),
    ({"provider": ["a", "b"]}, "'provider' must be a model id"),
]


@pytest.mark.parametrize("check", CHECKS, ids=[c["type"] for c in CHECKS])
@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_every_model_graded_check_refuses_bad_common_options_alike(
        check: dict[str, Any], options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec({**check, **options})
    assert message in info.value.message


@pytest.mark.parametrize("check", CHECKS, ids=[c["type"] for c in CHECKS])
def test_good_common_options_are_accepted(check: dict[str, Any]) -> None:
    spec = parse_spec({**check, "threshold": 0.5, "rubricPrompt": "Grade {{ output }}",
                       "provider": {"id": "echo", "config": {}}})
    assert spec.threshold == 0.5 and options_problem(spec) is None


def test_the_provider_is_left_to_the_caller_when_asked() -> None:
    spec = CheckSpec("answer-relevance", threshold=0.5, config={"provider": ["a"]})
    assert options_problem(spec) == (
        "'provider' must be a model id, {id, config}, or {text: ..., embedding: ...}")
    assert options_problem(spec, provider=False) is None
    assert options_problem(CheckSpec("g-eval", threshold=-0.1)) == (
        "'threshold' must be between 0 and 1, got -0.1")
