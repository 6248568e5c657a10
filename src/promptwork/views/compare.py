"""View model of a comparison: a baseline (A) against a run or column (B).

Built on :func:`promptwork.report.runcompare.compare_stored`, which pairs the cells and runs the
tests (exact McNemar on verdicts, seeded paired bootstrap on scores); nothing is recomputed
here. The view adds what a page and the terminal show: per prompt x model the pass-rate and
mean-score deltas with their direction, the verdicts in plain words ("no significant
difference" when there is none), the tests that flipped (regressions and fixes) filtered and
paged, and a word diff of the two answers to one test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from promptwork.errors import ConfigError
from promptwork.report.compare import ChangedCell, Comparison
from promptwork.report.runcompare import ColumnPair, RunComparison, compare_stored
from promptwork.stats import SIGNIFICANCE, format_p
from promptwork.store import Store
from promptwork.store.pairs import column_cell
from promptwork.views.textdiff import TextDiff, word_diff

__all__ = [
    "FLIP_FILTERS",
    "AnswerDiff",
    "ComparePair",
    "CompareView",
    "Delta",
    "FlipRow",
    "answer_diff",
    "build_compare",
]

FlipFilter = Literal["all", "regressions", "fixes"]
FLIP_FILTERS: tuple[FlipFilter, ...] = ("all", "regressions", "fixes")
Direction = Literal["better", "worse", "same", "none"]


@dataclass(frozen=True, slots=True)
class Delta:
    """A measure on A (the baseline) and on B, and the change B - A."""

    a: float | None
    b: float | None

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def direction(self) -> Direction:
        """``better`` when B is higher, ``worse`` when lower (the class a template colours)."""
        change = self.change
        if change is None:
            return "none"
        if abs(change) < 1e-12:
            return "same"
        return "better" if change > 0 else "worse"


@dataclass(frozen=True, slots=True)
class ComparePair:
    """One compared prompt x model column pair.

    Attributes:
        index: Its position in the comparison.
        label_a: Column A (the baseline) as ``RUN PROMPT x MODEL``.
        label_b: Column B.
        pass_rate: Pass rates over the pairs compared.
        score: Mean scores over the pairs compared.
        score_interval: 95% bootstrap interval of the mean score change.
        pass_p: McNemar p-value (None without pairs).
        score_p: Bootstrap p-value of the score change.
        significant: Pass/fail differs significantly.
        score_significant: The mean score differs significantly.
        verdict: The pass/fail verdict in one sentence (``plain`` says it in a phrase).
        score_verdict: The score verdict in one sentence.
        comparison: The comparison itself (counts, flipped tests).
        warnings: Why the two sides may not compare (checks, data or parameters differ).
    """

    index: int
    run_a: str
    column_a: tuple[int, int]
    run_b: str
    column_b: tuple[int, int]
    label_a: str
    label_b: str
    pass_rate: Delta
    score: Delta
    score_interval: tuple[float, float] | None
    pass_p: float | None
    score_p: float | None
    significant: bool
    score_significant: bool
    verdict: str
    score_verdict: str
    comparison: Comparison
    warnings: tuple[str, ...]

    @property
    def pairs(self) -> int:
        return self.comparison.pairs

    @property
    def regressions(self) -> int:
        return len(self.comparison.regressions)

    @property
    def fixes(self) -> int:
        return len(self.comparison.fixes)

    @property
    def plain(self) -> str:
        """The verdict in one short phrase: ``B better, p=0.003`` (McNemar on pass/fail),
        ``A scores higher, p=0.02`` (pass/fail alike, the paired bootstrap on scores not),
        ``no significant difference`` or ``nothing to compare``."""
        pf = self.comparison.pass_fail
        if pf is None:
            return "nothing to compare"
        if self.significant:
            return f"{'B' if pf.fixes > pf.regressions else 'A'} better, p{format_p(pf.p_value)}"
        change = self.score.change
        if self.score_significant and self.score_p is not None and change:
            return f"{'B' if change > 0 else 'A'} scores higher, p{format_p(self.score_p)}"
        return "no significant difference"


@dataclass(frozen=True, slots=True)
class FlipRow:
    """A test whose verdict flipped between A and B."""

    kind: Literal["regression", "fix"]
    pair: int
    cell: ChangedCell

    @property
    def vars_text(self) -> str:
        return json.dumps(self.cell.vars, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class AnswerDiff:
    """The two answers to one test, and their word diff."""

    pair: int
    test_idx: int
    repeat_idx: int
    vars: dict[str, Any]
    output_a: str | None
    output_b: str | None
    verdict_a: str
    verdict_b: str
    diff: TextDiff


@dataclass(frozen=True, slots=True)
class CompareView:
    """A comparison page: the pairs, the flipped tests (filtered, one page) and a diff.

    Attributes:
        run_a: Run A's id (the baseline).
        run_b: Run B's id (the same as A for two columns of one run).
        pairs: Every compared column pair.
        flips: The page of flipped tests shown.
        flips_total: Flipped tests matching the filter.
        flip_filter: ``all``, ``regressions`` or ``fixes``.
        search: Text the flipped tests' vars or answers contain.
        pair_filter: Only this pair's flips (None: all pairs).
        page: Page number (0-based).
        page_size: Flipped tests per page.
        diff: The answer diff asked for (or of the first flip shown).
        result: The underlying comparison (for ``--json``).
    """

    run_a: str
    run_b: str
    pairs: tuple[ComparePair, ...]
    flips: tuple[FlipRow, ...]
    flips_total: int
    flip_filter: FlipFilter
    search: str
    pair_filter: int | None
    page: int
    page_size: int
    diff: AnswerDiff | None
    result: RunComparison

    @property
    def pages(self) -> int:
        return max(1, -(-self.flips_total // self.page_size))

    @property
    def same_run(self) -> bool:
        return self.run_a == self.run_b


def _pair(index: int, pair: ColumnPair) -> ComparePair:
    comp = pair.comparison
    pf, scores = comp.pass_fail, comp.scores
    rate = (Delta(pf.a_passed / pf.n, pf.b_passed / pf.n) if pf is not None and pf.n
            else Delta(None, None))
    return ComparePair(
        index=index, run_a=pair.run_a, column_a=pair.column_a, run_b=pair.run_b,
        column_b=pair.column_b, label_a=comp.label_a, label_b=comp.label_b,
        pass_rate=rate, score=Delta(comp.mean_score_a, comp.mean_score_b),
        score_interval=None if scores is None else (scores.low, scores.high),
        pass_p=None if pf is None else pf.p_value,
        score_p=None if scores is None else scores.p_value,
        significant=comp.significant,
        score_significant=scores is not None and scores.p_value < SIGNIFICANCE,
        verdict=comp.verdict, score_verdict=comp.score_verdict, comparison=comp,
        warnings=pair.warnings,
    )


def _matches(cell: ChangedCell, needle: str) -> bool:
    text = " ".join([json.dumps(cell.vars, ensure_ascii=False, default=str),
                     cell.output_a or "", cell.output_b or "", cell.reason_b])
    return needle in text.lower()


def build_compare(
    store: Store,
    run_a: str,
    run_b: str | None = None,
    col_a: str | None = None,
    col_b: str | None = None,
    *,
    flips: str = "all",
    search: str = "",
    pair: int | None = None,
    page: int = 0,
    page_size: int = 50,
    diff_test: int | None = None,
    diff_repeat: int = 0,
) -> CompareView:
    """Compare run (or column) B against the baseline A.

    Args:
        store: The store.
        run_a: The baseline run (id or unique prefix).
        run_b: The run compared with it; None compares two columns of ``run_a``.
        col_a: Column of A (label, ``PROMPT@MODEL`` or ``P:M``).
        col_b: Column of B.
        flips: Which flipped tests to list: ``all``, ``regressions`` or ``fixes``.
        search: Keep flipped tests whose vars, answers or reason contain this text.
        pair: Only the flips of this pair (its index), and the pair of the diff.
        page: Page of flipped tests (0-based).
        page_size: Flipped tests per page.
        diff_test: Test whose answers are diffed (default: the first flip shown).
        diff_repeat: Its repeat.

    Raises:
        ConfigError: Unknown runs, columns, filter or pair; not enough to compare.
    """
    if flips not in FLIP_FILTERS:
        raise ConfigError(f"unknown filter {flips!r}; use {', '.join(FLIP_FILTERS)}")
    chosen: FlipFilter = ("regressions" if flips == "regressions" else
                          "fixes" if flips == "fixes" else "all")
    if page < 0 or page_size < 1:
        raise ConfigError("page must be 0 or more and page_size at least 1")
    result = compare_stored(store, run_a, run_b, col_a, col_b)
    pairs = tuple(_pair(i, p) for i, p in enumerate(result.pairs))
    if pair is not None and not 0 <= pair < len(pairs):
        raise ConfigError(f"no compared pair {pair}: there are {len(pairs)}")
    needle = search.strip().lower()
    rows: list[FlipRow] = []
    for p in pairs:
        if pair is not None and p.index != pair:
            continue
        if flips in ("all", "regressions"):
            rows += [FlipRow("regression", p.index, c) for c in p.comparison.regressions]
        if flips in ("all", "fixes"):
            rows += [FlipRow("fix", p.index, c) for c in p.comparison.fixes]
    if needle:
        rows = [r for r in rows if _matches(r.cell, needle)]
    rows.sort(key=lambda r: (r.pair, r.cell.test_idx, r.cell.repeat_idx))
    shown = tuple(rows[page * page_size:(page + 1) * page_size])
    diff = None
    if diff_test is not None:
        diff = answer_diff(store, result.pairs[pair or 0], pair or 0, diff_test, diff_repeat)
    elif shown:
        first = shown[0]
        diff = answer_diff(store, result.pairs[first.pair], first.pair, first.cell.test_idx,
                           first.cell.repeat_idx)
    return CompareView(result.run_a, result.run_b, pairs, shown, len(rows),
                       chosen, search, pair, page, page_size, diff, result)


def _verdict(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "missing"
    if row.get("error") is not None:
        return "error"
    return "pass" if row.get("success") else "fail"


def answer_diff(store: Store, pair: ColumnPair, index: int, test: int,
                repeat: int = 0) -> AnswerDiff:
    """The answers of A and B to one test (by index and repeat) and their word diff.

    Raises:
        ConfigError: Neither side has that test.
    """
    a = column_cell(store, pair.run_a, pair.column_a, test, repeat)
    b = column_cell(store, pair.run_b, pair.column_b, test, repeat)
    if a is None and b is None:
        raise ConfigError(f"test #{test} (repeat {repeat}) has no answer on either side")
    found = b if b is not None else a
    assert found is not None
    out_a = None if a is None else (a["output"] if a["error"] is None else a["error"])
    out_b = None if b is None else (b["output"] if b["error"] is None else b["error"])
    return AnswerDiff(index, test, repeat, dict(found.get("vars") or {}), out_a, out_b,
                      _verdict(a), _verdict(b), word_diff(out_a, out_b))
