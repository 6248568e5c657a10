"""The consistency probe: n samples of each cell, the share agreeing with the majority answer.

```yaml
probes:
  - kind: consistency
    samples: 5            # answers per cell, the original's included
    temperature: 0.7      # optional: the run's temperature (default: the suite's)
    match: normalised     # exact | normalised | similar
    similarity: 0.8       # with match: similar, answers this similar agree (lexical measure)
    threshold: 0.2        # fail when more than 20% of samples disagree with their majority
```
The samples are copies of each test run as repeats 1..n-1 of its cell (each its own cache key
and, where the provider seeds per repeat, its own seed). The rate reported is the agreement;
the threshold is compared with the disagreement (1 - agreement), like every other probe's
"fail when over". The paired test compares the verdicts of the samples with the original's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from promptwork.cases import CellResult, ProbeTag, TestCase
from promptwork.checks.similarity import lexical_similarity
from promptwork.probes.base import Derivation, GroupFigure, ProbeCell, ProbeReport
from promptwork.probes.figures import paired_figures, rate_figures
from promptwork.probes.spec import (
    check_keys,
    get_choice,
    get_int,
    get_number,
    threshold_of,
)
from promptwork.suite import PromptEntry

KEYS = ("samples", "temperature", "match", "similarity")
MATCHES = ("exact", "normalised", "normalized", "similar")


def normalise(text: str) -> str:
    """Case folded, accents and punctuation removed, whitespace collapsed."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in folded if not unicodedata.combining(ch)
                   and not unicodedata.category(ch).startswith("P"))
    return re.sub(r"\s+", " ", kept).strip()


def majority_share(answers: Sequence[str], match: str, similarity: float = 0.8
                   ) -> tuple[int, str]:
    """How many answers agree with the majority answer, and that answer.

    ``exact`` compares texts as is, ``normalised`` after :func:`normalise`, ``similar`` counts
    the answers at least ``similarity`` similar (lexical) to each candidate and keeps the best.
    Ties go to the earliest answer.
    """
    if not answers:
        return 0, ""
    if match == "similar":
        best = max(range(len(answers)), key=lambda i: (sum(
            1 for b in answers if lexical_similarity(answers[i], b) >= similarity), -i))
        return sum(1 for b in answers if lexical_similarity(answers[best], b) >= similarity), \
            answers[best]
    key = normalise if match in ("normalised", "normalized") else (lambda t: t)
    keys = [key(a) for a in answers]
    top = max(range(len(keys)), key=lambda i: (keys.count(keys[i]), -i))
    return keys.count(keys[top]), answers[top]


@dataclass
class ConsistencyProbe:
    """Samples each cell n times; measures agreement with the majority answer."""

    kind: ClassVar[str] = "consistency"
    samples: int = 5
    temperature: float | None = None
    match: str = "normalised"
    similarity: float = 0.8
    seed: int = 0
    threshold: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, object], where: str) -> ConsistencyProbe:
        check_keys(spec, where, KEYS)
        match = get_choice(spec, "match", where, MATCHES, "normalised", cls.kind)
        return cls(get_int(spec, "samples", where, 5, 2),
                   get_number(spec, "temperature", where, None, 0.0, 2.0), str(match),
                   get_number(spec, "similarity", where, 0.8, 0.0, 1.0) or 0.0,
                   get_int(spec, "seed", where, 0), threshold_of(spec, where))

    def calls_per_test(self) -> int:
        return self.samples - 1

    def derive(self, tests: Sequence[TestCase], prompts: Sequence[PromptEntry]
               ) -> list[Derivation]:
        out = []
        for test in tests:
            for k in range(1, self.samples):
                tag = ProbeTag(self.kind, test.index, f"sample {k + 1} of {self.samples}",
                               "samples", sample=k)
                case = replace(test, probe=tag, description=(
                    f"{test.description or f'test {test.index + 1}'} [sample {k + 1}]"))
                out.append(Derivation(case, test.index))
        return out

    def measure(self, column: str, cells: Sequence[ProbeCell],
                originals: Sequence[CellResult]) -> ProbeReport:
        by_test: dict[tuple[int, int], list[ProbeCell]] = {}
        for c in cells:
            if c.original is not None:
                by_test.setdefault((c.derivation.origin, c.derived.key.repeat), []).append(c)
        agreeing = total = 0
        unstable: list[tuple[float, ProbeCell]] = []
        test_rows: list[GroupFigure] = []
        for (origin, _repeat), group in sorted(by_test.items()):
            first = group[0].original
            assert first is not None
            answered = [x for x in (first, *(c.derived for c in group)) if x.error is None]
            count, _ = majority_share([x.output or "" for x in answered], self.match,
                                      self.similarity)
            agreeing, total = agreeing + count, total + len(answered)
            share = count / len(answered) if answered else 1.0
            figures = rate_figures(count, len(answered))
            test_rows.append(GroupFigure(f"test {origin + 1}", len(answered), share,
                                         figures.low, figures.high, None))
            if share < 1.0:
                unstable.append((share, group[0]))
        answers = rate_figures(agreeing, total)
        verdicts = paired_figures([(c.original.passed, c.derived.passed) for c in cells
                                   if c.original is not None and c.original.error is None
                                   and c.derived.error is None], "changed")
        unstable.sort(key=lambda u: (u[0], u[1].derivation.origin))
        notes = [f"unstable tests: {len(unstable)} of {len(by_test)}"
                 + (": " + ", ".join(f"test {u[1].derivation.origin + 1} "
                                     f"({u[0]:.0%} agree)" for u in unstable[:10])
                    if unstable else ""),
                 f"verdict flips against the first sample: {verdicts.rate:.1%} of "
                 f"{verdicts.n} (passes lost {verdicts.lost}, gained {verdicts.gained})",
                 f"answers matched: {self.match}"]
        if self.temperature is not None:
            notes.append(f"temperature {self.temperature:g}")
        passed = None if self.threshold is None else 1.0 - answers.rate <= self.threshold
        return ProbeReport(self.kind, column, "agreement", answers.n, answers.rate, answers.low,
                           answers.high, verdicts.p_value if verdicts.n else None,
                           tuple(test_rows), tuple(u[1] for u in unstable[:5]), self.threshold,
                           passed, tuple(notes))
