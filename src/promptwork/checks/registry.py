"""Check names to check functions, and running one check.

The tables of built-in checks are in :mod:`promptwork.checks.catalog`; rendering and validating a
check's value in :mod:`promptwork.checks.values`.

Built-in checks are registered exactly like plugins: by a lazy ``module:function`` reference, so a
check family's imports (``jsonschema``...) only matter when it is used. Third-party packages add
checks through the ``promptwork.checks`` entry-point group: the entry point's name is the check
type and its object a :data:`~promptwork.checks.base.CheckFn`. :func:`register` adds one at run
time (tests, notebooks).

A check function may be synchronous or ``async``. :func:`arun_check` runs either kind and is what
the runner uses; :func:`run_check` is the synchronous shortcut for synchronous checks only.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import traceback
from collections.abc import Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckFn, CheckResult, CheckSpec
from promptwork.checks.catalog import (
    BUILTIN,
    MODEL_GRADED,
    NEEDS_VALUE,
    RAW_VALUE,
    SPEC_PROBLEMS,
)
from promptwork.checks.errors import CHECK, GRADER, INTERNAL, GradingError
from promptwork.checks.values import check_files, render_value, validate_spec, value_variables
from promptwork.errors import ConfigError, ProviderError
from promptwork.yamlfile import did_you_mean

# The tables (:mod:`promptwork.checks.catalog`) and value helpers (:mod:`promptwork.checks.values`)
# are also reachable here, where callers have always found them.
__all__ = [
    "BUILTIN",
    "MODEL_GRADED",
    "NEEDS_VALUE",
    "RAW_VALUE",
    "SPEC_PROBLEMS",
    "arun_check",
    "check_files",
    "failed_result",
    "get_check",
    "is_async_check",
    "known_types",
    "parse_spec",
    "refusal",
    "register",
    "render_value",
    "run_check",
    "validate_spec",
    "value_variables",
]

ENTRY_POINT_GROUP = "promptwork.checks"

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


def parse_spec(d: Any, where: str = "") -> CheckSpec:
    """Parse and validate one assertion mapping (``{type: contains, value: Paris}``): its keys,
    its type (built-in, plugin or registered) and its value and options for that type.

    Args:
        d: The assertion as loaded from YAML/JSON.
        where: Location prefix for error messages (``suite.yaml: tests[2].assert[0]``).

    Raises:
        ConfigError: Unknown type or key (with a suggestion and the list of known names), or a
            value, threshold, weight or option of the wrong kind.
    """
    raw_type = d.get("type") if isinstance(d, Mapping) else None
    reason = refusal(raw_type)
    if reason is not None:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}check {str(raw_type).strip()!r} is not supported: {reason}")
    return CheckSpec.parse(d, where, known=known_types(), validate=validate_spec)


def refusal(check_type: Any) -> str | None:
    """Why promptwork refuses promptfoo's check type ``check_type`` (``not-`` or not), or ``None``.

    A type registered at run time or by a plugin is never refused.
    """
    if not isinstance(check_type, str):
        return None
    from promptwork.checks.unsupported import UNSUPPORTED

    name = check_type.strip()
    base = name[4:] if name.startswith("not-") else name
    if base in _registered or base in _plugins():
        return None
    return UNSUPPORTED.get(base)


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


# --- running ---------------------------------------------------------------------------------


def is_async_check(name: str) -> bool:
    """Whether check type ``name`` is an ``async`` check (needs :func:`arun_check`).

    Raises:
        ConfigError: Unknown name.
    """
    return _is_async(get_check(name))


def _is_async(fn: CheckFn) -> bool:
    # inspect.iscoroutinefunction sees through functools.partial; objects with an async
    # __call__ are checked through that method.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - the bound __call__ of callable objects
    )


def _rendered(spec: CheckSpec, ctx: CheckContext) -> CheckSpec:
    value = spec.value if spec.type in RAW_VALUE else render_value(spec.value, ctx.vars)
    return replace(spec, value=value) if value is not spec.value else spec


def failed_result(spec: CheckSpec, exc: Exception) -> CheckResult:
    """A check that could not reach a verdict (a :class:`CheckError` or bad user input): failed,
    score 0, never inverted by ``not-``."""
    if isinstance(exc, CheckError):
        reason = str(exc)
    else:
        detail = exc.message if isinstance(exc, ConfigError) else str(exc)
        reason = f"error: {type(exc).__name__}: {detail}"
    return CheckResult(
        passed=False, score=0.0, reason=reason, metric=spec.metric, check_type=spec.name
    )


def _verdict_or_error(spec: CheckSpec, exc: Exception) -> CheckResult:
    """A failed result for what fails a check; raise :class:`GradingError` for the rest.

    Only a :class:`CheckError` and bad user input (a :class:`ConfigError`, such as a template
    error in the value; the ``python`` check turns the user's own exceptions into
    :class:`CheckError`) fail a check. A failed call of the grading model is a ``grader`` error
    and any other exception a bug: ``internal`` in a built-in check, ``check`` in a plugin.
    """
    if isinstance(exc, CheckError | ConfigError):
        return failed_result(spec, exc)
    if isinstance(exc, GradingError):
        raise exc
    if isinstance(exc, ProviderError):
        raise GradingError(GRADER, f"{spec.name}: grader call failed: {exc}") from exc
    builtin = spec.type in BUILTIN and spec.type not in _registered
    where = "a promptwork bug in the built-in check" if builtin else "the check"
    raise GradingError(
        INTERNAL if builtin else CHECK,
        f"{spec.name}: {where} raised {type(exc).__name__}: {exc}",
        "".join(traceback.format_exception(exc)),
    ) from exc


def _finish(spec: CheckSpec, result: object) -> CheckResult:
    """Apply negation and fill in ``metric``/``check_type`` (raises on a non-result)."""
    if not isinstance(result, CheckResult):
        raise TypeError(f"check returned {type(result).__name__}, expected CheckResult")
    passed, score = result.passed, result.score
    if spec.negate:
        passed, score = not passed, 1.0 - score
    return replace(result, passed=passed, score=score, metric=spec.metric, check_type=spec.name)


def run_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one synchronous check on one output.

    Renders ``spec.value`` with ``ctx.vars``, calls the check, then applies promptfoo's
    semantics: ``not-`` inverts ``passed`` and turns the score into ``1 - score``. Thresholds are
    applied by the checks that take one (see :mod:`promptwork.checks.base`). Weight is not applied
    here but by :func:`~promptwork.checks.base.aggregate`.

    A check that cannot reach a verdict because of the output or the suite (a
    :class:`~promptwork.checks.base.CheckError`, a bad template variable, an error in the user's
    own ``python`` code, a missing file...) gives a failed result, score 0, with the error as the
    reason (a ``CheckError``'s message is the reason as is). Such a failure is *not* inverted by
    ``not-``: a check that could not run never passes. Transforms are applied by
    :func:`promptwork.checks.grade.grade_cell`, not here.

    Raises:
        GradingError: No verdict at all: the grading model's call failed (``grader``), or the
            check raised an unexpected exception (``internal`` for a built-in check, a promptwork
            bug; ``check`` for a plugin), with the traceback.
        TypeError: The check is ``async`` (model-graded checks, ``similar``...): that is a mistake
            in the calling code, which must ``await`` :func:`arun_check` instead.
    """
    try:
        fn = get_check(spec.type)
    except Exception as exc:
        return failed_result(spec, exc)
    if _is_async(fn):
        raise TypeError(
            f"check {spec.type!r} is asynchronous; use 'await arun_check(spec, ctx)' "
            "instead of run_check"
        )
    try:
        result = fn(_rendered(spec, ctx), ctx)
    except Exception as exc:
        return _verdict_or_error(spec, exc)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it so that Python does not warn
        raise TypeError(
            f"check {spec.type!r} returned an awaitable; use 'await arun_check(spec, ctx)' "
            "instead of run_check"
        )
    try:
        return _finish(spec, result)
    except TypeError as exc:
        return _verdict_or_error(spec, exc)


async def arun_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one check, synchronous or ``async``, on one output (what the runner calls).

    Same semantics as :func:`run_check` (value rendering, negation, ``metric``/``check_type``,
    failures that ``not-`` does not invert, :class:`GradingError` when no verdict can be
    reached); an ``async`` check is awaited. Cancellation is not swallowed.
    """
    try:
        result = get_check(spec.type)(_rendered(spec, ctx), ctx)
        if inspect.isawaitable(result):
            result = await result
        return _finish(spec, result)
    except Exception as exc:
        return _verdict_or_error(spec, exc)
