"""Grading one answer: the one path that ``eval`` and ``optimize`` both take.

:func:`grade_cell` applies the test's ``options.transform`` to the output, runs every check of the
test on it (each with its own ``transform``/``contextTransform``), and combines the results with
the test's ``threshold``. It returns a :class:`CellGrade`: a verdict, or an error when the answer
could not be graded (see :mod:`promptwork.checks.errors`): a failed grader call or a bug in a
built-in check is never a failed check and never a 0 score.

Cross-prompt checks (``select-best``, ``max-score``) compare the outputs of one test under several
prompts and models, so one answer alone cannot decide them. :func:`grade_cell` leaves them
undecided (:data:`UNDECIDED`, not passed) for the caller to decide across a test's cells (the
runner does), or refuses them (``cross_prompt=False``: the optimizer scores one prompt at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptwork.checks.asking import grader_model
from promptwork.checks.base import (
    CheckContext,
    CheckError,
    CheckResult,
    CheckSpec,
    Grader,
    aggregate,
)
from promptwork.checks.errors import TRANSFORM, GradingError
from promptwork.checks.registry import MODEL_GRADED, arun_check, failed_result
from promptwork.checks.transform import apply_transform, for_check
from promptwork.errors import ConfigError
from promptwork.types import Completion, Params

__all__ = [
    "CROSS_PROMPT",
    "UNDECIDED",
    "CellGrade",
    "answer_context",
    "final_grade",
    "grade_cell",
    "refuse_cross_prompt",
]

#: Checks decided across the prompts and models of a test, not on one answer.
CROSS_PROMPT = frozenset({"select-best", "max-score"})
#: The reason of a cross-prompt check's result until the caller has decided it.
UNDECIDED = "decided across prompts"


@dataclass(frozen=True)
class CellGrade:
    """The outcome of grading one answer.

    Attributes:
        grade: The test's verdict (an aggregate whose components are the checks' results);
            ``None`` when the answer could not be graded.
        checks: Each check with its result, in the test's order (those run before an error).
        output: The output the checks saw (after the test's ``options.transform``).
        error: Why the answer could not be graded, or ``None``.
    """

    grade: CheckResult | None
    checks: tuple[tuple[CheckSpec, CheckResult], ...] = ()
    output: str = ""
    error: GradingError | None = None

    @property
    def pending(self) -> bool:
        """Whether a cross-prompt check waits to be decided across the test's cells."""
        return self.error is None and any(
            spec.type in CROSS_PROMPT and result.reason == UNDECIDED
            for spec, result in self.checks
        )


def cross_prompt_checks(specs: Iterable[CheckSpec]) -> list[str]:
    """The cross-prompt checks among ``specs``, as written (``select-best``)."""
    return [spec.name for spec in specs if spec.type in CROSS_PROMPT]


def refuse_cross_prompt(specs: Iterable[CheckSpec], where: str = "") -> None:
    """Refuse checks that need several prompts' outputs where only one prompt is scored.

    Raises:
        ConfigError: Naming the check(s).
    """
    names = cross_prompt_checks(specs)
    if names:
        listed = ", ".join(f"'{n}'" for n in dict.fromkeys(names))
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}{listed} compares the outputs of several prompts for one test, and "
            "optimize scores one prompt at a time; remove it from the suite used to optimize"
            if len(names) == 1 else
            f"{prefix}{listed} compare the outputs of several prompts for one test, and optimize "
            "scores one prompt at a time; remove them from the suite used to optimize"
        )


def final_grade(graded: Sequence[tuple[CheckSpec, CheckResult]],
                threshold: float | None = None) -> CheckResult:
    """The test's verdict from its checks' results: every check passes, or, with a test
    ``threshold``, the weighted score reaches it (promptfoo's test-level threshold)."""
    grade = aggregate(graded)
    if threshold is not None:
        passed = grade.score >= threshold
        grade = CheckResult(passed, grade.score,
                            f"score {grade.score:.2f} vs threshold {threshold:g}; " + grade.reason,
                            grade.metric, grade.check_type, grade.components)
    return grade


def answer_context(
    completion: Completion,
    *,
    vars: Mapping[str, Any],
    prompt_text: str,
    provider_id: str,
    provider_config: Mapping[str, Any] | None = None,
    params: Params | None = None,
    base_dir: Path | None = None,
    grader: Grader | None = None,
) -> CheckContext:
    """What the checks of one answer see, built the same way by ``eval`` and ``optimize``.

    ``provider_config`` is the answering provider's config as the suite wrote it; the call's
    generation parameters (``tools``, ``functions``...) are laid over it, so tool-call checks find
    the tools the model was actually given.
    """
    config = dict(provider_config or {})
    if params is not None:
        config.update(params.given())
    return CheckContext(
        output=completion.text,
        vars=vars,
        prompt_text=prompt_text,
        latency_ms=None if completion.cached else completion.latency_ms,
        cost=completion.cost,
        logprobs=completion.logprobs,
        provider_id=provider_id,
        base_dir=base_dir,
        grader=grader,
        provider_config=config,
        finish_reason=completion.finish_reason,
        raw_response=completion.raw,
    )


def undecided(spec: CheckSpec) -> CheckResult:
    """The placeholder result of a cross-prompt check until it is decided (not a pass)."""
    return CheckResult(False, 0.0, UNDECIDED, spec.metric, spec.name)


async def grade_cell(
    specs: Sequence[CheckSpec],
    ctx: CheckContext,
    *,
    threshold: float | None = None,
    options: Mapping[str, Any] | None = None,
    cross_prompt: bool = True,
) -> CellGrade:
    """Grade one answer with a test's checks.

    Args:
        specs: The test's checks.
        ctx: The answer and what the checks may look at.
        threshold: The test's ``threshold``, if any.
        options: The test's ``options`` (``transform`` is applied to the output first).
        cross_prompt: Leave cross-prompt checks undecided for the caller (``True``), or refuse
            them (``False``).

    Returns:
        The verdict, or the error that kept the answer from being graded.

    Raises:
        ConfigError: A cross-prompt check with ``cross_prompt=False``.
    """
    if not cross_prompt:
        refuse_cross_prompt(specs)
    raw_output = ctx.output
    transform = (options or {}).get("transform")
    if transform is not None:
        try:
            output = await apply_transform(transform, ctx.output, ctx)
        except Exception as exc:  # the user's transform code: any exception is its failure
            return CellGrade(None, (), ctx.output, GradingError(
                TRANSFORM, f"options.transform failed: {type(exc).__name__}: {exc}"))
        ctx = replace(ctx, output=output)
    results: list[tuple[CheckSpec, CheckResult]] = []
    for spec in specs:
        if spec.type in CROSS_PROMPT:
            results.append((spec, undecided(spec)))
            continue
        try:
            spec_ctx = await for_check(spec, ctx, raw_output)
        except (CheckError, ConfigError) as exc:  # the user's transform failed: so does the check
            results.append((spec, failed_result(spec, exc)))
            continue
        try:
            result = await arun_check(spec, spec_ctx)
            if spec.type in MODEL_GRADED:  # which judge answered: for its agreement with people
                result = replace(result, grader=grader_model(spec, spec_ctx))
            results.append((spec, result))
        except GradingError as exc:
            return CellGrade(None, tuple(results), ctx.output, exc)
    return CellGrade(final_grade(results, threshold), tuple(results), ctx.output)
