"""What an optimization reports in the terminal, and the provenance written into the best
prompt's front matter. (The result types live in :mod:`promptwork.optimizer.result`, the
ablation in :mod:`promptwork.optimizer.ablation`; they are re-exported here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from rich.console import Group
from rich.table import Table
from rich.text import Text

from promptwork.optimizer.ablation import AblationRow, ablation, ablation_candidates
from promptwork.optimizer.result import (
    OptimizeResult,
    SplitScore,
    left_out_text,
    paired_test,
    text_diff,
)
from promptwork.optimizer.strategies.components import short

__all__ = ["AblationRow", "SplitScore", "ablation", "ablation_candidates", "paired_test",
           "provenance_header", "read_provenance", "render", "text_diff"]

PROVENANCE_MARK = "# promptwork optimize"


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


def stop_text(result: OptimizeResult) -> str:
    """``search stopped after 28 of 60 search calls: no candidates left: ...``."""
    budget = result.budget
    return (f"search stopped after {budget['used']} of {budget.get('search_limit', '?')} search "
            f"calls: {result.stop_reason}")


def render(result: OptimizeResult) -> Group:
    """Everything the command prints after a search."""
    head = (f"best: {result.best.note} (validation {result.best_val:.3f}, seed "
            f"{result.seed_val:.3f})" if result.improved
            else f"nothing beat the seed prompt on validation ({result.seed_val:.3f})")
    parts: list[Any] = [Text(head, style="bold")]
    parts += [Text(line, style="dim") for line in result.plan.choice_lines()]
    if result.stop_reason:
        parts.append(Text(stop_text(result)))
    parts += [curve_table(result), test_table(result)]
    if result.comparison is not None:
        parts.append(Text(f"paired McNemar test, best vs seed on test: "
                          f"{result.comparison.verdict}"))
    if result.test_left_out:
        parts.append(Text(left_out_text(result.test_left_out), style="dim"))
    if result.ablation:
        parts.append(ablation_table(result))
    diff = result.diff()
    parts.append(Text("diff seed -> best:" if diff else "the best prompt is the seed prompt",
                      style="bold"))
    if diff:
        parts.append(Text(diff))
    if result.ablation_skipped:
        parts.append(Text(f"ablation: {result.ablation_skipped} component(s) not measured, the "
                          "budget was used up (raise --budget to measure them)", style="dim"))
    budget = result.budget
    parts.append(Text(
        f"task-model calls: {result.calls_used} of the budget of {budget['limit']}: "
        f"{budget['used']} for the search "
        f"({max(0, budget['used'] - budget['model_requests'])} answered from the cache), "
        f"{result.report_calls} for the test report and ablation; proposer calls: "
        f"{budget['proposer_calls']}", style="dim"))
    return Group(*parts)
