"""The optimization's HTML report: numbers, charts, escaping, CSP, no scripts, the CLI option."""

from __future__ import annotations

import asyncio
import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from browser import dump_dom, find_browser, request_counter
from promptwork.cli.main import main
from promptwork.optimizer import OptimizeResult, aoptimize
from promptwork.providers.scripted import ScriptedProvider
from promptwork.report.html import CSP

from .kit import SEED, smart_provider, write_sentiment_suite

HOSTILE = ("Never write <script>alert(1)</script> or </textarea><img src=x onerror=alert(2)> "
           "or \"'><svg onload=alert(3)>.")
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "section",
    "table", "thead", "tbody", "tr", "th", "td", "svg", "text", "line", "rect", "circle",
    "polyline", "pre", "span", "details", "summary", "footer", "ins", "del", "code", "br",
}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _hostile_suite(folder: Path, line: str = HOSTILE) -> Path:
    write_sentiment_suite(folder)
    seed = SEED.replace("Be brief.", f"Be brief. {line}")
    (folder / "prompts" / "seed.prompt").write_text(seed, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> OptimizeResult:
    folder = _hostile_suite(tmp_path_factory.mktemp("html") / "suite")
    return asyncio.run(aoptimize(None, folder, budget=100, task_provider=smart_provider()))


def test_the_numbers_of_the_report_appear(result: OptimizeResult) -> None:
    page = result.html()
    assert result.improved and result.test_best is not None and result.test_seed is not None
    assert f"<title>promptwork optimize: {result.plan.prompt_label}</title>" in page
    for fact in ("scripted:smart", "auto", "check equals (12)", "12 train / 9 val / 9 test",
                 f"{result.calls_used} of 100 task-model calls used",
                 f"{result.report_calls} task-model calls", f"validation {result.best_val:.3f}"):
        assert fact in page, fact
    test = result.test_best
    assert f"{test.passed}/{test.n} = {100 * test.passed / test.n:.1f}%" in page
    assert f"[{100 * test.low:.1f}\u2013{100 * test.high:.1f}%]" in page
    assert result.comparison is not None and result.comparison.significant
    assert f"(McNemar p={result.comparison.p_value:.4g})" in page
    assert "best is significantly better on the test split" in page
    assert (f"on the same {result.comparison.n} test examples: {result.comparison.fixes} fixed"
            in page)
    for row in result.ablation:
        assert f"{row.contribution:+.3f}" in page and f"{row.without:.3f}" in page
    # the chart: one dot per raced candidate, a step line, both kinds of dots
    assert page.count("<circle") == len(result.history)
    assert "<polyline" in page and "dropped in the race" in page
    assert any(not s.full(result.plan.sizes["val"]) for s in result.history)
    # the diff and the candidates table
    assert '<pre class="textdiff">' in page and "<ins>" in page
    assert page.count("finalist") >= 2 and "\u2605 best" in page
    assert result.run_id is not None and f"promptwork runs show {result.run_id}" in page


def test_prompt_text_is_escaped_everywhere(result: OptimizeResult) -> None:
    page = result.html()
    lower = page.lower()
    assert "<script" not in lower and "</textarea" not in lower
    assert "<img" not in lower and "<svg onload" not in lower
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&#34;&#39;&gt;&lt;svg onload=alert(3)&gt;" in page  # markupsafe's quotes
    parser = Tags()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags} <= ALLOWED_TAGS
    for tag, attrs in parser.tags:
        for name, _ in attrs:
            assert not name.startswith("on") and name not in ("href", "src"), (tag, name)


def test_csp_and_no_network(result: OptimizeResult) -> None:
    page = result.html()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert "http://" not in page and "https://" not in page
    assert "runs no scripts" in page


async def test_nothing_better_and_no_significant_difference(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    write_sentiment_suite(folder)
    dull = ScriptedProvider(["no idea"], id="scripted:dull")
    page = (await aoptimize(None, folder, budget=40, task_provider=dull)).html()
    assert "Nothing beat the seed prompt on validation (0.000)" in page
    assert "The best prompt is the seed prompt." in page
    assert "no significant difference on the test split (McNemar p=1)" in page


def test_cli_writes_the_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _hostile_suite(tmp_path / "suite")
    suite = yaml.safe_load((folder / "promptwork.yaml").read_text())
    suite["providers"] = [{"id": "scripted", "config": {
        "responses": {"one word": "positive", "*": "positive, I think"}}}]
    (folder / "promptwork.yaml").write_text(yaml.safe_dump(suite))
    page = tmp_path / "reports" / "optimize.html"
    code = main(["optimize", "1", "-c", str(folder), "--budget", "60", "--html", str(page), "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"wrote the HTML report {page}" in captured.err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Seed vs best on the test split" in text
    assert "<script" not in text.lower()


def test_in_a_real_browser(tmp_path: Path) -> None:
    """Nothing in the page runs or fetches: payloads in the prompt would change the title or
    the body, or hit a local server that counts requests, if the browser acted on them."""
    browser = find_browser()
    with request_counter() as (base, hits):
        line = (f"<script>document.title='pwned'</script> <img src=\"{base}/img\" "
                "onerror=\"document.body.setAttribute('data-pwned','1')\"> "
                f"<link rel=stylesheet href=\"{base}/css\"> "
                f"<div style=\"background:url({base}/style)\">y</div>")
        folder = _hostile_suite(tmp_path / "suite", line)
        result = asyncio.run(aoptimize(None, folder, budget=60, task_provider=smart_provider()))
        page = tmp_path / "report.html"
        page.write_text(result.html(), encoding="utf-8")
        dom = dump_dom(browser, page, tmp_path / "profile")
    assert "<title>promptwork optimize: prompts/seed.prompt</title>" in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert "<polyline" in dom and "<circle" in dom
    assert hits == [], f"the report made requests: {hits}"


def test_a_result_that_was_not_stored_renders_the_same_numbers(result: OptimizeResult) -> None:
    """Without the stored run's settings the page builds the same record from the result."""
    loose = dataclasses.replace(result, stored_settings={})
    page, stored_page = loose.html(), result.html()
    assert page.count("<circle") == len(result.history) == stored_page.count("<circle")
    test = result.test_best
    assert test is not None and f"{test.passed}/{test.n} = " in page
    for row in result.ablation:
        assert f"{row.contribution:+.3f}" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page.lower()
    assert "\u2605 best" in page and "Search cells" not in page
