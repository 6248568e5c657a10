"""Sandboxed Jinja2 rendering with time and size limits.

Templates run in :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`. Variable values are inserted as data: a value such as
``{{7*7}}`` is output literally, never compiled.

Loop, recursion and multiplication bombs are stopped by a deadline and by size limits
(:class:`RenderLimits`), enforced by the environment of :mod:`promptwork.sandbox`:

* the deadline is checked on every loop iteration, call, intercepted operator and output piece;
* ``*``, ``+``, ``~``, ``%``, ``**``, the growing ``str`` methods (``center``, ``replace``,
  ``join``, ``format``...) and the growing filters (``center``, ``indent``, ``replace``, ``join``,
  ``wordwrap``, ``format``, ``batch``, ``slice``, ``tojson``) refuse, *before* building it, a
  value larger than the output limit;
* inserting a function or method (``{{ name.upper }}``) is an error rather than its ``repr``.

Rendering runs in the caller's process: the limits bound time and memory for the operations
above, they are not an operating-system sandbox.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser

from promptwork.errors import MissingVariableError, TemplateError
from promptwork.sandbox import (
    MAX_INT_BITS,
    GuardRewriter,
    LimitedEnvironment,
    RenderLimits,
    render_deadline,
)

__all__ = ["MAX_INT_BITS", "RenderLimits", "Template", "TemplateEngine"]

_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
#: Compiled templates by (limits, source, path, first line, one line): loading the same suite
#: again in one process (``evaluate()`` in a loop, an optimizer) does not re-compile its prompts.
#: Templates are immutable and engines with equal limits are interchangeable.
_COMPILED: OrderedDict[tuple[Any, ...], Template] = OrderedDict()
_COMPILED_MAX = 512
_COMPILED_LOCK = threading.Lock()


class TemplateEngine:
    """Compiles and renders templates under fixed :class:`RenderLimits`."""

    def __init__(self, limits: RenderLimits | None = None,
                 filters: Mapping[str, tuple[Any, Any]] | None = None):
        """``filters``: extra filters by name, each ``(identity, function)`` (the suite's
        ``nunjucksFilters``); templates compiled with them are cached under their identities."""
        self.limits = limits or RenderLimits()
        self.env = LimitedEnvironment(self.limits)
        self._builtin_names = frozenset(self.env.globals)
        self._filters = tuple(sorted((name, ident) for name, (ident, _) in (filters or {}).items()))
        self.env.filters.update({name: fn for name, (_, fn) in (filters or {}).items()})

    def compile(
        self, source: str, path: str | None = None, first_line: int = 1, *, one_line: bool = False
    ) -> Template:
        """Parse ``source``; syntax errors carry ``path`` and the line in that file.

        Args:
            source: Template text.
            path: File it came from, for error messages.
            first_line: Line of that file on which ``source`` starts.
            one_line: The whole source sits on ``first_line`` (a JSON string with ``\\n``
                escapes); every error then points at that line.
        """
        key = (self.limits, self._filters, source, path, first_line, one_line)
        with _COMPILED_LOCK:
            known = _COMPILED.get(key)
            if known is not None:
                _COMPILED.move_to_end(key)
                return known
        template = self._compile(source, path, first_line, one_line)
        with _COMPILED_LOCK:
            _COMPILED[key] = template
            if len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
        return template

    def _compile(self, source: str, path: str | None, first_line: int, one_line: bool
                 ) -> Template:
        parser = Parser(self.env, source, None, path)
        ast: nodes.Template | None = None
        try:
            ast = parser.parse()
            variables = frozenset(meta.find_undeclared_variables(ast)) - self._builtin_names
            lines: dict[str, int] = {}
            for name_node in ast.find_all(nodes.Name):
                if name_node.name in variables and name_node.name not in lines:
                    lines[name_node.name] = name_node.lineno
            constant = _is_constant(ast)
            required = variables - _optional_names(ast)
            GuardRewriter().visit(ast)
            ast.set_environment(self.env)
            code = self.env.compile(ast, filename=path)
            compiled = self.env.template_class.from_code(
                self.env, code, self.env.make_globals(None), None
            )
        except jinja2.TemplateSyntaxError as exc:
            lineno = exc.lineno or 1
            where = f" (line {lineno} of the text)" if one_line and lineno > 1 else ""
            line = first_line if one_line else first_line + lineno - 1
            message = f"template syntax error: {exc.message}{where}"
            raise TemplateError(message, path, line) from None
        except (RecursionError, MemoryError, SyntaxError):
            # Jinja's parser and compiler recurse per level of nesting, and Python refuses code
            # with too many nested blocks, indents or parentheses: a user error, not a crash.
            lineno = _deepest_line(ast) if ast is not None else parser.stream.current.lineno
            line = first_line if one_line else first_line + lineno - 1
            where = f" (line {lineno} of the text)" if one_line and lineno > 1 else ""
            raise TemplateError(
                "template nested too deeply (too many nested blocks, loops or parentheses)"
                f"{where}; flatten it or split it into smaller templates", path, line,
            ) from None
        return Template(
            self, compiled, variables, path, first_line, constant,
            required=required, lines=lines, one_line=one_line,
        )


def _deepest_line(ast: nodes.Template) -> int:
    """Line of the most deeply nested node (walked without recursion: the tree is too deep)."""
    best_depth, best_line = -1, 1
    stack: list[tuple[nodes.Node, int]] = [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > best_depth:
            best_depth, best_line = depth, getattr(node, "lineno", None) or best_line
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return best_line


def _is_constant(ast: nodes.Template) -> bool:
    return all(
        isinstance(node, nodes.Output)
        and all(isinstance(child, nodes.TemplateData) for child in node.nodes)
        for node in ast.body
    )


def _optional_names(ast: nodes.Template) -> set[str]:
    """Variables the template tests with ``is defined`` or gives a ``|default``."""
    names: set[str] = set()
    for test in ast.find_all(nodes.Test):
        if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name):
            names.add(test.node.name)
    for filt in ast.find_all(nodes.Filter):
        if filt.name in ("default", "d") and isinstance(filt.node, nodes.Name):
            names.add(filt.node.name)
    return names


class Template:
    """A compiled template; render it with :meth:`render`.

    Attributes:
        variables: Every variable the template reads from its values.
        required: The variables it needs (those not guarded by ``is defined`` or ``|default``).
    """

    __slots__ = (
        "_compiled", "_constant", "_lines", "_one_line", "engine", "first_line", "path",
        "required", "variables",
    )

    def __init__(
        self,
        engine: TemplateEngine,
        compiled: jinja2.Template,
        variables: frozenset[str],
        path: str | None,
        first_line: int,
        constant: bool,
        *,
        required: frozenset[str] | None = None,
        lines: Mapping[str, int] | None = None,
        one_line: bool = False,
    ):
        self.engine = engine
        self._compiled = compiled
        self.variables = variables
        self.required = variables if required is None else required
        self.path = path
        self.first_line = first_line
        self._constant = constant
        self._lines = dict(lines or {})
        self._one_line = one_line

    def line_of(self, name: str) -> int:
        """Line in the file where variable ``name`` is first used."""
        return self._file_line(self._lines.get(name, 1))

    def render(self, values: Mapping[str, Any]) -> str:
        """Render with ``values``; raises :class:`TemplateError` with file and line."""
        limits = self.engine.limits
        if self._constant:
            # Plain text: no need to enter Jinja at all.
            return "".join(self._compiled.generate())
        missing = [name for name in self.required if name not in values]
        if missing:
            line = min(self.line_of(name) for name in missing)
            raise MissingVariableError(missing, self.path, line)
        deadline = time.perf_counter() + limits.seconds
        token = render_deadline.set(deadline)
        out: list[str] = []
        size = 0
        try:
            for piece in self._compiled.generate(dict(values)):
                size += len(piece)
                if size > limits.max_chars:
                    raise TemplateError(
                        f"rendered output exceeds {limits.max_chars:,} characters (size limit)"
                    )
                if time.perf_counter() > deadline:
                    raise TemplateError(
                        f"rendering took longer than {limits.seconds:g} s (time limit)"
                    )
                out.append(piece)
        except TemplateError as exc:
            if exc.path is None and exc.line is None:
                raise TemplateError(exc.message, self.path, self._line(exc)) from None
            raise
        except SecurityError as exc:
            raise TemplateError(
                f"sandbox violation: {exc.message} (templates may not reach Python internals)",
                self.path,
                self._line(exc),
            ) from None
        except jinja2.UndefinedError as exc:
            match = _UNDEFINED_NAME.match(exc.message or "")
            if match and match.group(1) in self.variables and match.group(1) not in values:
                raise MissingVariableError([match.group(1)], self.path, self._line(exc)) from None
            message = f"undefined value: {exc.message}"
            raise TemplateError(message, self.path, self._line(exc)) from None
        except jinja2.TemplateError as exc:
            message = f"template error: {exc.message}"
            raise TemplateError(message, self.path, self._line(exc)) from None
        except RecursionError as exc:
            raise TemplateError(
                "recursion too deep (a macro or recursive loop that never ends?)",
                self.path,
                self._line(exc),
            ) from None
        except MemoryError:
            message = "out of memory while rendering"
            raise TemplateError(message, self.path, self.first_line) from None
        except Exception as exc:
            raise TemplateError(
                f"render error: {type(exc).__name__}: {exc}", self.path, self._line(exc)
            ) from None
        finally:
            render_deadline.reset(token)
        return "".join(out)

    def _file_line(self, template_line: int) -> int:
        return self.first_line if self._one_line else self.first_line + template_line - 1

    def _line(self, exc: BaseException) -> int:
        """Best-effort file line of an exception raised while rendering."""
        filename = self._compiled.filename or "<template>"
        tb = exc.__traceback__
        line = None
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename == filename:
                if "__jinja_template__" in frame.f_globals:  # compiled template code
                    line = self._compiled.get_corresponding_lineno(tb.tb_lineno)
                else:  # Jinja's rewritten traceback: already the template's line
                    line = tb.tb_lineno
            tb = tb.tb_next
        return self._file_line(line or 1)
