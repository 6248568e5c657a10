"""The HTML report: offline, escaped, no scripts, strict CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from browser import dump_dom, find_browser, request_counter
from promptwork.report.html import CSP, render_html
from promptwork.report.summary import summarize
from promptwork.store import RunRecord

from .synthetic import PROMPTS, PROVIDERS, XSS, make_row, make_run

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "![tracker](https://evil.example/pixel.png)",
    '<iframe src="https://evil.example"></iframe>',
    '<link rel=stylesheet href="http://evil.example/x.css">',
    "</pre></details></td></tr></table><script>alert(1)</script>",
    "\"'><style>@import 'http://evil.example/x.css';</style>",
]


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def hostile_rows() -> list[dict[str, Any]]:
    rows = [make_row(t, output=payload, vars={"q": payload}) for t, payload in enumerate(HOSTILE)]
    rows.append(make_row(len(HOSTILE), 1, 0, output=XSS, success=False,
                         reason="<img src=x onerror=alert(9)>"))
    rows.append(make_row(len(HOSTILE), 0, 1, error="<script>alert('err')</script>"))
    return rows


def render(rows: list[dict[str, Any]], run: RunRecord | None = None,
           prompts: list[str] = PROMPTS, providers: list[str] = PROVIDERS, **kw: Any) -> str:
    columns = summarize(rows, prompts, providers)
    return render_html(run or make_run(), iter(rows), prompts, providers, columns, **kw)


def test_no_unescaped_script_from_outputs() -> None:
    page = render(hostile_rows())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_active_markup_at_all() -> None:
    page = render(hostile_rows(), prompts=["<img src=x onerror=alert(1)>", "p2"],
                  providers=['"><script>alert(1)</script>', "m2"],
                  descriptions={0: "<svg onload=alert(1)>"})
    parser = TagCollector()
    parser.feed(page)
    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form",
                       "a", "style_", "image", "use", "foreignobject"}
    assert sum(1 for tag, _ in parser.tags if tag == "style") == 1  # ours, in <head>
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in {"src", "href", "srcset", "xlink:href", "action", "formaction"}
            assert "javascript:" not in (value or "").lower()


def test_no_remote_resource_references() -> None:
    page = render(hostile_rows())
    # Escaped text holds no "<", so every "<...>" left is a real tag of ours.
    tags = re.findall(r"<[^>]*>", page)
    assert tags
    for tag in tags:
        assert not re.search(r"(?:src|href)\s*=", tag, re.IGNORECASE), tag
        assert "http:" not in tag and "https:" not in tag and "//" not in tag.replace(
            "<!DOCTYPE html>", ""), tag
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style and "@import" not in style and "http" not in style


def test_the_page_itself_mentions_no_url(rows: list[dict[str, Any]]) -> None:
    benign = [r for r in rows if "evil" not in str(r["output"])]
    page = render(benign)
    assert "http://" not in page and "https://" not in page


def test_csp_meta_tag() -> None:
    page = render(hostile_rows())
    assert (f'<meta http-equiv="Content-Security-Policy" content="{CSP}">') in page
    assert "default-src 'none'" in CSP
    assert "style-src 'unsafe-inline'" in CSP
    assert "img-src data:" in CSP
    assert "script-src" not in CSP  # default-src 'none' forbids scripts
    head = page.split("<body>")[0]
    assert head.index("Content-Security-Policy") < head.index("<style>")


def test_structure(rows: list[dict[str, Any]], run: RunRecord) -> None:
    page = render(rows, run)
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>promptwork run run-1</title>" in page
    assert "<code>run-1</code>" in page
    assert "synthetic &lt;b&gt;run&lt;/b&gt;" in page  # description escaped
    assert "75.0% [30.1\u201395.4]" in page
    assert page.count("<svg") == 2 and page.count("</svg>") == 2
    assert 'class="pass"' in page and 'class="fail"' in page and 'class="error"' in page
    assert page.count("<details>") >= 16
    assert "10 passed · 5 failed · 1 errors" in page
    assert "\x1b" not in page and "\\x1b[31mRED" in page


def test_full_outputs_in_details() -> None:
    long = "line one\n" + "x" * 5000 + "\nlast line <b>"
    page = render([make_row(0, output=long)])
    assert "last line &lt;b&gt;" in page  # the full text, escaped, in <details>
    assert "x" * 5000 in page


def test_matrix_is_capped_with_a_note() -> None:
    rows = [make_row(t) for t in range(30)]
    page = render(rows, max_rows=10)
    assert "Showing the first 10 of 30 tests; 20 omitted." in page
    assert "#9</span>" in page and "#10</span>" not in page


def test_default_cap_is_2000() -> None:
    rows = [make_row(t, output="") for t in range(2100)]
    page = render(rows)
    assert "Showing the first 2000 of 2100 tests; 100 omitted." in page


def test_charts_without_latency_or_grades() -> None:
    rows = [make_row(0, error="boom"), make_row(0, 1, 0, latency=None)]
    page = render(rows)
    assert page.count("<svg") == 2
    assert ">n/a</text>" in page


def test_in_a_real_browser(tmp_path: Path) -> None:
    """No script runs and no request leaves: the payloads would change the page's title or body,
    or hit a local HTTP server that counts requests, if the browser acted on any of them."""
    browser = find_browser()
    with request_counter() as (base, hits):
        payloads = ["<script>document.title='pwned'</script>",
                    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
                    "<svg onload=\"document.body.setAttribute('data-pwned','2')\">",
                    f"<img src=\"{base}/img\">",
                    f"![tracker]({base}/markdown)",
                    f"<link rel=stylesheet href=\"{base}/css\">",
                    f"<a href=\"javascript:fetch('{base}/js')\">x</a>",
                    f"<div style=\"background:url({base}/style)\">y</div>"]
        rows = [make_row(t, output=p) for t, p in enumerate(payloads)]
        page = tmp_path / "report.html"
        page.write_text(render(rows), encoding="utf-8")
        dom = dump_dom(browser, page, tmp_path / "profile")
    assert "<title>promptwork run run-1</title>" in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert hits == [], f"the report made requests: {hits}"
