"""Reference-based text metrics: levenshtein, rouge-n, bleu.

The value is the reference text; ``rouge-n`` and ``bleu`` also take a list of references (the best
match counts). Scores are in ``[0, 1]``.

* ``levenshtein``: edit distance (insertions, deletions, substitutions of characters). Passes when
  the distance is at most ``threshold`` (default 5); score 1 or 0, as in promptfoo.
* ``rouge-n``: ROUGE-N *recall*, the share of the reference's n-grams found in the output
  (counts clipped), on lowercased word tokens (``\\w+``, punctuation dropped). ``config: {n: 2}``
  picks the n-gram size (default 1). Passes when the score is at least ``threshold``
  (default 0.75).
* ``bleu``: sentence BLEU-4 (uniform weights, clipped n-gram precision, brevity penalty against
  the closest reference length) on lowercased whitespace tokens, as promptfoo tokenizes. Zero
  n-gram matches are smoothed with Chen & Cherry's method 1 (count 0.1 instead of 0, as NLTK's
  ``SmoothingFunction().method1``), so one missing 4-gram does not zero the score. Passes when the
  score is at least ``threshold`` (default 0.5).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from promptwork.checks.base import (
    CheckContext,
    CheckError,
    CheckResult,
    CheckSpec,
    min_score,
    outcome,
)

__all__ = [
    "bleu",
    "bleu_score",
    "levenshtein",
    "levenshtein_distance",
    "rouge_n",
    "rouge_n_recall",
]

LEVENSHTEIN_DEFAULT = 5.0
ROUGE_DEFAULT = 0.75
BLEU_DEFAULT = 0.5
BLEU_EPSILON = 0.1


def _references(value: Any, check: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise CheckError(f"{check!r} needs a reference string or a list of strings")


# --- levenshtein ------------------------------------------------------------------------------


def levenshtein_distance(a: str, b: str, limit: int | None = None) -> int:
    """Character edit distance between ``a`` and ``b``.

    Args:
        a: One string.
        b: The other.
        limit: When given, only whether the distance is at most ``limit`` matters: the work is
            confined to a diagonal band (O(len * limit)) and any larger distance is returned as
            ``limit + 1``.
    """
    if a == b:
        return 0
    # Common prefix and suffix never change the distance.
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    n, m = len(a), len(b)
    if limit is None:
        return _full_distance(a, b)
    big = limit + 1
    if n - m >= big:
        return big
    return _banded_distance(a, b, limit)


def _full_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _banded_distance(a: str, b: str, limit: int) -> int:
    """Distance if at most ``limit``, else ``limit + 1`` (Ukkonen's diagonal band).

    Row ``i`` keeps only columns ``j`` in ``i - limit .. i + limit``, stored at
    ``k = j - i + limit``; cells outside the band are known to exceed ``limit`` and read as
    ``limit + 1``.
    """
    n, m = len(a), len(b)
    big = limit + 1
    width = 2 * limit + 1
    previous = [big] * (width + 1)  # one padding cell on the right
    for k in range(width):
        j = k - limit
        if 0 <= j <= m:
            previous[k] = j if j < big else big
    for i in range(1, n + 1):
        current = [big] * (width + 1)
        offset = i - limit
        ca = a[i - 1]
        row_min = big
        for k in range(max(0, -offset), min(width, m - offset + 1)):
            j = offset + k
            if j == 0:
                value = i
            else:
                left = current[k - 1] if k > 0 else big
                value = min(previous[k + 1] + 1, left + 1, previous[k] + (ca != b[j - 1]))
            if value > big:
                value = big
            current[k] = value
            if value < row_min:
                row_min = value
        if row_min >= big:
            return big
        previous = current
    return previous[m - n + limit]


def levenshtein(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Edit distance to the value is at most ``threshold`` (default 5)."""
    if not isinstance(spec.value, str):
        raise CheckError("'levenshtein' needs a reference string value")
    limit = spec.threshold if spec.threshold is not None else LEVENSHTEIN_DEFAULT
    distance = levenshtein_distance(ctx.output, spec.value, max(0, math.floor(limit)))
    if distance > limit:
        return outcome(False, f"Levenshtein distance > {limit:g}")
    return outcome(True, f"Levenshtein distance {distance} <= {limit:g}")


# --- rouge ------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n_recall(candidate: str, reference: str, n: int = 1) -> float:
    """ROUGE-N recall: clipped n-gram overlap divided by the reference's n-gram count.

    Tokens are lowercased ``\\w+`` runs. A reference with no n-grams (shorter than ``n`` words)
    scores 0.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    ref = _ngrams(_WORD.findall(reference.lower()), n)
    total = sum(ref.values())
    if total == 0:
        return 0.0
    cand = _ngrams(_WORD.findall(candidate.lower()), n)
    overlap = sum(min(count, cand[gram]) for gram, count in ref.items())
    return overlap / total


def rouge_n(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """ROUGE-N recall against the reference(s) is at least ``threshold`` (default 0.75)."""
    n = spec.config.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int):
        raise CheckError(f"config 'n' must be an integer, got {n!r}")
    refs = _references(spec.value, "rouge-n")
    score = max(rouge_n_recall(ctx.output, ref, n) for ref in refs)
    return min_score(score, spec, ROUGE_DEFAULT, f"ROUGE-{n} recall")


# --- bleu -------------------------------------------------------------------------------------


def bleu_score(candidate: str, references: Sequence[str], max_n: int = 4) -> float:
    """Smoothed sentence BLEU of ``candidate`` against ``references``.

    Uniform weights over 1..``max_n``-grams; each candidate n-gram count is clipped by its largest
    count in any single reference; n-gram orders with no match count as 0.1 matches
    (Chen & Cherry 2014, method 1); brevity penalty uses the reference length closest to the
    candidate's (the shorter on ties). An empty candidate scores 0.
    """
    if not references:
        raise ValueError("bleu needs at least one reference")
    cand = candidate.lower().split()
    refs = [r.lower().split() for r in references]
    if not cand:
        return 0.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        cand_grams = _ngrams(cand, n)
        max_ref: Counter[tuple[str, ...]] = Counter()
        for ref in refs:
            max_ref |= _ngrams(ref, n)
        matches = sum(min(count, max_ref[gram]) for gram, count in cand_grams.items())
        total = max(1, sum(cand_grams.values()))
        log_sum += math.log((matches or BLEU_EPSILON) / total) / max_n
    c = len(cand)
    r = min((len(ref) for ref in refs), key=lambda length: (abs(length - c), length))
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_sum)


def bleu(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Sentence BLEU against the reference(s) is at least ``threshold`` (default 0.5)."""
    score = bleu_score(ctx.output, _references(spec.value, "bleu"))
    return min_score(score, spec, BLEU_DEFAULT, "BLEU")
