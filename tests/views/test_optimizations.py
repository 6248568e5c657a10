"""Stored optimizations as view models: the list and one optimization's page, read from the
run a small optimize run stores (scripted model of the optimizer tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import isolate_env
from optimizer.kit import smart_provider, write_sentiment_suite
from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.optimizer.api import optimize
from promptwork.optimizer.html import result_view
from promptwork.optimizer.result import OptimizeResult
from promptwork.store import Store
from promptwork.views.optimizations import build_optimization, optimizations_page


@pytest.fixture
def optimized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, OptimizeResult]:
    isolate_env(monkeypatch, tmp_path)
    folder = tmp_path / "suite"
    write_sentiment_suite(folder)
    evaluate(folder / "promptwork.yaml")  # an evaluation: not listed as an optimization
    result = optimize("prompts/seed.prompt", folder, budget=120, task_provider=smart_provider())
    return Store.for_folder(folder), result


def test_the_list_holds_only_optimizations(optimized: tuple[Store, OptimizeResult]) -> None:
    store, result = optimized
    [item] = optimizations_page(store)
    assert item.run_id == result.run_id and item.status == "complete"
    assert item.prompt == "prompts/seed.prompt" and item.task_model == result.plan.task_model
    assert item.best_val == pytest.approx(result.best_val, abs=1e-4)
    assert item.seed_test == pytest.approx(result.test_seed.mean if result.test_seed else -1,
                                           abs=1e-4)
    assert item.calls_used == result.calls_used and item.budget == 120
    assert item.candidates == len(store.get_run(item.run_id).settings["prompts"])


def test_the_page_shows_candidates_curve_test_split_and_ablation(
    optimized: tuple[Store, OptimizeResult],
) -> None:
    store, result = optimized
    assert result.run_id is not None
    view = build_optimization(store, result.run_id)
    assert view.recorded
    assert [c.val_mean for c in view.candidates] == [round(s.mean, 4) for s in result.history]
    [best] = [c for c in view.candidates if c.best]
    assert best.val_mean == pytest.approx(result.best_val, abs=1e-4)
    assert best.test_cells > 0 and view.candidates[0].search_cells > 0
    assert view.curve is not None
    steps, dots = view.curve.series
    assert len(dots.points) == len(result.history)
    assert steps.points[-1].value == pytest.approx(result.curve[-1][1], abs=1e-4)
    assert result.test_seed is not None and result.test_best is not None
    seed, top = view.test
    assert (seed.passed, seed.n) == (result.test_seed.passed, result.test_seed.n)
    assert (top.low, top.high) == (round(result.test_best.low, 4),
                                   round(result.test_best.high, 4))
    assert ("significantly better" in view.test_verdict) == bool(
        result.comparison and result.comparison.significant)
    assert view.ablation and [a.contribution for a in view.ablation] == [round(r.contribution, 4)
                                                       for r in result.ablation]
    assert dict(view.facts)["Task model"] == result.plan.task_model


def test_an_evaluation_is_not_an_optimization(optimized: tuple[Store, OptimizeResult]) -> None:
    store, _ = optimized
    [plain] = [r for r in store.list_runs() if r.settings.get("kind") != "optimize"]
    with pytest.raises(ConfigError, match="not an optimization"):
        build_optimization(store, plain.id)


def test_the_static_report_and_the_stored_page_share_one_view(
    optimized: tuple[Store, OptimizeResult],
) -> None:
    """``promptwork optimize --html`` builds its view from what the run stores, so the report
    and the workbench page show the same numbers, charts and verdict."""
    store, result = optimized
    assert result.run_id is not None
    stored, report = build_optimization(store, result.run_id), result_view(result)
    assert report.facts == stored.facts and report.item.run_id == stored.item.run_id
    assert (report.test, report.test_chart) == (stored.test, stored.test_chart)
    assert (report.test_verdict, report.test_detail) == (stored.test_verdict, stored.test_detail)
    assert (report.ablation, report.ablation_bars) == (stored.ablation, stored.ablation_bars)
    assert report.curve == stored.curve and report.curve is not None
    assert [(c.label, c.val_n, c.val_mean, c.calls, c.finalist, c.best)
            for c in report.candidates] == [(c.label, c.val_n, c.val_mean, c.calls, c.finalist,
                                             c.best) for c in stored.candidates]
    assert stored.cells_known and not report.cells_known
    assert report.diff is not None and not report.diff.diff.identical
