"""Test cases, result cells and their keys: the data the runner, store and reports share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promptwork.checks.base import CheckResult, CheckSpec
from promptwork.types import Completion


@dataclass(frozen=True, slots=True)
class ProbeTag:
    """Marks a test derived by a probe (issue 21): recorded with each of its result cells.

    Attributes:
        kind: The probe (``robustness``, ``consistency``, ``bias``, ``offtopic``, ``injection``).
        origin: Index of the suite test it was derived from.
        transform: The transformation applied (``typos(rate=0.05)``, ``gender: male->female``...).
        group: What its figures are grouped by (a perturbation, an attribute value, a family).
        sample: The repeat index its model call samples as (0: the cell's own repeat). A
            consistency probe's copies of one test are samples 1..n-1, so each gets its own
            cache key and, where the provider seeds per repeat, its own seed.
    """

    kind: str
    origin: int
    transform: str
    group: str
    sample: int = 0


@dataclass(frozen=True, slots=True)
class TestCase:
    """One row of a suite: variables, the checks to run on each answer, and options.

    Attributes:
        index: Position in the suite's test list (0-based, stable across runs of the same suite).
        vars: Template variables.
        checks: Assertions (``defaultTest``'s already merged in).
        description: Optional label shown in reports.
        options: Per-test options (``provider`` for judge checks, ``prefix``/``suffix``...).
        source: Where it was defined, for error messages (``tests.csv:12``).
        deferred: Vars written in the suite that use a ``storeOutputAs`` name: left as written
            at load, rendered once the stored value is known (the only vars rendered then).
        probe: Set on a test derived by a probe: which probe, from which test, how.
    """

    __test__ = False  # not a pytest test class

    index: int
    vars: Mapping[str, Any]
    checks: tuple[CheckSpec, ...] = ()
    description: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    threshold: float | None = None
    deferred: frozenset[str] = frozenset()
    #: Set on a test derived by a probe (see :class:`ProbeTag`).
    probe: ProbeTag | None = None


@dataclass(frozen=True, slots=True, order=True)
class CellKey:
    """Identifies one result cell of a run: prompt x provider x test x repeat."""

    prompt: int
    provider: int
    test: int
    repeat: int = 0


@dataclass(slots=True)
class CellResult:
    """The outcome of one cell.

    ``error`` is set when the model call failed (after retries), or when the answer could not be
    graded (``error_kind`` ``grader``: the grading model's call failed; ``internal``/``check``: a
    check raised, with the traceback in ``error_detail``): the cell has no grade and no score and
    counts as an error, never as a failed check.
    """

    key: CellKey
    vars: Mapping[str, Any]
    prompt_text: str = ""
    completion: Completion | None = None
    grade: CheckResult | None = None
    error: str | None = None
    error_kind: str | None = None
    #: The traceback of an unexpected exception in a check (kept in the stored record).
    error_detail: str | None = None
    #: The generation parameters the call was made with (every level merged).
    params: Mapping[str, Any] = field(default_factory=dict)
    #: The test's description (shown as the row's name in reports).
    description: str | None = None
    #: Set when the test was derived by a probe (recorded with the result).
    probe: ProbeTag | None = None

    @property
    def output(self) -> str | None:
        return self.completion.text if self.completion is not None else None

    @property
    def passed(self) -> bool:
        return self.error is None and self.grade is not None and self.grade.passed

    @property
    def score(self) -> float | None:
        """The grade's score; ``None`` for an error (no verdict) or an ungraded cell."""
        return self.grade.score if self.grade is not None and self.error is None else None
