"""The matrix view's per-column summary: a finished run's comes from the figures stored at its
finish (not recomputed per page), a running run's is computed live."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import delete, update

from promptwork.store import Store, schema
from promptwork.store.matrix import MatrixFilter
from promptwork.views.matrix import build_matrix_view
from web.conftest import make_store


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    url, ids = make_store(tmp_path_factory.mktemp("viewfig"))
    return Store(url), ids


def test_a_finished_runs_summary_is_the_stored_figures(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    run = store.get_run(ids[0])
    before = build_matrix_view(store, run, MatrixFilter())
    assert before.summary.metrics == ("fruit",)
    assert before.summary.rows[0].named == ("0.50",)
    fig = schema.column_figures
    with store.engine.begin() as conn:  # a mark only the stored row can carry
        conn.execute(update(fig).where(fig.c.run_id == run.id, fig.c.prompt_idx == 0)
                     .values(metrics=[["fruit", 0.125]]))
    after = build_matrix_view(store, run, MatrixFilter())
    assert after.summary.rows[0].named == ("0.12",)
    assert [(c.prompt_idx, c.provider_idx) for c in after.columns] == [(0, 0), (1, 0)]


def test_a_running_runs_summary_is_computed_live(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    with store.engine.begin() as conn:
        conn.execute(delete(schema.column_figures))
    running = dataclasses.replace(store.get_run(ids[0]), status="running", finished_at=None)
    view = build_matrix_view(store, running, MatrixFilter())
    assert view.summary.rows[0].named == ("0.50",)
    assert len(view.rows) == 4


def test_rated_cells_are_marked_from_one_query_per_page(made: tuple[Store, list[str]]) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from promptwork.cases import CellKey
    from promptwork.store.ratings import add_rating, withdraw_rating
    from promptwork.web.app import create_app
    from promptwork.web.security import WebSettings

    store, ids = made
    run = store.get_run(ids[0])
    add_rating(store, run.id, CellKey(0, 0, 0, 0), passed=True, rater="alice")
    add_rating(store, run.id, CellKey(0, 0, 0, 0), passed=False, rater="bob")  # they disagree
    add_rating(store, run.id, CellKey(1, 0, 1, 1), passed=False, rater="alice")
    withdraw_rating(store, run.id, CellKey(1, 0, 1, 1), "alice")
    add_rating(store, run.id, CellKey(0, 0, 2, 0), passed=False, rater="alice")
    add_rating(store, run.id, CellKey(0, 0, 2, 0), passed=True, rater="alice")  # replaces it
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *args: statements.append(str(args[2])))
    for limit in (2, 4):
        statements.clear()
        view = build_matrix_view(store, run, MatrixFilter(), limit=limit)
        assert sum("ratings" in s for s in statements) == 1
    marks = {(row.test_idx, c, item.repeat_idx): item.rating
             for row in view.rows for c, group in enumerate(row.cells) if group
             for item in group.items if item.rated}
    assert marks == {(0, 0, 0): "mixed", (2, 0, 0): "pass"}
    client = TestClient(create_app(store.url, WebSettings(port=8484)),
                        base_url="http://127.0.0.1:8484")
    html = client.get(f"/runs/{run.id}").text
    assert html.count('class="rated ') == 2
    assert 'data-rating="mixed"' in html and 'data-rating="pass"' in html
