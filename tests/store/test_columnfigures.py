"""A finished run's per-column figures: stored at its finish, read back instead of recomputed,
computed once for a run stored without them, computed live for a running run, dropped with
the run."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import delete, func, select, update

from promptwork.store import Store, schema
from promptwork.store.columnfigures import column_figures, store_column_figures
from promptwork.store.matrix import column_metrics, column_numbers
from promptwork.store.runedits import delete_run
from web.conftest import make_store


@pytest.fixture()
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    url, ids = make_store(tmp_path_factory.mktemp("colfig"))
    return Store(url), ids


def _stored(store: Store, run_id: str) -> list[dict[str, object]]:
    fig = schema.column_figures
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(fig).where(fig.c.run_id == run_id)
            .order_by(fig.c.prompt_idx, fig.c.provider_idx)).mappings()]


def test_the_runner_stores_each_columns_figures_at_the_finish(
        made: tuple[Store, list[str]]) -> None:
    store, ids = made
    for run_id in ids:
        run = store.get_run(run_id)
        rows = _stored(store, run_id)
        numbers = column_numbers(store, run_id)
        assert [(r["prompt_idx"], r["provider_idx"]) for r in rows] == [
            (n.prompt_idx, n.provider_idx) for n in numbers]
        assert all(r["cells"] == run.done_cells for r in rows)
        assert column_figures(store, run) == (numbers, column_metrics(store, run_id))
    plain = column_figures(store, store.get_run(ids[0]))
    assert plain[1][(0, 0)] == {"fruit": pytest.approx(0.5)}  # 2 of 4 words hold "apple"
    assert plain[0][0].passes == 4 and plain[0][0].fails == 4  # 2 repeats each


def test_stored_figures_are_read_not_recomputed(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    fig = schema.column_figures
    with store.engine.begin() as conn:  # a mark only a read of the stored row can return
        conn.execute(update(fig).where(fig.c.run_id == ids[0], fig.c.prompt_idx == 0)
                     .values(passes=777, metrics=[["fruit", 0.25]]))
    numbers, metrics = column_figures(store, store.get_run(ids[0]))
    assert numbers[0].passes == 777 and metrics[(0, 0)] == {"fruit": 0.25}


def test_a_run_stored_without_figures_gets_them_on_its_first_read(
        made: tuple[Store, list[str]]) -> None:
    store, ids = made
    with store.engine.begin() as conn:
        conn.execute(delete(schema.column_figures))
    run = store.get_run(ids[1])
    got = column_figures(store, run)
    assert got == (column_numbers(store, ids[1]), column_metrics(store, ids[1]))
    assert len(_stored(store, ids[1])) == len(got[0]) == 4
    assert _stored(store, ids[0]) == []  # only the run read


def test_stale_figures_are_computed_again(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    fig = schema.column_figures
    with store.engine.begin() as conn:
        conn.execute(update(fig).where(fig.c.run_id == ids[0]).values(passes=777))
    grown = dataclasses.replace(store.get_run(ids[0]), done_cells=999)  # resumed, extended
    numbers, _ = column_figures(store, grown)
    assert numbers[0].passes == 4
    assert {r["passes"] for r in _stored(store, ids[0]) if r["prompt_idx"] == 0} == {4}


def test_a_running_runs_figures_are_live_and_never_stored(
        made: tuple[Store, list[str]]) -> None:
    store, ids = made
    with store.engine.begin() as conn:
        conn.execute(delete(schema.column_figures))
    running = dataclasses.replace(store.get_run(ids[0]), status="running", finished_at=None)
    numbers, metrics = column_figures(store, running)
    assert numbers == column_numbers(store, ids[0]) and metrics[(0, 0)]
    assert _stored(store, ids[0]) == []


def test_deleting_a_run_deletes_its_figures(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    store_column_figures(store, ids[0])
    delete_run(store, ids[0])
    with store.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(schema.column_figures)
                            .where(schema.column_figures.c.run_id == ids[0])).scalar_one()
    assert left == 0
