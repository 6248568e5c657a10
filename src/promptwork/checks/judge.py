"""Model-graded checks: ``llm-rubric``, ``factuality``, ``model-graded-closedqa``, ``select-best``.

Semantics follow promptfoo's assertions of the same names (``src/matchers.ts`` and the docs under
``configuration/expected-outputs/model-graded/``); the grading prompts are promptwork's own
wording of the same questions.

* ``llm-rubric``: the value is a rubric. The grader answers with a JSON verdict
  ``{"reason": ..., "pass": bool, "score": 0..1}``. As in promptfoo, a ``threshold`` also requires
  ``score >= threshold``, and a verdict without a score scores 1 if it passes, else 0. Unlike
  promptfoo (where a missing ``pass`` means pass), a verdict with a score but no ``pass`` passes
  when the score reaches the threshold (0.5 without one).
* ``factuality``: the value is the reference answer. The grader sorts the output into one of the
  OpenAI-evals fact categories: (A) subset of the reference, consistent; (B) superset,
  consistent; (C) same details; (D) disagreement; (E) different, but not in a way that matters
  factually. Each category has a score (``config``: ``subset``, ``superset``, ``agree``,
  ``disagree``, ``differButFactual``, at the top level or under ``factuality:``, as promptfoo's
  ``options.factuality``); defaults 1, 1, 1, 0, 1. The check passes iff its category's score is
  above 0, so by default D fails and the others pass.
* ``model-graded-closedqa``: the value is a criterion. The grader reasons, then ends with ``Y``
  (meets it) or ``N``; passes on ``Y``.
* ``select-best``: compares the cells of one test across prompts, so one answer alone cannot
  decide it: :func:`promptwork.checks.grade.grade_cell` leaves it undecided and the runner
  decides it with :func:`select_best` (the optimizer refuses it). Run on one answer by itself,
  it fails, saying so.

Every model-graded check calls :attr:`CheckContext.grader <promptwork.checks.base.CheckContext>`
with the rendered grading prompt and ``config.provider`` (promptfoo's assertion-level
``provider``, whole: an id or ``{id, config}``, whose ``base_url`` and options are honoured) as
the model override. ``rubricPrompt`` replaces the grading prompt: a Jinja
template (or ``file://`` path, or a list of chat messages whose contents are joined with blank
lines, since the grader takes one message) that sees the test's vars and ``output``,
``completion``, ``input``/``prompt`` (the rendered prompt), and per check ``rubric``/``value``
(``llm-rubric``), ``ideal``/``reference``/``value`` (``factuality``), ``criteria``/``value``
(``model-graded-closedqa``), ``criteria``/``outputs`` (``select-best``). Those names take
precedence over test vars of the same name, except ``input`` and ``prompt``, which test vars may
replace (as in promptfoo).

Small local graders are unreliable about formats, so answers are read tolerantly: lines that only
repeat the grading prompt are set aside first (small models echo their instructions), then JSON
is looked for anywhere in the answer (in prose or code fences, with loose ``key: value`` fields as
a fallback), then explicit verdict words. An answer that still cannot be read fails the check with
the answer quoted, as does a missing grader; those failures are never inverted by ``not-``. A
failed grader call (429, timeout, refused key) is no verdict at all: the
:class:`~promptwork.errors.ProviderError` goes up, and the cell becomes an error of kind
``grader``. No parser makes a poor grader good: with the bundled 135M/270M local models
most answers are unreadable or wrong, so use a capable model as the grader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.checks.asking import grader_ref, provider_problem
from promptwork.checks.base import (
    CheckContext,
    CheckError,
    CheckResult,
    CheckSpec,
    Grader,
    GraderRef,
)
from promptwork.checks.rubric import (
    CLOSEDQA_PROMPT,
    FACTUALITY_PROMPT,
    LLM_RUBRIC_PROMPT,
    SELECT_BEST_PROMPT,
    grading_prompt,
    render_sources,
    rubric_prompt_problem,
    rubric_sources,
)
from promptwork.checks.verdicts import (
    QUOTE_LIMIT,
    RubricVerdict,
    is_echo,
    one_line,
    parse_factuality,
    parse_index,
    parse_rubric_verdict,
    parse_yes_no,
    quote,
    without_echo,
)

__all__ = [
    "CLOSEDQA_PROMPT",
    "FACTUALITY_CATEGORIES",
    "FACTUALITY_PROMPT",
    "LLM_RUBRIC_PROMPT",
    "SELECT_BEST_PROMPT",
    "RubricVerdict",
    "factuality",
    "llm_rubric",
    "model_graded_closedqa",
    "parse_factuality",
    "parse_index",
    "parse_rubric_verdict",
    "parse_yes_no",
    "select_best",
    "select_best_cell",
    "spec_problem",
]

#: Factuality categories: letter -> (config key for its score, default score, meaning).
FACTUALITY_CATEGORIES: dict[str, tuple[str, float, str]] = {
    "A": ("subset", 1.0, "output is a consistent subset of the reference"),
    "B": ("superset", 1.0, "output is a consistent superset of the reference"),
    "C": ("agree", 1.0, "output has the same details as the reference"),
    "D": ("disagree", 0.0, "output and reference disagree"),
    "E": ("differButFactual", 1.0, "output differs from the reference, not in facts"),
}
_FACTUALITY_KEYS = tuple(key for key, _, _ in FACTUALITY_CATEGORIES.values())


# --- validation -------------------------------------------------------------------------------


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a model-graded check's options, or ``None`` (called at suite load)."""
    if spec.type == "select-best" and spec.negate:
        return "'select-best' cannot be negated (it picks one winner among the prompts)"
    problem = provider_problem(spec.config.get("provider"))
    if problem:
        return problem
    rubric_prompt = spec.config.get("rubricPrompt")
    if rubric_prompt is not None:
        problem = rubric_prompt_problem(rubric_prompt)
        if problem:
            return problem
    if spec.type == "factuality":
        for key, score in _factuality_overrides(spec.config).items():
            if key not in _FACTUALITY_KEYS:
                return f"unknown factuality option {key!r}; known: {', '.join(_FACTUALITY_KEYS)}"
            if (
                isinstance(score, bool)
                or not isinstance(score, int | float)
                or not math.isfinite(score)
                or score < 0
            ):
                return f"factuality score {key!r} must be a number >= 0, got {score!r}"
    if spec.type != "llm-rubric" and isinstance(spec.value, Mapping | list):
        return "value must be text"
    return None


