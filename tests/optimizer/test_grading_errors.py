"""The optimizer grades through the same path as eval: a failed grader call is no score."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.calls import CallPolicy, ModelCaller
from promptwork.cases import TestCase
from promptwork.checks.registry import parse_spec
from promptwork.errors import ConfigError, ProviderError
from promptwork.grading import GraderPool
from promptwork.optimizer.budget import Budget, ExampleScore, ScoreCache
from promptwork.optimizer.candidate import Candidate, Evaluator, SeedPrompt
from promptwork.optimizer.data import Example, load_examples
from promptwork.optimizer.state import mean_of
from promptwork.prompts import load_prompt
from promptwork.providers.echo import EchoProvider
from promptwork.providers.scripted import ScriptedProvider

RUBRIC = parse_spec({"type": "llm-rubric", "value": "is polite"})


async def test_a_failed_grader_call_is_an_error_not_a_zero(tmp_path: Path) -> None:
    refused = ProviderError("bad key", kind="auth", status=401)
    judge = ScriptedProvider([refused, '{"pass": true, "score": 1, "reason": "ok"}'],
                             id="scripted:judge")
    graders = GraderPool(None, CallPolicy(max_attempts=1), injected={"scripted:judge": judge})
    seed = SeedPrompt.of(load_prompt("Say {{ x }}"))
    evaluator = Evaluator(seed, ModelCaller(EchoProvider("echo"), concurrency=1), Budget(10),
                          ScoreCache(), graders=graders)
    tests = [TestCase(i, {"x": str(i)}, (RUBRIC,), options={"provider": "scripted:judge"})
             for i in range(2)]
    scores = await evaluator.score(Candidate.seed(seed), [Example(t) for t in tests])
    errored, graded = sorted(scores, key=lambda s: s.error is None)
    assert errored.error_kind == "grader" and "grader call failed" in (errored.error or "")
    assert not errored.graded and graded.graded and graded.passed
    # The mean leaves the error out instead of counting it as a 0.
    assert mean_of(scores, "pass") == 1.0 and mean_of(scores, "score") == 1.0


def test_mean_counts_a_prompt_that_does_not_render_but_not_a_failed_call() -> None:
    scores = [ExampleScore(0, True, 1.0, "a"),
              ExampleScore(1, False, 0.0, None, "x", "x", "template"),
              ExampleScore(2, False, 0.0, None, "x", "x", "rate_limit")]
    assert mean_of(scores, "pass") == pytest.approx(0.5)


def test_select_best_is_refused_naming_it_before_any_call() -> None:
    check = parse_spec({"type": "select-best", "value": "the best"})
    tests = [TestCase(0, {"x": "a"}, (check,), source="suite.yaml:12")]
    with pytest.raises(ConfigError, match=r"suite.yaml:12: 'select-best' compares the outputs"):
        load_examples(tests, frozenset({"x"}))
