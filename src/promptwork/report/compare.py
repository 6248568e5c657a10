"""Paired comparison of two columns: two runs, or two prompt x model columns of one run.

Cells are paired by test (``test_idx``, ``repeat_idx``) or by the test's vars, so both sides
answered the same input. Pairs where either side is an error (a failed model call) are left out
and counted: an error says nothing about the prompt's quality. Pass/fail is compared with the
exact McNemar test, scores with a paired bootstrap; "B" is always compared against "A".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from promptwork.errors import ConfigError
from promptwork.report.terminal import compact_vars, one_line
from promptwork.stats import (
    SIGNIFICANCE,
    PairedResult,
    PassFailComparison,
    compare_pass_fail,
    format_p,
    paired_bootstrap,
)

__all__ = [
    "ChangedCell",
    "Comparison",
    "compare_columns",
    "render_comparison",
    "select_column",
]

PairKey = Literal["test", "vars"]


@dataclass(frozen=True, slots=True)
class ChangedCell:
    """A paired test whose verdict changed between A and B."""

    test_idx: int
    repeat_idx: int
    vars: dict[str, Any]
    output_a: str | None
    output_b: str | None
    score_a: float
    score_b: float
    reason_b: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_idx": self.test_idx, "repeat_idx": self.repeat_idx, "vars": self.vars,
            "output_a": self.output_a, "output_b": self.output_b,
            "score_a": self.score_a, "score_b": self.score_b, "reason_b": self.reason_b,
        }


@dataclass
class Comparison:
    """Result of :func:`compare_columns`.

    Attributes:
        label_a: Name of side A (for display).
        label_b: Name of side B.
        pairs: Pairs compared (both sides answered without error).
        skipped_errors: Pairs left out because A or B (or both) errored.
        unpaired_a: Cells of A with no counterpart in B.
        unpaired_b: Cells of B with no counterpart in A.
        pass_fail: McNemar comparison of pass/fail, ``None`` without pairs.
        scores: Paired bootstrap of the scores (``b - a``), ``None`` without pairs.
        regressions: Pairs A passed and B failed.
        fixes: Pairs A failed and B passed.
    """

    label_a: str
    label_b: str
    pairs: int
    skipped_errors: int
    unpaired_a: int
    unpaired_b: int
    pass_fail: PassFailComparison | None
    scores: PairedResult | None
    regressions: list[ChangedCell] = field(default_factory=list)
    fixes: list[ChangedCell] = field(default_factory=list)
    #: Mean score of each side over the pairs compared (None without pairs).
    mean_score_a: float | None = None
    mean_score_b: float | None = None

    @property
    def significant(self) -> bool:
        """Whether pass/fail differs significantly (McNemar, p < 0.05)."""
        return self.pass_fail is not None and self.pass_fail.significant

    @property
    def verdict(self) -> str:
        """One plain sentence about pass/fail.

        E.g. ``"no significant difference (p=0.42): 3 fixes and 2 regressions in 50 paired
        tests; ..."`` or ``"B is better (p=0.0018): 12 fixes and 1 regression in ..."``.
        """
        pf = self.pass_fail
        if pf is None:
            return (f"nothing to compare: no test has a result without error on both sides "
                    f"({self.skipped_errors} pairs skipped for errors)")
        counts = (f"{_plural(pf.fixes, 'fix', 'fixes')} and "
                  f"{_plural(pf.regressions, 'regression')} in {_plural(pf.n, 'paired test')}")
        if not pf.significant:
            return (f"no significant difference (p{format_p(pf.p_value)}): {counts}; "
                    f"{self.label_a} passed {pf.a_passed}, {self.label_b} passed {pf.b_passed}")
        better = self.label_b if pf.fixes > pf.regressions else self.label_a
        return f"{better} is better (p{format_p(pf.p_value)}): {counts}"

    @property
    def score_verdict(self) -> str:
        """One sentence about the mean score difference (B - A) and its bootstrap interval."""
        s = self.scores
        if s is None:
            return "no paired scores"
        change = (f"mean score {self.label_b} - {self.label_a} = {s.mean_diff:+.3f} "
                  f"[95% CI {s.low:+.3f}, {s.high:+.3f}]")
        if s.p_value >= SIGNIFICANCE:
            return f"no significant difference in score (p{format_p(s.p_value)}): {change}"
        higher = self.label_b if s.mean_diff > 0 else self.label_a
        return f"{higher} scores higher (p{format_p(s.p_value)}): {change}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.label_a, "b": self.label_b, "pairs": self.pairs,
            "skipped_errors": self.skipped_errors,
            "unpaired_a": self.unpaired_a, "unpaired_b": self.unpaired_b,
            "pass_fail": self.pass_fail.to_dict() if self.pass_fail else None,
            "scores": None if self.scores is None else {
                "mean_diff": self.scores.mean_diff, "low": self.scores.low,
                "high": self.scores.high, "p_value": self.scores.p_value,
            },
            "mean_score_a": self.mean_score_a, "mean_score_b": self.mean_score_b,
            "significant": self.significant,
            "verdict": self.verdict,
            "score_verdict": self.score_verdict,
            "regressions": [c.to_dict() for c in self.regressions],
            "fixes": [c.to_dict() for c in self.fixes],
        }


def select_column(
    rows: Iterable[Mapping[str, Any]], prompt_idx: int, provider_idx: int
) -> Iterator[Mapping[str, Any]]:
    """The rows of one prompt x provider column (lazily)."""
    for row in rows:
        if int(row["prompt_idx"]) == prompt_idx and int(row["provider_idx"]) == provider_idx:
            yield row


def _pair_key(row: Mapping[str, Any], key: PairKey) -> tuple[Any, ...]:
    repeat = int(row.get("repeat_idx") or 0)
    if key == "test":
        return (int(row["test_idx"]), repeat)
    return (json.dumps(row.get("vars") or {}, sort_keys=True, default=str), repeat)


def _index(rows: Iterable[Mapping[str, Any]], key: PairKey, side: str) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = {}
    for row in rows:
        k = _pair_key(row, key)
        if k in out:
            raise ConfigError(
                f"side {side} has two results for the same {'test' if key == 'test' else 'vars'} "
                f"and repeat ({k[0]}, repeat {k[1]}): it holds more than one prompt \u00d7 model "
                "column; select one with select_column(rows, prompt_idx, provider_idx)"
            )
        # Keep only what a comparison needs, so large runs stay light.
        out[k] = {
            "test_idx": int(row["test_idx"]), "repeat_idx": int(row.get("repeat_idx") or 0),
            "vars": dict(row.get("vars") or {}), "output": row.get("output"),
            "error": row.get("error"), "success": bool(row.get("success")),
            "score": float(row.get("score") or 0.0),
            "reason": str((row.get("grading") or {}).get("reason", "")),
        }
    return out


def compare_columns(
    rows_a: Iterable[Mapping[str, Any]],
    rows_b: Iterable[Mapping[str, Any]],
    key: PairKey = "test",
    *,
    label_a: str = "A",
    label_b: str = "B",
    n_resamples: int = 10000,
    seed: int = 0,
) -> Comparison:
    """Compare column B against column A cell by cell.

    Args:
        rows_a: Result rows of A: one prompt x model column (see :func:`select_column`).
        rows_b: Result rows of B, same shape.
        key: ``"test"`` pairs cells by ``(test_idx, repeat_idx)`` (same suite); ``"vars"`` pairs
            by the test's vars and repeat (runs of suites whose test order differs).
        label_a: Display name of A.
        label_b: Display name of B.
        n_resamples: Bootstrap resamples for the score comparison.
        seed: Bootstrap seed (results are reproducible).

    Raises:
        ConfigError: An unknown ``key``, or a side holding several cells for one test (more
            than one column).
    """
    if key not in ("test", "vars"):
        raise ConfigError(f"unknown pairing key {key!r}; use 'test' or 'vars'")
    a = _index(rows_a, key, "A")
    b = _index(rows_b, key, "B")
    common = sorted(set(a) & set(b), key=lambda k: (a[k]["test_idx"], a[k]["repeat_idx"]))
    pass_a: list[bool] = []
    pass_b: list[bool] = []
    score_a: list[float] = []
    score_b: list[float] = []
    regressions: list[ChangedCell] = []
    fixes: list[ChangedCell] = []
    skipped = 0
    for k in common:
        ra, rb = a[k], b[k]
        if ra["error"] is not None or rb["error"] is not None:
            skipped += 1
            continue
        pass_a.append(ra["success"])
        pass_b.append(rb["success"])
        score_a.append(ra["score"])
        score_b.append(rb["score"])
        if ra["success"] != rb["success"]:
            changed = ChangedCell(
                test_idx=rb["test_idx"], repeat_idx=rb["repeat_idx"], vars=rb["vars"],
                output_a=ra["output"], output_b=rb["output"],
                score_a=ra["score"], score_b=rb["score"], reason_b=rb["reason"],
            )
            (regressions if ra["success"] else fixes).append(changed)
    pass_fail = compare_pass_fail(pass_a, pass_b) if pass_a else None
    scores = (paired_bootstrap(score_a, score_b, n_resamples=n_resamples, seed=seed)
              if score_a else None)
    return Comparison(
        label_a=label_a, label_b=label_b, pairs=len(pass_a), skipped_errors=skipped,
        unpaired_a=len(set(a) - set(b)), unpaired_b=len(set(b) - set(a)),
        pass_fail=pass_fail, scores=scores, regressions=regressions, fixes=fixes,
        mean_score_a=sum(score_a) / len(score_a) if score_a else None,
        mean_score_b=sum(score_b) / len(score_b) if score_b else None,
    )


def render_comparison(comp: Comparison, max_items: int = 10) -> RenderableType:
    """A Rich renderable: the verdicts in plain words, then the regressions and fixes.

    Outputs and vars are cleaned of control characters and never parsed as Rich markup.
    """
    parts: list[RenderableType] = []
    head = Text()
    head.append("A", style="bold")
    head.append(f" = {one_line(comp.label_a, 80)}    ")
    head.append("B", style="bold")
    head.append(f" = {one_line(comp.label_b, 80)}")
    parts.append(head)
    style = "bold green" if comp.significant else "bold"
    parts.append(Text(one_line(comp.verdict, 400), style=style))
    parts.append(Text(one_line(comp.score_verdict, 400)))
    notes = []
    if comp.skipped_errors:
        notes.append(f"{comp.skipped_errors} pairs skipped because a call errored")
    if comp.unpaired_a or comp.unpaired_b:
        notes.append(f"{comp.unpaired_a} results only in A, {comp.unpaired_b} only in B")
    if notes:
        parts.append(Text("; ".join(notes), style="dim"))
    for title, cells, colour in (("Regressions (A pass → B fail)", comp.regressions, "red"),
                                 ("Fixes (A fail → B pass)", comp.fixes, "green")):
        if not cells:
            continue
        table = Table(title=Text(f"{title}: {len(cells)}", style=colour), show_lines=True)
        table.add_column("Test", overflow="fold", max_width=36)
        table.add_column("Output A", overflow="fold", max_width=48)
        table.add_column("Output B", overflow="fold", max_width=48)
        for cell in cells[:max_items]:
            table.add_row(
                Text(f"#{cell.test_idx}" + (f" r{cell.repeat_idx}" if cell.repeat_idx else "")
                     + " " + compact_vars(cell.vars, 50)),
                Text(one_line(cell.output_a, 120)),
                Text(one_line(cell.output_b, 120) + (
                    "\n" + one_line(cell.reason_b, 120)
                    if cell.reason_b and cells is comp.regressions else "")),
            )
        if len(cells) > max_items:
            table.caption = f"{len(cells) - max_items} more not shown"
        parts.append(table)
    return Group(*parts)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
