"""The summary's winner test: best column against the runner-up, star only when significant."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from promptwork.report.summary import summarize
from promptwork.report.terminal import summary_table
from promptwork.report.winner import judge_winner, mark_winner, rank_columns

from .synthetic import make_row

PROMPTS = ["first", "second", "third"]
MODELS = ["m"]


def rows_of(*columns: list[tuple[bool, float]]) -> list[dict[str, Any]]:
    """One column per argument: (passed, score) per test."""
    return [make_row(t, prompt=p, success=ok, score=score)
            for p, cells in enumerate(columns) for t, (ok, score) in enumerate(cells)]


def render(rows: list[dict[str, Any]]) -> str:
    columns = summarize(rows, PROMPTS, MODELS)
    mark_winner(columns, judge_winner(rows, columns))
    console = Console(width=200, record=True)
    console.print(summary_table(columns))
    return console.export_text()


def test_a_clear_win_is_significant_and_starred() -> None:
    rows = rows_of([(False, 0.0)] * 12, [(True, 1.0)] * 12, [(True, 1.0)] * 6 + [(False, 0.0)] * 6)
    columns = summarize(rows, PROMPTS, MODELS)
    winner = judge_winner(rows, columns)
    assert winner is not None
    assert (winner.best.prompt_label, winner.runner_up.prompt_label) == ("second", "third")
    assert winner.test == "mcnemar" and winner.pairs == 12
    assert abs(winner.p_value - 2 * 0.5 ** 6) < 1e-12  # 6 discordant pairs, all for "second"
    assert winner.significant
    assert winner.sentence.startswith("second \u00d7 m is significantly better than third "
                                      "\u00d7 m (p=0.031")
    mark_winner(columns, winner)
    assert [c.winner for c in columns] == [False, True, False]
    assert render(rows).count("★") == 1


def test_a_small_lead_is_no_significant_difference() -> None:
    rows = rows_of([(True, 1.0)] * 8 + [(False, 0.0)] * 2, [(True, 1.0)] * 7 + [(False, 0.0)] * 3)
    winner = judge_winner(rows, summarize(rows, PROMPTS, MODELS))
    assert winner is not None and winner.best.prompt_label == "first"
    assert not winner.significant and winner.p_value == 1.0
    assert winner.sentence.startswith("no significant difference between first \u00d7 m and "
                                      "second \u00d7 m (p=1")
    assert "★" not in render(rows)


def test_a_zero_zero_tie_gets_no_star() -> None:
    rows = rows_of([(False, 0.0)] * 10, [(False, 0.0)] * 10)
    winner = judge_winner(rows, summarize(rows, PROMPTS, MODELS))
    assert winner is not None and winner.test == "bootstrap"  # the verdicts cannot decide
    assert not winner.significant and winner.p_value == 1.0
    assert "no significant difference" in winner.sentence
    text = render(rows)
    assert "0.0% [0.0" in text and "★" not in text


def test_equal_passes_are_decided_by_the_scores_with_a_fixed_seed() -> None:
    rows = rows_of([(True, 0.9)] * 20, [(True, 0.6)] * 10 + [(True, 0.7)] * 10)
    columns = summarize(rows, PROMPTS, MODELS)
    first = judge_winner(rows, columns)
    assert first is not None and first.test == "bootstrap" and first.significant
    assert first.scores is not None and abs(first.scores.mean_diff - 0.25) < 1e-9
    again = judge_winner(rows, summarize(rows, PROMPTS, MODELS))
    assert again is not None and again.p_value == first.p_value  # same seed, same answer


def test_errors_are_left_out_of_the_pairs() -> None:
    rows = rows_of([(True, 1.0)] * 10, [(False, 0.0)] * 10)
    rows[0] = make_row(0, prompt=0, error="timeout")
    winner = judge_winner(rows, summarize(rows, PROMPTS, MODELS))
    assert winner is not None and winner.pairs == 9
    assert abs(winner.p_value - 2 * 0.5 ** 9) < 1e-12


def test_fewer_than_two_graded_columns_have_no_test() -> None:
    rows = rows_of([(True, 1.0)] * 5)
    columns = summarize(rows, PROMPTS, MODELS)
    assert judge_winner(rows, columns) is None
    mark_winner(columns, None)
    assert "★" not in render(rows)


def test_ranking_breaks_pass_rate_ties_by_score() -> None:
    rows = rows_of([(True, 0.5)] * 4, [(True, 0.8)] * 4)
    ranked = rank_columns(summarize(rows, PROMPTS, MODELS))
    assert [c.prompt_label for c in ranked] == ["second", "first"]
