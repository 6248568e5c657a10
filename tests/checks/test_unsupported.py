"""promptfoo's documented check types: each is implemented or refused by name at load."""

from __future__ import annotations

import pytest

from promptwork.checks import CheckResult, register
from promptwork.checks.registry import BUILTIN, _registered, known_types, parse_spec, refusal
from promptwork.checks.unsupported import UNSUPPORTED
from promptwork.errors import ConfigError

#: Every assertion type in promptfoo's documentation (configuration/expected-outputs).
PROMPTFOO_TYPES = (
    "equals",
    "contains",
    "icontains",
    "regex",
    "starts-with",
    "contains-any",
    "contains-all",
    "icontains-any",
    "icontains-all",
    "is-json",
    "contains-json",
    "contains-html",
    "is-html",
    "is-sql",
    "contains-sql",
    "is-xml",
    "contains-xml",
    "is-refusal",
    "javascript",
    "python",
    "ruby",
    "webhook",
    "rouge-n",
    "bleu",
    "gleu",
    "levenshtein",
    "latency",
    "meteor",
    "perplexity",
    "perplexity-score",
    "cost",
    "is-valid-function-call",
    "is-valid-openai-function-call",
    "is-valid-openai-tools-call",
    "tool-call-f1",
    "trace-span-count",
    "trace-span-duration",
    "trace-error-spans",
    "skill-used",
    "trajectory:tool-used",
    "trajectory:tool-args-match",
    "trajectory:tool-sequence",
    "trajectory:step-count",
    "guardrails",
    "finish-reason",
    "word-count",
    "assert-set",
    "similar",
    "classifier",
    "moderation",
    "llm-rubric",
    "g-eval",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "conversation-relevance",
    "trajectory:goal-success",
    "factuality",
    "model-graded-closedqa",
    "pi",
    "select-best",
    "max-score",
    "agent-rubric",
    "search-rubric",
)


@pytest.mark.parametrize("name", PROMPTFOO_TYPES)
def test_every_documented_type_is_implemented_or_refused(name: str) -> None:
    assert (name in known_types()) != (name in UNSUPPORTED), name


@pytest.mark.parametrize("name", ["classifier", "not-meteor", "assert-set", "is-html"])
def test_refused_by_name_before_anything_else(name: str) -> None:
    # assert-set's nested 'assert' key would be an "unknown key" without the refusal by name.
    with pytest.raises(ConfigError) as info:
        parse_spec({"type": name, "assert": [], "value": "x"}, where="suite.yaml: tests[1]")
    message = str(info.value)
    assert message.startswith(f"suite.yaml: tests[1]: check '{name}' is not supported: ")
    assert UNSUPPORTED[name.removeprefix("not-")] in message


def test_no_type_is_both_built_in_and_refused() -> None:
    assert not set(BUILTIN) & set(UNSUPPORTED)


def test_a_registered_check_is_never_refused() -> None:
    register("classifier", lambda spec, ctx: CheckResult(True, 1.0, "mine"))
    try:
        assert refusal("classifier") is None
        assert parse_spec({"type": "classifier"}).type == "classifier"
    finally:
        _registered.pop("classifier")
    assert refusal("classifier") is not None
