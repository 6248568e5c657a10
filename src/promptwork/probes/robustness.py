"""The robustness probe: perturb chosen variables and count verdicts that flip.

```yaml
probes:
  - kind: robustness
    vars: [question]                  # the variables perturbed (default: every text variable)
    perturbations: [typos, casing, whitespace, punctuation, shuffle, paraphrase]
    typo_rate: 0.05                   # share of letters hit by a typo
    shuffle_window: 3                 # words are shuffled inside windows of this many
    paraphrase_model: openai:gpt-4o-mini   # needed by the paraphrase perturbation
    seed: 0
    threshold: 0.1                    # fail when more than 10% of verdicts flip
```
Each perturbation makes one copy of each test (checks kept); the figure is the flip rate of
verdicts against the original, with McNemar's exact test of passes lost against passes gained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from promptwork.cases import CellResult, ProbeTag, TestCase
from promptwork.probes.base import Derivation, ProbeCell, ProbeReport
from promptwork.probes.figures import group_figure, paired_figures, verdict
from promptwork.probes.perturb import PERTURBATIONS, rng_for
from promptwork.probes.spec import (
    check_keys,
    get_names,
    get_number,
    seed_of,
    spec_error,
    threshold_of,
)
from promptwork.suite import PromptEntry

KEYS = ("vars", "perturbations", "typo_rate", "shuffle_window", "paraphrase_model")
DEFAULT = ("typos", "casing", "whitespace", "punctuation", "shuffle")
PARAPHRASE = "paraphrase"
#: What the paraphrasing model is asked (the text follows).
PARAPHRASE_PROMPT = ("Rewrite the following text with other words, keeping its meaning, its "
                     "language and every fact. Answer with the rewritten text only.\n\n")


@dataclass
class RobustnessProbe:
    """Perturbs chosen variables; measures the flip rate of verdicts."""

    kind: ClassVar[str] = "robustness"
    vars: tuple[str, ...] = ()
    perturbations: tuple[str, ...] = DEFAULT
    typo_rate: float = 0.05
    shuffle_window: int = 3
    paraphrase_model: str | None = None
    seed: int = 0
    threshold: float | None = None
    #: Paraphrases by (test index, variable), filled by :meth:`paraphrase_requests`' answers.
    paraphrases: dict[tuple[int, str], str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> RobustnessProbe:
        check_keys(spec, where, KEYS)
        names = get_names(spec, "perturbations", where, DEFAULT)
        known = (*PERTURBATIONS, PARAPHRASE)
        for name in names:
            if name not in known:
                raise spec_error(where, f"probe 'robustness': unknown perturbation {name!r}; "
                                        f"known: {', '.join(known)}")
        model = spec.get("paraphrase_model")
        if PARAPHRASE in names and not (isinstance(model, str) and model):
            raise spec_error(where, "probe 'robustness': the paraphrase perturbation needs "
                                    "'paraphrase_model' (a model id, e.g. local:smollm2)")
        rate = get_number(spec, "typo_rate", where, 0.05, 0.0, 1.0)
        window = get_number(spec, "shuffle_window", where, 3, 2)
        return cls(get_names(spec, "vars", where), names, rate or 0.0, int(window or 3),
                   model if isinstance(model, str) else None, seed_of(spec, where),
                   threshold_of(spec, where))

    def calls_per_test(self) -> int:
        return len(self.perturbations)

    def _targets(self, test: TestCase) -> list[str]:
        names = self.vars or tuple(test.vars)
        return [n for n in names if isinstance(test.vars.get(n), str) and n not in test.deferred]

    def transform(self, name: str) -> str:
        """How a perturbation is written in the store (its parameters included)."""
        if name == "typos":
            return f"typos(rate={self.typo_rate:g}, seed={self.seed})"
        if name == "shuffle":
            return f"shuffle(window={self.shuffle_window}, seed={self.seed})"
        if name == PARAPHRASE:
            return f"paraphrase(model={self.paraphrase_model})"
        return name if name == "punctuation" else f"{name}(seed={self.seed})"

    def paraphrase_requests(self, tests: Sequence[TestCase]) -> list[tuple[int, str, str]]:
        """``(test, variable, prompt)`` for each paraphrase the model must write (none without
        the paraphrase perturbation). The framework fills :attr:`paraphrases`."""
        if PARAPHRASE not in self.perturbations:
            return []
        return [(t.index, n, PARAPHRASE_PROMPT + str(t.vars[n]))
                for t in tests for n in self._targets(t)]

    def perturb(self, name: str, test: TestCase, var: str, text: str) -> str:
        """One variable's value under one perturbation (same seed, same text)."""
        if name == PARAPHRASE:
            return self.paraphrases.get((test.index, var), text)
        rng = rng_for(self.seed, test.index, var, name)
        if name == "typos":
            return PERTURBATIONS[name](text, rng, self.typo_rate)
        if name == "shuffle":
            return PERTURBATIONS[name](text, rng, self.shuffle_window)
        return PERTURBATIONS[name](text, rng)

    def derive(self, tests: Sequence[TestCase], prompts: Sequence[PromptEntry]
               ) -> list[Derivation]:
        out = []
        for test in tests:
            targets = self._targets(test)
            if not targets:
                continue
            for name in self.perturbations:
                variables = dict(test.vars)
                for var in targets:
                    variables[var] = self.perturb(name, test, var, str(test.vars[var]))
                tag = ProbeTag(self.kind, test.index, self.transform(name), name)
                case = replace(test, vars=variables, probe=tag,
                               description=f"{test.description or f'test {test.index + 1}'}"
                                           f" [{name}]")
                out.append(Derivation(case, test.index))
        return out

    def measure(self, column: str, cells: Sequence[ProbeCell],
                originals: Sequence[CellResult]) -> ProbeReport:
        graded = [c for c in cells if c.original is not None and c.original.error is None
                  and c.derived.error is None]
        pairs = [(c.original.passed, c.derived.passed) for c in graded if c.original]
        overall = paired_figures(pairs, "changed")
        groups = []
        for name in self.perturbations:
            mine = [(c.original.passed, c.derived.passed) for c in graded
                    if c.original and c.derivation.case.probe
                    and c.derivation.case.probe.group == name]
            groups.append(group_figure(name, paired_figures(mine, "changed")))
        flipped = [c for c in graded if c.original and c.original.passed != c.derived.passed]
        flipped.sort(key=lambda c: (not (c.original and c.original.passed), c.derived.key))
        notes = [f"passes lost {overall.lost}, gained {overall.gained}"]
        if len(graded) < len(cells):
            notes.append(f"errors left out: {len(cells) - len(graded)} pair(s)")
        return ProbeReport(self.kind, column, "flip rate", overall.n, overall.rate, overall.low,
                           overall.high, overall.p_value, tuple(groups), tuple(flipped[:5]),
                           self.threshold, verdict(overall.rate, self.threshold), tuple(notes))
