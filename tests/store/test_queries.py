"""Run-list and filtered result queries (shared by ``promptwork runs`` and the workbench)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.store import Store
from promptwork.store.queries import result_rows, run_overviews
from promptwork.types import Completion


def cell(prompt: int, test: int, *, passed: bool = True, error: str | None = None,
         cost: float | None = 0.5) -> CellResult:
    if error is not None:
        return CellResult(CellKey(prompt, 0, test), {"t": test}, "p", error=error)
    return CellResult(CellKey(prompt, 0, test), {"t": test}, "p", Completion("out", "s", cost=cost),
                      CheckResult(passed, 1.0 if passed else 0.0, "", None, "equals"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.for_folder(tmp_path)
    store.save_prompt("p", "p", "h")
    return store


def test_run_overviews_aggregate_each_run(store: Store) -> None:
    first = store.create_run("f", 6, {"prompts": [{"label": "a"}, {"label": "b"}],
                                      "providers": [{"label": "m"}]}, "the first")
    for c in (cell(0, 0), cell(0, 1), cell(0, 2, passed=False), cell(1, 0, error="timeout"),
              cell(1, 1, cost=None)):
        store.add_result(first, c, "h", "s")
    store.finish_run(first, "complete", None)
    second = store.create_run("f", 1, {}, "the second")
    store.add_result(second, cell(0, 0, cost=0.25), "h", "s")
    newest, oldest = run_overviews(store)
    assert (newest.id, oldest.id) == (second, first)
    assert (oldest.passed, oldest.failed, oldest.errors, oldest.done_cells) == (3, 1, 1, 5)
    assert oldest.pass_rate == 0.75 and oldest.total_cells == 6
    assert not oldest.cost_known  # one answered call had no price
    assert oldest.prompts == ("a", "b") and oldest.models == ("m",)
    assert newest.cost_known and newest.cost == 0.25 and newest.status == "running"
    assert [r.id for r in run_overviews(store, search="FIRST")] == [first]
    assert [r.id for r in run_overviews(store, limit=1, offset=1)] == [first]


def test_result_rows_filter_by_verdict_and_column(store: Store) -> None:
    run = store.create_run("f", 4, {})
    for c in (cell(0, 0), cell(0, 1, passed=False), cell(1, 0, error="boom"), cell(1, 1)):
        store.add_result(run, c, "h", "s")

    def keys(**filters: Any) -> list[tuple[int, int]]:
        return [(r["prompt_idx"], r["test_idx"]) for r in result_rows(store, run, **filters)]

    assert keys() == [(0, 0), (1, 0), (0, 1), (1, 1)]  # matrix order
    assert keys(verdicts=["failed"]) == [(0, 1)]
    assert keys(verdicts=["error"]) == [(1, 0)]
    assert keys(verdicts=["failed", "error"]) == [(1, 0), (0, 1)]
    assert keys(verdicts=["passed"], prompt_idx=1) == [(1, 1)]
    assert keys(provider_idx=1) == []
    assert keys(limit=2, offset=1) == [(1, 0), (0, 1)]
    with pytest.raises(ValueError, match="unknown verdicts"):
        keys(verdicts=["maybe"])
