"""Is the best column really better? The summary's test of the best column against the runner-up.

The columns are ranked by pass rate, then mean score (then column order). The best is compared
with the runner-up on the tests both answered without error, paired by test and repeat:

* when their numbers of passes on those tests differ, the exact McNemar test on the verdicts
  decides;
* when they are equal (the verdicts cannot tell them apart), a paired bootstrap of the scores
  decides, with a fixed seed so that every machine prints the same p-value.

One test decides each time (no multiple testing). The best column is the winner, and only then
gets the summary's mark, when that test is significant (p < 0.05) in its favour: a 0%-0% tie or
a one-test lead is "no significant difference".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.text import Text

from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import one_line
from promptwork.stats import (
    SIGNIFICANCE,
    PairedResult,
    PassFailComparison,
    compare_pass_fail,
    format_p,
    paired_bootstrap,
)

__all__ = [
    "BOOTSTRAP_SEED",
    "WinnerTest",
    "judge_winner",
    "mark_winner",
    "rank_columns",
    "winner_line",
]

#: The bootstrap's seed: the same resamples, hence the same p-value, on every machine.
BOOTSTRAP_SEED = 0

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class WinnerTest:
    """The best column against the runner-up.

    Attributes:
        best: The best column (highest pass rate, then mean score).
        runner_up: The second.
        pairs: Tests (and repeats) both answered without error.
        test: ``"mcnemar"`` (verdicts) or ``"bootstrap"`` (scores; the verdicts were even).
        p_value: The deciding test's two-sided p-value.
        significant: The deciding test is significant in the best column's favour.
        pass_fail: The McNemar comparison (runner-up = A, best = B), None without pairs.
        scores: The bootstrap of the scores (best - runner-up), when it decided.
    """

    best: ColumnSummary
    runner_up: ColumnSummary
    pairs: int
    test: Literal["mcnemar", "bootstrap"]
    p_value: float
    significant: bool
    pass_fail: PassFailComparison | None
    scores: PairedResult | None

    @property
    def key(self) -> Key:
        return (self.best.prompt_idx, self.best.provider_idx)

    @property
    def sentence(self) -> str:
        """One plain sentence, e.g. ``good x m is significantly better than bad x m (p=0.002;
        McNemar test on 10 paired tests: good x m passed 10, bad x m passed 0)``."""
        best, other = _name(self.best), _name(self.runner_up)
        if not self.pairs:
            return (f"no significant difference between {best} and {other}: "
                    "no test has an answer without error from both")
        p = f"p{format_p(self.p_value)}"
        if self.test == "mcnemar" and self.pass_fail is not None:
            pf = self.pass_fail
            detail = (f"McNemar test on {self.pairs} paired tests: {best} passed {pf.b_passed}, "
                      f"{other} passed {pf.a_passed}")
        else:
            s = self.scores
            diff = "" if s is None else (
                f", mean score {s.mean_diff:+.3f} [95% CI {s.low:+.3f}, {s.high:+.3f}]")
            detail = (f"paired bootstrap of the scores of {self.pairs} tests (same number of "
                      f"passes){diff}")
        if self.significant:
            return f"{best} is significantly better than {other} ({p}; {detail})"
        return f"no significant difference between {best} and {other} ({p}; {detail})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": _name(self.best), "runner_up": _name(self.runner_up),
            "best_column": [self.best.prompt_idx, self.best.provider_idx],
            "runner_up_column": [self.runner_up.prompt_idx, self.runner_up.provider_idx],
            "pairs": self.pairs, "test": self.test, "p_value": self.p_value,
            "significant": self.significant, "sentence": self.sentence,
        }


def _name(col: ColumnSummary) -> str:
    return f"{col.prompt_label} \u00d7 {col.provider_label}"


def rank_columns(columns: Sequence[ColumnSummary]) -> list[ColumnSummary]:
    """The graded columns, best first: pass rate, then mean score, then column order."""
    graded = [c for c in columns if c.graded]
    return sorted(graded, key=lambda c: (-c.pass_rate, -c.mean_score,
                                         c.prompt_idx, c.provider_idx))


def _resamples(n: int) -> int:
    """Fewer resamples for many pairs, so the summary stays quick (pure-Python bootstrap)."""
    return max(1000, min(10000, 2_000_000 // max(n, 1)))


def judge_winner(rows: Iterable[Mapping[str, Any]],
                 columns: Sequence[ColumnSummary]) -> WinnerTest | None:
    """Test the best column against the runner-up (see the module doc).

    Args:
        rows: The run's result rows (streamed once; only the two columns' cells are kept).
        columns: The run's column summaries.

    Returns:
        The test, or None when fewer than two columns have graded cells.
    """
    ranked = rank_columns(columns)
    if len(ranked) < 2:
        return None
    best, other = ranked[0], ranked[1]
    keys: dict[Key, dict[tuple[int, int], tuple[bool, float]]] = {
        (best.prompt_idx, best.provider_idx): {},
        (other.prompt_idx, other.provider_idx): {},
    }
    for row in rows:
        cells = keys.get((int(row["prompt_idx"]), int(row["provider_idx"])))
        if cells is None or row.get("error") is not None:
            continue
        cells[(int(row["test_idx"]), int(row.get("repeat_idx") or 0))] = (
            bool(row.get("success")), float(row.get("score") or 0.0))
    mine = keys[(best.prompt_idx, best.provider_idx)]
    theirs = keys[(other.prompt_idx, other.provider_idx)]
    common = sorted(set(mine) & set(theirs))
    if not common:
        return WinnerTest(best, other, 0, "mcnemar", 1.0, False, None, None)
    pass_fail = compare_pass_fail([theirs[k][0] for k in common], [mine[k][0] for k in common])
    if pass_fail.a_passed != pass_fail.b_passed:
        significant = pass_fail.significant and pass_fail.fixes > pass_fail.regressions
        return WinnerTest(best, other, len(common), "mcnemar", pass_fail.p_value, significant,
                          pass_fail, None)
    scores = paired_bootstrap([theirs[k][1] for k in common], [mine[k][1] for k in common],
                              n_resamples=_resamples(len(common)), seed=BOOTSTRAP_SEED)
    significant = scores.p_value < SIGNIFICANCE and scores.mean_diff > 0
    return WinnerTest(best, other, len(common), "bootstrap", scores.p_value, significant,
                      pass_fail, scores)


def mark_winner(columns: Sequence[ColumnSummary], winner: WinnerTest | None) -> None:
    """Set ``winner`` on the column that won significantly, and clear it on the others."""
    key = winner.key if winner is not None and winner.significant else None
    for col in columns:
        col.winner = (col.prompt_idx, col.provider_idx) == key


def winner_line(winner: WinnerTest) -> Text:
    """The test's sentence for the terminal (labels cleaned; green and starred when
    significant)."""
    if winner.significant:
        return Text(f"\u2605 {one_line(winner.sentence, 600)}", style="bold green")
    return Text(one_line(winner.sentence, 600), style="bold")
