"""The prompt pages over plain HTTP: the list (search, candidates), one prompt (versions, the
runs that used each, the chart, a diff between two chosen versions), errors, and hostile prompt
names and texts escaped on every page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import promptwork as pw
from evalkit import write_suite
from promptwork.web.app import create_app
from promptwork.web.prompts import prompt_url
from promptwork.web.security import WebSettings
from versionkit import TwoRuns, two_versions

from .conftest import HOSTILE
from .inert import assert_inert


def _client(url: str) -> TestClient:
    return TestClient(create_app(url, WebSettings(port=8484)), base_url="http://127.0.0.1:8484")


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    return two_versions(tmp_path, monkeypatch)


def _links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/prompts/[^"]+)"', page)]


def test_the_list_links_every_prompt(runs: TwoRuns) -> None:
    client = _client(runs.store.url)
    page = client.get("/prompts").text
    assert prompt_url(runs.prompt_path) in _links(page) and "/prompts/other" in _links(page)
    assert page.count('class="prompt-group"') == 2
    found = client.get("/prompts", params={"q": "ask"}).text
    assert found.count('class="prompt-group"') == 1 and 'value="ask"' in found
    assert "No prompts match" in client.get("/prompts", params={"q": "zzz"}).text
    assert assert_inert(page) == 0


def test_a_prompt_page_shows_versions_uses_chart_and_diff(runs: TwoRuns) -> None:
    client = _client(runs.store.url)
    response = client.get(prompt_url(runs.prompt_path))
    assert response.status_code == 200
    page = response.text
    assert page.count('class="version"') == 2
    # each version's run, with its pass rate: version 1 fails test 1, version 2 test 2
    assert f'href="/runs/{runs.first}"' in page and f'href="/runs/{runs.second}"' in page
    assert page.count("9/10 = 90.0%") == 2
    assert assert_inert(page) == 1  # the pass-rate chart
    assert page.count("<circle") == 2  # one dot per run
    # the default diff: the newest version against the one before, by line
    assert "<del>v1 question Q{{ i }}.\n</del>" in page
    assert "<ins>v2 question Q{{ i }}. Think.\n</ins>" in page
    new_hash = re.findall(r'data-hash="([0-9a-f]{64})"', page)[0]
    old_hash = re.findall(r'data-hash="([0-9a-f]{64})"', page)[1]
    # versions chosen in the URL, reversed, word by word
    words = client.get(prompt_url(runs.prompt_path, a=new_hash[:8], b=old_hash[:8],
                                  unit="word")).text
    assert "<del> Think.</del>" in words  # B (the old version) lacks it
    assert 'value="word" checked' in words
    assert f'<option value="{new_hash[:12]}" selected>' in words.split('name="b"')[0]


def test_errors_are_clear(runs: TwoRuns) -> None:
    client = _client(runs.store.url)
    missing = client.get("/prompts/no-such-prompt")
    assert missing.status_code == 404 and "no prompt" in missing.text
    bad = client.get(prompt_url(runs.prompt_path, unit="char"))
    assert bad.status_code == 400 and "unknown diff unit" in bad.text
    unknown = client.get(prompt_url(runs.prompt_path, a="ffffffff"))
    assert unknown.status_code == 400 and "no version" in unknown.text


def test_hostile_prompt_names_and_texts_stay_text(tmp_path: Path,
                                                  web_store: tuple[str, list[str]]) -> None:
    """Hostile labels (the workbench store's) and a prompt file with two hostile versions: the
    list, every prompt page and the diff print them as text."""
    client = _client(web_store[0])
    page = client.get("/prompts").text
    assert "&lt;img src=x onerror" in page and "<img src=x" not in page
    links = _links(page)
    assert len(links) == 4
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert_inert(response.text)

    folder = tmp_path / "evil"
    (folder / "prompts").mkdir(parents=True)
    path = folder / "prompts" / "evil.prompt"
    db = f"sqlite:///{tmp_path / 'evil.db'}"
    for body in (HOSTILE[0] + "\n{{ q }}\n", HOSTILE[1] + "\n" + HOSTILE[2] + "\n{{ q }}\n"):
        path.write_text(body, encoding="utf-8")
        pw.evaluate(write_suite(folder, {"prompts": ["file://prompts/evil.prompt"],
                                         "providers": ["echo"],
                                         "tests": [{"vars": {"q": HOSTILE[4]}}]}), db=db)
    evil = _client(db)
    [link] = _links(evil.get("/prompts").text)
    for unit in ("line", "word"):
        diff = evil.get(link, params={"unit": unit}).text
        assert_inert(diff)
        assert "<del>" in diff and "<ins>" in diff
        if unit == "line":  # a word diff cuts the tags into tokens
            assert "<del>&lt;script&gt;document.title" in diff
            assert "<ins>&lt;img src=x onerror=" in diff and "&lt;svg onload" in diff
