"""Asking the grading model, for the RAG-style model-graded checks (``g-eval``, ``context-*``,
``answer-relevance``, ``conversation-relevance``), and reading its JSON answers.

A failed grader call (:class:`~promptwork.errors.ProviderError`) is never caught here: it is no
verdict, and goes up to become a cell error of kind ``grader``. A missing grader, an empty answer,
an answer that only repeats the grading prompt, or one without the JSON asked for, fails the check
with a :class:`~promptwork.checks.base.CheckError` (never inverted by ``not-``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckSpec, GraderRef
from promptwork.checks.rubric import rubric_prompt_problem
from promptwork.checks.verdicts import is_echo, quote, without_echo

__all__ = [
    "ask",
    "context_chunks",
    "grader_model",
    "grader_provider",
    "grader_ref",
    "json_answer",
    "options_problem",
    "provider_problem",
    "required_var",
]


def grader_ref(provider: Any) -> GraderRef | None:
    """What a check hands its grader: the text-grading entry of its ``provider``, whole.

    An id or ``{id, config}`` as is (the config, with its ``base_url``, must reach the grader);
    promptfoo's map by kind (``{text: ..., embedding: ...}``) gives its ``text`` entry; ``None``
    when the check names no grading model (the test's grader is used).
    """
    if isinstance(provider, Mapping) and "id" not in provider:
        provider = provider.get("text")
    if isinstance(provider, str):
        return provider.strip() or None
    if isinstance(provider, Mapping) and grader_provider(provider) is not None:
        return provider
    return None


def grader_provider(provider: Any) -> str | None:
    """The grading model id of a check's ``provider`` (an id, ``{id}``, or ``{text: ...}``)."""
    if isinstance(provider, Mapping) and "id" not in provider:
        provider = provider.get("text")
    if isinstance(provider, Mapping):
        provider = provider.get("id")
    return provider.strip() if isinstance(provider, str) and provider.strip() else None


def grader_model(spec: CheckSpec, ctx: CheckContext) -> str | None:
    """The id of the grading model that answers a model-graded check, recorded with its result:
    the check's own ``provider``, else the test's grader (its ``model_id``, when it has one);
    ``moderation`` names its own model (OpenAI's moderation endpoint by default)."""
    own = grader_provider(spec.config.get("provider"))
    if own is not None:
        return own
    if spec.type == "moderation":
        return "openai:moderation"
    model = getattr(ctx.grader, "model_id", None) if ctx.grader is not None else None
    return model if isinstance(model, str) and model else None


def provider_problem(provider: Any) -> str | None:
    """What is wrong with a model-graded check's ``provider``, or ``None``."""
    if provider is None or grader_provider(provider) is not None:
        return None
    if isinstance(provider, Mapping) and provider and set(provider) <= {"text", "embedding"}:
        return None
    return "'provider' must be a model id, {id, config}, or {text: ..., embedding: ...}"


def options_problem(spec: CheckSpec, *, provider: bool = True) -> str | None:
    """What is wrong with a model-graded check's common options, or ``None``: its ``threshold``
    (a score from 0 to 1), its ``rubricPrompt`` and, unless ``provider`` is false (the caller
    checks it its own way), its ``provider``."""
    if spec.threshold is not None and not 0 <= spec.threshold <= 1:
        return f"'threshold' must be between 0 and 1, got {spec.threshold:g}"
    rubric = spec.config.get("rubricPrompt")
    if rubric is not None and (problem := rubric_prompt_problem(rubric)):
        return problem
    return provider_problem(spec.config.get("provider")) if provider else None


async def ask(spec: CheckSpec, ctx: CheckContext, prompt: str) -> str:
    """The grader's answer to ``prompt`` (lines that only echo the prompt set aside).

    Raises:
        CheckError: No grader, or an empty or echo-only answer.
        promptwork.errors.ProviderError: The grader call failed (not caught: see the module doc).
    """
    if ctx.grader is None:
        raise CheckError(
            f"'{spec.type}' needs a grading model, and none is configured "
            "(set a grader model for the run, or a 'provider' on the check)"
        )
    answer = await ctx.grader(prompt, grader_ref(spec.config.get("provider")))
    if not isinstance(answer, str) or not answer.strip():
        raise CheckError(f"'{spec.type}': the grader returned an empty answer")
    prompt_lines = {line.strip() for line in prompt.splitlines()}
    if all(
        line.strip() in prompt_lines or is_echo(line.strip(), prompt, prompt_lines)
        for line in answer.splitlines()
        if line.strip()
    ):
        raise CheckError(f"'{spec.type}': the grader only repeated the grading prompt: "
                         + quote(answer))
    return without_echo(answer, prompt)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def json_answer(answer: str, key: str, spec: CheckSpec) -> Any:
    """The value of ``key`` in the first JSON object of ``answer`` that has it.

    Raises:
        CheckError: No such object (the answer is quoted).
    """
    texts = [m.group(1) for m in _FENCE.finditer(answer)] + [answer]
    decoder = json.JSONDecoder()
    for text in texts:
        pos = text.find("{")
        while pos != -1:
            try:
                obj, _ = decoder.raw_decode(text, pos)
            except ValueError:
                pos = text.find("{", pos + 1)
                continue
            if isinstance(obj, dict) and key in obj:
                return obj[key]
            pos = text.find("{", pos + 1)
    raise CheckError(
        f"'{spec.type}': the grader's answer holds no JSON object with {key!r}: " + quote(answer)
    )


def required_var(spec: CheckSpec, ctx: CheckContext, name: str, why: str) -> Any:
    """The test variable ``name``, or a :class:`CheckError` saying the check needs it."""
    value = ctx.vars.get(name)
    if value is None or value == "" or value == []:
        raise CheckError(f"'{spec.type}' needs the test variable {name!r} ({why})")
    return value


def context_chunks(spec: CheckSpec, ctx: CheckContext) -> list[str]:
    """The test's ``context`` variable as chunks: a list's items, or a text's non-empty lines.

    ``contextTransform`` puts its result in that variable before the check runs.
    """
    context = required_var(spec, ctx, "context", "the retrieved context, or a contextTransform")
    if isinstance(context, list):
        chunks = [c if isinstance(c, str) else json.dumps(c, ensure_ascii=False) for c in context]
    elif isinstance(context, str):
        chunks = context.splitlines()
    else:
        chunks = [json.dumps(context, ensure_ascii=False, default=str)]
    chunks = [c.strip() for c in chunks if c.strip()]
    if not chunks:
        raise CheckError(f"'{spec.type}': the 'context' variable is empty")
    return chunks
