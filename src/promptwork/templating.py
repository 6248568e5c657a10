"""The one Jinja2 environment of promptwork's HTML: the static report and the web workbench.

Templates live in ``promptwork/templates/`` (package data): ``base.html`` (the page shell),
``partials/`` (summary, matrix and cell pieces shared by the report and the workbench),
``report/`` (the static report) and ``web/`` (workbench pages).

Escaping has one place: autoescape is on for every template, so any value a template prints
(model output, vars, labels, reasons) is HTML-escaped, quotes included; :func:`clean` runs first
as a filter to write control characters, ANSI escapes and bidi overrides out as text.
``StrictUndefined`` makes a misspelt name an error instead of an empty string.

This environment renders trusted templates written by us with untrusted *data*; it is not the
sandbox that renders users' prompt templates (see :mod:`promptwork.templates`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import jinja2

from promptwork.report.terminal import (
    clean,
    format_cost,
    format_latency,
    format_rate,
    format_score,
    one_line,
    truncate,
)

__all__ = ["environment", "make_environment", "render"]


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _dollars(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _clean_text(value: Any, limit: int = 0) -> str:
    text = clean(value)
    return truncate(text, limit) if limit else text


FILTERS: dict[str, Any] = {
    "clean": _clean_text,
    "one_line": one_line,
    "truncate_text": truncate,
    "rate": format_rate,
    "cost": format_cost,
    "latency": format_latency,
    "score": format_score,
    "when": _when,
    "percent": _percent,
    "dollars": _dollars,
}


def make_environment() -> jinja2.Environment:
    """A new environment: package templates, autoescape on for every file, strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("promptwork", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment (built once; its templates are compiled on first use)."""
    return make_environment()


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` with ``context`` (escaped)."""
    return environment().get_template(name).render(**context)
