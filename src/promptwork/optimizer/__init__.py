"""``promptwork optimize``: search for a better prompt automatically, and show what made it better.

The metric is the suite's checks. The search (demos, components, instructions, reflect, raced by
successive halving) sees the training and validation splits only and never spends more task-model
calls than its share of the budget; the seed and the best prompt are then compared on the untouched
test split, with calls reserved from the same budget.

Example:
    >>> import promptwork
    >>> result = promptwork.optimize("prompts/instruction.prompt", "examples/quickstart",
    ...                              budget=300)
    >>> result.best_val, result.test_best, result.comparison.verdict  # doctest: +SKIP
"""

from promptwork.optimizer.ablation import AblationRow
from promptwork.optimizer.api import aoptimize, optimize
from promptwork.optimizer.budget import Budget, BudgetExhausted, ExampleScore, ScoreCache
from promptwork.optimizer.candidate import Candidate, Demo, Evaluator, SeedPrompt
from promptwork.optimizer.data import (
    Example,
    SearchData,
    Splits,
    make_splits,
    parse_split,
    splits_by_variable,
)
from promptwork.optimizer.html import render_html
from promptwork.optimizer.options import OptimizeOptions
from promptwork.optimizer.plan import Plan, plan_optimization
from promptwork.optimizer.report import read_provenance
from promptwork.optimizer.result import OptimizeResult, SplitScore

__all__ = [
    "AblationRow",
    "Budget",
    "BudgetExhausted",
    "Candidate",
    "Demo",
    "Evaluator",
    "Example",
    "ExampleScore",
    "OptimizeOptions",
    "OptimizeResult",
    "Plan",
    "ScoreCache",
    "SearchData",
    "SeedPrompt",
    "SplitScore",
    "Splits",
    "aoptimize",
    "make_splits",
    "optimize",
    "parse_split",
    "plan_optimization",
    "read_provenance",
    "render_html",
    "splits_by_variable",
]
