"""promptfoo's output transforms: a test's ``options.transform``, a check's ``transform`` and
``contextTransform``.

A transform is code that turns the model's output into what the checks see. As in promptfoo:

* ``file://path.py`` or ``file://path.py:fn`` (default function ``get_transform``), called as
  ``fn(output, context)``; the path resolves against the suite's folder and must stay inside it
  unless the suite was loaded with ``allow_outside`` (checked when the suite loads);
* JavaScript: an inline expression (``output.toUpperCase()``), an inline function body of
  several lines that ``return``\\ s the result, or ``file://path.js[:fn]``. It runs in an embedded
  V8 (the ``mini-racer`` package) with no file or network access; without that package a
  JavaScript transform is refused when the suite loads, naming it.

``context`` is ``{"vars": ..., "prompt": {"label": ..., "display": ...}}``. A transform that returns
nothing (``None``) fails. A result that is not text is given to the checks as JSON (text stays as
is), as promptfoo does for the checks that read text.

Order (promptfoo's): ``options.transform`` (the test's, else ``defaultTest``'s) changes the output
for all of the test's checks; a check's ``transform`` then changes it for that check only; a
check's ``contextTransform`` reads the output *before* the test's transform and must return text,
which the check (``context-faithfulness``...) sees as the ``context`` variable.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckSpec
from promptwork.errors import ConfigError
from promptwork.userfunc import FunctionLoader, is_python_ref

__all__ = ["DEFAULT_FUNCTION", "apply_transform", "for_check", "js_available", "transform_problem"]

DEFAULT_FUNCTION = "get_transform"
_PREFIX = "file://"
_JS_SUFFIXES = (".js", ".cjs", ".mjs")


def js_available() -> bool:
    """Whether JavaScript transforms can run (the ``mini-racer`` package is installed)."""
    import importlib.util

    return importlib.util.find_spec("py_mini_racer") is not None


def _is_js_file(ref: str) -> bool:
    target = ref[len(_PREFIX):]
    path = target.rsplit(":", 1)[0] if ":" in target else target
    return path.lower().endswith(_JS_SUFFIXES)


def transform_problem(value: Any, key: str = "transform") -> str | None:
    """What is wrong with a transform as written in a suite, or ``None`` (checked at load)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return f"'{key}' must be JavaScript code or a file://path.py[:function] reference"
    text = value.strip()
    if text.startswith(_PREFIX):
        if is_python_ref(text):
            return None
        if not _is_js_file(text):
            return f"'{key}' file must be a .py or .js file, got {text!r}"
    if not js_available():
        return (
            f"'{key}' {_short(text)!r} is JavaScript, which needs the mini-racer package "
            "(pip install mini-racer); or write it in Python: file://transform.py:function"
        )
    return None


def _short(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@functools.lru_cache(maxsize=16)
def _loader(base_dir: Path) -> FunctionLoader:
    # Confinement to the suite folder (and the suite's ``allow_outside`` opt-in) is decided when
    # the suite loads, by :meth:`promptwork.datasets.source.TestSource.confine_check_files`,
    # before any model call, as for every check file; here the file is only loaded.
    return FunctionLoader(base_dir, allow_outside=True)


def _context(ctx: CheckContext) -> dict[str, Any]:
    return {"vars": dict(ctx.vars), "prompt": {"label": ctx.prompt_text,
                                                "display": ctx.prompt_text}}


def _as_text(value: Any) -> str:
    if value is None:
        raise CheckError("transform returned nothing (it must return the new output)")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


async def _run(code: str, value: Any, ctx: CheckContext) -> Any:
    text = code.strip()
    context = _context(ctx)
    if is_python_ref(text):
        base = ctx.base_dir if ctx.base_dir is not None else Path.cwd()
        fn = _loader(base.resolve()).function(text, DEFAULT_FUNCTION, "transform")
        return fn(value, context)
    return await _run_js(text, value, context, ctx)


async def _run_js(code: str, value: Any, context: Mapping[str, Any], ctx: CheckContext) -> Any:
    """Run JavaScript in the embedded V8 (time and memory limits, no I/O), awaiting it on V8's
    own thread so that the event loop (other cells' model calls) keeps going meanwhile.

    Raises:
        CheckError: The script threw, did not parse, ran past a limit, or its file is unreadable.
    """
    if not js_available():
        raise ConfigError(transform_problem(code) or "JavaScript transforms are unavailable")
    from promptwork.checks.jsengine import JSError, arun_js, arun_js_file

    try:
        if code.startswith(_PREFIX):
            raw, _, name = code[len(_PREFIX):].partition(":")
            path = ctx.resolve(raw)
            try:
                source = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CheckError(f"cannot read transform file {path}: {exc.strerror}") from None
            return await arun_js_file(source, name or None, value, context)
        return await arun_js(code, value, context)
    except JSError as exc:
        raise CheckError(f"JavaScript {exc}") from None


async def apply_transform(code: str, output: str, ctx: CheckContext) -> str:
    """``output`` after the transform ``code`` (see the module doc).

    Raises:
        Exception: Whatever the user's transform raised; :class:`CheckError` when it returned
            nothing or its JavaScript failed; :class:`ConfigError` when it cannot be loaded.
    """
    return _as_text(await _run(code, output, ctx))


async def for_check(spec: CheckSpec, ctx: CheckContext, raw_output: str) -> CheckContext:
    """The context a check runs in after its own ``transform`` and ``contextTransform``.

    Args:
        spec: The check.
        ctx: The context after the test's transform.
        raw_output: The output before the test's transform (what ``contextTransform`` reads).

    Raises:
        CheckError: The user's transform failed (the check fails, as in promptfoo).
        ConfigError: It cannot be loaded.
    """
    changes: dict[str, Any] = {}
    if spec.context_transform is not None:
        found = await _guarded(spec.context_transform, raw_output, ctx, "contextTransform")
        if not isinstance(found, str):
            raise CheckError(f"contextTransform must return text, got {type(found).__name__}")
        changes["vars"] = {**ctx.vars, "context": found}
    if spec.transform is not None:
        changes["output"] = _as_text(await _guarded(spec.transform, ctx.output, ctx, "transform"))
    return replace(ctx, **changes) if changes else ctx


async def _guarded(code: str, value: str, ctx: CheckContext, key: str) -> Any:
    try:
        return await _run(code, value, ctx)
    except CheckError as exc:
        raise CheckError(f"{key} failed: {exc}") from exc
    except ConfigError:
        raise
    except Exception as exc:  # the user's own code: its exception fails the check
        raise CheckError(f"{key} failed: {type(exc).__name__}: {exc}") from exc
