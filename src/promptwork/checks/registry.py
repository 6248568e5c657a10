"""Check names to check functions, and running one check.

Built-in checks are registered exactly like plugins: by a lazy ``module:function`` reference, so a
check family's imports (``jsonschema``...) only matter when it is used. Third-party packages add
checks through the ``promptwork.checks`` entry-point group: the entry point's name is the check
type and its object a :data:`~promptwork.checks.base.CheckFn`. :func:`register` adds one at run
time (tests, notebooks).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from promptwork.checks.base import CheckContext, CheckFn, CheckResult, CheckSpec
from promptwork.errors import ConfigError, MissingVariableError, TemplateError
from promptwork.templates import Template, TemplateEngine
from promptwork.yamlfile import did_you_mean

__all__ = [
    "BUILTIN",
    "get_check",
    "known_types",
    "register",
    "render_value",
    "run_check",
    "validate_spec",
]

ENTRY_POINT_GROUP = "promptwork.checks"

BUILTIN: dict[str, str] = {
    "equals": "promptwork.checks.text:equals",
    "contains": "promptwork.checks.text:contains",
    "icontains": "promptwork.checks.text:icontains",
    "contains-any": "promptwork.checks.text:contains_any",
    "contains-all": "promptwork.checks.text:contains_all",
    "icontains-any": "promptwork.checks.text:icontains_any",
    "icontains-all": "promptwork.checks.text:icontains_all",
    "regex": "promptwork.checks.text:regex",
    "starts-with": "promptwork.checks.text:starts_with",
    "is-refusal": "promptwork.checks.text:is_refusal",
    "is-json": "promptwork.checks.structured:is_json",
    "contains-json": "promptwork.checks.structured:contains_json",
    "levenshtein": "promptwork.checks.metrics:levenshtein",
    "rouge-n": "promptwork.checks.metrics:rouge_n",
    "bleu": "promptwork.checks.metrics:bleu",
    "python": "promptwork.checks.python_check:python",
    "latency": "promptwork.checks.perf:latency",
    "cost": "promptwork.checks.perf:cost",
}

#: Checks that cannot run without a ``value``.
NEEDS_VALUE = frozenset(
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "regex",
        "starts-with",
        "levenshtein",
        "rouge-n",
        "bleu",
        "python",
    }
)

#: Checks whose value is code, not a template: rendering would mangle ``{{`` in Python source.
#: Python checks get the vars as ``context["vars"]`` instead.
RAW_VALUE = frozenset({"python"})

_registered: dict[str, CheckFn] = {}
_loaded: dict[str, CheckFn] = {}


@functools.cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def register(name: str, fn: CheckFn) -> None:
    """Add (or replace) a check at run time; it takes precedence over built-ins and plugins."""
    if name.startswith("not-"):
        raise ValueError("check names may not start with 'not-' (that prefix negates a check)")
    _registered[name] = fn
    _loaded.pop(name, None)


def known_types() -> list[str]:
    """Every check type that can be used (without the ``not-`` forms), sorted."""
    return sorted(set(BUILTIN) | set(_plugins()) | set(_registered))


def get_check(name: str) -> CheckFn:
    """The function for check type ``name`` (imported on first use).

    Raises:
        ConfigError: Unknown name (with a suggestion and the known names).
    """
    if name in _registered:
        return _registered[name]
    if name in _loaded:
        return _loaded[name]
    fn: CheckFn
    if name in BUILTIN:
        module_name, _, attr = BUILTIN[name].partition(":")
        fn = getattr(importlib.import_module(module_name), attr)
    elif name in _plugins():
        fn = _plugins()[name].load()
    else:
        raise ConfigError(
            f"unknown check type {name!r}{did_you_mean(name, known_types())}; "
            f"known checks: {', '.join(known_types())}"
        )
    _loaded[name] = fn
    return fn


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


# --- validation -------------------------------------------------------------------------------


def validate_spec(spec: CheckSpec) -> str | None:
    """What is wrong with ``spec``'s value or options for its check type, or ``None``.

    Called by :meth:`CheckSpec.from_dict`, so mistakes surface when the suite loads rather than
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
    return None


# --- running ----------------------------------------------------------------------------------


def run_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one check on one output.

    Renders ``spec.value`` with ``ctx.vars``, calls the check, then applies promptfoo's
    semantics: ``not-`` inverts ``passed`` and turns the score into ``1 - score``. Thresholds are
    applied by the checks that take one (see :mod:`promptwork.checks.base`). Weight is not applied
    here but by :func:`~promptwork.checks.base.aggregate`.

    Never raises for a problem inside the check: an exception (bad template variable, user code
    error, missing file...) gives a failed result, score 0, with the error as the reason. Such a
    failure is *not* inverted by ``not-``: a check that could not run never passes.
    """
    try:
        fn = get_check(spec.type)
        value = spec.value if spec.type in RAW_VALUE else render_value(spec.value, ctx.vars)
        result = fn(replace(spec, value=value) if value is not spec.value else spec, ctx)
        if not isinstance(result, CheckResult):
            raise TypeError(f"check returned {type(result).__name__}, expected CheckResult")
    except Exception as exc:  # a broken check is a failed check, never a crashed run
        detail = exc.message if isinstance(exc, ConfigError) else str(exc)
        return CheckResult(
            passed=False,
            score=0.0,
            reason=f"error: {type(exc).__name__}: {detail}",
            metric=spec.metric,
            check_type=spec.name,
        )
    passed, score = result.passed, result.score
    if spec.negate:
        passed, score = not passed, 1.0 - score
    return replace(result, passed=passed, score=score, metric=spec.metric, check_type=spec.name)
