"""From a suite and its ``probes:`` to one ordinary run: the derived tests appended to the
originals (each with its :class:`~promptwork.cases.ProbeTag`), in a suite the Runner runs as is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from promptwork.cases import TestCase
from promptwork.datasets import TestSource
from promptwork.errors import ConfigError
from promptwork.probes.base import Derivation, Probe, build_probe
from promptwork.suite import Suite


@dataclass
class ProbePlan:
    """What a probe run runs and how its cells pair up.

    Attributes:
        suite: The suite to run: originals then derived tests (indexes after the originals').
        probes: The probes, in the suite's order (``--only`` applied).
        originals: The suite's own tests.
        derived: Derived test index -> its derivation (index assigned) and its probe.
    """

    suite: Suite
    probes: list[Probe]
    originals: list[TestCase]
    derived: dict[int, tuple[Derivation, Probe]]

    def extra_cells_per_column(self) -> int:
        """Derived tests (cells per prompt x model, per repeat)."""
        return len(self.derived)


class ListedTests:
    """A fixed list of tests in the place of a suite's :class:`~promptwork.datasets.TestSource`
    (its files and file confinement still answered by the original source)."""

    def __init__(self, tests: Sequence[TestCase], source: Any):
        self._tests = list(tests)
        self._source = source

    def __iter__(self) -> Iterator[TestCase]:
        return iter(self._tests)

    def count(self) -> int:
        return len(self._tests)

    def files(self) -> list[Path]:
        files: list[Path] = self._source.files()
        return files

    def confine_check_files(self, test: TestCase, fallback: str | Path | None = None) -> None:
        self._source.confine_check_files(test, fallback)


def build_probes(suite: Suite, only: Sequence[str] = ()) -> list[Probe]:
    """The suite's probes (ConfigError with file:line on a bad entry), ``only`` kept."""
    probes = [build_probe(spec, where) for spec, where in suite.probes]
    if only:
        kinds = {p.kind for p in probes}
        for kind in only:
            if kind not in kinds:
                raise ConfigError(f"--only {kind}: the suite declares no {kind!r} probe "
                                  f"(it has: {', '.join(sorted(kinds)) or 'none'})", suite.path)
        probes = [p for p in probes if p.kind in only]
    if not probes:
        raise ConfigError("the suite has no 'probes' section: add one (e.g. "
                          "'probes: [{kind: robustness, vars: [question]}]')", suite.path)
    return probes


def plan_probes(suite: Suite, probes: Sequence[Probe], max_tests: int | None = None
                ) -> ProbePlan:
    """Derive every probe's tests and make the suite that runs them with the originals."""
    if suite.options.repeat > 1 and any(p.kind == "consistency" for p in probes):
        raise ConfigError("the consistency probe samples each cell as its repeats: remove "
                          "evaluateOptions.repeat from the suite and set the probe's 'samples'",
                          suite.path)
    originals = list(suite.tests)
    if max_tests is not None:
        originals = originals[:max_tests]
    next_index = max((t.index for t in originals), default=-1) + 1
    derived: dict[int, tuple[Derivation, Probe]] = {}
    cases: list[TestCase] = []
    digest = hashlib.sha256()
    for probe in probes:
        for d in probe.derive(originals, suite.prompts):
            if d.case.probe is None or d.case.probe.origin != d.origin:
                raise ValueError(f"probe {probe.kind!r} derived a test without its ProbeTag")
            case = replace(d.case, index=next_index)
            derived[next_index] = (Derivation(case, d.origin), probe)
            cases.append(case)
            digest.update(repr((case.vars, case.probe)).encode())
            next_index += 1
    # The derivations are part of what a resumed run must match.
    text = suite.text + "\n# probes " + digest.hexdigest()
    # The Runner reads a suite's tests by iterating them, its files and file confinement
    # through the source: ListedTests answers those (it is not a loader of test files).
    listed = cast(TestSource, ListedTests([*originals, *cases], suite.tests))
    probed = replace(suite, tests=listed, text=text)
    return ProbePlan(probed, list(probes), originals, derived)


def consistency_temperature(probes: Sequence[Probe]) -> float | None:
    """The temperature a consistency probe asks for (one per run; ConfigError if two differ)."""
    wanted = {t for p in probes if (t := getattr(p, "temperature", None)) is not None}
    if len(wanted) > 1:
        raise ConfigError(f"the probes ask for different temperatures ({sorted(wanted)}); "
                          "a probe run has one: run them apart with --only")
    return wanted.pop() if wanted else None
