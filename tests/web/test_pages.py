"""The runs, matrix and cell pages over a store made by the echo and scripted providers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from promptwork.web.app import create_app
from promptwork.web.security import WebSettings


@pytest.fixture(scope="module")
def client(web_store: tuple[str, list[str]]) -> TestClient:
    return TestClient(create_app(web_store[0], WebSettings(port=8484)),
                      base_url="http://127.0.0.1:8484")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    """Only our own scripts and links; no event handler, no javascript: URL."""
    for tag, attrs in tags(html):
        if tag == "script":
            assert attrs.get("src") in ("/static/htmx.min.js", "/static/app.js"), attrs
        if tag in ("img", "iframe", "svg", "object", "embed", "style", "base"):
            raise AssertionError(f"unexpected <{tag}> {attrs}")
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
        if tag == "link":
            assert (attrs.get("href") or "").startswith("/static/"), attrs
        if tag == "a":
            assert (attrs.get("href") or "").startswith("/"), attrs


def test_runs_page_newest_first(client: TestClient, web_store: tuple[str, list[str]]) -> None:
    html = client.get("/runs").text
    old, new = web_store[1]
    assert html.index(new) < html.index(old)
    assert "plain suite" in html and "16/16" in html and "50.0%" in html
    assert client.get("/", follow_redirects=False).headers["location"] == "/runs"
    assert_inert(html)


def test_runs_page_search_and_paging_in_the_url(client: TestClient,
                                                web_store: tuple[str, list[str]]) -> None:
    old, new = web_store[1]
    html = client.get("/runs?q=plain").text
    assert old in html and new not in html
    assert 'value="plain"' in html
    none = client.get("/runs?q=nothing-like-this").text
    assert "No runs match" in none
    assert old not in client.get("/runs?page=2").text


def test_matrix_page(client: TestClient, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    html = client.get(f"/runs/{run}").text
    assert "say \u00d7 echo" in html and "shout \u00d7 echo" in html
    assert "50.0% [21.5\u201378.5]" in html  # the summary's pass rate with its interval
    assert html.count('class="test"') == 4
    assert "2/2 agree" in html  # repeats shown together
    assert f'href="/runs/{run}/cells/0/0/0/1"' in html


@pytest.mark.parametrize(("query", "tests"), [
    ("mode=failures", {1, 3}), ("mode=passes", {0, 2}), ("mode=errors", set()),
    ("mode=different", {0, 1, 2, 3}), ("q=cherry", {2}), ("q=CH.*Y&re=1", {2}),
    ("q=an%25", set()), ("check=fruit", {0, 1, 2, 3}), ("check=nope", set()),
    ("mode=failures&q=date", {3}),
])
def test_matrix_filters(client: TestClient, web_store: tuple[str, list[str]], query: str,
                        tests: set[int]) -> None:
    run = web_store[1][0]
    html = client.get(f"/runs/{run}?{query}").text
    shown = {int(t) for t in re.findall(r'<td class="test"><span class="dim">#(\d+)', html)}
    assert shown == tests


def test_matrix_bad_regex_is_a_clear_error(client: TestClient,
                                           web_store: tuple[str, list[str]]) -> None:
    r = client.get(f"/runs/{web_store[1][0]}?q=(&re=1")
    assert r.status_code == 400 and "invalid regular expression" in r.text
    assert client.get(f"/runs/{web_store[1][0]}?mode=bogus").status_code == 400


def test_matrix_paging_by_key(client: TestClient, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    first = client.get(f"/runs/{run}?n=3").text
    assert re.findall(r'<td class="test"><span class="dim">#(\d+)', first) == ["0", "1", "2"]
    assert f'href="/runs/{run}?n=3&amp;after=2"' in first
    second = client.get(f"/runs/{run}?n=3&after=2").text
    assert re.findall(r'<td class="test"><span class="dim">#(\d+)', second) == ["3"]
    assert 'rel="next"' not in second and "before=3" in second
    back = client.get(f"/runs/{run}?n=3&before=3").text
    assert re.findall(r'<td class="test"><span class="dim">#(\d+)', back) == ["0", "1", "2"]


def test_matrix_hide_columns(client: TestClient, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    html = client.get(f"/runs/{run}?cols=1.0").text
    header = html.split('<table class="matrix">', 1)[1].split("</thead>", 1)[0]
    assert "shout \u00d7 echo" in header and "say \u00d7 echo" not in header
    same = client.get(f"/runs/{run}?col=1.0").text
    table = '<table class="matrix">'
    assert same.split(table, 1)[1] == html.split(table, 1)[1]


def test_cell_page(client: TestClient, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    html = client.get(f"/runs/{run}/cells/2/1/0/1").text
    assert "Shout cherry apple!" in html  # the prompt as sent and the answer
    assert "<code>icontains</code>" in html and "fruit" in html
    assert "cache hit" in html and "latency" in html
    assert f'href="/runs/{run}/cells/2/0/0/0"' in html  # the other columns
    assert client.get(f"/runs/{run}/cells/99/0/0/0").status_code == 404


def test_hostile_run_is_escaped_everywhere(client: TestClient,
                                           web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][1]
    pages = [client.get(p).text for p in (
        "/runs", f"/runs/{run}", f"/runs/{run}?mode=errors", f"/runs/{run}?q=script",
        f"/runs/{run}/cells/0/0/0/0", f"/runs/{run}/cells/4/1/1/0", f"/runs/{run}/cells/1/1/1/0")]
    for html in pages:
        assert_inert(html)
        assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;svg" in html
    assert "server: &lt;/pre&gt;" in pages[5]  # the scripted error, escaped


def test_live_progress_over_server_sent_events(tmp_path_factory: pytest.TempPathFactory) -> None:
    import json
    import threading

    from promptwork.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'store.db'}"
    store = Store(url)
    run = store.create_run("f" * 64, 10, {"prompts": [], "providers": []}, "live run")
    client = TestClient(create_app(url, WebSettings(port=8484)), base_url="http://127.0.0.1:8484")
    listing = client.get("/runs").text
    assert f'data-progress-url="/runs/{run}/progress"' in listing  # app.js subscribes
    timer = threading.Timer(1.5, store.finish_run, (run, "complete", None))
    timer.start()
    events = []
    with client.stream("GET", f"/runs/{run}/progress") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    timer.join()
    assert events[0] == {"done": 0, "total": 10, "status": "running"}
    assert events[-1]["status"] == "complete"
