"""Row names and named metrics shared by every report."""

from __future__ import annotations

from promptwork.report.naming import metric_names, named_scores, varying_first, varying_names
from promptwork.report.terminal import build_matrix, row_name

from .synthetic import make_row


def test_varying_names_include_values_missing_from_some_tests() -> None:
    tests: list[dict[str, object]] = [{"brand": "H", "q": "a", "x": 1}, {"brand": "H", "q": "b"}]
    assert varying_names(tests) == {"q", "x"}
    assert varying_names([{"a": 1}]) == set()


def test_varying_vars_come_first_in_their_own_order() -> None:
    variables = {"brand": "H", "tone": "warm", "q": "a", "day": 2}
    assert list(varying_first(variables, {"day", "q"})) == ["q", "day", "brand", "tone"]


def test_row_name_is_the_description_else_the_varying_vars_first() -> None:
    shared = "Hearth & Home, a long brand name shared by every single test of the suite"
    rows = [make_row(0, vars={"brand": shared, "q": "first"}),
            make_row(1, vars={"brand": shared, "q": "second"})]
    rows[1]["description"] = "the second case"
    matrix = build_matrix(rows, 10)
    assert row_name(matrix, 1, 60) == "the second case"
    assert row_name(matrix, 0, 30).startswith("q=first, brand=Hearth")
    assert row_name(matrix, 0, 60, {0: "given"}) == "given"  # an explicit map wins


def test_named_scores_average_the_checks_of_one_name() -> None:
    row = make_row(0)
    row["grading"]["components"] = [
        {"metric": "facts", "score": 1.0}, {"metric": "facts", "score": 0.0},
        {"metric": "tone", "score": 0.5}, {"score": 1.0}]
    assert named_scores(row) == (("facts", 0.5), ("tone", 0.5))
    assert named_scores(make_row(1, error="timeout")) == ()
    assert metric_names([{"b": 1, "a": 2}, {"c": 3, "a": 1}]) == ["b", "a", "c"]
