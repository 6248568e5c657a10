"""Compiled templates are remembered per process (a suite loaded again does not re-compile)."""

from __future__ import annotations

import pytest

from promptwork.errors import TemplateError
from promptwork.templates import RenderLimits, TemplateEngine


def test_the_same_source_compiles_once() -> None:
    first = TemplateEngine().compile("Hello {{ name }}!", "a.prompt", 3)
    again = TemplateEngine().compile("Hello {{ name }}!", "a.prompt", 3)
    assert again is first
    assert again.render({"name": "Ada"}) == "Hello Ada!"
    # Where it came from is part of the key: errors point at the right file and line.
    elsewhere = TemplateEngine().compile("Hello {{ name }}!", "b.prompt", 7)
    assert elsewhere is not first and elsewhere.line_of("name") == 7


def test_other_limits_compile_their_own() -> None:
    source = "{{ 'x' * n }}"
    small = TemplateEngine(RenderLimits(max_chars=10)).compile(source)
    assert small is not TemplateEngine().compile(source)
    with pytest.raises(TemplateError):
        small.render({"n": 50})
    assert TemplateEngine().compile(source).render({"n": 50}) == "x" * 50


def test_syntax_errors_are_raised_every_time() -> None:
    for _ in range(2):
        with pytest.raises(TemplateError, match="syntax"):
            TemplateEngine().compile("{% if %}", "bad.prompt", 2)
