"""Rating cells with the keyboard in a real browser (Playwright on Debian's chromium): a run
whose llm-rubric check is graded by a scripted grader, rated in the queue with j/k, p/f, a
digit score, a comment and a withdrawal; the judge agreement on the pages changes with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from promptwork.store import Store
from promptwork.store.ratings import run_ratings
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .conftest import LiveServer, free_port, launched_chromium
from .judged import make_judged_store

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def judged_server(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[LiveServer, str, str]]:
    url, run_id = make_judged_store(tmp_path_factory.mktemp("rate-browser"))
    port = free_port()
    app = create_app(url, WebSettings(port=port, rater="ada"))
    with LiveServer(app, "127.0.0.1", port) as server:
        yield server, url, run_id


@pytest.fixture(scope="module")
def chromium(judged_server: Any) -> Iterator[Any]:
    with launched_chromium() as browser:  # after the store is made
        yield browser


def test_rate_with_the_keyboard_and_see_the_judge_agreement_change(
        chromium: Any, judged_server: tuple[LiveServer, str, str]) -> None:
    server, url, run_id = judged_server
    expect = pytest.importorskip("playwright.sync_api").expect
    page = chromium.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
            and "Failed to load resource" not in msg.text else None)  # told by the next line
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    n = page.locator("tr.judge td.judge-n")
    kappa = page.locator("tr.judge td.judge-kappa")

    page.goto(f"{server.url}/runs/{run_id}")
    expect(page.locator("#judges .judges-empty")).to_contain_text("No rated cells")
    expect(page.locator("#rater-name")).to_have_text("ada")
    page.click("a.rate-link")
    page.wait_for_url("**/rate")
    expect(page.locator("#queue")).to_have_attribute("data-position", "0.0.0.0")

    # The scripted judge passes apple (0) and rock (3); this person passes apple and pear (2).
    page.keyboard.press("p")  # test 0 apple: pass, then on to the next unrated cell
    page.wait_for_url("**cell=1.0.0.0")
    expect(n).to_have_text("1")
    page.keyboard.press("f")  # test 1 stone: fail
    page.wait_for_url("**cell=2.0.0.0")
    expect(n).to_have_text("2")
    expect(kappa).to_contain_text("1.00 [")  # the judge and the person agree so far
    page.keyboard.press("7")  # a quick score, kept for the verdict
    expect(page.locator("#rating-message")).to_contain_text("score 0.7")
    page.keyboard.press("p")  # test 2 pear: pass (the judge failed it)
    page.wait_for_url("**cell=3.0.0.0")
    page.keyboard.press("c")
    page.keyboard.type("a rock is no fruit")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#rating-message")).to_contain_text("comment kept")
    page.keyboard.press("f")  # test 3 rock: fail (the judge passed it)
    page.wait_for_url("**cell=4.0.0.0")
    expect(n).to_have_text("4")
    expect(kappa).to_contain_text("0.00 [")  # agrees on half, as chance would: kappa 0
    expect(page.locator(".queue-progress")).to_have_text("rated 4 of 6 cells")

    page.keyboard.press("k")  # back to test 3, and withdraw its rating
    page.wait_for_url("**cell=3.0.0.0")
    expect(page.locator("tr.rating.mine td.comment")).to_have_text("a rock is no fruit")
    page.keyboard.press("u")
    expect(page.locator(".no-ratings")).to_be_visible()
    expect(n).to_have_text("3")
    page.keyboard.press("j")
    page.wait_for_url("**cell=4.0.0.0")

    page.goto(f"{server.url}/runs/{run_id}")
    expect(n).to_have_text("3")
    expect(kappa).not_to_contain_text("0.00 [")
    page.goto(f"{server.url}/judges")
    expect(page.locator(f"section.run-judges[data-run='{run_id}'] td.judge-n")).to_have_text("3")
    page.close()
    assert problems == [], problems

    store = Store(url)
    try:
        stored = [(r.cell.test, r.passed, r.score, r.comment, r.rater)
                  for r in run_ratings(store, run_id)]
    finally:
        store.close()
    assert stored == [(0, True, None, None, "ada"), (1, False, None, None, "ada"),
                      (2, True, 0.7, None, "ada")]
