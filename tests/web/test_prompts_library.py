"""The workbench's prompt pages show the library: labels, the search with its filters (state in
the URL), the JSON search endpoint and a prompt's card; hostile text stays text."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evalkit import isolate_env
from librarykit import REPLY, make_library, open_store, run_suite
from promptwork.library.lock import move_label
from promptwork.library.sync import sync_folder
from promptwork.store.library import library_entry
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    isolate_env(monkeypatch, tmp_path)
    suite = make_library(tmp_path)
    (tmp_path / "prompts" / "reply.prompt").write_text(REPLY.replace(
        "politely.", "politely. <script>alert(1)</script>"))
    run_suite(suite)
    store = open_store(tmp_path)
    sync_folder(store, tmp_path)
    move_label(store, tmp_path, "reply", library_entry(store, "reply").latest_hash,
               "production", who="carol")
    url = store.url
    store.close()
    return TestClient(create_app(url, WebSettings(port=8484)), base_url="http://127.0.0.1:8484")


def test_the_list_shows_labels_and_searches_the_library(client: TestClient) -> None:
    page = client.get("/prompts").text
    assert 'class="chip label"' in page and "production →" in page
    assert 'class="library-results"' not in page  # no search asked
    # Every prompt names its file: from the runs that used it, else from the library.
    listing = page.split('class="prompts"')[1]
    assert "no file" not in listing and '<span class="chip">prompts/haiku.txt</span>' in listing
    found = client.get("/prompts", params={"find": "refund", "min_score": "0.5"}).text
    assert '<mark>refund</mark>' in found and 'href="/prompts/reply"' in found
    # Hits are ranked 1, 2...; the raw relevance (comparable within one search only) is a tooltip.
    assert '<th title="best match first">Rank</th>' in found and '"num" title="relevance ' in found
    assert 'name="find" value="refund"' in found and 'name="min_score" value="0.5"' in found
    assert "75.0%" in found  # the measured pass rate (3 of 4)
    assert "<script>alert(1)</script>" not in found and "&lt;script&gt;" in found
    none = client.get("/prompts", params={"find": "refund", "min_score": "0.9"}).text
    assert "No library prompt matches." in none
    tagged = client.get("/prompts", params={"tag": "triage"}).text
    assert 'href="/prompts/classify"' in tagged.split('class="library-results"')[1].split(
        "</table>")[0]
    assert client.get("/prompts", params={"min_score": "2"}).status_code == 400


def test_the_json_endpoint(client: TestClient) -> None:
    answer = client.get("/api/prompts/search", params={"q": "support", "label": "production"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    data = answer.json()
    assert data["ranking"] == "lexical" and [r["name"] for r in data["rows"]] == ["reply"]
    row = data["rows"][0]
    assert row["labels"]["production"] == row["version"] and row["measured"] == 0.75
    semantic = client.get("/api/prompts/search", params={"q": "refund", "semantic": "1"}).json()
    assert "falling back to lexical ranking" in semantic["note"]
    assert client.get("/api/prompts/search", params={"limit": "0"}).status_code == 422


def test_a_prompt_page_shows_its_labels_and_card(client: TestClient) -> None:
    page = client.get("/prompts/reply").text
    assert "production → <code>" in page and 'href="/prompts/reply?card=md"' in page
    card = client.get("/prompts/reply", params={"card": "md"})
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/markdown")
    assert card.text.startswith("---\nname: reply\n") and "## Versions and labels" in card.text
    by_path = client.get("/prompts/prompts%2Fhaiku.txt")
    assert by_path.status_code == 200 and "Prompt card (Markdown)" in by_path.text
    assert client.get("/prompts/reply", params={"card": "pdf"}).status_code == 400
