"""The ablation of the best prompt: what each of its components is worth.

It runs after the search and the test report, on what the budget has left: a component whose
measure does not fit is left out (and the report says how many were), never paid beyond
``--budget``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptwork.optimizer.candidate import Candidate, Evaluator
from promptwork.optimizer.data import Example
from promptwork.optimizer.state import mean_of
from promptwork.optimizer.strategies.components import short


@dataclass(frozen=True)
class AblationRow:
    """One component of the best prompt and what it is worth.

    Attributes:
        component: The component's text (or ``the N demos``).
        kind: ``sentence``, ``demo``, ``block`` or ``demos``.
        without: The score of the best prompt without it.
        contribution: The best prompt's score minus ``without``.
    """

    component: str
    kind: str
    without: float
    contribution: float


def ablation_candidates(best: Candidate) -> list[tuple[str, str, Candidate]]:
    """(component, kind, the best prompt without it) for each removable part."""
    out = []
    layout = best.layout
    for i in layout.droppable():
        seg = layout.segments[i]
        out.append((seg.text, seg.kind, best.derive(layout=layout.drop(i), origin="ablation",
                                                   note=f"without {short(seg.text)!r}")))
    if best.demos:
        n = len(best.demos)
        out.append((f"the {n} inserted demo{'s' if n != 1 else ''}", "demos",
                    best.derive(demos=(), origin="ablation", note="without demos")))
    return out


async def ablation(
    best: Candidate, evaluator: Evaluator, examples: Sequence[Example], metric: str
) -> tuple[list[AblationRow], int]:
    """Each component's contribution: the best prompt's score minus its score without it.

    Only what ``evaluator``'s budget can pay for is measured: the best prompt itself first,
    then the components in order while each fits.

    Returns:
        The rows, and how many components were left out for want of budget.
    """
    parts = ablation_candidates(best)
    if not parts or not evaluator.budget.can_afford(evaluator.cost(best, examples)):
        return [], len(parts)
    full = mean_of(await evaluator.score(best, examples), metric)
    chosen: list[tuple[str, str, Candidate]] = []
    left = evaluator.budget.remaining
    for part in parts:
        cost = evaluator.cost(part[2], examples)
        if cost <= left:
            chosen.append(part)
            left -= cost
    scored = await evaluator.score_many([(c, examples) for *_, c in chosen])
    rows = []
    for (text, kind, _), scores in zip(chosen, scored, strict=True):
        score = mean_of(scores, metric)
        rows.append(AblationRow(text, kind, score, full - score))
    return rows, len(parts) - len(chosen)
