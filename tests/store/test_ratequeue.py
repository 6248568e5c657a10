"""The rating queue's steps in the store: matrix order (test, prompt, model, repeat), the next
unrated cell of a rater (wrapping round, withdrawn ratings counting as none), counts; and a
cell's current ratings (one per rater, latest first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.store import Store
from promptwork.store.ratequeue import cell_count, first_cell, next_unrated, rated_count, step
from promptwork.store.ratings import add_rating, cell_ratings, withdraw_rating
from promptwork.types import Completion

#: Stored out of order: the queue orders them by (test, prompt, model, repeat).
KEYS = [CellKey(1, 0, 1), CellKey(0, 0, 0), CellKey(0, 0, 1, 1), CellKey(1, 0, 0),
        CellKey(0, 0, 1), CellKey(0, 1, 0)]
ORDER = sorted(KEYS, key=lambda k: (k.test, k.prompt, k.provider, k.repeat))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.for_folder(tmp_path)


@pytest.fixture
def run(store: Store) -> str:
    store.save_prompt("p", "p", "h")
    run_id = store.create_run("f", len(KEYS), {})
    for key in KEYS:
        store.add_result(run_id, CellResult(key, {}, "p", Completion("out", "s"),
                                            CheckResult(True, 1.0, "", None, "equals")), "h", "s")
    other = store.create_run("g", 1, {})  # another run's cells never show up
    store.add_result(other, CellResult(CellKey(0, 0, 0, 5), {}, "p", Completion("x", "s"),
                                       CheckResult(True, 1.0, "", None, "equals")), "h", "s")
    return run_id


def test_steps_walk_the_matrix_order_both_ways(store: Store, run: str) -> None:
    assert first_cell(store, run) == ORDER[0] == CellKey(0, 0, 0)
    walked = [ORDER[0]]
    while (found := step(store, run, walked[-1], "next")) is not None:
        walked.append(found)
    assert walked == ORDER
    back = [ORDER[-1]]
    while (found := step(store, run, back[-1], "previous")) is not None:
        back.append(found)
    assert back == ORDER[::-1]
    assert cell_count(store, run) == len(KEYS)
    assert first_cell(store, store.create_run("empty", 0, {})) is None


def test_next_unrated_skips_the_raters_rated_cells_and_wraps(store: Store, run: str) -> None:
    assert next_unrated(store, run, "ada") == ORDER[0]
    for key in ORDER[:2]:
        add_rating(store, run, key, passed=True, rater="ada")
    add_rating(store, run, ORDER[3], passed=False, rater="ada")
    add_rating(store, run, ORDER[2], passed=True, rater="bob")  # bob's does not count for ada
    assert next_unrated(store, run, "ada") == ORDER[2]
    assert next_unrated(store, run, "ada", after=ORDER[2]) == ORDER[4]
    assert next_unrated(store, run, "ada", after=ORDER[5]) == ORDER[2]  # wraps round
    assert rated_count(store, run, "ada") == 3 and rated_count(store, run, "bob") == 1
    withdraw_rating(store, run, ORDER[0], "ada")
    assert next_unrated(store, run, "ada") == ORDER[0]
    assert rated_count(store, run, "ada") == 2
    for key in ORDER:
        add_rating(store, run, key, passed=True, rater="ada")
    assert next_unrated(store, run, "ada") is None
    assert next_unrated(store, run, "ada", after=ORDER[1]) is None


def test_a_cells_ratings_one_per_rater_latest_first(store: Store, run: str) -> None:
    key = ORDER[1]
    add_rating(store, run, key, passed=False, rater="ada", comment="first")
    add_rating(store, run, key, passed=True, rater="bob", score=0.5)
    add_rating(store, run, key, passed=True, rater="ada", comment="second")
    add_rating(store, run, ORDER[2], passed=False, rater="cyd")
    got = [(r.rater, r.passed, r.score, r.comment) for r in cell_ratings(store, run, key)]
    assert got == [("ada", True, None, "second"), ("bob", True, 0.5, None)]
    withdraw_rating(store, run, key, "ada")
    assert [r.rater for r in cell_ratings(store, run, key)] == ["bob"]
