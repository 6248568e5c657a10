"""The ``javascript`` check: user-written JavaScript decides (promptfoo's ``javascript``).

The value is one of (promptfoo's forms):

* an expression over ``output`` (the answer, as text) and ``context``:
  ``value: "output.includes(context.vars.city)"``;
* a function body of several lines that ``return``\\ s the result (``await`` allowed);
* ``file://check.js`` (its ``module.exports`` function) or ``file://check.js:name`` (the exported
  or top-level function ``name``), resolved against the suite's folder, called as
  ``fn(output, context)``.

``output`` is the answer's text, except for a tool or function call answer (finish reason
``tool_calls``/``function_call``), which the script gets parsed, as promptfoo hands it over.
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

import json
from pathlib import Path
from typing import Any

from promptwork.checks import jsengine
from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.coderesult import JAVASCRIPT, code_result
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


def normalize_js_result(raw: Any, threshold: float | None) -> CheckResult:
    """Turn what the script returned into a :class:`CheckResult` (see the module doc).

    Raises:
        CheckError: A result of another kind (``undefined``, a string, an array...).
    """
    return code_result(raw, threshold, JAVASCRIPT)


_CALL_REASONS = frozenset({"tool_calls", "function_call"})


def _script_output(ctx: CheckContext) -> Any:
    """What the script sees as ``output``: the text, or a tool call answer parsed."""
    if ctx.finish_reason in _CALL_REASONS:
        try:
            return json.loads(ctx.output)
        except ValueError:
            pass
    return ctx.output


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
                source, function, _script_output(ctx), context, time_limit_s=jsengine.TIME_LIMIT_S
            )
        else:
            raw = await arun_js(code, _script_output(ctx), context,
                                time_limit_s=jsengine.TIME_LIMIT_S)
    except JSError as exc:
        raise CheckError(f"javascript {exc}") from None
    return normalize_js_result(raw, spec.threshold)