def _factuality_overrides(config: Mapping[str, Any]) -> dict[str, Any]:
    nested = config.get("factuality")
    out: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
    out.update({k: v for k, v in config.items() if k in _FACTUALITY_KEYS})
    return out


# --- asking the grader ------------------------------------------------------------------------


async def _ask(spec: CheckSpec, ctx: CheckContext, prompt: str) -> str:
    if ctx.grader is None:
        raise CheckError(
            f"'{spec.type}' needs a grading model, and none is configured "
            "(set a grader model for the run, or a 'provider' on the check)"
        )
    provider = grader_ref(spec.config.get("provider"))  # whole: its config must reach the grader
    # A failed call (ProviderError) is not a verdict: it goes up (see the module doc).
    answer = await ctx.grader(prompt, provider)
    if not isinstance(answer, str):
        raise CheckError(f"grader returned {type(answer).__name__}, expected text")
    if not answer.strip():
        raise CheckError("grader returned an empty answer")
    prompt_lines = {line.strip() for line in prompt.splitlines()}
    if all(
        line.strip() in prompt_lines or is_echo(line.strip(), prompt, prompt_lines)
        for line in answer.splitlines()
        if line.strip()
    ):
        raise CheckError("grader only repeated the grading prompt: " + quote(answer))
    return answer


# --- the checks -------------------------------------------------------------------------------


def _text_value(value: Any, check: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if check == "llm-rubric" and isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False)
    raise CheckError(f"{check!r} needs a text value, got {type(value).__name__}")


