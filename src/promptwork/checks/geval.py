"""``g-eval``: chain-of-thought grading against criteria (promptfoo's ``g-eval``, after Liu et al.,
"G-Eval: NLG Evaluation using GPT-4 with Better Human Alignment").

For each criterion (the value: one text, or a list of them) the grader is asked twice: first for
a few evaluation steps for the criterion, then, given the criterion, the steps, the prompt and the
output, for a score from 0 to 10 with a reason. The check's score is that score / 10, averaged over
the criteria; it passes when the score reaches ``threshold`` (default 0.7). ``not-g-eval`` passes
below it. ``rubricPrompt`` replaces the scoring prompt (it sees ``output``, ``rubric``/``criteria``,
``steps``, ``input``/``prompt`` and the test's vars). The prompts are promptwork's own wording.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from promptwork.checks.asking import ask, json_answer, options_problem
from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.rubric import grading_prompt, render_sources
from promptwork.checks.verdicts import one_line

__all__ = ["DEFAULT_THRESHOLD", "SCORE_PROMPT", "STEPS_PROMPT", "g_eval", "spec_problem"]

DEFAULT_THRESHOLD = 0.7
MAX_SCORE = 10

STEPS_PROMPT = """\
You will grade texts written by an AI model against one criterion. Before grading, plan how.

<criterion>
{{ criteria }}
</criterion>

Write three or four short, concrete steps a careful grader would follow to judge a text against \
this criterion. Reply with one JSON object and nothing else:
{"steps": ["<step 1>", "<step 2>", "..."]}"""

SCORE_PROMPT = """\
Grade a text written by an AI model against one criterion, following the evaluation steps.

<criterion>
{{ criteria }}
</criterion>

<steps>
{{ steps }}
</steps>

<input>
{{ input }}
</input>

<output>
{{ output }}
</output>

Give a whole-number score from 0 (does not meet the criterion at all) to 10 (fully meets it). \
Reply with one JSON object and nothing else:
{"score": <0 to 10>, "reason": "<one or two sentences>"}"""


def _criteria(value: Any) -> list[str]:
    if isinstance(value, str) and value.strip():
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return list(value)
    return []


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``g-eval`` check (checked when the suite loads), or ``None``."""
    if not _criteria(spec.value):
        return "value must be a criterion, or a non-empty list of criteria"
    return options_problem(spec)


def _score(raw: Any, spec: CheckSpec, answer: str) -> float:
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            raw = float(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise CheckError(f"'{spec.type}': the grader's score {raw!r} is not a number")
    return min(1.0, max(0.0, float(raw) / MAX_SCORE))


async def _grade_one(spec: CheckSpec, ctx: CheckContext, criterion: str) -> tuple[float, str]:
    steps_prompt = render_sources([STEPS_PROMPT], {"criteria": criterion}, False)
    steps_answer = await ask(spec, ctx, steps_prompt)
    steps = json_answer(steps_answer, "steps", spec)
    if isinstance(steps, list):
        steps_text = "\n".join(f"{i + 1}. {step}" for i, step in enumerate(steps))
    else:
        steps_text = str(steps)
    prompt = grading_prompt(
        spec,
        ctx,
        SCORE_PROMPT,
        {
            "output": ctx.output,
            "criteria": criterion,
            "rubric": criterion,
            "value": criterion,
            "steps": steps_text,
        },
    )
    answer = await ask(spec, ctx, prompt)
    score = _score(json_answer(answer, "score", spec), spec, answer)
    try:
        reason = str(json_answer(answer, "reason", spec))
    except CheckError:
        reason = ""
    return score, reason


async def g_eval(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The grader scores the output against each criterion; the mean reaches the threshold."""
    criteria = _criteria(spec.value)
    if not criteria:
        raise CheckError("'g-eval' needs a criterion or a list of criteria")
    graded = [await _grade_one(spec, ctx, criterion) for criterion in criteria]
    score = math.fsum(s for s, _ in graded) / len(graded)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_THRESHOLD
    passed = score >= threshold - 1e-12
    reasons = "; ".join(one_line(r) for _, r in graded if r)
    reason = f"g-eval score {score:.2f} {'>=' if passed else '<'} threshold {threshold:g}"
    if len(graded) > 1:
        reason += f" (mean of {len(graded)} criteria)"
    return CheckResult(passed, score, f"{reason}: {reasons}" if reasons else reason)
