"""The matrix view's memo of per-column figures: a finished run's are computed once, a running
or changed run's are read again, and the memo holds a bounded number of runs."""

from __future__ import annotations

import dataclasses

import pytest

from promptwork.store import RunRecord, Store
from promptwork.store.matrix import MatrixFilter
from promptwork.views.matrix import ColumnMemo, Figures, build_matrix_view
from web.conftest import make_store


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    url, ids = make_store(tmp_path_factory.mktemp("viewmemo"))
    return Store(url), ids


def test_a_finished_runs_figures_are_kept(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    memo = ColumnMemo()
    run = store.get_run(ids[0])
    first = memo.figures(store, run)
    assert memo.figures(store, run) is first


class Counting(ColumnMemo):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def figures(self, store: Store, run: RunRecord) -> Figures:
        self.calls += 1
        return super().figures(store, run)


def test_the_view_takes_its_figures_from_the_memo(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    memo = Counting()
    run = store.get_run(ids[0])
    view = build_matrix_view(store, run, MatrixFilter(), memo=memo)
    assert memo.calls == 1
    assert [(c.prompt_idx, c.provider_idx) for c in view.columns] == [
        (n.prompt_idx, n.provider_idx) for n in memo.figures(store, run)[0]]


def test_a_running_or_changed_run_is_read_again(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    memo = ColumnMemo()
    run = store.get_run(ids[0])
    kept = memo.figures(store, run)
    running = dataclasses.replace(run, status="running")
    assert memo.figures(store, running) is not memo.figures(store, running)
    grown = dataclasses.replace(run, done_cells=run.done_cells + 1)
    again = memo.figures(store, grown)
    assert again is not kept and again == kept  # recomputed, same figures
    assert memo.figures(store, run) is not kept  # the older entry of that run was replaced


def test_the_memo_is_bounded(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    memo = ColumnMemo(size=1)
    first, second = store.get_run(ids[0]), store.get_run(ids[1])
    a = memo.figures(store, first)
    memo.figures(store, second)
    assert memo.figures(store, first) is not a  # evicted by the second run
