"""Check values and options: rendering a value as a template, the variables and files it needs,
and validating a check's value and options for its type when the suite loads.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Mapping
from typing import Any

from promptwork.checks.base import CheckSpec
from promptwork.checks.catalog import JUDGE_CHECKS, NEEDS_VALUE, RAW_VALUE, SPEC_PROBLEMS
from promptwork.errors import MissingVariableError, TemplateError
from promptwork.templates import Template, TemplateEngine

__all__ = [
    "FILE_OPTIONS",
    "check_files",
    "option_files",
    "render_value",
    "validate_spec",
    "value_variables",
]

# --- values as templates ----------------------------------------------------------------------

_TEMPLATE_MARKERS = ("{{", "{%", "{#")


@functools.cache
def _engine() -> TemplateEngine:
    return TemplateEngine()


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return _engine().compile(source, path="<check value>")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and any(m in value for m in _TEMPLATE_MARKERS)


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render a check value with the test's vars (promptfoo renders assertion values).

    Strings, and strings directly inside a list, are rendered; mappings (JSON schemas, expected
    objects) are left alone. Text without template markers is returned as is.

    Raises:
        TemplateError: Syntax error or missing variable.
    """
    if _is_template(value):
        try:
            return _compiled(value).render(variables)
        except MissingVariableError as exc:
            known = ", ".join(sorted(variables)) or "none"
            raise TemplateError(
                f"check value uses undefined variable{'s' if len(exc.names) > 1 else ''} "
                f"{', '.join(exc.names)} (this test's vars: {known})"
            ) from None
    if isinstance(value, list | tuple):
        return [render_value(v, variables) if isinstance(v, str) else v for v in value]
    return value


def value_variables(spec: CheckSpec) -> frozenset[str]:
    """The variables ``spec``'s value needs when rendered (to check them before any model call).

    None for values that are code or plain text; a value that does not compile is left to
    :func:`validate_spec` to report.
    """
    if spec.type in RAW_VALUE:
        return frozenset()
    names: set[str] = set()
    for item in spec.value if isinstance(spec.value, list | tuple) else [spec.value]:
        if _is_template(item):
            try:
                template = _compiled(item)
            except TemplateError:
                continue
            names |= template.required
    return frozenset(names)


def check_files(spec: CheckSpec) -> list[str]:
    """The ``file://`` references a check reads or runs (its value, ``transform``,
    ``contextTransform`` and ``rubricPrompt``), to confine them to the suite folder before any
    model call."""
    refs = (spec.value, spec.transform, spec.context_transform, spec.config.get("rubricPrompt"))
    return [r for r in refs if isinstance(r, str) and _is_file(r)]


#: The options of a test (or ``defaultTest``) that may name a file read when it is graded
#: (``options.rubricPrompt`` goes to the test's checks, whose config :func:`check_files` reads).
FILE_OPTIONS = ("transform",)


def option_files(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(option, file:// reference)`` pairs of a test's ``options`` (``transform``),
    confined like :func:`check_files`."""
    return [(key, ref) for key in FILE_OPTIONS
            if isinstance(ref := options.get(key), str) and _is_file(ref)]


def _is_file(ref: str) -> bool:
    return ref.startswith("file://")


# --- validation -------------------------------------------------------------------------------


def validate_spec(spec: CheckSpec) -> str | None:
    """What is wrong with ``spec``'s value or options for its check type, or ``None``.

    Called by :func:`parse_spec`, so mistakes surface when the suite loads rather than
    in every result cell.
    """
    value = spec.value
    if spec.type in NEEDS_VALUE and (
        value is None or (spec.type != "equals" and (value == "" or value == []))
    ):
        return "needs a 'value'"
    if spec.type not in RAW_VALUE:
        for item in value if isinstance(value, list) else [value]:
            if _is_template(item):
                try:
                    _compiled(item)
                except TemplateError as exc:
                    return f"bad template in value: {exc.message}"
    if spec.type == "python" and not isinstance(value, str):
        return "value must be a Python expression, a function body, or file://path.py:function"
    if spec.type == "regex" and isinstance(value, str) and not _is_template(value):
        try:
            re.compile(value)
        except re.error as exc:
            return f"invalid regular expression {value!r}: {exc}"
    if spec.type in ("latency", "cost"):
        limit = spec.threshold if spec.threshold is not None else value
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
            unit = "milliseconds" if spec.type == "latency" else "US dollars"
            return f"needs a 'threshold' (maximum, in {unit})"
    if spec.type == "rouge-n":
        n = spec.config.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return f"config 'n' must be an integer >= 1, got {n!r}"
    if spec.type in ("is-json", "contains-json") and isinstance(value, Mapping):
        from promptwork.checks.structured import schema_problem

        return schema_problem(value)
    if spec.type in SPEC_PROBLEMS:
        module_name, _, attr = SPEC_PROBLEMS[spec.type].partition(":")
        problem: str | None = getattr(importlib.import_module(module_name), attr)(spec)
        if problem:
            return problem
    if spec.type in JUDGE_CHECKS:
        from promptwork.checks.judge import spec_problem as judge_problem

        return judge_problem(spec)
    if spec.type == "similar":
        from promptwork.checks.similarity import spec_problem as similarity_problem

        return similarity_problem(spec)
    return None
