"""promptfoo's ``nunjucksFilters``: custom template filters written in JavaScript.

    nunjucksFilters:
      allcaps: ./allcaps.js        # module.exports = function (str) { return str.toUpperCase(); }

Each file (a path, ``file://`` optional, inside the suite folder unless files outside it are
allowed) is CommonJS exporting one function, called as ``fn(value, ...args)`` for
``{{ value | name(args) }}``. It runs in the embedded V8 of :mod:`promptwork.checks.jsengine`: no
``require``, no file or network access, a time and a memory limit per call; values cross as JSON.
The filters are added to the suite's Jinja2 sandbox, so they work in its prompts and in vars that
reference other vars (where promptfoo renders with them); a result larger than the render size
limit is refused like the built-in growing filters. A file that is missing, does not parse, uses
``require``/``import``, or a name that is not an identifier, is a load error at its line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from promptwork.errors import ConfigError, TemplateError
from promptwork.userfunc import resolve_inside
from promptwork.yamlfile import LineMap

__all__ = ["KEY", "JSFilter", "load_filters"]

KEY = "nunjucksFilters"


class JSFilter:
    """One JavaScript filter; ``identity`` (name and the file's sha256) keys compiled templates."""

    def __init__(self, name: str, source: str):
        self.name = name
        self.identity = (name, hashlib.sha256(source.encode()).hexdigest())
        # The file's export, called with the filter's arguments spread out.
        self._program = (f"{source}\n;var __pw_filter = module.exports;\n"
                         "module.exports = function (args) { return __pw_filter(...args); };")

    def as_jinja(self) -> Callable[..., Any]:
        @jinja2.pass_environment
        def run(env: Any, value: Any, *args: Any) -> Any:
            from promptwork.checks.jsengine import JSError, run_js_file

            try:
                result = run_js_file(self._program, None, _jsonable([value, *args]), {})
            except JSError as exc:
                raise TemplateError(f"filter {self.name!r} (nunjucksFilters): {exc}") from None
            check = getattr(env, "check_size", None)
            if check is not None and isinstance(result, str | list | dict):
                check(len(result), f"filter {self.name!r}")
            return result

        return run


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def load_filters(spec: Any, where: LineMap, base_dir: Path,
                 allow_outside: bool) -> dict[str, JSFilter]:
    """The suite's ``nunjucksFilters``, each file read and checked (not run).

    Raises:
        ConfigError: At the entry's line.
    """
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise where.error((KEY,), f"'{KEY}' must map filter names to JavaScript files")
    from promptwork.checks.jsengine import script_problem, syntax_problem
    from promptwork.checks.transform import js_available

    out: dict[str, JSFilter] = {}
    for name, ref in spec.items():
        key = (KEY, name)
        if not isinstance(name, str) or not name.isidentifier():
            raise where.error(key, f"filter name {name!r} must be an identifier")
        if not isinstance(ref, str) or not ref.strip():
            raise where.error(key, f"filter {name!r} must name a JavaScript file")
        raw = ref.strip().removeprefix("file://")
        if not raw.lower().endswith((".js", ".cjs")):
            raise where.error(key, f"filter {name!r}: {ref!r} is not a JavaScript (.js) file")
        if not js_available():
            raise where.error(key, f"filter {name!r} is JavaScript, which needs the mini-racer "
                                   "package (pip install mini-racer)")
        try:
            path = resolve_inside(raw, base_dir, allow_outside, f"filter {name!r} file")
            source = path.read_text(encoding="utf-8")
        except ConfigError as exc:
            raise where.error(key, exc.message) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise where.error(key, f"cannot read filter {name!r} file {raw!r}: {exc}") from None
        problem = script_problem(source) or syntax_problem(source, file=True)
        if problem:
            raise where.error(key, f"filter {name!r} ({path.name}) {problem}")
        out[name] = JSFilter(name, source)
    return out
