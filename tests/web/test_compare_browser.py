"""Compare with a baseline in a real browser (Playwright on Debian's chromium): from the
baseline run's matrix, follow "Compare with this run as the baseline", choose run B, see the
deltas and the plain verdict, filter to regressions, open a word diff; and the matrix of a
running run follows its progress live and shows the results when it finishes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from promptwork.store import Store
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings
from versionkit import TwoRuns, two_versions

from .conftest import LiveServer, free_port, launched_chromium

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, TwoRuns]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        runs = two_versions(tmp_path_factory.mktemp("comparebrowser"), monkeypatch)
        port = free_port()
        with LiveServer(create_app(runs.store.url, WebSettings(port=port)), "127.0.0.1",
                        port) as server:
            yield server, runs


@pytest.fixture(scope="module")
def chromium(served: Any) -> Iterator[Any]:
    with launched_chromium() as browser:  # after the store is made
        yield browser


def test_compare_with_a_baseline(chromium: Any, served: tuple[LiveServer, TwoRuns]) -> None:
    server, runs = served
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/runs/{runs.first}")
    page.click("a.compare-link")
    page.wait_for_url(f"**/compare?a={runs.first}")
    assert page.locator("p.choose-b").count() == 1
    assert page.locator("select[name='a']").input_value() == runs.first
    page.select_option("select[name='b']", runs.second)
    page.click("form.compare-form button[type='submit']")
    page.wait_for_url(f"**b={runs.second}**")
    pairs = page.locator("table.compare-pairs tbody tr")
    assert pairs.count() == 2  # ask.prompt x bot and other x bot
    first = pairs.nth(0)
    assert "90.0% → 90.0%" in first.inner_text()
    assert "no significant difference" in first.locator("td.verdict").inner_text()
    assert page.locator("table.flips tr[data-kind='regression']").count() == 1
    assert page.locator("table.flips tr[data-kind='fix']").count() == 1
    page.click("nav.filters a:text-is('regressions')")
    page.wait_for_url("**flips=regressions**")
    assert page.locator("table.flips tr[data-kind='fix']").count() == 0
    assert page.locator("table.flips tr[data-kind='regression']").count() == 1
    page.click("table.flips tr[data-kind='regression'] a:text-is('diff')")
    page.wait_for_url("**test=2**")
    # version 1 answered "yes it is blue" on test 2, version 2 "no"
    assert page.locator("del").first.inner_text() == "yes it is blue"
    assert page.locator("ins").first.inner_text() == "no"
    assert f"a={runs.first}" in page.url and "flips=regressions" in page.url
    assert errors == []
    page.close()


def test_a_running_runs_matrix_follows_its_progress(
        chromium: Any, served: tuple[LiveServer, TwoRuns]) -> None:
    server, runs = served
    store = Store(runs.store.url)
    run = store.create_run("d" * 64, 4, {"prompts": [], "providers": []}, "live run")
    page = chromium.new_page()
    page.goto(f"{server.url}/runs/{run}")
    assert page.locator("span.run-status").inner_text() == "running"
    timer = threading.Timer(1.0, store.finish_run, (run, "complete", None))
    timer.start()
    # the progress stream says it finished; the page reloads and shows the run complete
    page.locator("span.progress:not([data-progress-url])").wait_for(timeout=15_000)
    assert page.locator("span.run-status").inner_text() == "complete"
    timer.join()
    store.close()
    page.close()
