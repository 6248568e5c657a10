"""Probe figures from paired verdicts: a rate with its 95% Wilson interval and the paired test.

Every probe pairs a derived cell with its original; ``(original, derived)`` booleans say whether
the event counted happened on each side (passed, attack succeeded, answered off topic...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from promptwork.probes.base import GroupFigure
from promptwork.stats import mcnemar_exact, wilson_interval

RateOf = Literal["derived", "changed"]


@dataclass(frozen=True)
class PairedFigures:
    """A rate over pairs with its interval and McNemar's exact p-value.

    Attributes:
        n: Pairs.
        rate: The share counted (``derived``: pairs whose derived side is True; ``changed``:
            pairs whose two sides differ, e.g. a flip rate).
        low, high: 95% Wilson interval of ``rate``.
        p_value: McNemar exact on the discordant pairs (None with no pairs).
        lost: Pairs True on the original, False on the derived side.
        gained: Pairs False on the original, True on the derived side.
    """

    n: int
    rate: float
    low: float
    high: float
    p_value: float | None
    lost: int
    gained: int


def paired_figures(pairs: Sequence[tuple[bool, bool]], rate_of: RateOf = "derived"
                   ) -> PairedFigures:
    """The rate over ``(original, derived)`` pairs, its 95% interval and the paired test.

    Args:
        pairs: One ``(original, derived)`` per pair of cells.
        rate_of: ``derived`` counts pairs whose derived side is True (attack success,
            off-topic rate); ``changed`` counts pairs whose sides differ (flip rate).
    """
    lost = sum(1 for o, d in pairs if o and not d)
    gained = sum(1 for o, d in pairs if d and not o)
    n = len(pairs)
    count = lost + gained if rate_of == "changed" else sum(1 for _o, d in pairs if d)
    return rate_figures(count, n, mcnemar_exact(lost, gained) if n else None, lost, gained)


def rate_figures(count: int, n: int, p_value: float | None = None, lost: int = 0,
                 gained: int = 0) -> PairedFigures:
    """``count / n`` with its 95% Wilson interval (rate 0 with interval 0-1 when n is 0)."""
    low, high = wilson_interval(count, n)
    return PairedFigures(n, count / n if n else 0.0, low, high, p_value, lost, gained)


def group_figure(group: str, figures: PairedFigures) -> GroupFigure:
    """The :class:`GroupFigure` of one group's figures."""
    return GroupFigure(group, figures.n, figures.rate, figures.low, figures.high,
                       figures.p_value)


def verdict(rate: float, threshold: float | None) -> bool | None:
    """Pass when the rate is at most the threshold (None without a threshold)."""
    return None if threshold is None else rate <= threshold
