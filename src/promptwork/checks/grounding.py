"""Context-based model-graded checks for retrieval-augmented answers (promptfoo's, after RAGAS).

They read the test's ``query`` variable (the user's question) and ``context`` variable (the
retrieved text: a string, split into lines, or a list of chunks; a check's ``contextTransform``
fills it from the output). A missing variable fails the check, saying which.

* ``context-faithfulness``: the grader lists the statements the output makes, then says for each
  whether the context supports it; score = supported / statements.
* ``context-recall``: the value is the ground truth; the grader says for each of its sentences
  whether the context supports it; score = supported / sentences.
* ``context-relevance``: the grader picks the context chunks needed to answer the query; score =
  needed / chunks. A low score can mean much irrelevant context, or only that little is needed.

Each passes when its score reaches ``threshold`` (default 0, promptfoo's, so set one).
``rubricPrompt`` replaces the (last) grading prompt. The prompts are promptwork's own wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptwork.checks.asking import (
    ask,
    context_chunks,
    json_answer,
    options_problem,
    required_var,
)
from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.rubric import grading_prompt, render_sources

__all__ = [
    "FAITHFULNESS_PROMPT",
    "RECALL_PROMPT",
    "RELEVANCE_PROMPT",
    "STATEMENTS_PROMPT",
    "context_faithfulness",
    "context_recall",
    "context_relevance",
    "spec_problem",
]

STATEMENTS_PROMPT = """\
Break an answer to a question into the separate factual statements it makes.

<question>
{{ query }}
</question>

<answer>
{{ output }}
</answer>

List each statement as a short, self-contained sentence. Reply with one JSON object and nothing \
else:
{"statements": ["<statement 1>", "<statement 2>", "..."]}"""

FAITHFULNESS_PROMPT = """\
Decide, for each statement, whether the context supports it (it can be inferred from the context \
alone).

<context>
{{ context }}
</context>

<statements>
{{ statements }}
</statements>

Reply with one JSON object and nothing else, one verdict per statement, in order:
{"verdicts": [{"statement": "<statement>", "supported": <true or false>}, "..."]}"""

RECALL_PROMPT = """\
Decide, for each sentence of a reference answer, whether the context supports it (it can be \
attributed to the context).

<context>
{{ context }}
</context>

<sentences>
{{ sentences }}
</sentences>

Reply with one JSON object and nothing else, one verdict per sentence, in order:
{"verdicts": [{"sentence": "<sentence>", "supported": <true or false>}, "..."]}"""

RELEVANCE_PROMPT = """\
A question and numbered chunks of retrieved context follow. Pick only the chunks that are needed \
to answer the question; leave out those that are merely related or off topic.

<question>
{{ query }}
</question>

<context>
{{ chunks }}
</context>

Reply with one JSON object and nothing else, listing the numbers of the needed chunks (an empty \
list if none is needed):
{"needed": [<chunk number>, "..."]}"""


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a context-based check (checked when the suite loads), or ``None``."""
    if spec.type == "context-recall":
        if not isinstance(spec.value, str) or not spec.value.strip():
            return "value must be the ground-truth text to look for in the context"
    elif spec.value is not None:
        return "takes no 'value' (it reads the 'query' and 'context' variables)"
    return options_problem(spec)


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i + 1}. {item}" for i, item in enumerate(items))


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _supported_count(verdicts: Any, expected: int, spec: CheckSpec) -> int:
    if not isinstance(verdicts, list):
        raise CheckError(f"'{spec.type}': the grader's verdicts are not a list: {verdicts!r}")
    count = 0
    for verdict in verdicts[:expected]:
        flag = verdict.get("supported", verdict.get("verdict")) if isinstance(
            verdict, Mapping) else verdict
        if isinstance(flag, str):
            flag = flag.strip().lower() in ("yes", "true", "supported", "1")
        count += bool(flag is True or flag == 1)
    return count


def _chunk_number(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _result(spec: CheckSpec, score: float, detail: str) -> CheckResult:
    threshold = spec.threshold if spec.threshold is not None else 0.0
    passed = score >= threshold - 1e-12
    return CheckResult(
        passed,
        score,
        f"{spec.type} {score:.2f} {'>=' if passed else '<'} threshold {threshold:g} ({detail})",
    )


async def context_faithfulness(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The statements of the output are supported by the context."""
    query = required_var(spec, ctx, "query", "the user's question")
    context = "\n".join(context_chunks(spec, ctx))
    names = {"query": query, "question": query, "output": ctx.output, "context": context}
    answer = await ask(spec, ctx, render_sources([STATEMENTS_PROMPT], names, False))
    statements = json_answer(answer, "statements", spec)
    if not isinstance(statements, list):
        raise CheckError(f"'{spec.type}': the grader's statements are not a list")
    statements = [str(s) for s in statements if str(s).strip()]
    if not statements:
        return CheckResult(False, 0.0, "the grader found no statements in the output")
    prompt = grading_prompt(
        spec, ctx, FAITHFULNESS_PROMPT, {**names, "statements": _numbered(statements)}
    )
    verdicts = json_answer(await ask(spec, ctx, prompt), "verdicts", spec)
    supported = _supported_count(verdicts, len(statements), spec)
    score = supported / len(statements)
    return _result(spec, score, f"{supported} of {len(statements)} statements supported")


async def context_recall(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The sentences of the ground truth (the value) are supported by the context."""
    truth = spec.value if isinstance(spec.value, str) else ""
    sentences = _sentences(truth)
    if not sentences:
        raise CheckError("'context-recall' needs the ground truth as its value")
    context = "\n".join(context_chunks(spec, ctx))
    prompt = grading_prompt(
        spec,
        ctx,
        RECALL_PROMPT,
        {
            "context": context,
            "sentences": _numbered(sentences),
            "groundTruth": truth,
            "value": truth,
            "output": ctx.output,
        },
    )
    verdicts = json_answer(await ask(spec, ctx, prompt), "verdicts", spec)
    supported = _supported_count(verdicts, len(sentences), spec)
    score = supported / len(sentences)
    return _result(spec, score, f"{supported} of {len(sentences)} sentences supported")


async def context_relevance(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The share of the context's chunks needed to answer the query."""
    query = required_var(spec, ctx, "query", "the user's question")
    chunks = context_chunks(spec, ctx)
    prompt = grading_prompt(
        spec,
        ctx,
        RELEVANCE_PROMPT,
        {"query": query, "question": query, "chunks": _numbered(chunks),
         "context": "\n".join(chunks), "output": ctx.output},
    )
    needed = json_answer(await ask(spec, ctx, prompt), "needed", spec)
    if not isinstance(needed, list):
        raise CheckError(f"'{spec.type}': the grader's chunk numbers are not a list: {needed!r}")
    picked = {k for k in map(_chunk_number, needed) if k is not None and 1 <= k <= len(chunks)}
    score = len(picked) / len(chunks)
    return _result(spec, score, f"{len(picked)} of {len(chunks)} context chunks needed")
