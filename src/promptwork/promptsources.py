"""Prompt sources that give several prompts or run code: globs and Python prompt functions.

* ``file://prompts/*.txt`` (any glob, ``**`` included) is one prompt per matching file, in path
  order, each labelled by its path.
* ``file://build.js[:fn]`` is a JavaScript prompt function (:mod:`promptwork.jsprompts`).
* ``file://build.py:make_prompt`` is promptfoo's prompt function: called for every cell with one
  argument, ``{"vars": {...}, "provider": {"id": ..., "label": ...}}``, it returns the prompt as
  text or as a list of ``{role, content}`` chat messages. It is the user's own code and runs in
  this process; an exception it raises is a template error of that cell. Its identity (content
  hash) is the file's source and the function's name.

Every other source is :func:`promptwork.prompts.load_prompt`'s.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.chatmessages import messages_from
from promptwork.errors import ConfigError, TemplateError
from promptwork.jsprompts import JS_SUFFIXES, TS_SUFFIXES, is_js_ref, js_prompt
from promptwork.prompts import PromptTemplate, _Part, load_prompt
from promptwork.templates import TemplateEngine
from promptwork.types import RenderedPrompt
from promptwork.userfunc import FunctionLoader, is_python_ref, split_ref

_GLOB_CHARS = re.compile(r"[*?\[]")
#: Most files one prompt glob may match.
MAX_GLOB_FILES = 1000


def load_prompts(
    source: str,
    base_dir: str | Path | None = None,
    engine: TemplateEngine | None = None,
    allow_outside: bool = False,
) -> list[PromptTemplate]:
    """The prompts one ``prompts:`` entry stands for (several for a glob).

    Raises:
        ConfigError: A glob that matches nothing, a Python file without a function name or with
            an import error, and every error of :func:`load_prompt`.
    """
    engine = engine or TemplateEngine()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if source.startswith("file://") and "\n" not in source:
        rel = source[len("file://"):]
        if is_python_ref(source):
            return [_function_prompt(source, base, allow_outside)]
        if is_js_ref(source, JS_SUFFIXES + TS_SUFFIXES):  # promptfoo's JS prompt functions
            return [js_prompt(source, base, allow_outside)]
        if _GLOB_CHARS.search(rel):
            return [load_prompt("file://" + match, base, engine, allow_outside)
                    for match in _matches(rel, base, source)]
    return [load_prompt(source, base_dir, engine, allow_outside)]


def _matches(pattern: str, base: Path, source: str) -> list[str]:
    root = None if Path(pattern).is_absolute() else base
    found = sorted(m for m in glob.glob(pattern, root_dir=root, recursive=True)
                   if (Path(m) if root is None else root / m).is_file())
    if not found:
        raise ConfigError(f"no prompt files match {source!r} (in {base})")
    if len(found) > MAX_GLOB_FILES:
        raise ConfigError(f"{source!r} matches {len(found):,} files, more than "
                          f"{MAX_GLOB_FILES:,}; narrow the pattern")
    return found


def _function_prompt(source: str, base: Path, allow_outside: bool) -> PromptTemplate:
    raw_path, name = split_ref(source, "")
    if not name:
        raise ConfigError(f"{source!r}: name the prompt function, as in file://{raw_path}:fn")
    loader = FunctionLoader(base, allow_outside)
    fn = loader.function(source, name, "prompt function")
    path = (base / raw_path).resolve()
    label = f"{raw_path}:{name}"
    code = path.read_text(encoding="utf-8", errors="replace")

    def render(values: Mapping[str, Any], provider: Mapping[str, Any] | None) -> RenderedPrompt:
        context = {"vars": dict(values), "provider": dict(provider or {}), "config": {}}
        try:
            made = fn(context)
        except Exception as exc:
            raise TemplateError(f"prompt function {label} raised {type(exc).__name__}: {exc}",
                                str(path)) from None
        return messages_from(made, label)

    # A constant empty part keeps the template machinery (variables, hashes) working.
    empty = _Part(None, TemplateEngine().compile("", label, 1))
    return PromptTemplate(label, f"{code}\n# prompt function: {name}\n", [empty],
                          path=str(path), renderer=render)
