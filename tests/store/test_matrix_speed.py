"""The matrix's fast paths: per-column numbers read from the partial indexes of migration 0007
(no table row visited), right for columns made only of errors; the text search without
``lower()`` on SQLite still ignores case and reads LIKE's wildcards literally."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

import promptwork as pw
from evalkit import write_suite
from promptwork.errors import ProviderError
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.store.matrix import MatrixFilter, column_numbers, page_of_tests


@pytest.fixture(scope="module")
def run_in_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    folder = tmp_path_factory.mktemp("matrixidx")
    suite = write_suite(folder, {
        "prompts": ["A {{ w }}", "B {{ w }}"], "providers": ["scripted"],
        "tests": [{"vars": {"w": w}, "assert": [{"type": "contains", "value": "yes"}]}
                  for w in ("a", "b", "c", "d", "e")]})
    # Prompt B always errors; prompt A answers yes to a and b only.
    model = ScriptedProvider({"A a": "yes", "A b": "yes",
                              **{f"B {w}": ProviderError("down", "server") for w in "abcde"},
                              "*": "no"})
    run = pw.evaluate(suite, db=f"sqlite:///{folder / 'store.db'}", providers={0: model})
    return Store(f"sqlite:///{folder / 'store.db'}"), run.id


def test_a_column_of_errors_only(run_in_store: tuple[Store, str]) -> None:
    store, run_id = run_in_store
    a, b = column_numbers(store, run_id)
    assert (a.prompt_idx, a.passes, a.fails, a.errors, a.score_sum) == (0, 2, 3, 0, 2.0)
    assert a.p50_ms is not None and a.p95_ms is not None and a.p50_ms <= a.p95_ms
    assert (b.prompt_idx, b.passes, b.fails, b.errors) == (1, 0, 0, 5)
    assert (b.p50_ms, b.p95_ms, b.score_sum, b.cost_known) == (None, None, 0.0, True)


def test_column_numbers_read_the_indexes_not_the_table(run_in_store: tuple[Store, str]) -> None:
    store, run_id = run_in_store
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "results" in statement:
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        column_numbers(store, run_id)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert statements  # the summary, the error count and the percentiles of column A
    with store.engine.connect() as conn:
        for statement, params in statements:
            plan = " ".join(str(row[-1]) for row in
                            conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params))
            # The answered cells from the index alone; the (few) error rows are visited.
            assert "COVERING INDEX ix_results_answered" in plan or (
                "INDEX ix_results_errors" in plan), (statement, plan)
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # percentiles walk the index


def test_migration_0007_creates_partial_indexes(run_in_store: tuple[Store, str]) -> None:
    store, _ = run_in_store
    with store.engine.connect() as conn:
        sql: dict[str, str] = dict(conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN "
            "('ix_results_answered', 'ix_results_errors')")).all())
    assert "WHERE error IS NULL" in sql["ix_results_answered"]
    assert "WHERE error IS NOT NULL" in sql["ix_results_errors"]


def test_search_ignores_case_and_reads_vars_answers_and_descriptions(
        run_in_store: tuple[Store, str]) -> None:
    store, run_id = run_in_store
    assert page_of_tests(store, run_id, MatrixFilter(search="YES"))[0] == [0, 1]  # answers
    assert page_of_tests(store, run_id, MatrixFilter(search='"W": "C"'))[0] == [2]  # vars JSON
    assert page_of_tests(store, run_id, MatrixFilter(search="no_"))[0] == []  # _ is literal
    assert page_of_tests(store, run_id, MatrixFilter(search="n%"))[0] == []  # % too
    # With a mode: tests that fail somewhere and match somewhere (A answers "no" to c, d, e).
    assert page_of_tests(store, run_id, MatrixFilter("failures", search="NO"))[0] == [2, 3, 4]
    assert page_of_tests(store, run_id, MatrixFilter("failures", search="yes"))[0] == []
