"""User JavaScript in an embedded V8 (``mini-racer``), for ``javascript`` checks and transforms.

The code runs in a fresh V8 context per call, with a time limit and a heap limit, and with no
file, network or process access: a bare V8 has no ``require``, ``fetch``, ``process`` or ``fs``
(mini-racer adds only ``setTimeout``). Values cross the boundary as JSON: ``output`` and
``context`` are passed in as JSON, the result comes back through ``JSON.stringify``, so a
function, a ``Symbol`` or ``undefined`` inside an object is dropped, ``NaN`` becomes ``null``.

Three forms of code, as promptfoo accepts them:

* an expression over ``output`` and ``context``: ``output.includes(context.vars.city)``;
* a function body that ``return``\\ s (several lines, ``await`` allowed);
* a file's source (``file://check.js`` or ``file://check.js:functionName``) in CommonJS style,
  ``module.exports = (output, context) => ...``, or ``module.exports = {fn}``, or a top-level
  ``function fn(output, context)``. Nothing can be ``require``\\ d or ``import``\\ ed: such code is
  refused by name (:func:`script_problem`) when the suite loads.

A promise returned by the code is awaited (within the same time limit).

V8 is driven from one event loop on a daemon thread per process (mini-racer's own loops race
with their callbacks when a script is stopped); each call creates and frees its own context on
it, so no state is shared between calls. The loop is created on first use and kept in a class
attribute behind a lock, like the embedding model of :mod:`promptwork.checks.similarity`.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, ClassVar

from promptwork.checks.jssource import code_only

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "TIME_LIMIT_S",
    "JSError",
    "arun_js",
    "arun_js_file",
    "run_js",
    "run_js_file",
    "script_problem",
    "syntax_problem",
]

#: Wall-time limit of one script run, in seconds.
TIME_LIMIT_S = 5.0
#: V8 heap limit of one script run, in bytes.
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024

_REQUIRE = re.compile(r"(?<![\w$.])require\s*\(")
_IMPORT = re.compile(r"(?m)^\s*import[\s{*'\"]|(?<![\w$.])import\s*\(")
_EXPORT = re.compile(r"(?m)^\s*export\s")


class JSError(Exception):
    """The user's script failed: it threw, did not parse, ran past a limit, or returned junk.

    The message says which, in one line (plus the script's error text).
    """


def script_problem(code: str) -> str | None:
    """Why ``code`` cannot run in the sandbox (``require``, ``import``...), or ``None``.

    Only the by-name refusals, looked for in the code itself: a mention inside a string, a
    template's text, a comment or a regular expression is not a use
    (:func:`promptwork.checks.jssource.code_only`). See :func:`syntax_problem` for parsing.
    """
    code = code_only(code)
    if _REQUIRE.search(code):
        return (
            "uses require(): JavaScript runs in an embedded V8 without Node.js, so no module "
            "can be loaded; write the check without require"
        )
    if _IMPORT.search(code):
        return (
            "uses import: JavaScript runs in an embedded V8 without Node.js, so no module can "
            "be imported; write the check without import"
        )
    if _EXPORT.search(code):
        return (
            "uses ES module 'export': write module.exports = function (output, context) {...} "
            "instead (no .mjs modules in the embedded V8)"
        )
    return None


# --- programs ---------------------------------------------------------------------------------

# The result comes back as {"value": ...} or {"undefined": true}; anything JSON.stringify
# cannot encode (a BigInt, a cycle) throws, which is the script's error.
_WRAP_RESULT = """
const __pw_r = await __pw_fn(__pw_output, __pw_context);
return JSON.stringify(__pw_r === undefined ? {undefined: true} : {value: __pw_r});
"""


def _inline_program(code: str) -> str:
    """JS that compiles ``code`` as an expression if it is one, else as a function body."""
    source = json.dumps(code)
    return f"""
(async (__pw_output, __pw_context) => {{
  const AsyncFunction = (async function () {{}}).constructor;
  let __pw_fn;
  try {{
    __pw_fn = new AsyncFunction('output', 'context', 'return (\\n' + {source} + '\\n);');
  }} catch (e) {{
    __pw_fn = new AsyncFunction('output', 'context', {source});
  }}
  {_WRAP_RESULT}
}})"""


def _file_program(source: str, function: str | None) -> str:
    """JS that runs a CommonJS-style file, then picks its exported (or named) function."""
    if function is None:
        pick = (
            "typeof module.exports === 'function' ? module.exports : "
            "(module.exports && typeof module.exports.default === 'function' "
            "? module.exports.default : undefined)"
        )
        what = "a function as module.exports"
    else:
        name = json.dumps(function)
        pick = (
            f"(module.exports && typeof module.exports[{name}] === 'function') "
            f"? module.exports[{name}] : (typeof globalThis[{name}] === 'function' "
            f"? globalThis[{name}] : undefined)"
        )
        what = f"a function named {function!r}"
    return f"""
var module = {{exports: {{}}}};
var exports = module.exports;
{source}
;
(async (__pw_output, __pw_context) => {{
  const __pw_fn = {pick};
  if (typeof __pw_fn !== 'function') {{
    throw new Error({json.dumps(f"the file does not export {what}")});
  }}
  {_WRAP_RESULT}
}})"""


def _call(program: str, output: Any, context: Mapping[str, Any]) -> str:
    return f"{program}({json.dumps(output)}, {json.dumps(_jsonable(context))})"


def _jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot carry turned into text (paths, sets...)."""
    return json.loads(json.dumps(value, default=str))


# --- the V8 loop ------------------------------------------------------------------------------


class _V8:
    """One daemon thread running the asyncio loop that drives mini-racer (see the module doc)."""

    _loop: ClassVar[asyncio.AbstractEventLoop | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="promptwork-v8", daemon=True
                ).start()
                cls._loop = loop
            return cls._loop


async def _evaluate(code: str, time_limit_s: float, memory_limit: int) -> Any:
    from py_mini_racer import JSEvalException, JSPromise, JSTimeoutException, mini_racer

    with mini_racer(asyncio.get_running_loop()) as racer:
        racer.set_hard_memory_limit(memory_limit)

        async def run() -> Any:
            result = await racer.eval_cancelable(code)
            if isinstance(result, JSPromise):
                result = await result
            return result

        try:
            return await asyncio.wait_for(run(), timeout=time_limit_s)
        except (TimeoutError, JSTimeoutException):
            raise JSError(f"script ran past its time limit of {time_limit_s:g} s") from None
        except JSEvalException as exc:
            if racer.was_hard_memory_limit_reached():
                raise JSError(
                    f"script ran past its memory limit of {memory_limit // (1024 * 1024)} MB"
                ) from None
            raise JSError(_error_text(exc)) from None
        except Exception as exc:  # a rejected promise carries the thrown value
            if racer.was_hard_memory_limit_reached():
                raise JSError(
                    f"script ran past its memory limit of {memory_limit // (1024 * 1024)} MB"
                ) from None
            raise JSError(_error_text(exc)) from None


def _error_text(exc: BaseException) -> str:
    """The script's error in a few lines (V8 appends a source excerpt and a stack)."""
    text = str(exc).strip().removeprefix("JavaScript rejected promise with reason:").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        if re.match(r"^\w*Error\b", line.strip()):
            return "script error: " + line.strip()
    return "script error: " + (lines[0] if lines else type(exc).__name__)


def _decode(raw: Any) -> Any:
    if not isinstance(raw, str):
        raise JSError(f"script result could not be read ({type(raw).__name__})")
    envelope = json.loads(raw)
    return None if envelope.get("undefined") else envelope.get("value")


async def _arun(code: str, time_limit_s: float, memory_limit: int) -> Any:
    future: Future[Any] = asyncio.run_coroutine_threadsafe(
        _evaluate(code, time_limit_s, memory_limit), _V8.loop()
    )
    return _decode(await asyncio.wrap_future(future))


def _run(code: str, time_limit_s: float, memory_limit: int) -> Any:
    future = asyncio.run_coroutine_threadsafe(
        _evaluate(code, time_limit_s, memory_limit), _V8.loop()
    )
    return _decode(future.result())


# --- public API -------------------------------------------------------------------------------


def run_js(
    code: str,
    output: Any,
    context: Mapping[str, Any],
    *,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> Any:
    """Run inline JavaScript (an expression or a function body) on ``output`` and ``context``.

    Blocks until the script ends (at most ``time_limit_s``); safe to call from a thread that
    runs an event loop, though :func:`arun_js` keeps that loop going.

    Returns:
        What the code returned, as JSON-decoded Python (``None`` for ``undefined``).

    Raises:
        JSError: The script threw, did not parse, or ran past a limit.
    """
    return _run(_call(_inline_program(code), output, context), time_limit_s, memory_limit)


async def arun_js(
    code: str,
    output: Any,
    context: Mapping[str, Any],
    *,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> Any:
    """:func:`run_js` without blocking the running event loop."""
    return await _arun(_call(_inline_program(code), output, context), time_limit_s, memory_limit)


def run_js_file(
    source: str,
    function: str | None,
    output: Any,
    context: Mapping[str, Any],
    *,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> Any:
    """Run a JavaScript file's source and call its exported function (``function`` by name).

    Raises:
        JSError: As :func:`run_js`, or the file exports no such function.
    """
    program = _call(_file_program(source, function), output, context)
    return _run(program, time_limit_s, memory_limit)


async def arun_js_file(
    source: str,
    function: str | None,
    output: Any,
    context: Mapping[str, Any],
    *,
    time_limit_s: float = TIME_LIMIT_S,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> Any:
    """:func:`run_js_file` without blocking the running event loop."""
    program = _call(_file_program(source, function), output, context)
    return await _arun(program, time_limit_s, memory_limit)


def syntax_problem(code: str, *, file: bool = False) -> str | None:
    """Why inline code (or, with ``file``, a file's source) does not parse; ``None`` if it does.

    Parsing happens in V8 without running the code (a few milliseconds), so that a typo is
    reported when the suite loads.
    """
    source = json.dumps(code)
    if file:
        compile_it = f"new Function({source});"
    else:
        compile_it = f"""
  const AsyncFunction = (async function () {{}}).constructor;
  try {{ new AsyncFunction('output', 'context', 'return (\\n' + {source} + '\\n);'); }}
  catch (e) {{ new AsyncFunction('output', 'context', {source}); }}"""
    probe = f"(() => {{ {compile_it}\n  return JSON.stringify({{value: null}}); }})()"
    try:
        _run(probe, TIME_LIMIT_S, MEMORY_LIMIT_BYTES)
    except JSError as exc:
        return str(exc).removeprefix("script error: ")
    return None
