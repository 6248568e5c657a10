"""Vars computed at load: vars that reference other vars, ``file://x.py`` vars, typed var files.

promptfoo renders a var's value as a template with the test's other vars, so that
``greeting: "Hello {{ name }}"`` becomes ``Hello Ada`` when ``name: Ada``. promptwork does the
same for values written in the suite file (inline tests and ``defaultTest``), in the sandboxed
template engine, whatever the order the vars are written in (a var may use one written after it;
a cycle is an error). Values read from data files (CSV, JSONL, JSON, YAML test files) are data and
stay literal unless the suite sets the promptwork-only key ``renderDataVars: true``.

A var whose value is ``file://x.py`` or ``file://x.py:fn`` runs that function with promptfoo's
arguments, ``get_var(var_name, prompt, other_vars)``, which returns ``{"output": value}`` or
``{"error": message}``; the output becomes the var's value. Other ``file://`` vars are read by
type: ``.json``/``.yaml``/``.yml`` are parsed, images and videos become base64 text (for
``data:`` URLs in multi-part messages), PDFs are refused (no text extraction), anything else is
text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from promptwork.datasets.parse import PathKey, Where
from promptwork.errors import ConfigError, MissingVariableError, TemplateError
from promptwork.templates import TemplateEngine
from promptwork.userfunc import FunctionLoader
from promptwork.yamlfile import load_yaml

_MARKERS = ("{{", "{%")
#: Files read as base64 text (promptfoo's media vars).
BINARY_SUFFIXES = frozenset((".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".mp4", ".webm",
                             ".mov", ".mp3", ".wav"))
REFUSED_SUFFIXES = {
    ".pdf": "PDF vars need text extraction, which promptwork does not do; "
            "save the text as a .txt file",
    ".js": "JavaScript var functions cannot run here; write the function in Python (get_var)",
}
#: Distinct ``get_var`` results kept per test source (the stream is read more than once).
MAX_CACHED_CALLS = 4096


def has_template(value: Any) -> bool:
    """Whether ``value`` is text with a template tag in it."""
    return isinstance(value, str) and any(mark in value for mark in _MARKERS)


def render_refs(
    variables: dict[str, Any],
    names: Collection[str],
    engine: TemplateEngine,
    where_of: Callable[[str], Where],
    deferred: Collection[str] = (),
    left: set[str] | None = None,
) -> dict[str, Any]:
    """``variables`` with each of ``names`` (templated text values) rendered with the others.

    Referenced vars among ``names`` are rendered first; the rest are inserted as data. A var
    that uses one of ``deferred`` (names an earlier test stores with ``storeOutputAs``, unknown
    until it has run) is left as written, to be rendered when the value is known; its name is
    added to ``left`` when given.

    Raises:
        ConfigError: A syntax error, a reference to a var no one defines, or a cycle, located at
            the var (``where_of(name)``).
    """
    out = dict(variables)
    pending = {n for n in names if has_template(variables.get(n))}
    done: set[str] = set()
    skipped: set[str] = set()

    def resolve(name: str, stack: tuple[str, ...]) -> None:
        where = where_of(name)
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name):], name))
            raise where.error(("vars", name), f"vars reference each other in a cycle: {cycle}")
        try:
            template = engine.compile(str(variables[name]), None, 1, one_line=True)
        except TemplateError as exc:
            raise where.error(("vars", name), exc.message) from None
        for ref in sorted(template.variables):
            if ref in pending and ref not in done and ref not in skipped:
                resolve(ref, (*stack, name))
        if any(ref in skipped or (ref in deferred and ref not in variables)
               for ref in template.variables):
            skipped.add(name)
            return
        try:
            out[name] = template.render(out)
        except MissingVariableError as exc:
            listed = ", ".join(exc.names)
            raise where.error(
                ("vars", name),
                f"uses {listed}, which no var of this test defines (a var may use the "
                "test's other vars)",
            ) from None
        except TemplateError as exc:
            raise where.error(("vars", name), exc.message) from None
        done.add(name)

    for name in variables:
        if name in pending and name not in done and name not in skipped:
            resolve(name, ())
    if left is not None:
        left.update(skipped)
    return out


class VarFunctions:
    """Runs ``file://x.py[:fn]`` vars (``get_var``) and reads typed ``file://`` var files.

    Args:
        loader: Loads the user's functions (inside the suite folder).
        prompt: The ``prompt`` argument given to ``get_var``: the suite's prompt text when it
            has exactly one prompt, else empty (promptwork resolves vars once per test, not once
            per prompt).
    """

    def __init__(self, loader: FunctionLoader, prompt: str = ""):
        self.loader = loader
        self.prompt = prompt
        self._calls: dict[tuple[str, str, str], Any] = {}

    def call(self, name: str, ref: str, variables: Mapping[str, Any], where: Where,
             sub: PathKey) -> Any:
        """The value ``get_var`` gives var ``name``."""
        others = {k: v for k, v in variables.items() if k != name}
        try:
            key = (ref, name, json.dumps(others, sort_keys=True, default=str))
        except (TypeError, ValueError):
            key = None
        if key is not None and key in self._calls:
            return self._calls[key]
        try:
            fn = self.loader.function(ref, "get_var", "var function")
        except ConfigError as exc:
            raise where.error(sub, exc.message) from None
        try:
            result = fn(name, self.prompt, others)
        except Exception as exc:
            raise where.error(sub, f"{ref} raised {type(exc).__name__}: {exc}") from None
        if not isinstance(result, Mapping) or not ("output" in result or "error" in result):
            raise where.error(
                sub, f"{ref} must return {{'output': value}} or {{'error': message}}, "
                f"got {type(result).__name__}")
        if result.get("error"):
            raise where.error(sub, f"{ref} returned an error: {result['error']}")
        value = result.get("output")
        if key is not None:
            if len(self._calls) >= MAX_CACHED_CALLS:
                self._calls.clear()
            self._calls[key] = value
        return value


def file_value(path: Path, data: bytes, ref: str, where: Where, sub: PathKey) -> Any:
    """A ``file://`` var's value from the file's bytes, by the file's type."""
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise where.error(sub, f"{ref!r}: {REFUSED_SUFFIXES[suffix]}")
    if suffix in BINARY_SUFFIXES:
        return base64.b64encode(data).decode("ascii")
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise where.error(sub, f"{ref!r} is not UTF-8 text") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise where.error(sub, f"{ref!r} is not valid JSON: {exc.msg} "
                                   f"(line {exc.lineno})") from None
    if suffix in (".yaml", ".yml"):
        try:
            parsed, _ = load_yaml(text, str(path))
        except ConfigError as exc:
            raise where.error(sub, f"{ref!r}: {exc}") from None
        return parsed
    return text
