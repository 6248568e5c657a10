"""The matrix queries: key paging, filters, per-column numbers equal to the report's summary,
and run rename/delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.report.summary import summarize
from promptwork.store import Store
from promptwork.store.matrix import (
    MatrixFilter,
    cells_of_tests,
    column_metrics,
    column_numbers,
    page_of_tests,
)
from promptwork.store.runedits import delete_run, rename_run
from web.conftest import make_store


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    url, ids = make_store(tmp_path_factory.mktemp("matrixq"))
    return Store(url), ids


def test_key_paging_walks_every_test_once(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    seen: list[int] = []
    after = None
    while True:
        page, more = page_of_tests(store, ids[1], MatrixFilter(), after=after, limit=3)
        seen += page
        if not more:
            break
        after = page[-1]
    assert seen == list(range(10))
    back, more = page_of_tests(store, ids[1], MatrixFilter(), before=6, limit=3)
    assert back == [3, 4, 5] and more


def test_filters(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    errors, _ = page_of_tests(store, ids[1], MatrixFilter("errors"))
    assert errors == [4]  # the scripted model's error on the fifth payload
    only_echo, _ = page_of_tests(store, ids[1], MatrixFilter("errors", columns=((0, 0), (1, 0))))
    assert only_echo == []
    with pytest.raises(ConfigError, match="invalid regular expression"):
        page_of_tests(store, ids[1], MatrixFilter(search="(", regex=True))
    cells = cells_of_tests(store, ids[0], [2])
    assert len(cells) == 4 and {c["test_idx"] for c in cells} == {2}


def test_column_numbers_match_the_report_summary(made: tuple[Store, list[str]]) -> None:
    store, ids = made
    for run_id in ids:
        rows = list(store.results(run_id))
        report = summarize(rows, [], [])
        numbers = column_numbers(store, run_id)
        assert [(n.prompt_idx, n.provider_idx) for n in numbers] == [
            (c.prompt_idx, c.provider_idx) for c in report]
        for n, c in zip(numbers, report, strict=True):
            assert (n.passes, n.fails, n.errors, n.cached) == (c.passes, c.fails, c.errors,
                                                               c.cached)
            assert n.score_sum == pytest.approx(c.score_sum)
            assert n.p50_ms == pytest.approx(c.latency(50))
            assert n.p95_ms == pytest.approx(c.latency(95))


def test_column_metrics_match_the_report_summary(made: tuple[Store, list[str]],
                                                 tmp_path: Path) -> None:
    """Named metrics per column, computed in SQL, equal the report's (two metrics, one shared
    by two checks, an error cell and cells without metrics)."""
    import promptwork as pw
    from evalkit import write_suite
    from promptwork.providers.scripted import ScriptedProvider

    suite = write_suite(tmp_path / "metrics", {
        "prompts": ["A {{ w }}", "B {{ w }}"], "providers": ["scripted"],
        "tests": [{"vars": {"w": w}, "assert": [
            {"type": "icontains", "value": "yes", "metric": "polite"},
            {"type": "icontains", "value": "ok", "metric": "polite"},
            {"type": "contains", "value": "!", "metric": "loud"},
            {"type": "contains", "value": "y"}]} for w in ("a", "b", "c", "d")]})
    model = ScriptedProvider({"A a": "yes ok!", "A b": "yes", "B c": "ok!", "*": "nah"})
    run = pw.evaluate(suite, db=made[0].url, providers={0: model})
    store, ids = made
    for run_id in [*ids, run.id]:
        report = summarize(list(store.results(run_id)), [], [])
        expected = {(c.prompt_idx, c.provider_idx): c.named_means for c in report
                    if c.named_means}
        got = column_metrics(store, run_id)
        assert got.keys() == expected.keys()
        for key, means in expected.items():
            assert list(got[key]) == list(means)  # same names, same order
            assert got[key] == pytest.approx(means)
    assert column_metrics(store, run.id)[(0, 0)] == pytest.approx(
        {"polite": (1 + 1 + 1 + 0 + 0 + 0 + 0 + 0) / 8, "loud": 1 / 4})
    assert column_metrics(store, ids[1]) == {}


def test_rename_and_delete(tmp_path: Path) -> None:
    url, ids = make_store(tmp_path)
    store = Store(url)
    rename_run(store, ids[0], "  new name ")
    assert store.get_run(ids[0]).description == "new name"
    with pytest.raises(ConfigError, match="at most 500"):
        rename_run(store, ids[0], "x" * 501)
    delete_run(store, ids[0])
    with pytest.raises(ConfigError, match="no run"):
        store.get_run(ids[0])
    assert list(store.results(ids[0])) == []
    assert store.get_run(ids[1]).done_cells == 40


def test_the_check_filter_reads_the_gradings_structure(tmp_path: Path) -> None:
    """Matched by the JSON's keys at any depth, whatever its spacing; never by other text."""
    import json

    from sqlalchemy import update

    from promptwork.store import schema

    url, ids = make_store(tmp_path)
    store = Store(url)
    res = schema.results
    nested = {"pass": True, "score": 1.0, "reason": 'says "type": "zzz"', "type": "aggregate",
              "components": [{"pass": True, "score": 1.0, "reason": "", "type": "assert-set",
                              "components": [{"pass": True, "score": 1.0, "reason": "",
                                              "type": "Equals", "metric": "Deep"}]}]}
    with store.engine.begin() as conn:
        conn.execute(update(res).where(res.c.run_id == ids[0], res.c.test_idx == 3)
                     .values(grading=nested))
        # another writer's compact JSON text (no spaces after ':' and ',')
        conn.exec_driver_sql(
            "UPDATE results SET grading = ? WHERE run_id = ? AND test_idx = 1",
            (json.dumps({"pass": True, "score": 1.0, "reason": "", "type": "icontains",
                         "metric": "fruit"}, separators=(",", ":")), ids[0]))

    def tests(check: str) -> list[int]:
        return page_of_tests(store, ids[0], MatrixFilter(check=check))[0]

    assert 1 in tests("fruit") and 1 in tests("icontains")  # compact text still matches
    assert 3 in tests("equals") and 3 in tests("deep")  # nested, any case
    assert tests("zzz") == []  # only inside a reason's text
    assert tests('fruit"') == [] and tests("%") == []
