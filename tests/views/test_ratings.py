"""Ratings view models: queue positions, a cell's ratings seen by one rater, the queue at its
first unrated cell, and the judges page per run and pooled."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.errors import ConfigError
from promptwork.store import Store
from promptwork.store.ratings import add_rating
from promptwork.types import Completion
from promptwork.views.ratings import (
    build_cell_ratings,
    build_judges_page,
    build_queue_view,
    parse_position,
    position_of,
)


def test_positions_round_trip_and_bad_ones_are_refused() -> None:
    key = CellKey(2, 1, 30, 4)
    assert parse_position(position_of(key)) == key == parse_position(" 30.2.1.4 ")
    assert parse_position("3.0.1") == CellKey(0, 1, 3, 0)
    for bad in ("", "1.2", "1.2.3.4.5", "a.b.c.d", "-1.0.0.0", "1.0.0.99999999999"):
        with pytest.raises(ConfigError, match=r"test\.prompt\.model\.repeat"):
            parse_position(bad)


def judged(test: int, judge: bool) -> CellResult:
    part = CheckResult(judge, float(judge), "", None, "llm-rubric", grader="openai:gpt-5")
    grade = CheckResult(judge, float(judge), "", None, "aggregate", components=(part,))
    return CellResult(CellKey(0, 0, test), {"t": test}, "p", Completion("out", "s"), grade)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.for_folder(tmp_path)
    store.save_prompt("p", "p", "h")
    return store


def new_run(store: Store, judges: list[bool]) -> str:
    run = store.create_run("f", len(judges), {"prompts": [{"label": "p"}],
                                              "providers": [{"label": "m"}]})
    for t, j in enumerate(judges):
        store.add_result(run, judged(t, j), "h", "s")
    return run


def test_cell_ratings_and_the_queue_seen_by_one_rater(store: Store) -> None:
    run = new_run(store, [True, False, True])
    add_rating(store, run, CellKey(0, 0, 0), passed=False, rater="ada", comment="no <b>")
    add_rating(store, run, CellKey(0, 0, 0), passed=True, rater="bob", score=0.25)
    seen = build_cell_ratings(store, run, CellKey(0, 0, 0), "PASS", "1.00", "ada")
    assert [(r.rater, r.verdict, r.score, r.mine) for r in seen.lines] == [
        ("bob", "PASS", "0.25", False), ("ada", "FAIL", "", True)]
    assert (seen.my_verdict, seen.my_comment, seen.automated) == ("fail", "no <b>", "PASS")
    assert seen.action == f"/runs/{run}/cells/0/0/0/0/rating"
    queue = build_queue_view(store, store.get_run(run), "ada")
    assert (queue.position, queue.rated, queue.total) == ("1.0.0.0", 1, 3)
    assert queue.prev_url.endswith("cell=0.0.0.0") and queue.next_url.endswith("cell=2.0.0.0")
    assert queue.next_unrated_url.endswith("cell=2.0.0.0")
    # test 0: ada fails it, bob passes it: a tie, left out of the agreement
    assert (queue.judges.judges, queue.judges.rated_cells, queue.judges.tied_cells) == ((), 1, 1)
    with pytest.raises(ConfigError, match="no cell test 7"):
        build_queue_view(store, store.get_run(run), "ada", "7.0.0.0")


def test_the_judges_page_pools_runs_and_shows_each(store: Store) -> None:
    first, second = new_run(store, [True, False]), new_run(store, [True, True])
    for run in (first, second):
        add_rating(store, run, CellKey(0, 0, 0), passed=True, rater="ada")
        add_rating(store, run, CellKey(0, 0, 1), passed=False, rater="ada")
    new_run(store, [True])  # unrated: not on the page
    page = build_judges_page(store)
    (pooled,) = page.pooled.judges
    assert (pooled.n, pooled.runs) == (4, 2)
    assert pooled.agreement.accuracy == pytest.approx(0.75)
    assert {r.run.id for r in page.runs} == {first, second}
    by_run = {r.run.id: r.view.judges[0].agreement.accuracy for r in page.runs}
    assert by_run == {first: 1.0, second: 0.5}
