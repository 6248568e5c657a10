"""Sandboxed Jinja2 rendering with time and size limits.

Templates run in :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`. Variable values are inserted as data: a value such as
``{{7*7}}`` is output literally, never compiled. Loop and multiplication bombs are stopped by a
deadline (checked by ``range``, calls and binary operators) and an output-size limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from promptwork.errors import MissingVariableError, TemplateError

_DEADLINE = "__promptwork_deadline__"


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render.

    Attributes:
        seconds: Wall-time budget for rendering one template.
        max_chars: Largest output (and largest string built by ``*``) in characters.
        max_range: Largest ``range()``.
    """

    seconds: float = 2.0
    max_chars: int = 1_000_000
    max_range: int = 100_000


class _LimitedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, limits: RenderLimits):
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self.limits = limits
        self.globals["range"] = self._range

    def _check_time(self, context: Context) -> None:
        deadline = context.get(_DEADLINE)
        if deadline is not None and time.perf_counter() > deadline:
            raise TemplateError(
                f"rendering took longer than {self.limits.seconds:g} s (time limit); "
                "simplify the template's loops"
            )

    @jinja2.pass_context
    def _range(self, context: Context, *args: int) -> Iterator[int]:
        r = range(*args)
        if len(r) > self.limits.max_range:
            raise TemplateError(f"range() of {len(r)} items exceeds {self.limits.max_range}")
        return self._timed(context, r)

    def _timed(self, context: Context, items: range) -> Iterator[int]:
        for i in items:
            if i % 256 == 0:
                self._check_time(context)
            yield i

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self._check_time(context)
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int):
                    if len(seq) * n > self.limits.max_chars:
                        raise TemplateError(
                            f"multiplication would build {len(seq) * n:,} items "
                            f"(limit {self.limits.max_chars:,})"
                        )
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise TemplateError(f"exponent {right} too large in template (limit 1000)")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self._check_time(__context)
        return super().call(__context, __obj, *args, **kwargs)


class TemplateEngine:
    """Compiles and renders templates under fixed :class:`RenderLimits`."""

    def __init__(self, limits: RenderLimits | None = None):
        self.limits = limits or RenderLimits()
        self.env = _LimitedEnvironment(self.limits)
        self._builtin_names = frozenset(self.env.globals)

    def compile(self, source: str, path: str | None = None, first_line: int = 1) -> Template:
        """Parse ``source``; syntax errors carry ``path`` and the line in that file."""
        try:
            ast = self.env.parse(source)
            code = self.env.compile(ast, filename=path)
            compiled = self.env.template_class.from_code(
                self.env, code, self.env.make_globals(None), None
            )
        except jinja2.TemplateSyntaxError as exc:
            line = first_line + (exc.lineno or 1) - 1
            raise TemplateError(f"template syntax error: {exc.message}", path, line) from None
        variables = frozenset(meta.find_undeclared_variables(ast)) - self._builtin_names
        return Template(self, compiled, variables, path, first_line, _is_constant(ast))


def _is_constant(ast: nodes.Template) -> bool:
    return all(
        isinstance(node, nodes.Output)
        and all(isinstance(child, nodes.TemplateData) for child in node.nodes)
        for node in ast.body
    )


class Template:
    """A compiled template; render it with :meth:`render`."""

    __slots__ = ("_compiled", "_constant", "engine", "first_line", "path", "variables")

    def __init__(
        self,
        engine: TemplateEngine,
        compiled: jinja2.Template,
        variables: frozenset[str],
        path: str | None,
        first_line: int,
        constant: bool,
    ):
        self.engine = engine
        self._compiled = compiled
        self.variables = variables
        self.path = path
        self.first_line = first_line
        self._constant = constant

    def render(self, values: Mapping[str, Any]) -> str:
        """Render with ``values``; raises :class:`TemplateError` with file and line."""
        limits = self.engine.limits
        if self._constant:
            # Plain text: no need to enter Jinja at all.
            return "".join(self._compiled.generate())
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise MissingVariableError(missing, self.path, self.first_line)
        ctx = dict(values)
        deadline = time.perf_counter() + limits.seconds
        ctx[_DEADLINE] = deadline
        out: list[str] = []
        size = 0
        try:
            for piece in self._compiled.generate(ctx):
                size += len(piece)
                if size > limits.max_chars:
                    raise TemplateError(
                        f"rendered output exceeds {limits.max_chars:,} characters (size limit)",
                        self.path,
                        self.first_line,
                    )
                if time.perf_counter() > deadline:
                    raise TemplateError(
                        f"rendering took longer than {limits.seconds:g} s (time limit)",
                        self.path,
                        self.first_line,
                    )
                out.append(piece)
        except TemplateError as exc:
            if exc.path is None:
                raise TemplateError(exc.message, self.path, self._line(exc)) from None
            raise
        except SecurityError as exc:
            raise TemplateError(
                f"sandbox violation: {exc} (templates may not reach Python internals)",
                self.path,
                self._line(exc),
            ) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined value: {exc.message}", self.path, self._line(exc)) from None
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError) as exc:
            raise TemplateError(f"render error: {exc}", self.path, self._line(exc)) from None
        return "".join(out)

    def _line(self, exc: BaseException) -> int:
        """Best-effort template line of an exception raised while rendering."""
        tb = exc.__traceback__
        line = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in (self.path, "<template>"):
                line = self._compiled.get_corresponding_lineno(tb.tb_lineno)
            tb = tb.tb_next
        return self.first_line + (line or 1) - 1
