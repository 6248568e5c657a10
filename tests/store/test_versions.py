"""Prompt versions grouped by prompt, looked up by hash prefix, and the runs that used them."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.store.versions import prompt_groups, prompt_version, version_uses
from versionkit import V1, V2, TwoRuns, two_versions


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    return two_versions(tmp_path, monkeypatch)


def test_versions_are_grouped_by_prompt_newest_first(runs: TwoRuns) -> None:
    groups = {g.key: g for g in prompt_groups(runs.store)}
    assert set(groups) == {runs.prompt_path, "other"}
    ask = groups[runs.prompt_path]
    assert ask.paths == (runs.prompt_path,)
    assert [prompt_version(runs.store, v.hash).text for v in ask.versions] == [V2, V1]
    assert [v.runs for v in ask.versions] == [1, 1]
    assert ask.latest.chars == len(V2) and not ask.latest.candidate
    assert len(groups["other"].versions) == 1 and groups["other"].versions[0].runs == 2
    assert [g.key for g in prompt_groups(runs.store, search="OTH")] == ["other"]
    assert prompt_groups(runs.store, search="absent") == []


def test_a_version_is_found_by_a_unique_prefix(runs: TwoRuns) -> None:
    [ask] = prompt_groups(runs.store, search="ask.prompt")
    full = ask.latest.hash
    assert prompt_version(runs.store, full[:8].upper()).hash == full
    with pytest.raises(ConfigError, match="at least 4"):
        prompt_version(runs.store, "ab")
    with pytest.raises(ConfigError, match="no prompt version"):
        prompt_version(runs.store, "0000000000")


def test_version_uses_count_each_run_and_model_in_the_database(runs: TwoRuns) -> None:
    [ask] = prompt_groups(runs.store, search="ask.prompt")
    uses = version_uses(runs.store, [v.hash for v in ask.versions])
    assert [(u.run_id, u.prompt_hash) for u in uses] == [
        (runs.first, ask.versions[1].hash), (runs.second, ask.versions[0].hash)]
    first = uses[0]
    assert (first.cells, first.passed, first.failed, first.errors) == (10, 9, 1, 0)
    assert first.pass_rate == 0.9 and first.mean_score == pytest.approx(0.9)
    assert first.model == "bot" and first.kind == "eval" and first.run_status == "complete"
    assert version_uses(runs.store, []) == []


def test_optimization_candidates_belong_to_their_prompt(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit import isolate_env
    from optimizer.kit import smart_provider, write_sentiment_suite
    from promptwork.optimizer.api import optimize
    from promptwork.store import Store

    isolate_env(monkeypatch, tmp_path)
    folder = tmp_path / "suite"
    write_sentiment_suite(folder, n=20)
    from promptwork.evaluation import evaluate

    evaluate(folder / "promptwork.yaml")
    optimize("prompts/seed.prompt", folder, budget=60, task_provider=smart_provider())
    store = Store.for_folder(folder)
    [plain] = prompt_groups(store)
    assert plain.key.endswith("seed.prompt")
    # The optimized prompt joins its prompt; the candidates only when asked for.
    assert any(v.optimized for v in plain.versions)
    assert not any(v.candidate for v in plain.versions)
    [withc] = prompt_groups(store, candidates=True)
    assert withc.key == plain.key and any(v.candidate for v in withc.versions)
    assert len(withc.versions) > len(plain.versions)
