"""The test-split report: seed vs best on the examples both have a verdict on, paired."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from promptwork.errors import ProviderError
from promptwork.optimizer import aoptimize
from promptwork.optimizer.budget import ExampleScore
from promptwork.optimizer.report import render
from promptwork.optimizer.result import paired, paired_test
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Params, RenderedPrompt

from .kit import smart_answer


def ok(index: int, passed: bool) -> ExampleScore:
    return ExampleScore(index, passed, 1.0 if passed else 0.0, "x")


def error(index: int, kind: str = "grader") -> ExampleScore:
    return ExampleScore(index, False, 0.0, "x", "grader call failed", "grader call failed", kind)


def test_errors_leave_both_sides_of_the_comparison() -> None:
    seed = [ok(0, False), error(1), ok(2, False), ok(3, True), ok(4, False)]
    best = [ok(0, True), ok(1, True), error(2, "rate_limit"), ok(3, True), ok(4, True)]
    kept_seed, kept_best, left_out = paired(seed, best)
    assert left_out == 2
    assert [s.index for s in kept_seed] == [b.index for b in kept_best] == [0, 3, 4]
    comparison = paired_test(seed, best)
    # Counted on the three examples with two verdicts: two fixes, no regression. Counting the
    # errors as failures would have added a fix (1) and a regression (2).
    assert (comparison.n, comparison.fixes, comparison.regressions) == (3, 2, 0)


def test_a_prompt_that_does_not_render_is_a_verdict_and_stays() -> None:
    seed = [ok(0, True), ExampleScore(1, False, 0.0, None, "bad", "bad", "template")]
    best = [ok(0, True), ok(1, True)]
    assert paired(seed, best)[2] == 0
    assert paired_test(seed, best).fixes == 1


def test_scores_of_other_examples_are_refused() -> None:
    with pytest.raises(ValueError, match="same examples"):
        paired([ok(0, True)], [ok(1, True)])


async def test_the_test_report_leaves_out_and_counts_error_examples(suite_dir: Path) -> None:
    failing = {3, 4, 7, 8, 12, 13, 17, 21, 22, 26, 27}  # reviews whose calls are refused

    def answer(prompt: RenderedPrompt, params: Params) -> str | ProviderError:
        review = int(prompt.as_text().rsplit("Review: review ", 1)[1].split()[0])
        if review in failing:
            return ProviderError("refused", kind="auth", status=403)
        return smart_answer(prompt, params)

    provider = ScriptedProvider(answer, id="scripted:smart")
    result = await aoptimize(None, suite_dir, budget=150, task_provider=provider, ablate=False)
    seed, best = result.scores["seed"], result.scores["best"]
    errored = {s.index for s in [*seed, *best] if s.error_kind is not None}
    assert errored and errored <= failing
    assert result.test_left_out == len(errored)
    assert result.test_seed is not None and result.test_best is not None
    assert result.comparison is not None
    n = len(seed) - len(errored)
    assert result.test_seed.n == result.test_best.n == result.comparison.n == n
    assert result.provenance()["scores"]["test_left_out"] == len(errored)
    console = Console(record=True, width=200)
    console.print(render(result))
    assert f"{len(errored)} test example(s) left out of seed vs best" in console.export_text()
    assert f"{len(errored)} test example(s) left out" in result.html()
