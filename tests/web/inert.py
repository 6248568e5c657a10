"""What every page of the workbench must be, whatever text the store holds: inert. Only our own
scripts, style sheets and links; no event handler, no ``javascript:`` URL, no image, frame or
style element; inline SVG only as our charts (``svg.chart``) and their shapes."""

from __future__ import annotations

from html.parser import HTMLParser

SVG_SHAPES = {"line", "rect", "text", "title", "polyline", "circle"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag of ``html`` with its attributes."""
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> int:
    """Raises AssertionError when ``html`` could run a script or fetch something that is not
    ours; returns how many charts it holds."""
    charts = 0
    for tag, attrs in tags(html):
        if tag == "script":
            assert attrs.get("src") in ("/static/htmx.min.js", "/static/app.js"), attrs
        if tag == "svg":
            assert attrs.get("class") == "chart" and attrs.get("role") == "img", attrs
            charts += 1
        if tag in ("img", "iframe", "object", "embed", "style", "base", "image", "use",
                   "foreignobject"):
            raise AssertionError(f"unexpected <{tag}> {attrs}")
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
            assert name not in ("style", "srcdoc", "formaction", "xlink:href"), (tag, name)
        if tag == "link":
            assert (attrs.get("href") or "").startswith("/static/"), attrs
        if tag == "a":
            href = attrs.get("href") or ""
            assert href.startswith("/") and not href.startswith("//"), attrs
    return charts
