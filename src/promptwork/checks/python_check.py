"""The ``python`` check: user-written Python decides.

The value is one of:

* an expression, evaluated with ``output`` (str) and ``context`` (dict) in scope, plus the
  modules ``json``, ``re`` and ``math``: ``value: "len(output.split()) <= 50"``;
* a function body of several lines that ``return``\\ s the result (promptfoo's multi-line form);
* ``file://path/to/check.py`` or ``file://path/to/check.py:function_name`` (default function
  ``get_assert``), resolved against the suite's directory and called as ``fn(output, context)``.

``context`` holds ``vars``, ``prompt``, ``config`` (the check's config), ``provider`` (``{"id"}``),
``logProbs`` (list of floats or ``None``), ``latency_ms`` and ``cost``.

The result may be (promptfoo semantics):

* a bool: pass/fail, score 1/0;
* a number: the score; passes when ``score >= threshold``, or ``score > 0`` without a threshold;
* a mapping (or dataclass) ``{pass, score, reason}`` (``pass_`` also accepted): missing ``score``
  is 1/0 from ``pass``; missing ``pass`` is derived from the score as for a number; a given
  ``threshold`` fails a result whose score is below it;
* the strings ``"true"``/``"false"``, a number as text, or a JSON object as text.

Security: this check runs arbitrary code from the suite, in the promptwork process, with the
user's permissions and no time limit. That is by design (it is how users express custom logic);
only run suites you trust, as you would only run scripts you trust.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from promptwork.checks.base import CheckContext, CheckError, CheckResult, CheckSpec
from promptwork.checks.coderesult import PYTHON, code_result
from promptwork.errors import ConfigError

__all__ = ["DEFAULT_FUNCTION", "build_context", "normalize_result", "python"]

DEFAULT_FUNCTION = "get_assert"
_BODY_FUNCTION = "__promptwork_check__"


def build_context(spec: CheckSpec, ctx: CheckContext) -> dict[str, Any]:
    """The ``context`` argument a python check receives."""
    return {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt_text,
        "config": dict(spec.config),
        "provider": {"id": ctx.provider_id},
        "logProbs": [t.logprob for t in ctx.logprobs] if ctx.logprobs is not None else None,
        "latency_ms": ctx.latency_ms,
        "cost": ctx.cost,
    }


@functools.lru_cache(maxsize=512)
def _compile(code: str) -> tuple[CodeType, bool]:
    """Compile ``code`` as an expression if it is one, else as a function body."""
    try:
        return compile(code.strip(), "<python check>", "eval"), True
    except SyntaxError:
        pass
    body = textwrap.indent(textwrap.dedent(code).strip("\n"), "    ")
    source = f"def {_BODY_FUNCTION}(output, context):\n{body}\n"
    try:
        return compile(source, "<python check>", "exec"), False
    except SyntaxError as exc:
        raise ConfigError(f"python check does not compile: {exc.msg} (line {exc.lineno})") from None


def _globals() -> dict[str, Any]:
    return {"__builtins__": __builtins__, "json": json, "re": re, "math": math}


def _run_inline(code: str, output: str, context: dict[str, Any]) -> Any:
    compiled, is_expression = _compile(code)
    namespace = _globals()
    if is_expression:
        namespace.update(output=output, context=context)
        return eval(compiled, namespace)  # noqa: S307 - user code by design (see module doc)
    exec(compiled, namespace)  # noqa: S102 - user code by design (see module doc)
    return namespace[_BODY_FUNCTION](output, context)


def _split_reference(ref: str) -> tuple[str, str]:
    target = ref[len("file://") :]
    path, sep, name = target.rpartition(":")
    if sep and name.isidentifier() and path:
        return path, name
    return target, DEFAULT_FUNCTION


_modules: dict[tuple[str, int], ModuleType] = {}


def _load_module(path: Path) -> ModuleType:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"cannot read python check file {path}: {exc.strerror}") from None
    key = (str(path.resolve()), stamp)
    if key in _modules:
        return _modules[key]
    module_name = f"promptwork_check_{abs(hash(key)):x}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load python check file {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent.resolve())
    sys.path.insert(0, folder)  # let the file import its neighbours while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    _modules[key] = module
    return module


def _load_function(ref: str, ctx: CheckContext) -> Callable[..., Any]:
    file_part, name = _split_reference(ref)
    path = ctx.resolve(file_part)
    module = _load_module(path)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"{path} has no function {name!r}")
    return fn  # type: ignore[no-any-return]


def normalize_result(raw: Any, threshold: float | None) -> CheckResult:
    """Turn what user code returned into a :class:`CheckResult` (see the module doc).

    Raises:
        TypeError: A result of another kind (``None``, a list...).
    """
    return code_result(raw, threshold, PYTHON)


def python(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run the user's Python (expression, body, or ``file://``) and normalize its result."""
    code = spec.value
    if not isinstance(code, str) or not code.strip():
        raise TypeError("'python' needs a Python expression, a function body or file://path.py")
    context = build_context(spec, ctx)
    try:
        if code.strip().startswith("file://"):
            fn = _load_function(code.strip(), ctx)
            raw = fn(ctx.output, context)
        else:
            raw = _run_inline(code, ctx.output, context)
        return normalize_result(raw, spec.threshold)
    except SystemExit as exc:  # user code calling sys.exit() must not end the run
        raise CheckError(f"error: python check called sys.exit({exc.code!r})") from None
    except ConfigError:
        raise
    except Exception as exc:  # the user's own code (or what it returned): the check fails
        raise CheckError(f"error: {type(exc).__name__}: {exc}") from exc
