"""``gleu``: sentence-level Google-BLEU against one or more references (promptfoo's ``gleu``).

Both texts are lowercased and split into words; every 1- to 4-word n-gram of each is counted.
Matches are the n-grams they share (clipped counts); GLEU is the smaller of precision (matches /
the output's n-grams) and recall (matches / the reference's n-grams). With several references the
best one counts. An output (or reference) without words scores 0. Passes at ``threshold``
(default 0.5).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec

__all__ = ["DEFAULT_THRESHOLD", "gleu", "gleu_score", "spec_problem"]

DEFAULT_THRESHOLD = 0.5
MAX_N = 4


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``gleu`` check (checked when the suite loads), or ``None``."""
    value = spec.value
    if isinstance(value, str):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return None
    return "value must be a reference text or a non-empty list of them"


def _ngrams(text: str) -> Counter[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    grams: Counter[tuple[str, ...]] = Counter()
    for n in range(1, MAX_N + 1):
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def gleu_score(output: str, reference: str) -> float:
    """GLEU of ``output`` against ``reference``, in [0, 1]."""
    out, ref = _ngrams(output), _ngrams(reference)
    if not out or not ref:
        return 0.0
    matches = sum((out & ref).values())
    return min(matches / sum(out.values()), matches / sum(ref.values()))


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise CheckError("'gleu' needs a reference text or a list of them")


def gleu(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The best GLEU of the output against a reference reaches the threshold."""
    references = _references(spec.value)
    score = max(gleu_score(ctx.output, ref) for ref in references)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_THRESHOLD
    passed = score >= threshold - 1e-12
    best = f" (best of {len(references)} references)" if len(references) > 1 else ""
    return CheckResult(
        passed, score, f"GLEU {score:.4f} {'>=' if passed else '<'} threshold {threshold:g}{best}"
    )
