"""Agreement of an automated judge with human ratings on pass/fail: accuracy and Cohen's kappa.

Pure Python and deterministic, like :mod:`promptwork.stats`.

The 2x2 confusion matrix puts the judge's verdict against the human's, on the same cells.
Cohen's kappa is the agreement beyond what the two verdict rates would give by chance:
``kappa = (p_o - p_e) / (1 - p_e)``, with ``p_o`` the observed agreement (the accuracy) and ``p_e``
the agreement expected from the marginals. Its 95% interval is ``kappa +- 1.96 SE`` (clipped to
[-1, 1]), with the analytic large-sample standard error of Fleiss, Cohen & Everitt (1969):

    Var = [ sum_i p_ii (1 - (p_i. + p_.i)(1 - kappa))^2
            + (1 - kappa)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
            - (kappa - p_e (1 - kappa))^2 ] / (n (1 - p_e)^2)

(rows: the judge, columns: the human). It is an asymptotic interval: with a few dozen cells it is
rough, and at perfect agreement it has zero width. Kappa is undefined (``None``) when ``p_e`` is 1:
the judge and the human gave the same single verdict to every cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

__all__ = ["Agreement", "Confusion", "agreement", "cohen_kappa"]

_Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True, slots=True)
class Confusion:
    """Judge versus human on the same cells.

    Attributes:
        both_pass: The judge and the human passed it.
        judge_only: The judge passed it, the human failed it (the judge too lenient).
        human_only: The judge failed it, the human passed it (the judge too strict).
        both_fail: Both failed it.
    """

    both_pass: int = 0
    judge_only: int = 0
    human_only: int = 0
    both_fail: int = 0

    @property
    def n(self) -> int:
        return self.both_pass + self.judge_only + self.human_only + self.both_fail

    def to_dict(self) -> dict[str, int]:
        return {"both_pass": self.both_pass, "judge_pass_human_fail": self.judge_only,
                "judge_fail_human_pass": self.human_only, "both_fail": self.both_fail}


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far a judge agrees with people.

    Attributes:
        confusion: The 2x2 table.
        accuracy: Share of cells where the verdicts agree; ``None`` with no cells.
        kappa: Cohen's kappa; ``None`` when undefined (no cells, or one verdict everywhere).
        kappa_se: Its analytic standard error.
        kappa_ci95: Its 95% interval, clipped to [-1, 1].
    """

    confusion: Confusion
    accuracy: float | None
    kappa: float | None
    kappa_se: float | None
    kappa_ci95: tuple[float, float] | None

    @property
    def n(self) -> int:
        return self.confusion.n

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "kappa": self.kappa,
                "kappa_se": self.kappa_se,
                "kappa_ci95": list(self.kappa_ci95) if self.kappa_ci95 else None,
                "confusion": self.confusion.to_dict()}


def cohen_kappa(confusion: Confusion) -> Agreement:
    """Accuracy and Cohen's kappa, with its analytic 95% interval (see the module doc)."""
    n = confusion.n
    if n == 0:
        return Agreement(confusion, None, None, None, None)
    # p[i][j]: judge verdict i, human verdict j (0 pass, 1 fail).
    p = [[confusion.both_pass / n, confusion.judge_only / n],
         [confusion.human_only / n, confusion.both_fail / n]]
    row = [p[0][0] + p[0][1], p[1][0] + p[1][1]]  # the judge's marginals
    col = [p[0][0] + p[1][0], p[0][1] + p[1][1]]  # the human's marginals
    p_o = p[0][0] + p[1][1]
    p_e = row[0] * col[0] + row[1] * col[1]
    if math.isclose(p_e, 1.0):
        return Agreement(confusion, p_o, None, None, None)
    kappa = (p_o - p_e) / (1 - p_e)
    diagonal = math.fsum(p[i][i] * (1 - (row[i] + col[i]) * (1 - kappa)) ** 2 for i in (0, 1))
    off = (1 - kappa) ** 2 * math.fsum(
        p[i][j] * (col[i] + row[j]) ** 2 for i in (0, 1) for j in (0, 1) if i != j)
    chance = (kappa - p_e * (1 - kappa)) ** 2
    variance = max(0.0, (diagonal + off - chance) / (n * (1 - p_e) ** 2))
    se = math.sqrt(variance)
    low, high = max(-1.0, kappa - _Z95 * se), min(1.0, kappa + _Z95 * se)
    return Agreement(confusion, p_o, kappa, se, (low, high))


def agreement(pairs: Iterable[tuple[bool, bool]]) -> Agreement:
    """:func:`cohen_kappa` of ``(judge_passed, human_passed)`` pairs, one per cell."""
    counts = [0, 0, 0, 0]
    for judge, human in pairs:
        counts[(0 if judge else 2) + (0 if human else 1)] += 1
    return cohen_kappa(Confusion(*counts))
