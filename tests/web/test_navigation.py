"""The workbench's header navigation (not in the standalone report), the matrix page's link to
compare with the run as the baseline, its live progress while the run is running, and the
named metrics of its summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptwork.report.html import render_html
from promptwork.report.summary import summarize
from promptwork.store import Store
from promptwork.views.matrix import labels_of
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .inert import assert_inert

SECTIONS = [("/runs", "Runs"), ("/compare", "Compare"), ("/prompts", "Prompts"),
            ("/playground", "Playground"), ("/optimizations", "Optimizations"),
            ("/judges", "Judges")]


@pytest.fixture(scope="module")
def client(web_store: tuple[str, list[str]]) -> TestClient:
    return TestClient(create_app(web_store[0], WebSettings(port=8484)),
                      base_url="http://127.0.0.1:8484")


def _nav(page: str) -> str:
    found = re.search(r'<nav class="top">.*?</nav>', page, re.S)
    assert found is not None, "no header navigation"
    return found.group(0)


@pytest.mark.parametrize("path", ["/runs", "/compare", "/prompts", "/optimizations"])
def test_every_page_has_the_header_navigation(client: TestClient, path: str) -> None:
    nav = _nav(client.get(path).text)
    assert re.findall(r'<a href="([^"]+)"[^>]*>(\w+)</a>', nav)[:6] == SECTIONS
    current = re.findall(r'<a href="([^"]+)" class="on" aria-current="page">', nav)
    assert current == [path]


def test_the_current_section_is_marked_on_deeper_pages(client: TestClient,
                                                       web_store: tuple[str, list[str]]) -> None:
    nav = _nav(client.get(f"/runs/{web_store[1][0]}").text)
    assert re.findall(r'<a href="([^"]+)" class="on"', nav) == ["/runs"]


def test_the_standalone_report_has_no_navigation(web_store: tuple[str, list[str]]) -> None:
    store = Store(web_store[0])
    run = store.get_run(web_store[1][0])
    prompts, models = labels_of(run)
    rows = list(store.results(run.id))
    page = render_html(run, rows, prompts, models, summarize(rows, prompts, models))
    assert "<nav" not in page and 'href="/runs"' not in page
    assert page.count("<svg") == 2  # the report's charts, drawn by the shared partial


def test_the_matrix_links_to_compare_with_the_run_as_baseline(
        client: TestClient, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    page = client.get(f"/runs/{run}").text
    assert f'<a class="compare-link" href="/compare?a={run}">' in page
    compare = client.get(f"/compare?a={run}").text
    assert f'<option value="{run}" selected>' in compare.split('name="b"')[0]
    assert "data-progress-url" not in page  # a complete run is not watched


def test_the_matrix_summary_shows_named_metrics(client: TestClient,
                                                web_store: tuple[str, list[str]]) -> None:
    plain, evil = web_store[1]
    page = client.get(f"/runs/{plain}").text
    summary = page.split('<table class="summary">')[1].split("</table>")[0]
    assert '<th class="metric">fruit</th>' in summary
    # each column: "apple" and "cherry apple" pass the fruit check, 2 repeats of 4 tests
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in summary.split("<tr")[2:]]
    assert [row[4] for row in rows] == ["0.50", "0.50"]  # after prompt, model, rate, mean
    evil_page = client.get(f"/runs/{evil}").text
    assert 'class="metric"' not in evil_page  # no named metric: no column
    assert_inert(evil_page.replace('<script src="/static/htmx.min.js" defer></script>', ""))


def test_a_running_run_shows_live_progress(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    run = store.create_run("e" * 64, 6, {"prompts": [], "providers": []}, "live run")
    client = TestClient(create_app(url, WebSettings(port=8484)), base_url="http://127.0.0.1:8484")
    page = client.get(f"/runs/{run}").text
    assert (f'data-progress-url="/runs/{run}/progress" data-reload-when-done="1">0/6</span>'
            in page)
    assert '<span class="run-status">running</span>' in page
    store.finish_run(run, "complete", None)
    assert "data-progress-url" not in client.get(f"/runs/{run}").text
