"""The ``javascript`` check: user-written JavaScript decides (promptfoo's ``javascript``).

The value is one of (promptfoo's forms):

* an expression over ``output`` (the answer, as text) and ``context``:
  ``value: "output.includes(context.vars.city)"``;
* a function body of several lines that ``return``\\ s the result (``await`` allowed);
* ``file://check.js`` (its ``module.exports`` function) or ``file://check.js:name`` (the exported
  or top-level function ``name``), resolved against the suite's folder, called as
  ``fn(output, context)``.

``context`` holds ``vars``, ``prompt``, ``config`` (the check's config), ``provider``
(``{"id"}``), ``logProbs`` (numbers or ``null``), ``latency_ms`` and ``cost``.

The result may be (promptfoo semantics): a boolean (score 1/0); a number, the score, which passes
when ``>= threshold``, or ``> 0`` without a threshold; or ``{pass, score, reason}`` (a missing
score is 1/0 from ``pass``, a missing ``pass`` comes from the score as for a number, and a given
threshold fails a result scoring below it).

The code runs in an embedded V8 (:mod:`promptwork.checks.jsengine`): no ``require``, ``import``,
file or network access (code using ``require``/``import`` is refused when the suite loads), a time
limit and a memory limit. An error thrown by the script, a syntax error in a file, or a run past a
limit fails the check with the script's message (user code, as in promptfoo): that failure is
never inverted by ``not-``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.checks import jsengine
from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.jsengine import (
    JSError,
    arun_js,
    arun_js_file,
    script_problem,
    syntax_problem,
)
from promptwork.checks.python_check import build_context

__all__ = ["javascript", "normalize_js_result", "spec_problem"]

_PREFIX = "file://"
_FILE_SUFFIXES = (".js", ".cjs")


def _split_file(ref: str) -> tuple[str, str | None]:
    """``file://a/b.js:fn`` -> (``a/b.js``, ``fn``); no function -> ``None``."""
    target = ref.strip()[len(_PREFIX) :]
    path, sep, name = target.rpartition(":")
    if sep and path and name.replace("$", "_").isidentifier():
        return path, name
    return target, None


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``javascript`` check (checked when the suite loads), or ``None``."""
    code = spec.value
    if not isinstance(code, str) or not code.strip():
        return "value must be a JavaScript expression, a function body, or file://path.js"
    if code.strip().startswith(_PREFIX):
        path, _ = _split_file(code)
        lower = path.lower()
        if lower.endswith((".mjs", ".ts", ".mts", ".cts")):
            return (
                f"{path}: ES modules and TypeScript cannot run in the embedded V8; point the check "
                "at a plain CommonJS .js file (module.exports = function (output, context) {...})"
            )
        if not lower.endswith(_FILE_SUFFIXES):
            return f"{path}: a javascript check file must end in .js or .cjs"
        return None
    problem = script_problem(code)
    if problem:
        return problem
    problem = syntax_problem(code)
    return f"JavaScript does not parse: {problem}" if problem else None


def _read_file(ref: str, ctx: CheckContext) -> tuple[str, str | None, Path]:
    file_part, function = _split_file(ref)
    path = ctx.resolve(file_part)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckError(f"cannot read javascript check file {path}: {exc.strerror}") from None
    problem = script_problem(source)
    if problem:
        raise CheckError(f"{path}: {problem}")
    return source, function, path


def _score(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise CheckError(f"javascript check returned {what} {value!r}, expected a number")
    return float(value)


def _passes(score: float, threshold: float | None) -> bool:
    return score >= threshold if threshold is not None else score > 0


def normalize_js_result(raw: Any, threshold: float | None) -> CheckResult:
    """Turn what the script returned into a :class:`CheckResult` (see the module doc).

    Raises:
        CheckError: A result of another kind (``undefined``, a string, an array...).
    """
    if isinstance(raw, bool):
        return CheckResult(raw, 1.0 if raw else 0.0, f"javascript returned {str(raw).lower()}")
    if isinstance(raw, int | float):
        score = _score(raw, "score")
        passed = _passes(score, threshold)
        if threshold is not None:
            reason = f"javascript score {score:g} {'>=' if passed else '<'} threshold {threshold:g}"
        else:
            reason = f"javascript score {score:g} {'>' if passed else '<='} 0"
        return CheckResult(passed, score, reason)
    if isinstance(raw, Mapping):
        return _from_mapping(raw, threshold)
    if raw is None:
        raise CheckError(
            "javascript check returned undefined (a multi-line check must 'return' a result)"
        )
    raise CheckError(
        "javascript check must return a boolean, a number, or {pass, score, reason}; got "
        f"{type(raw).__name__}: {str(raw)[:80]!r}"
    )


def _from_mapping(raw: Mapping[str, Any], threshold: float | None) -> CheckResult:
    has_pass = "pass" in raw
    given = _score(raw["score"], "'score'") if raw.get("score") is not None else None
    if not has_pass and given is None:
        raise CheckError("javascript check returned an object without 'pass' or 'score'")
    if has_pass:
        passed = raw["pass"]
        if not isinstance(passed, bool):
            raise CheckError(f"javascript check returned 'pass' {passed!r}, not true/false")
    else:
        assert given is not None
        passed = _passes(given, threshold)
    score = given if given is not None else (1.0 if passed else 0.0)
    reason = str(raw.get("reason") or f"javascript returned pass={str(passed).lower()}")
    if threshold is not None and score < threshold:
        passed = False
        reason = f"javascript score {score:g} < threshold {threshold:g}: {reason}"
    return CheckResult(passed, score, reason)


async def javascript(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run the user's JavaScript (expression, body, or ``file://``) and read its result."""
    code = spec.value
    if not isinstance(code, str) or not code.strip():
        raise CheckError("'javascript' needs an expression, a function body or file://path.js")
    context = build_context(spec, ctx)
    try:
        if code.strip().startswith(_PREFIX):
            source, function, _ = _read_file(code, ctx)
            raw = await arun_js_file(
                source, function, ctx.output, context, time_limit_s=jsengine.TIME_LIMIT_S
            )
        else:
            raw = await arun_js(code, ctx.output, context, time_limit_s=jsengine.TIME_LIMIT_S)
    except JSError as exc:
        raise CheckError(f"javascript {exc}") from None
    return normalize_js_result(raw, spec.threshold)
