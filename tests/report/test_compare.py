"""Paired comparisons: McNemar on known discordant counts, verdict wording, pairing rules."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from promptwork.errors import ConfigError
from promptwork.report.compare import compare_columns, render_comparison, select_column
from promptwork.stats import mcnemar_exact

from .synthetic import ANSI, make_row


def pair_rows(regressions: int, fixes: int, both_pass: int, both_fail: int,
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of A and B with exactly the given discordant and concordant counts."""
    a: list[dict[str, Any]] = []
    b: list[dict[str, Any]] = []
    plan = ([(True, False)] * regressions + [(False, True)] * fixes
            + [(True, True)] * both_pass + [(False, False)] * both_fail)
    for t, (pa, pb) in enumerate(plan):
        a.append(make_row(t, 0, 0, success=pa, output=f"a{t}"))
        b.append(make_row(t, 1, 0, success=pb, output=f"b{t}"))
    return a, b


def render(renderable: Any) -> str:
    console = Console(record=True, width=200, force_terminal=True)
    console.print(renderable)
    return console.export_text()


def test_known_counts_give_the_exact_mcnemar_p_and_verdict() -> None:
    a, b = pair_rows(regressions=1, fixes=9, both_pass=20, both_fail=10)
    comp = compare_columns(a, b, label_a="v1", label_b="v2")
    assert comp.pass_fail is not None
    assert (comp.pass_fail.b, comp.pass_fail.c) == (1, 9)
    # Exact two-sided binomial: 2 * (C(10,0) + C(10,1)) / 2**10.
    assert comp.pass_fail.p_value == pytest.approx(22 / 1024)
    assert comp.pass_fail.p_value == mcnemar_exact(1, 9)
    assert comp.significant
    assert comp.pairs == 40
    assert comp.verdict.startswith("v2 is better (p=0.021): 9 fixes and 1 regression")
    assert len(comp.regressions) == 1 and len(comp.fixes) == 9
    regression = comp.regressions[0]
    assert regression.test_idx == 0
    assert regression.vars == {"city": "city 0", "n": 0}
    assert (regression.output_a, regression.output_b) == ("a0", "b0")
    assert regression.reason_b == "expected 'Paris'"


def test_a_better_when_b_regresses() -> None:
    a, b = pair_rows(regressions=10, fixes=0, both_pass=5, both_fail=5)
    comp = compare_columns(a, b, label_a="old", label_b="new")
    assert comp.significant
    assert comp.verdict.startswith("old is better (p=0.002)")


def test_not_significant_is_stated_plainly() -> None:
    a, b = pair_rows(regressions=3, fixes=5, both_pass=10, both_fail=2)
    comp = compare_columns(a, b)
    assert comp.pass_fail is not None
    assert comp.pass_fail.p_value == pytest.approx(2 * (1 + 8 + 28 + 56) / 256)
    assert not comp.significant
    assert comp.verdict.startswith(
        "no significant difference (p=0.73): 5 fixes and 3 regressions in 20 paired tests")
    text = render(render_comparison(comp))
    assert "no significant difference (p=0.73)" in text
    assert "Regressions (A pass → B fail): 3" in text
    assert "Fixes (A fail → B pass): 5" in text


def test_identical_columns() -> None:
    a, b = pair_rows(regressions=0, fixes=0, both_pass=4, both_fail=1)
    comp = compare_columns(a, b)
    assert comp.pass_fail is not None and comp.pass_fail.p_value == 1.0
    assert comp.verdict.startswith("no significant difference (p=1)")
    assert comp.scores is not None and comp.scores.mean_diff == 0.0
    assert "no significant difference in score" in comp.score_verdict


def test_errors_are_skipped_and_counted() -> None:
    a, b = pair_rows(regressions=1, fixes=1, both_pass=2, both_fail=0)
    a.append(make_row(10, 0, 0, error="timeout"))
    b.append(make_row(10, 1, 0, success=True))
    a.append(make_row(11, 0, 0, success=True))
    b.append(make_row(11, 1, 0, error="rate limited"))
    comp = compare_columns(a, b)
    assert comp.skipped_errors == 2
    assert comp.pairs == 4
    assert comp.pass_fail is not None and comp.pass_fail.n == 4
    assert "2 pairs skipped because a call errored" in render(render_comparison(comp))


def test_unpaired_cells_are_counted() -> None:
    a, b = pair_rows(regressions=0, fixes=0, both_pass=3, both_fail=0)
    a.append(make_row(20, 0, 0))
    comp = compare_columns(a, b)
    assert (comp.unpaired_a, comp.unpaired_b, comp.pairs) == (1, 0, 3)


def test_nothing_to_compare() -> None:
    comp = compare_columns([make_row(0, error="x")], [make_row(0, 1)])
    assert comp.pass_fail is None and comp.scores is None
    assert comp.verdict.startswith("nothing to compare")
    assert not comp.significant
    render(render_comparison(comp))


def test_scores_use_the_paired_bootstrap() -> None:
    a = [make_row(t, 0, 0, success=True, score=0.5) for t in range(30)]
    b = [make_row(t, 1, 0, success=True, score=0.9) for t in range(30)]
    comp = compare_columns(a, b, label_a="A", label_b="B", n_resamples=500)
    assert comp.scores is not None
    assert comp.scores.mean_diff == pytest.approx(0.4)
    assert comp.scores.p_value < 0.05
    assert comp.score_verdict.startswith("B scores higher")
    assert not comp.significant  # pass/fail did not change


def test_two_columns_of_one_run(rows: list[dict[str, Any]]) -> None:
    comp = compare_columns(select_column(rows, 0, 0), select_column(rows, 1, 1))
    # Column (0, 0) passes tests 0, 1, 3; column (1, 1) fails all four.
    assert comp.pass_fail is not None
    assert (comp.pass_fail.b, comp.pass_fail.c) == (3, 0)
    assert [c.test_idx for c in comp.regressions] == [0, 1, 3]


def test_a_whole_run_on_one_side_is_refused(rows: list[dict[str, Any]]) -> None:
    with pytest.raises(ConfigError, match="select_column"):
        compare_columns(rows, select_column(rows, 0, 0))


def test_pairing_by_vars_ignores_test_order() -> None:
    a = [make_row(t, success=t % 2 == 0, vars={"q": f"q{t}"}) for t in range(6)]
    b = [make_row(5 - t, success=True, vars={"q": f"q{t}"}) for t in range(6)]
    comp = compare_columns(a, b, key="vars")
    assert comp.pairs == 6
    assert comp.pass_fail is not None and comp.pass_fail.c == 3
    by_test = compare_columns(a, b, key="test")
    assert by_test.pass_fail is not None and by_test.pass_fail.c == 3  # same count, other pairs
    with pytest.raises(ConfigError, match="pairing key"):
        compare_columns(a, b, key="name")  # type: ignore[arg-type]


def test_render_neutralises_outputs() -> None:
    a = [make_row(0, success=True, output="[bold]fine[/bold]")]
    b = [make_row(0, 1, success=False, output=ANSI)]
    text = render(render_comparison(compare_columns(a, b)))
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold]fine[/bold]" in text
    assert "\\x1b[31mRED" in text


def test_to_dict_is_json_ready() -> None:
    import json

    a, b = pair_rows(regressions=2, fixes=1, both_pass=1, both_fail=1)
    data = compare_columns(a, b).to_dict()
    json.dumps(data)
    assert data["pass_fail"]["regressions"] == 2
    assert len(data["regressions"]) == 2 and len(data["fixes"]) == 1
