"""What an optimization reports: test scores with intervals, the paired test, the diff, the
ablation table, the provenance written into the best prompt's front matter, and terminal tables.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Group
from rich.table import Table
from rich.text import Text

from promptwork.optimizer.budget import ExampleScore
from promptwork.optimizer.candidate import Candidate, Evaluator
from promptwork.optimizer.data import Example
from promptwork.optimizer.state import mean_of
from promptwork.optimizer.strategies.components import short
from promptwork.stats import PassFailComparison, compare_pass_fail, wilson_interval

if TYPE_CHECKING:
    from promptwork.optimizer.api import OptimizeResult

PROVENANCE_MARK = "# promptwork optimize"


@dataclass(frozen=True)
class SplitScore:
    """A prompt's result on a split: passes, mean metric, 95% Wilson interval of the pass rate."""

    passed: int
    n: int
    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, scores: Sequence[ExampleScore], metric: str) -> SplitScore:
        passed = sum(1 for s in scores if s.passed)
        low, high = wilson_interval(passed, len(scores))
        return cls(passed, len(scores), mean_of(scores, metric), low, high)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "n": self.n, "mean": round(self.mean, 4),
                "ci95": [round(self.low, 4), round(self.high, 4)]}


def paired_test(seed: Sequence[ExampleScore], best: Sequence[ExampleScore]) -> PassFailComparison:
    """Exact McNemar test of best (B) against seed (A) on the same examples."""
    return compare_pass_fail([s.passed for s in seed], [s.passed for s in best])


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
) -> list[AblationRow]:
    """Each component's contribution: the best prompt's score minus its score without it."""
    parts = ablation_candidates(best)
    scored = await evaluator.score_many([(best, examples), *((c, examples) for *_, c in parts)])
    full = mean_of(scored[0], metric)
    rows = []
    for (text, kind, _), scores in zip(parts, scored[1:], strict=True):
        score = mean_of(scores, metric)
        rows.append(AblationRow(text, kind, score, full - score))
    return rows


def text_diff(seed: str, best: str) -> str:
    """Unified diff from the seed's body to the best body."""
    return "".join(difflib.unified_diff(
        seed.splitlines(keepends=True), best.splitlines(keepends=True), "seed", "best"))


def provenance_header(provenance: Mapping[str, Any]) -> str:
    """Comment lines for the front matter (``.prompt`` front matter keys are fixed)."""
    dumped = yaml.safe_dump({"optimized": dict(provenance)}, sort_keys=False,
                            allow_unicode=True, width=100)
    return PROVENANCE_MARK + "\n" + "".join(f"# {line}\n" for line in dumped.splitlines())


def read_provenance(text: str) -> dict[str, Any] | None:
    """The provenance written by :func:`provenance_header` into a ``.prompt`` file."""
    lines = text.splitlines()
    if PROVENANCE_MARK not in lines:
        return None
    start = lines.index(PROVENANCE_MARK) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    data = yaml.safe_load("\n".join(block))
    found = data.get("optimized") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None


# -- terminal ---------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def curve_table(result: OptimizeResult) -> Table:
    table = Table(title="validation score vs task-model calls used")
    table.add_column("calls", justify="right")
    table.add_column("best val", justify="right")
    for calls, score in result.curve:
        table.add_row(str(calls), f"{score:.3f}")
    return table


def test_table(result: OptimizeResult) -> Table:
    table = Table(title=f"seed vs best on the test split ({result.metric})")
    for name in ("prompt", "val", "test", "passed", "95% CI"):
        table.add_column(name, justify="left" if name == "prompt" else "right")
    for name, val, score in (("seed", result.seed_val, result.test_seed),
                             ("best", result.best_val, result.test_best)):
        if score is None:
            table.add_row(name, f"{val:.3f}", "-", "-", "-")
            continue
        table.add_row(name, f"{val:.3f}", f"{score.mean:.3f}", f"{score.passed}/{score.n}",
                      f"{_pct(score.low)}-{_pct(score.high)}")
    return table


def ablation_table(result: OptimizeResult) -> Table:
    table = Table(title=f"ablation of the best prompt ({result.ablation_split} split)")
    table.add_column("component", overflow="fold")
    table.add_column("kind")
    table.add_column("without", justify="right")
    table.add_column("contribution", justify="right")
    for row in result.ablation:
        sign = "+" if row.contribution > 0 else ""
        table.add_row(Text(short(row.component, 70)), row.kind, f"{row.without:.3f}",
                      f"{sign}{row.contribution:.3f}")
    return table


def render(result: OptimizeResult) -> Group:
    """Everything the command prints after a search."""
    head = (f"best: {result.best.note} (validation {result.best_val:.3f}, seed "
            f"{result.seed_val:.3f})" if result.improved
            else f"nothing beat the seed prompt on validation ({result.seed_val:.3f})")
    parts: list[Any] = [Text(head, style="bold"), curve_table(result), test_table(result)]
    if result.comparison is not None:
        parts.append(Text(f"paired McNemar test, best vs seed on test: "
                          f"{result.comparison.verdict}"))
    if result.ablation:
        parts.append(ablation_table(result))
    diff = result.diff()
    parts.append(Text("diff seed -> best:" if diff else "the best prompt is the seed prompt",
                      style="bold"))
    if diff:
        parts.append(Text(diff))
    budget = result.budget
    parts.append(Text(
        f"task-model calls: {budget['used']} of {budget['limit']} for the search "
        f"({max(0, budget['used'] - budget['model_requests'])} answered from the cache), "
        f"{result.report_calls} for the test report; proposer calls: {budget['proposer_calls']}",
        style="dim"))
    return Group(*parts)


def fmt_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    return f"{seconds / 60:.1f} min"