async def llm_rubric(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model judges that the output satisfies the rubric in the value."""
    rubric = _text_value(spec.value, "llm-rubric")
    prompt = grading_prompt(
        spec,
        ctx,
        LLM_RUBRIC_PROMPT,
        {"output": ctx.output, "completion": ctx.output, "rubric": rubric, "value": rubric},
    )
    answer = await _ask(spec, ctx, prompt)
    verdict = parse_rubric_verdict(without_echo(answer, prompt))
    if verdict is None:
        raise CheckError(
            "grader answer holds no verdict (expected JSON such as "
            '{"reason": "...", "pass": true, "score": 1.0}, or PASS/FAIL): ' + quote(answer)
        )
    threshold = spec.threshold
    score = verdict.score
    if verdict.passed is None:
        assert score is not None  # parse_rubric_verdict never returns neither
        passed = score >= (threshold if threshold is not None else 0.5)
    else:
        passed = verdict.passed
        if score is None:
            score = 1.0 if passed else 0.0
        if threshold is not None:
            passed = passed and score >= threshold
    reason = verdict.reason or ("grader: pass" if passed else "grader: fail")
    if threshold is not None:
        relation = ">=" if score >= threshold else "<"
        reason = f"score {score:g} {relation} threshold {threshold:g}; {reason}"
    return CheckResult(passed=passed, score=score, reason=reason)


async def factuality(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model finds the output factually consistent with the reference in the value."""
    reference = _text_value(spec.value, "factuality")
    prompt = grading_prompt(
        spec,
        ctx,
        FACTUALITY_PROMPT,
        {
            "output": ctx.output,
            "completion": ctx.output,
            "ideal": reference,
            "reference": reference,
            "value": reference,
        },
    )
    answer = await _ask(spec, ctx, prompt)
    parsed = parse_factuality(without_echo(answer, prompt))
    if parsed is None:
        raise CheckError(
            "grader answer holds no factuality category (expected JSON such as "
            '{"category": "A", "reason": "..."} with A-E): ' + quote(answer)
        )
    letter, reason = parsed
    key, default, meaning = FACTUALITY_CATEGORIES[letter]
    score = float(_factuality_overrides(spec.config).get(key, default))
    detail = f"category {letter} ({meaning})"
    return CheckResult(
        passed=score > 0, score=score, reason=f"{detail}: {reason}" if reason else detail
    )


async def model_graded_closedqa(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grading model answers Y: the output meets the criterion in the value."""
    criterion = _text_value(spec.value, "model-graded-closedqa")
    prompt = grading_prompt(
        spec,
        ctx,
        CLOSEDQA_PROMPT,
        {"output": ctx.output, "completion": ctx.output, "criteria": criterion, "value": criterion},
    )
    answer = await _ask(spec, ctx, prompt)
    verdict = parse_yes_no(without_echo(answer, prompt))
    if verdict is None:
        raise CheckError(
            "grader answer does not end with Y or N: " + quote(answer[-QUOTE_LIMIT:])
        )
    said = "meets" if verdict else "does not meet"
    return CheckResult(
        passed=verdict,
        score=1.0 if verdict else 0.0,
        reason=f"grader: output {said} the criterion: {one_line(answer)}",
    )


def select_best_cell(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """``select-best`` on one answer alone: it cannot be decided, so it fails, saying why.

    It is decided across a test's prompts (see the module doc), never by this function in a run.
    """
    raise CheckError(
        "'select-best' compares the outputs of several prompts for one test; one output alone "
        "cannot decide it"
    )


async def select_best(
    outputs: list[str],
    criteria: str,
    grader: Grader,
    provider: GraderRef | None,
    *,
    rubric_prompt: str | list[Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
) -> int | None:
    """Ask the grader which of ``outputs`` best meets ``criteria`` (promptfoo's ``select-best``).

    Args:
        outputs: The outputs of one test under the prompts being compared.
        criteria: The check's (rendered) value.
        grader: The grading model.
        provider: The check's ``provider`` (an id or ``{id, config}``), overriding the test's
            grader; ``None`` for the test's.
        rubric_prompt: Replacement template (``rubricPrompt``; ``criteria``, ``outputs`` and
            ``variables`` are available): text, JSON chat text, messages or a ``file://`` path.
        variables: The test's vars, for ``rubric_prompt``.
        base_dir: The folder ``file://`` paths are relative to.

    Returns:
        The winner's index; ``0`` for a single output (no call is made); ``None`` for no outputs
        or an answer without a valid index.

    Raises:
        promptwork.errors.ProviderError: The grader call failed.
        CheckError: ``rubric_prompt`` does not render.
    """
    if not outputs:
        return None
    if len(outputs) == 1:
        return 0
    sources = rubric_sources(rubric_prompt, lambda ref: _resolve(ref, base_dir),
                             SELECT_BEST_PROMPT)
    names = {**(variables or {}), "criteria": criteria, "value": criteria, "outputs": outputs}
    prompt = render_sources(sources, names, rubric_prompt is not None)
    answer = await grader(prompt, grader_ref(provider))
    return parse_index(without_echo(answer, prompt), len(outputs))


def _resolve(ref: str, base_dir: Path | None) -> Path:
    path = Path(ref.removeprefix("file://")).expanduser()
    return base_dir / path if base_dir is not None and not path.is_absolute() else path
