"""Trimming a bootstrapped demo's answer to what the checks needed.

A model that got an example right often goes on after its answer ("Cartagena. The next question
is about"); shown as a demo, that tail teaches the model to ramble. :func:`trim_answer` keeps the
shortest prefix of the answer (its first sentence, else its first line) that still passes the
example's checks, graded as every answer is (:func:`~promptwork.checks.grade.grade_cell`) but
without a grading model: where a check needs one, the answer is kept whole.
"""

from __future__ import annotations

import re
from pathlib import Path

from promptwork.checks.base import CheckContext
from promptwork.checks.grade import grade_cell
from promptwork.checks.registry import MODEL_GRADED
from promptwork.optimizer.data import Example

#: The end of a sentence: . ! or ? followed by whitespace (or the end of the text).
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def prefixes(answer: str) -> list[str]:
    """Shorter versions of ``answer`` to try, shortest first: its first sentence, its first
    line (each only when shorter than the whole answer, which is not among them)."""
    text = answer.strip()
    line = text.split("\n", 1)[0].strip()
    found = _SENTENCE_END.search(line)
    sentence = line[: found.end()].strip() if found else line
    out: list[str] = []
    for prefix in (sentence, line):
        if prefix and len(prefix) < len(text) and prefix not in out:
            out.append(prefix)
    return out


async def trim_answer(example: Example, answer: str, base_dir: Path | None = None) -> str:
    """The shortest prefix of ``answer`` that passes ``example``'s checks, or ``answer``."""
    test = example.test
    if not test.checks or any(spec.type in MODEL_GRADED for spec in test.checks):
        return answer
    for prefix in prefixes(answer):
        ctx = CheckContext(output=prefix, vars=test.vars, base_dir=base_dir)
        try:
            graded = await grade_cell(test.checks, ctx, threshold=test.threshold,
                                      options=test.options, cross_prompt=False)
        except Exception:  # trimming is an extra: it never ends a search
            return answer
        if graded.error is None and graded.grade is not None and graded.grade.passed:
            return prefix
    return answer
