"""The probe contract: what a probe derives, what it is given back, and what it reports.

A probe derives new test cases from the suite's own tests (:class:`Derivation`); the framework
runs originals and derived cells as one ordinary run, pairs each derived cell with its original
(:class:`ProbeCell`) and asks the probe to measure one column (prompt x model) at a time
(:class:`ProbeReport`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from promptwork.cases import CellResult, ProbeTag, TestCase
from promptwork.suite import PromptEntry

__all__ = ["Derivation", "GroupFigure", "Probe", "ProbeCell", "ProbeReport", "ProbeTag"]


@dataclass(frozen=True)
class Derivation:
    """One derived test.

    Attributes:
        case: The derived test (vars changed, checks kept or replaced, ``case.probe`` set); its
            index is assigned by the framework (``derive`` may use any placeholder).
        origin: Index of the original test (``== case.probe.origin``).
    """

    case: TestCase
    origin: int


@dataclass(frozen=True)
class ProbeCell:
    """One derived cell with the original cell it is paired with, in one column.

    ``original`` is None when the probe has no unprobed counterpart (off-topic measures the
    original cells themselves).
    """

    derivation: Derivation
    derived: CellResult
    original: CellResult | None


@dataclass(frozen=True)
class GroupFigure:
    """One group of a probe (a perturbation, an attribute value, a family or converter).

    ``rate`` comes with its 95% Wilson interval; ``p_value`` is the paired test against the
    unprobed cells (McNemar exact or paired bootstrap), None when there is nothing to pair.
    """

    group: str
    n: int
    rate: float
    low: float
    high: float
    p_value: float | None


@dataclass(frozen=True)
class ProbeReport:
    """One probe x one column (prompt x model).

    Attributes:
        kind: The probe.
        column: ``prompt / model`` label.
        metric: What ``rate`` is: ``flip rate``, ``agreement``, ``gap``, ``attack success``,
            ``off-topic rate``.
        n: Pairs (or samples) measured.
        rate, low, high: The rate with its 95% interval.
        p_value: The paired test against the unprobed cells (None: no test applies).
        groups: Per-group figures.
        worst: Up to 5 worst examples.
        threshold: The user's threshold (fail when the rate is over it), if any.
        passed: ``rate <= threshold`` (None without a threshold).
        notes: Anything the figures need said (``refusals counted apart: 3``).
    """

    kind: str
    column: str
    metric: str
    n: int
    rate: float
    low: float
    high: float
    p_value: float | None
    groups: tuple[GroupFigure, ...]
    worst: tuple[ProbeCell, ...]
    threshold: float | None
    passed: bool | None
    notes: tuple[str, ...] = ()


class Probe(Protocol):
    """A probe: derives tests, says how many cells it adds per test, measures a column."""

    kind: ClassVar[str]

    def derive(
        self, tests: Sequence[TestCase], prompts: Sequence[PromptEntry]
    ) -> list[Derivation]: ...

    def calls_per_test(self) -> int: ...

    def measure(
        self, column: str, cells: Sequence[ProbeCell], originals: Sequence[CellResult]
    ) -> ProbeReport: ...


def build_probe(spec: Mapping[str, Any], where: str) -> Probe:
    """One entry of a suite's ``probes:`` as a probe (ConfigError naming ``where`` on bad keys).

    The kinds are listed in :mod:`promptwork.probes.registry`.
    """
    from promptwork.probes.registry import build

    return build(spec, where)
