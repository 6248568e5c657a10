"""promptfoo's ``options.transformVars``: code that rewrites a test's vars before rendering.

Written on a test's ``options`` or on ``defaultTest.options`` (the test's own wins, as in
promptfoo), in one of promptfoo's forms:

* inline JavaScript over ``vars`` and ``context``: one line is an expression
  (``{ ...vars, upper: vars.topic.toUpperCase() }``), several lines a function body that
  ``return``\\ s (promptfoo's rule: a newline makes it a body);
* ``file://x.js`` or ``file://x.js:fn``: a CommonJS file's exported function ``fn(vars, context)``;
* ``file://x.py`` or ``file://x.py:fn``: a Python function (default ``get_transform``) called as
  ``fn(vars, context)``.

JavaScript runs in the embedded V8 of :mod:`promptwork.checks.jsengine` (no ``require``, no file
or network access, time and memory limits). The result must be a mapping; its keys are added to
the vars and override those of the same name (promptfoo's ``{...vars, ...result}``).

When: as each test is read, after ``defaultTest``'s vars are merged in and before list vars
expand, ``file://`` vars are read and vars referencing vars are rendered (promptfoo runs it on
the test's vars in the same place). Tests are read in full before any model call, so a transform
that throws, returns something other than a mapping, or cannot be loaded is a
:class:`~promptwork.errors.ConfigError` at the test's file and line before any call.

``context`` is ``{"prompt": {}, "uuid": ...}`` as in promptfoo, except that ``uuid`` is derived
from the test's place in the suite and its vars (a UUID 5) rather than drawn at random, so that a
resumed run sees the same vars (and so the same cache keys) as the interrupted one.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError
from promptwork.userfunc import FunctionLoader, is_python_ref, split_ref

__all__ = ["DEFAULT_FUNCTION", "KEY", "VarsTransformer", "transform_vars_problem"]

KEY = "transformVars"
#: The Python function a ``file://x.py`` reference names when it names none (promptfoo's).
DEFAULT_FUNCTION = "get_transform"
_JS_SUFFIXES = (".js", ".cjs", ".mjs")
_NAMESPACE = uuid.UUID("6f1d7d1e-3c1b-4b8e-9a51-7c2f5e0b9a10")


def _js_body(code: str) -> str:
    """promptfoo's rule: code with a newline (a YAML ``|`` block's last one counts) is a function
    body, one line an expression."""
    return code if "\n" in code else f"return {code}"


def _module_source(code: str) -> str:
    return f"module.exports = async function (vars, context) {{\n{_js_body(code)}\n}};"


def transform_vars_problem(value: Any) -> str | None:
    """What is wrong with a ``transformVars`` as written, or ``None`` (checked at load).

    Inline JavaScript is parsed (not run) in V8 here, so a typo is found at its line.
    """
    from promptwork.checks.transform import transform_problem

    problem = transform_problem(value, KEY)
    if problem is not None or not isinstance(value, str):
        return problem
    if value.strip().startswith("file://"):
        return None
    return _inline_problem(value)  # unstripped: a YAML block's final newline makes it a body


@functools.lru_cache(maxsize=64)
def _inline_problem(code: str) -> str | None:
    from promptwork.checks.jsengine import script_problem, syntax_problem

    found = script_problem(code)
    if found is None:
        found = syntax_problem(_module_source(code), file=True)
    return f"'{KEY}' {found}" if found else None


class VarsTransformer:
    """Runs ``transformVars`` for one :class:`~promptwork.datasets.source.TestSource`.

    Args:
        loader: Loads Python functions (confined to the suite folder unless allowed).
        resolve: Resolves a ``file://`` path inside the suite folder (raises ConfigError).
    """

    def __init__(self, loader: FunctionLoader, resolve: Any):
        self._loader = loader
        self._resolve = resolve
        self._sources: dict[Path, str] = {}

    def apply(self, code: str, variables: Mapping[str, Any], ordinal: int) -> dict[str, Any]:
        """``variables`` with the transform's result merged over them.

        Args:
            code: The ``transformVars`` value.
            variables: The test's vars (``defaultTest``'s merged in).
            ordinal: The test's place in the suite (for ``context.uuid``).

        Raises:
            ConfigError: The code cannot be loaded, raised, or returned no mapping (without
                file and line: the caller adds the test's).
        """
        context = {"prompt": {}, "uuid": _stable_uuid(ordinal, variables)}
        try:
            result = self._run(code, dict(variables), context)
        except ConfigError:
            raise
        except Exception as exc:  # the user's own code
            raise ConfigError(f"'{KEY}' raised {type(exc).__name__}: {exc}") from None
        if not isinstance(result, Mapping):
            raise ConfigError(f"'{KEY}' must return a mapping of vars (an object), got "
                              f"{'nothing' if result is None else type(result).__name__}")
        return {**variables, **{str(k): v for k, v in result.items()}}

    def _run(self, code: str, variables: dict[str, Any], context: dict[str, Any]) -> Any:
        text = code.strip()
        if is_python_ref(text):
            fn = self._loader.function(text, DEFAULT_FUNCTION, KEY)
            return fn(variables, context)
        from promptwork.checks.jsengine import JSError, run_js_file

        if text.startswith("file://"):
            raw, name = split_ref(text, "")
            if not raw.lower().endswith(_JS_SUFFIXES):
                raise ConfigError(f"'{KEY}' file must be a .py or .js file, got {text!r}")
            source, function = self._source(raw), name or None
        else:  # promptfoo's newline rule reads the code as written (not stripped)
            source, function = _module_source(code), None
        try:
            return run_js_file(source, function, variables, context)
        except JSError as exc:
            raise ConfigError(f"'{KEY}' JavaScript {exc}") from None

    def _source(self, raw: str) -> str:
        path: Path = self._resolve(raw, f"{KEY} file")
        known = self._sources.get(path)
        if known is not None:
            return known
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {KEY} file {path}: {exc}") from None
        from promptwork.checks.jsengine import script_problem

        problem = script_problem(source)
        if problem:
            raise ConfigError(f"{KEY} file {path.name} {problem}")
        self._sources[path] = source
        return source


def _stable_uuid(ordinal: int, variables: Mapping[str, Any]) -> str:
    text = json.dumps(variables, sort_keys=True, default=str, ensure_ascii=False)
    return str(uuid.uuid5(_NAMESPACE, f"{ordinal}\n{text}"))
