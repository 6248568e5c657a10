"""The Playground in a real browser (Playwright on Debian's chromium): edit a prompt and see the
embedded model's answer stream in; start a suite run and watch it finish."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalkit import write_suite
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .conftest import LiveServer, free_port

pytestmark = pytest.mark.server
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    write_suite(tmp_path, {
        "prompts": ["Say {{ word }}"], "providers": ["echo"],
        "tests": [{"vars": {"word": f"w{i}"}, "assert": [{"type": "contains", "value": "w1"}]}
                  for i in range(4)]})
    port = free_port()
    app = create_app(f"sqlite:///{tmp_path / 'store.db'}", WebSettings(port=port),
                     root=tmp_path)
    with LiveServer(app, "127.0.0.1", port) as live:
        yield live


@pytest.fixture
def page() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on this machine (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            errors: list[str] = []
            tab = context.new_page()
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error"
                   and "Failed to load resource" not in m.text else None)
            tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                   if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            yield tab
            assert errors == [], errors  # no script error, no CSP violation
        finally:
            browser.close()


@pytest.mark.embedded
def test_edit_a_prompt_and_see_the_embedded_answer_stream_in(server: LiveServer,
                                                             page: Any) -> None:
    page.goto(f"{server.url}/playground")
    page.fill("#source", "user:\nWrite one short sentence about {{ animal }}.\n")
    page.wait_for_selector('textarea[name="var:animal"]')  # the form follows the text
    page.fill('textarea[name="var:animal"]', "a cat")
    page.fill('input[name="max_tokens"]', "24")
    page.fill('input[name="temperature"]', "0")
    assert page.is_checked('input[name="model"][value="local:smollm2"]')
    # remember whether text showed while the answer was still streaming
    page.evaluate("""() => {
        window.sawPartial = false;
        new MutationObserver(() => {
            const s = document.querySelector('#answers section.streaming .pg-text');
            if (s && s.textContent.length > 0) { window.sawPartial = true; }
        }).observe(document.getElementById('answers'),
                   {subtree: true, childList: true, characterData: true});
    }""")
    page.click("#run")
    done = page.wait_for_selector('#answers section[data-model="local:smollm2"][data-done="1"]',
                                  timeout=120_000)
    text = done.query_selector(".pg-text").text_content()
    stats = done.query_selector(".pg-stats").text_content()
    assert text.strip() and "tokens" in stats and "ms" in stats, (text, stats)
    assert page.evaluate("window.sawPartial")


def test_run_on_suite_and_watch_it_finish(server: LiveServer, page: Any) -> None:
    page.goto(f"{server.url}/playground")
    page.fill('input[name="suite"]', "promptwork.yaml")
    page.click("#run-suite")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector('#job-progress[data-finished="complete"]', timeout=30_000)
    assert page.text_content(".job-done") == "4" and page.text_content(".job-passed") == "1"
    page.wait_for_selector("#live-matrix table", timeout=10_000)
    assert "w3" in page.text_content("#live-matrix")
