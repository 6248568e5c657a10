"""The prompt pages' view models: the list, a diff between two versions, the runs that used
each version and the pass-rate chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.views.prompts import diff_versions, prompt_page, prompts_page
from versionkit import V1, V2, TwoRuns, two_versions


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    return two_versions(tmp_path, monkeypatch)


def test_the_list_holds_every_prompt(runs: TwoRuns) -> None:
    page = prompts_page(runs.store)
    assert {g.key for g in page.groups} == {runs.prompt_path, "other"}
    assert [g.key for g in prompts_page(runs.store, search="ask").groups] == [runs.prompt_path]


def test_the_page_diffs_the_newest_version_with_the_one_before(runs: TwoRuns) -> None:
    page = prompt_page(runs.store, runs.prompt_path)
    new, old = page.group.versions
    assert page.numbers == {new.hash: 2, old.hash: 1}
    assert page.diff is not None
    assert (page.diff.a.text, page.diff.b.text) == (V1, V2)
    assert page.diff.diff.unit == "line"
    assert page.diff.diff.side("a") == V1 and page.diff.diff.side("b") == V2
    assert ("delete", "v1 question Q{{ i }}.\n") in page.diff.diff.to_list()
    words = prompt_page(runs.store, runs.prompt_path, unit="word").diff
    assert words is not None and ("insert", " Think.") in words.diff.to_list()
    # Reversed by naming the versions (prefixes).
    back = prompt_page(runs.store, runs.prompt_path, a=new.hash[:6], b=old.hash[:6])
    assert back.diff is not None and back.diff.a.text == V2
    with pytest.raises(ConfigError, match="no version"):
        prompt_page(runs.store, runs.prompt_path, a="ffff0000")
    with pytest.raises(ConfigError, match="no prompt"):
        prompt_page(runs.store, "missing.prompt")


def test_runs_of_each_version_and_the_chart(runs: TwoRuns) -> None:
    page = prompt_page(runs.store, runs.prompt_path)
    new, old = page.group.versions
    assert [u.run_id for u in page.uses_of(old)] == [runs.first]
    assert [u.run_id for u in page.uses_of(new)] == [runs.second]
    [series] = page.chart.series
    assert series.name == "bot" and [p.value for p in series.points] == [0.9, 0.9]
    xs = [p.x for p in series.points]
    assert xs[0] < xs[1]  # oldest run left
    assert "version 1" in series.points[0].title and runs.first in series.points[0].title
    assert all(c in "0123456789., " for c in series.polyline)
    single = prompt_page(runs.store, "other")
    assert single.diff is None and len(single.uses) == 2


def test_diff_versions_refuses_an_unknown_unit(runs: TwoRuns) -> None:
    [group] = prompts_page(runs.store, search="ask").groups
    with pytest.raises(ConfigError, match="unknown diff unit"):
        diff_versions(runs.store, group.latest.hash, group.latest.hash, "char")  # type: ignore[arg-type]
    same = diff_versions(runs.store, group.latest.hash, group.latest.hash)
    assert same.diff.identical
