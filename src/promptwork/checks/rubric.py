"""Grading prompts of the model-graded checks, and ``rubricPrompt`` loading and rendering.

The default prompts are promptwork's own wording of promptfoo's grading questions. A check's
``rubricPrompt`` replaces its prompt: a Jinja template, a ``file://`` path (text, or JSON/YAML
holding text or chat messages) or a list of chat messages, whose contents are joined with blank
lines since the grader takes one message. See :mod:`promptwork.checks.judge` for the variables
each check passes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from promptwork.checks.base import CheckContext, CheckError, CheckSpec
from promptwork.errors import MissingVariableError, TemplateError
from promptwork.templates import TemplateEngine

__all__ = [
    "CLOSEDQA_PROMPT",
    "FACTUALITY_PROMPT",
    "LLM_RUBRIC_PROMPT",
    "SELECT_BEST_PROMPT",
    "grading_prompt",
    "message_contents",
    "messages_from_json",
    "render_sources",
    "rubric_prompt_problem",
]

# --- grading prompts (promptwork's wording) ---------------------------------------------------

LLM_RUBRIC_PROMPT = """\
You are grading a text written by an AI model against a rubric. The text passes when what the \
rubric states is true of it.

<output>
{{ output }}
</output>

<rubric>
{{ rubric }}
</rubric>

Decide whether the output satisfies the rubric. Then reply with one JSON object and nothing else:
{"reason": "<one or two sentences>", "pass": <true or false>, "score": <number from 0.0 to 1.0>}"""

FACTUALITY_PROMPT = """\
Compare the facts in a submitted answer with those in a reference answer to the same question. \
Judge factual content only: ignore style, wording, grammar and punctuation.

<question>
{{ input }}
</question>

<reference>
{{ ideal }}
</reference>

<submission>
{{ completion }}
</submission>

Choose the one category that fits best:
(A) The submission holds only part of the reference's facts and agrees with all of it.
(B) The submission holds all of the reference's facts plus more, and agrees with all of it.
(C) The submission holds exactly the same facts as the reference.
(D) The submission and the reference contradict each other.
(E) They differ, but the differences do not matter for factual correctness.

Reply with one JSON object and nothing else:
{"category": "<A, B, C, D or E>", "reason": "<one sentence>"}"""

CLOSEDQA_PROMPT = """\
Check whether a submitted answer to a task meets a criterion.

<task>
{{ input }}
</task>

<submission>
{{ completion }}
</submission>

<criterion>
{{ criteria }}
</criterion>

First reason step by step about whether the submission meets the criterion; do not state a \
conclusion before the reasoning. Then write the single letter Y (it meets the criterion) or N \
(it does not) alone on the last line."""

SELECT_BEST_PROMPT = """\
Below are several texts. Decide which one best satisfies this criterion: {{ criteria }}
{% for output in outputs %}
<text index="{{ loop.index0 }}">
{{ output }}
</text>
{% endfor %}
Reply with the index of the best text: one integer and nothing else."""


# --- rubricPrompt -----------------------------------------------------------------------------


def rubric_prompt_problem(value: Any) -> str | None:
    """What is wrong with a ``rubricPrompt`` option, or ``None`` (``file://`` is read later)."""
    if isinstance(value, str):
        if value.startswith("file://"):
            return None  # read (and checked) when the check runs, relative to the suite
        parsed = messages_from_json(value)
        sources = parsed if parsed is not None else [value]
    elif isinstance(value, list):
        contents = message_contents(value)
        if contents is None:
            return "'rubricPrompt' list must hold chat messages ({role: ..., content: text})"
        sources = contents
    else:
        return "'rubricPrompt' must be a template string, a file:// path or a list of messages"
    for source in sources:
        try:
            _engine().compile(source, path="<rubricPrompt>")
        except TemplateError as exc:
            return f"bad template in rubricPrompt: {exc.message}"
    return None


@functools.cache
def _engine() -> TemplateEngine:
    return TemplateEngine()


def message_contents(messages: Sequence[Any]) -> list[str] | None:
    """The texts of chat messages (or plain strings); ``None`` if one is neither, or none."""
    contents: list[str] = []
    for message in messages:
        if isinstance(message, str):
            contents.append(message)
        elif isinstance(message, Mapping) and isinstance(message.get("content"), str):
            contents.append(message["content"])
        else:
            return None
    return contents or None


def messages_from_json(text: str) -> list[str] | None:
    """Contents of a promptfoo-style JSON chat array (``[{"role": ..., "content": ...}]``)."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return message_contents(parsed) if isinstance(parsed, list) else None


def _template_sources(spec: CheckSpec, ctx: CheckContext, default: str) -> list[str]:
    """The grading prompt's template(s): ``rubricPrompt`` when given, else ``default``."""
    return rubric_sources(spec.config.get("rubricPrompt"), ctx.resolve, default)


def rubric_sources(value: Any, resolve: Callable[[str], Path], default: str) -> list[str]:
    """The template(s) of a ``rubricPrompt`` value (text, JSON chat text, a list of messages or a
    ``file://`` path, resolved by ``resolve``), or ``[default]`` when it is None.

    Raises:
        CheckError: An unreadable file or a value of another shape.
    """
    if value is None:
        return [default]
    if isinstance(value, str) and value.startswith("file://"):
        path = resolve(value)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            detail = exc.strerror or exc
            raise CheckError(f"cannot read rubricPrompt file {path}: {detail}") from exc
        if path.suffix.lower() in (".json", ".yaml", ".yml"):
            try:
                loaded = yaml.safe_load(text)  # JSON is YAML
            except yaml.YAMLError as exc:
                raise CheckError(f"rubricPrompt file {path} is not valid JSON/YAML: {exc}") from exc
            if isinstance(loaded, str):
                return [loaded]
            contents = message_contents(loaded) if isinstance(loaded, list) else None
            if contents is None:
                raise CheckError(f"rubricPrompt file {path} must hold text or a list of messages")
            return contents
        return messages_from_json(text) or [text]
    if isinstance(value, str):
        return messages_from_json(value) or [value]
    contents = message_contents(value) if isinstance(value, list) else None
    if contents is None:
        raise CheckError("'rubricPrompt' must be a template string, a file:// path or messages")
    return contents


def render_sources(sources: Sequence[str], variables: Mapping[str, Any], custom: bool) -> str:
    """Render each template with ``variables`` and join them with blank lines."""
    parts: list[str] = []
    for source in sources:
        try:
            parts.append(_engine().compile(source, path="<rubricPrompt>").render(variables))
        except MissingVariableError as exc:
            raise CheckError(
                f"{'rubricPrompt' if custom else 'grading prompt'} uses undefined variable"
                f"{'s' if len(exc.names) > 1 else ''} {', '.join(exc.names)} "
                f"(available: {', '.join(sorted(variables))})"
            ) from None
        except TemplateError as exc:
            raise CheckError(f"cannot render rubricPrompt: {exc.message}") from None
    return "\n\n".join(parts)


def _variables(ctx: CheckContext, names: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"input": ctx.prompt_text, "prompt": ctx.prompt_text}
    out.update(ctx.vars)
    out.update(names)
    return out


def grading_prompt(
    spec: CheckSpec, ctx: CheckContext, default: str, names: Mapping[str, Any]
) -> str:
    """The check's grading prompt (``rubricPrompt`` or ``default``), rendered with ``names``."""
    sources = _template_sources(spec, ctx, default)
    return render_sources(sources, _variables(ctx, names), "rubricPrompt" in spec.config)

