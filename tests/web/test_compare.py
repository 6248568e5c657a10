"""The compare page over plain HTTP: a baseline against a run, the filters and the answer diff
in the URL, escaping of answers in the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptwork.web.app import create_app
from promptwork.web.security import WebSettings
from versionkit import TwoRuns, two_versions


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    return two_versions(tmp_path, monkeypatch)


@pytest.fixture
def client(runs: TwoRuns) -> TestClient:
    return TestClient(create_app(runs.store.url, WebSettings(port=8484)),
                      base_url="http://127.0.0.1:8484")


def test_compare_with_a_baseline(client: TestClient, runs: TwoRuns) -> None:
    empty = client.get("/compare")
    assert empty.status_code == 200 and runs.first in empty.text
    page = client.get("/compare", params={"a": runs.first, "b": runs.second})
    assert page.status_code == 200
    assert "no significant difference" in page.text
    assert 'data-kind="regression"' in page.text and 'data-kind="fix"' in page.text
    assert "<del>" in page.text and "<ins>" in page.text  # the first flip's answers diffed
    only = client.get("/compare", params={"a": runs.first, "b": runs.second,
                                          "flips": "fixes"})
    assert 'data-kind="fix"' in only.text and 'data-kind="regression"' not in only.text


def test_two_columns_coloured_by_direction(client: TestClient, runs: TwoRuns) -> None:
    page = client.get("/compare", params={"a": runs.second, "ca": "0:0", "cb": "1:0",
                                          "test": 0})
    assert page.status_code == 200
    assert 'class="num delta fail" data-direction="worse"' in page.text
    assert "<strong>A better, p=0.0039</strong>" in page.text  # one short phrase
    assert 'title="' in page.text and "is better (p=0.0039)" in page.text  # the sentence on hover
    assert "<span>yes it is red</span>" not in page.text  # B answered "nope": a real diff
    assert "<del>yes it is red</del><ins>nope</ins>" in page.text


def test_a_bad_filter_is_a_clear_error(client: TestClient, runs: TwoRuns) -> None:
    page = client.get("/compare", params={"a": runs.first, "b": runs.second, "flips": "x"})
    assert page.status_code == 400 and "unknown filter" in page.text
