"""The optimization pages over plain HTTP: the list, one optimization (score against calls with
every candidate a dot and finalists filled, candidates, seed vs best on the test split with
intervals and a plain verdict, ablation), errors, and a hostile seed prompt escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evalkit import isolate_env
from optimizer.kit import SEED, smart_provider, write_sentiment_suite
from promptwork.evaluation import evaluate
from promptwork.optimizer.api import optimize
from promptwork.optimizer.result import OptimizeResult
from promptwork.store import Store
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .conftest import HOSTILE
from .inert import assert_inert


@pytest.fixture
def optimized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[TestClient, OptimizeResult, str]:
    isolate_env(monkeypatch, tmp_path)
    folder = tmp_path / "suite"
    write_sentiment_suite(folder)
    hostile = SEED.replace("Be brief.", "Be brief. " + " ".join(HOSTILE[:4]))
    (folder / "prompts" / "seed.prompt").write_text(hostile, encoding="utf-8")
    plain = evaluate(folder / "promptwork.yaml")
    result = optimize("prompts/seed.prompt", folder, budget=120, task_provider=smart_provider())
    client = TestClient(create_app(Store.for_folder(folder).url, WebSettings(port=8484)),
                        base_url="http://127.0.0.1:8484")
    return client, result, plain.id


def test_the_list_holds_the_optimization(optimized: tuple[TestClient, OptimizeResult, str]
                                         ) -> None:
    client, result, plain = optimized
    page = client.get("/optimizations").text
    assert f'href="/optimizations/{result.run_id}"' in page and plain not in page
    assert f"{result.seed_val:.3f} → {result.best_val:.3f}" in page
    assert f"{result.calls_used} / 120" in page
    assert_inert(page)


def test_one_optimization(optimized: tuple[TestClient, OptimizeResult, str]) -> None:
    client, result, _ = optimized
    response = client.get(f"/optimizations/{result.run_id}")
    assert response.status_code == 200
    page = response.text
    # the curve, the test split's bars and one contribution bar per ablation row
    assert assert_inert(page) == 2 + len(result.ablation)
    curve = page.split("<svg")[1]
    n_val = result.plan.sizes["val"]
    assert curve.count("<circle") == len(result.history)
    finalists = sum(1 for s in result.history if s.full(n_val))
    dropped = len(result.history) - finalists
    assert curve.count('fill="#fff"') == dropped and dropped > 0  # hollow: dropped
    assert curve.count("(finalist)") == finalists and curve.count("<polyline") == 1
    # the candidates table
    assert page.count('<tr class="candidate') == len(result.history)
    assert page.count('<tr class="candidate best"') == 1
    # seed vs best on the test split, with intervals and a plain verdict
    seed, best = result.test_seed, result.test_best
    assert seed is not None and best is not None and result.comparison is not None
    for s in (seed, best):
        assert f"{s.passed}/{s.n} = {100 * s.passed / s.n:.1f}%" in page
        assert f"{100 * s.low:.1f}%\u2013{100 * s.high:.1f}%" in page
    verdict = re.search(r'<p class="verdict[^"]*">([^<]+)</p>', page)
    assert verdict is not None
    assert ("significantly better" in verdict.group(1)) == result.comparison.significant
    for row in result.ablation:
        assert f"{row.contribution:+.3f}" in page
    # the hostile seed prompt is text
    assert "&lt;script&gt;document.title" in page


def test_errors(optimized: tuple[TestClient, OptimizeResult, str]) -> None:
    client, _, plain = optimized
    not_one = client.get(f"/optimizations/{plain}")
    assert not_one.status_code == 400 and "not an optimization" in not_one.text
    missing = client.get("/optimizations/20990101-000000-000000")
    assert missing.status_code == 404
    empty = client.get("/optimizations?page=2").text
    assert "No optimizations" in empty and 'rel="prev" href="/optimizations"' in empty
