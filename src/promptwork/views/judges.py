"""Judge reliability: how far each model-graded check agrees with the human ratings.

For each model-graded check type as written (``llm-rubric``, ``not-llm-rubric``, ``factuality``,
``model-graded-closedqa``, ``g-eval``...) and each grading model that answered it, on the cells
that have both a current human rating and that check: accuracy, Cohen's kappa with its 95%
interval, the 2x2 confusion matrix and the number of cells
(:mod:`promptwork.stats_agreement`).

How a cell counts:

* The human verdict is the majority of its raters' current ratings (one per rater); a tie
  leaves the cell out (counted in ``tied_cells``). ``rater=`` keeps one rater's ratings only.
* The judge verdict is the check's own pass/fail on that cell (not the cell's overall verdict);
  when a cell has the same check type and grader more than once (two rubrics), it passes only
  if every instance passes, as the cell's verdict would.
* Error cells (no verdict) are left out. Check results stored before the grading model was
  recorded with them (and ``select-best``, decided across cells) count under the grader
  ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.checks.catalog import MODEL_GRADED
from promptwork.stats_agreement import Agreement, agreement
from promptwork.store.ratings import RatedResult, rated_results
from promptwork.store.store import Store

__all__ = ["UNKNOWN_GRADER", "JudgeAgreement", "JudgesView", "judge_verdicts", "judges_view",
           "run_judges"]

#: The grader of check results stored before the grading model was recorded with them.
UNKNOWN_GRADER = "unknown"


@dataclass(frozen=True, slots=True)
class JudgeAgreement:
    """One judge (check type x grading model) against the human ratings.

    Attributes:
        check_type: The check as written (``llm-rubric``, ``not-factuality``...).
        grader: The grading model's id (``unknown`` for results stored without it).
        agreement: Accuracy, kappa with its interval, confusion matrix, n.
        runs: How many runs the cells come from.
    """

    check_type: str
    grader: str
    agreement: Agreement
    runs: int = 1

    @property
    def n(self) -> int:
        return self.agreement.n

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check_type, "grader": self.grader, "runs": self.runs,
                **self.agreement.to_dict()}


@dataclass(frozen=True, slots=True)
class JudgesView:
    """The judge table of one run or of several.

    Attributes:
        judges: One line per check type x grader, most cells first.
        rated_cells: Cells with at least one current human rating.
        tied_cells: Rated cells left out because their raters split evenly.
        run_ids: The runs looked at.
    """

    judges: tuple[JudgeAgreement, ...]
    rated_cells: int
    tied_cells: int
    run_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"runs": list(self.run_ids), "rated_cells": self.rated_cells,
                "tied_cells": self.tied_cells, "judges": [j.to_dict() for j in self.judges]}


def _model_graded(check_type: str) -> bool:
    base = check_type[4:] if check_type.startswith("not-") else check_type
    return base in MODEL_GRADED


def _components(grading: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for part in grading.get("components") or ():
        if isinstance(part, Mapping):
            yield part
            yield from _components(part)


def judge_verdicts(row: Mapping[str, Any]) -> dict[tuple[str, str], bool]:
    """The model-graded checks' verdicts on one stored cell, by (check type, grader).

    Empty for an error cell. A check type graded twice by one grader passes if both pass.
    """
    grading = row.get("grading")
    if row.get("error") is not None or not isinstance(grading, Mapping):
        return {}
    out: dict[tuple[str, str], bool] = {}
    for part in _components(grading):
        check_type = str(part.get("type") or "")
        if not _model_graded(check_type) or "pass" not in part:
            continue
        key = (check_type, str(part.get("grader") or UNKNOWN_GRADER))
        out[key] = out.get(key, True) and bool(part["pass"])
    return out


def judges_view(rated: Iterable[RatedResult], run_ids: Sequence[str] = ()) -> JudgesView:
    """The judge table from current ratings joined with their results
    (:func:`promptwork.store.ratings.rated_results`)."""
    cells: dict[tuple[str, int, int, int, int], list[RatedResult]] = {}
    for item in rated:
        c = item.rating.cell
        cells.setdefault((item.rating.run_id, c.prompt, c.provider, c.test, c.repeat),
                         []).append(item)
    pairs: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
    runs: dict[tuple[str, str], set[str]] = {}
    tied = 0
    for (run_id, *_), items in cells.items():
        yes = sum(1 for i in items if i.rating.passed)
        no = len(items) - yes
        if yes == no:
            tied += 1
            continue
        human = yes > no
        for key, judge in judge_verdicts(items[0].row).items():
            pairs.setdefault(key, []).append((judge, human))
            runs.setdefault(key, set()).add(run_id)
    judges = [JudgeAgreement(check, grader, agreement(found), len(runs[(check, grader)]))
              for (check, grader), found in pairs.items()]
    judges.sort(key=lambda j: (-j.n, j.check_type, j.grader))
    seen = run_ids or tuple(sorted({key[0] for key in cells}))
    return JudgesView(tuple(judges), len(cells), tied, tuple(seen))


def run_judges(store: Store, run_ids: Sequence[str] | None = None,
               rater: str | None = None) -> JudgesView:
    """The judge table of some runs (full ids), or of every rated run when ``run_ids`` is None.

    Args:
        store: The store.
        run_ids: The runs; one run gives that run's table, several or None the "across runs"
            table (cells of every run pooled).
        rater: Only this rater's ratings.
    """
    rated = rated_results(store, run_ids, rater)
    return judges_view(rated, tuple(run_ids) if run_ids is not None else ())
