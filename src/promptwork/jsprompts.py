"""promptfoo's JavaScript prompt functions and test generators, run in the embedded V8.

* A prompt ``file://prompt.js`` (its ``module.exports`` function) or ``file://prompt.js:fn`` (the
  export or top-level function of that name) is called for every cell with one argument,
  ``{vars, provider: {id, label}}``, and returns the prompt as text or a list of
  ``{role, content}`` messages (a promise is awaited). Its identity (content hash) is the file's
  source and the function's name.
* A tests entry ``file://tests.js`` (``module.exports = [...]``, or a function returning the
  tests) or ``file://tests.js:fn`` (called with the entry's ``config`` when one is given) gives
  the tests once per load, like a Python test generator.

Both run in :mod:`promptwork.checks.jsengine`'s V8: CommonJS only, no ``require``/``import``
(refused by name when the suite loads, as ES ``export`` and TypeScript are), no file or network
access, a time and a memory limit. A prompt function that throws is a template error of its cell;
a generator that throws or returns something other than a list of tests is a load error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError, TemplateError
from promptwork.userfunc import resolve_inside

__all__ = ["JS_SUFFIXES", "TS_SUFFIXES", "is_js_ref", "js_prompt", "run_js_generator"]

JS_SUFFIXES = (".js", ".cjs")
TS_SUFFIXES = (".ts", ".mts", ".cts", ".mjs")


def _split(ref: str) -> tuple[str, str]:
    """``file://x.js:fn`` -> (``x.js``, ``fn``); the name is empty when none is given."""
    target = ref.removeprefix("file://")
    path, sep, name = target.rpartition(":")
    if sep and path and name.isidentifier():
        return path, name
    return target, ""


def is_js_ref(ref: Any, suffixes: tuple[str, ...] = JS_SUFFIXES) -> bool:
    """Whether ``ref`` is ``file://x.js`` or ``file://x.js:fn`` (or another of ``suffixes``)."""
    if not isinstance(ref, str) or not ref.startswith("file://") or "\n" in ref:
        return False
    return _split(ref)[0].lower().endswith(suffixes)


def _program(source: str, name: str) -> str:
    """``source``, then an export that finds the named (or exported) value and, when it is a
    function, calls it with the argument it was given."""
    key = json.dumps(name)
    pick = (f"(__pw_mod && __pw_mod[{key}] !== undefined ? __pw_mod[{key}] : globalThis[{key}])"
            if name else "__pw_mod")
    missing = json.dumps(f"the file exports no {name!r}" if name else "the file exports nothing")
    return (f"{source}\n;var __pw_mod = module.exports;\n"
            "module.exports = async function (arg, how) {\n"
            f"  const v = {pick};\n"
            f"  if (v === undefined) throw new Error({missing});\n"
            "  if (typeof v !== 'function') return v;\n"
            "  return await (how && how.has ? v(arg) : v());\n};")


def _read(ref: str, base: Path, allow_outside: bool, what: str) -> tuple[Path, str, str]:
    from promptwork.checks.jsengine import script_problem, syntax_problem
    from promptwork.checks.transform import js_available

    raw, name = _split(ref)
    if raw.lower().endswith(TS_SUFFIXES):
        raise ConfigError(f"{what} {ref!r}: TypeScript and ES modules cannot run here (the "
                          "embedded V8 runs CommonJS JavaScript); write it as a .js file with "
                          "module.exports, or in Python")
    if not js_available():
        raise ConfigError(f"{what} {ref!r} is JavaScript, which needs the mini-racer package "
                          "(pip install mini-racer); or write it in Python")
    path = resolve_inside(raw, base, allow_outside, what)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    problem = script_problem(source) or syntax_problem(source, file=True)
    if problem:
        raise ConfigError(f"{what} {path.name} {problem}", path)
    return path, source, name


def js_prompt(ref: str, base: Path, allow_outside: bool) -> Any:
    """The :class:`~promptwork.prompts.PromptTemplate` of a JavaScript prompt function.

    Raises:
        ConfigError: The file is missing, outside the folder, TypeScript, or does not parse.
    """
    from promptwork.chatmessages import messages_from
    from promptwork.prompts import PromptTemplate, _Part
    from promptwork.templates import TemplateEngine
    from promptwork.types import RenderedPrompt

    path, source, name = _read(ref, base, allow_outside, "prompt function")
    label = f"{_split(ref)[0]}:{name}" if name else _split(ref)[0]
    program = _program(source, name)

    def render(values: Mapping[str, Any], provider: Mapping[str, Any] | None) -> RenderedPrompt:
        from promptwork.checks.jsengine import JSError, run_js_file

        context = {"vars": dict(values), "provider": dict(provider or {}), "config": {}}
        try:
            made = run_js_file(program, None, _jsonable(context), {"has": True})
        except JSError as exc:
            raise TemplateError(f"prompt function {label}: {exc}", str(path)) from None
        return messages_from(made, label)

    empty = _Part(None, TemplateEngine().compile("", label, 1))
    return PromptTemplate(label, f"{source}\n// prompt function: {name or 'module.exports'}\n",
                          [empty], path=str(path), renderer=render)


def run_js_generator(ref: str, config: Mapping[str, Any] | None, base: Path,
                     allow_outside: bool) -> Any:
    """What a JavaScript test generator gives (checked by the caller to be a list of tests).

    Raises:
        ConfigError: It cannot be loaded, or it threw.
    """
    from promptwork.checks.jsengine import JSError, run_js_file

    _, source, name = _read(ref, base, allow_outside, "test generator")
    try:
        return run_js_file(_program(source, name), None, _jsonable(dict(config or {})),
                           {"has": config is not None})
    except JSError as exc:
        raise ConfigError(f"test generator {ref}: {exc}") from None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
