"""Does the answer address the question? ``answer-relevance`` and ``conversation-relevance``
(promptfoo's, after RAGAS and DeepEval).

* ``answer-relevance``: the grader writes three questions the output would answer; the score is
  the mean similarity of those questions to the original query (the ``query`` variable, else the
  rendered prompt), measured like ``similar`` (:func:`promptwork.checks.similarity.measure`: its
  ``config.method`` and the embedding entry of ``provider`` apply, and the result names the
  method). Passes when the score reaches ``threshold`` (default 0, promptfoo's, so set one).
* ``conversation-relevance``: for every turn of the conversation (the ``_conversation`` variable,
  a list of ``{input, output}``; else the prompt and this output as one turn) the grader judges
  whether the turn's output is relevant, given up to ``config.windowSize`` (default 5) turns
  ending with it. Score = relevant turns / turns; passes at ``threshold`` (default 0.5).

``rubricPrompt`` replaces the grading prompt. The prompts are promptwork's own wording.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from promptwork.checks.asking import ask, json_answer, options_problem, provider_problem
from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.rubric import grading_prompt
from promptwork.checks.similarity import METHODS, measure
from promptwork.checks.similarity import provider_problem as embedding_problem
from promptwork.checks.verdicts import one_line

__all__ = [
    "CONVERSATION_PROMPT",
    "QUESTIONS_PROMPT",
    "answer_relevance",
    "conversation_relevance",
    "spec_problem",
]

QUESTIONS = 3
DEFAULT_WINDOW = 5

QUESTIONS_PROMPT = """\
Read an answer given by an AI model and write the questions it answers.

<answer>
{{ output }}
</answer>

Write three different questions that this answer would be a direct, complete reply to. Reply with \
one JSON object and nothing else:
{"questions": ["<question 1>", "<question 2>", "<question 3>"]}"""

CONVERSATION_PROMPT = """\
Judge whether the last reply in a conversation is relevant to what the user asked, given the \
conversation so far. A vague reply to a vague message (a greeting) is relevant.

<conversation>
{{ conversation }}
</conversation>

Reply with one JSON object and nothing else:
{"verdict": "<yes or no>", "reason": "<one sentence>"}"""


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a relevance check (checked when the suite loads), or ``None``."""
    if spec.value is not None:
        return "takes no 'value'"
    problem = options_problem(spec, provider=False)
    if problem:
        return problem
    provider = spec.config.get("provider")
    if spec.type == "answer-relevance":
        method = spec.config.get("method", "auto")
        if method not in METHODS:
            return f"config 'method' must be one of {', '.join(METHODS)}, got {method!r}"
        if isinstance(provider, Mapping) and "id" not in provider:
            return provider_problem(provider) or embedding_problem(provider, method)
        return provider_problem(provider)
    window = spec.config.get("windowSize", DEFAULT_WINDOW)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        return f"config 'windowSize' must be a whole number >= 1, got {window!r}"
    return provider_problem(provider)


async def answer_relevance(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Questions the output answers are similar to the query."""
    query = ctx.vars.get("query") or ctx.prompt_text
    if not isinstance(query, str) or not query.strip():
        raise CheckError("'answer-relevance' needs a 'query' variable or a prompt")
    prompt = grading_prompt(spec, ctx, QUESTIONS_PROMPT, {"output": ctx.output, "query": query})
    questions = json_answer(await ask(spec, ctx, prompt), "questions", spec)
    if not isinstance(questions, list):
        raise CheckError(f"'{spec.type}': the grader's questions are not a list")
    questions = [str(q).strip() for q in questions if str(q).strip()][:QUESTIONS]
    if not questions:
        return CheckResult(False, 0.0, "the grader wrote no question for the output")
    provider = spec.config.get("provider")
    embedding = provider.get("embedding") if isinstance(provider, Mapping) and (
        "id" not in provider) else None
    measured = await measure(query, questions, spec.config.get("method", "auto"), embedding)
    score = min(1.0, max(0.0, math.fsum(measured.similarities) / len(questions)))
    threshold = spec.threshold if spec.threshold is not None else 0.0
    passed = score >= threshold - 1e-12
    return CheckResult(
        passed,
        score,
        f"answer relevance {score:.4f} {'>=' if passed else '<'} threshold {threshold:g} "
        f"(mean {measured.label} of {len(questions)} generated questions to the query; "
        f"{measured.note})",
        method=measured.method,
    )


def _turns(ctx: CheckContext) -> list[tuple[str, str]]:
    conversation = ctx.vars.get("_conversation")
    if isinstance(conversation, list) and conversation:
        turns = []
        for turn in conversation:
            if not isinstance(turn, Mapping):
                raise CheckError("'_conversation' must be a list of {input, output} mappings")
            turns.append((_text(turn.get("input")), _text(turn.get("output"))))
        return turns
    return [(ctx.prompt_text, ctx.output)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


async def conversation_relevance(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The share of the conversation's turns whose reply is relevant in context."""
    turns = _turns(ctx)
    window = int(spec.config.get("windowSize", DEFAULT_WINDOW))
    relevant = 0
    misses: list[str] = []
    for i, (user, reply) in enumerate(turns):
        shown = turns[max(0, i - window + 1) : i + 1]
        conversation = "\n".join(f"User: {u}\nAssistant: {r}" for u, r in shown)
        prompt = grading_prompt(
            spec,
            ctx,
            CONVERSATION_PROMPT,
            {"conversation": conversation, "input": user, "output": reply},
        )
        answer = await ask(spec, ctx, prompt)
        verdict = json_answer(answer, "verdict", spec)
        if str(verdict).strip().lower() in ("yes", "true", "relevant"):
            relevant += 1
        else:
            try:
                why = str(json_answer(answer, "reason", spec))
            except CheckError:
                why = "not relevant"
            misses.append(f"turn {i + 1}: {one_line(why)}")
    score = relevant / len(turns)
    threshold = spec.threshold if spec.threshold is not None else 0.5
    passed = score >= threshold - 1e-12
    reason = (
        f"{relevant} of {len(turns)} turns relevant, {score:.2f} "
        f"{'>=' if passed else '<'} threshold {threshold:g}"
    )
    return CheckResult(passed, score, f"{reason}; {'; '.join(misses)}" if misses else reason)
