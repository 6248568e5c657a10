"""The workbench in a real browser (Playwright on Debian's chromium): browse a run, switch to
failures, search, open a cell; hostile answers, vars and labels run no script and make no
request to a listening local server, on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from browser import request_counter
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .conftest import LiveServer, free_port, launched_chromium, make_store

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def chromium(trap_and_server: Any) -> Iterator[Any]:
    with launched_chromium() as browser:  # after the store is made
        yield browser


@pytest.fixture(scope="module")
def trap_and_server(tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[tuple[LiveServer, list[str], list[str]]]:
    with request_counter() as (base, hits):
        trap_port = int(base.rsplit(":", 1)[1])
        url, ids = make_store(tmp_path_factory.mktemp("browser"), trap_port)
        port = free_port()
        with LiveServer(create_app(url, WebSettings(port=port)), "127.0.0.1", port) as server:
            yield server, ids, hits


def test_browse_filter_search_and_open_a_cell(
        chromium: Any, trap_and_server: tuple[LiveServer, list[str], list[str]]) -> None:
    server, ids, _hits = trap_and_server
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/runs")
    assert page.locator("table.runs tbody tr").count() == 2
    page.click(f"a.run-link[href='/runs/{ids[0]}']")
    page.wait_for_url(f"**/runs/{ids[0]}")
    assert page.locator("td.test").count() == 4
    page.click("a.mode[data-mode='failures']")
    page.wait_for_url("**mode=failures**")
    assert page.locator("td.test").count() == 2
    page.fill("form.filters input[name='q']", "date")
    page.click("form.filters button[type='submit']")
    page.wait_for_url("**q=date**")
    assert page.locator("td.test").count() == 1
    assert "mode=failures" in page.url  # the state stays in the URL
    page.click("td.fail a.cell-link >> nth=0")
    page.wait_for_url("**/cells/3/**")
    assert page.locator("h2", has_text="Answer").count() == 1
    assert "date" in page.locator("pre.answer").inner_text()
    assert errors == []
    page.close()


def test_runs_page_search_as_you_type(
        chromium: Any, trap_and_server: tuple[LiveServer, list[str], list[str]]) -> None:
    server, ids, _hits = trap_and_server
    page = chromium.new_page()
    page.goto(f"{server.url}/runs")
    page.fill("form.search input[name='q']", "plain")
    # htmx swapped the table in and pushed the URL (no navigation). Polled from outside the
    # page: the CSP forbids the eval that wait_for_function needs.
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page).to_have_url(re.compile(r"[?&]q=plain"))
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    assert ids[0] in page.locator("#runs").inner_text()
    page.close()


def test_no_script_runs_and_nothing_is_fetched(
        chromium: Any, trap_and_server: tuple[LiveServer, list[str], list[str]]) -> None:
    server, ids, hits = trap_and_server
    run = ids[1]
    paths = ["/runs", f"/runs/{run}", f"/runs/{run}?mode=errors", f"/runs/{run}?mode=different",
             f"/runs/{run}?q=script", *(f"/runs/{run}/cells/{t}/{p}/{m}/0" for t in range(10)
                                       for p, m in ((0, 0), (1, 1)))]
    page = chromium.new_page()
    dialogs: list[str] = []
    foreign: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request: Any) -> None:
        if not request.url.startswith(server.url):
            foreign.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    for path in paths:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        assert "pwned" not in page.title(), path
        assert page.evaluate("document.body.getAttribute('data-pwned')") is None, path
        assert page.locator("img, iframe, svg, object, embed").count() == 0, path
        for link in page.locator("a").all():
            assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    page.close()
    assert dialogs == []
    assert foreign == [], foreign
    assert hits == [], f"the pages made requests to the listening server: {hits}"
