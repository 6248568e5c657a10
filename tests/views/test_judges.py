"""The judge table: each model-graded check x grader against the human ratings, per run and
across runs (majority of raters, ties left out, error cells and other checks ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.stats_agreement import Confusion
from promptwork.store import Store
from promptwork.store.ratings import add_rating
from promptwork.types import Completion
from promptwork.views.judges import judge_verdicts, run_judges

GPT = "openai:gpt-5"


def part(check: str, passed: bool, grader: str | None = GPT) -> CheckResult:
    return CheckResult(passed, float(passed), "", None, check, grader=grader)


def graded(test: int, *parts: CheckResult) -> CellResult:
    grade = CheckResult(all(p.passed for p in parts), 0.5, "", None, "aggregate",
                        components=parts)
    return CellResult(CellKey(0, 0, test), {"t": test}, "p", Completion("out", "s"), grade)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.for_folder(tmp_path)
    store.save_prompt("p", "p", "h")
    return store


def new_run(store: Store, cells: list[CellResult]) -> str:
    run = store.create_run("f", len(cells), {})
    for c in cells:
        store.add_result(run, c, "h", "s")
    return run


def test_one_run_per_check_and_grader(store: Store) -> None:
    judge = [True, True, False, False, True, False]
    human = [True, False, False, False, True, True]
    cells = [graded(t, part("llm-rubric", j), part("factuality", not j, "local:small"),
                    part("equals", True, None)) for t, j in enumerate(judge)]
    cells.append(CellResult(CellKey(0, 0, 6), {}, "p", error="timeout"))
    run = new_run(store, cells)
    for t, h in enumerate(human):
        add_rating(store, run, CellKey(0, 0, t), passed=h, rater="ada")
    add_rating(store, run, CellKey(0, 0, 5), passed=False, rater="bob")  # 1 vs 1: a tie
    add_rating(store, run, CellKey(0, 0, 6), passed=False, rater="ada")  # error: no verdict
    view = run_judges(store, [run])
    assert (view.rated_cells, view.tied_cells, view.run_ids) == (7, 1, (run,))
    by_key = {(j.check_type, j.grader): j for j in view.judges}
    assert set(by_key) == {("llm-rubric", GPT), ("factuality", "local:small")}
    rubric = by_key[("llm-rubric", GPT)].agreement
    # tests 0-4: (J, H) = (T,T) (T,F) (F,F) (F,F) (T,T)
    assert rubric.confusion == Confusion(both_pass=2, judge_only=1, human_only=0, both_fail=2)
    assert rubric.accuracy == pytest.approx(0.8)
    # p_o 0.8; judge passes 0.6, human 0.4: p_e = 0.24 + 0.24 = 0.48 -> kappa 0.32 / 0.52
    assert rubric.kappa == pytest.approx(0.32 / 0.52)
    fact = by_key[("factuality", "local:small")].agreement
    # (J, H) = (F,T) (F,F) (T,F) (T,F) (F,T)
    assert fact.confusion == Confusion(both_pass=0, judge_only=2, human_only=2, both_fail=1)
    assert view.to_dict()["judges"][0]["n"] == 5


def test_only_one_raters_ratings(store: Store) -> None:
    run = new_run(store, [graded(0, part("llm-rubric", True)),
                          graded(1, part("llm-rubric", False))])
    add_rating(store, run, CellKey(0, 0, 0), passed=True, rater="ada")
    add_rating(store, run, CellKey(0, 0, 1), passed=True, rater="bob")
    (only,) = run_judges(store, [run], rater="ada").judges
    assert only.agreement.confusion == Confusion(both_pass=1)
    (both,) = run_judges(store, [run]).judges
    assert both.agreement.confusion == Confusion(both_pass=1, human_only=1)


def test_across_runs_pools_cells_of_every_rated_run(store: Store) -> None:
    first = new_run(store, [graded(0, part("llm-rubric", True))])
    second = new_run(store, [graded(0, part("llm-rubric", False))])
    new_run(store, [graded(0, part("llm-rubric", False))])  # not rated: not counted
    add_rating(store, first, CellKey(0, 0, 0), passed=True, rater="ada")
    add_rating(store, second, CellKey(0, 0, 0), passed=True, rater="ada")
    view = run_judges(store)
    (judge,) = view.judges
    assert judge.runs == 2 and judge.n == 2
    assert judge.agreement.confusion == Confusion(both_pass=1, human_only=1)
    assert set(view.run_ids) == {first, second}


def test_verdicts_of_a_cell_by_check_and_grader() -> None:
    row = {"error": None, "grading": {"type": "aggregate", "pass": False, "components": [
        {"type": "llm-rubric", "pass": True, "grader": GPT},
        {"type": "llm-rubric", "pass": False, "grader": GPT},  # a second rubric: both must pass
        {"type": "not-factuality", "pass": True},  # stored before the grader was recorded
        {"type": "contains", "pass": True},
    ]}}
    assert judge_verdicts(row) == {("llm-rubric", GPT): False,
                                   ("not-factuality", "unknown"): True}
    assert judge_verdicts({**row, "error": "grader call failed"}) == {}
