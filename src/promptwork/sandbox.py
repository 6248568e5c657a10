"""Size and time limits of template rendering: the guarded Jinja2 sandbox environment.

:class:`LimitedEnvironment` is an :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` that
stops loop, recursion and multiplication bombs by a deadline and by size limits:

* the deadline (:data:`render_deadline`, set by :meth:`promptwork.templates.Template.render`) is
  checked on every loop iteration, call, intercepted operator and output piece;
* ``*``, ``+``, ``~``, ``%``, ``**``, the growing ``str`` methods (``center``, ``replace``,
  ``join``, ``format``...) and the growing filters (``center``, ``indent``, ``replace``, ``join``,
  ``wordwrap``, ``format``, ``batch``, ``slice``, ``tojson``) refuse, *before* building it, a
  value larger than the output limit;
* inserting a function or method (``{{ name.upper }}``) is an error rather than its ``repr``.

``for`` loops and ``~`` are routed through the guards by rewriting the parsed template with
:class:`GuardRewriter` before it is compiled (:class:`promptwork.templates.TemplateEngine` does).
The environment also has the Nunjucks features promptfoo's prompts use (:mod:`promptwork.nunjucks`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from types import BuiltinMethodType
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from promptwork.errors import TemplateError
from promptwork.nunjucks import NUNJUCKS_FILTERS, js_length, pairs_of

__all__ = ["MAX_INT_BITS", "GuardRewriter", "LimitedEnvironment", "RenderLimits", "render_deadline"]

#: Largest integer (in bits) that ``*`` and ``**`` may build.
MAX_INT_BITS = 100_000

#: Deadline of the render running in this thread / task (``perf_counter`` seconds).
render_deadline: ContextVar[float] = ContextVar("promptwork_template_deadline", default=math.inf)

_PERCENT = re.compile(r"%(?:%|(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?)")
_GROWING_STR_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "translate"}
)


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render.

    Attributes:
        seconds: Wall-time budget for rendering one template.
        max_chars: Largest output (and largest string or list built inside it) in characters.
        max_range: Largest ``range()``.
    """

    seconds: float = 2.0
    max_chars: int = 1_000_000
    max_range: int = 100_000


class _Guard(Extension):
    """Functions the rewritten template calls: timed ``for`` loops and size-checked ``~``."""

    @property
    def env(self) -> LimitedEnvironment:
        return cast(LimitedEnvironment, self.environment)

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        env = self.env
        for item in iterable:
            env.check_time()
            yield item

    def pairs(self, iterable: Iterable[Any]) -> Iterator[Any]:
        return pairs_of(iterable)

    def concat(self, *parts: Any) -> str:
        texts = [str(part) for part in parts]
        self.env.check_size(sum(map(len, texts)), "'~'")
        return "".join(texts)


def _guard_call(name: str, args: list[Any], lineno: int) -> nodes.Call:
    func = nodes.ExtensionAttribute(_Guard.identifier, name, lineno=lineno)
    return nodes.Call(func, args, [], None, None, lineno=lineno)


class GuardRewriter(NodeTransformer):
    """Routes ``for`` iterables and ``~`` through :class:`_Guard` (and so through the sandbox)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.target, nodes.Tuple) and len(node.target.items) == 2:
            node.iter = _guard_call("pairs", [node.iter], node.lineno)  # Nunjucks' key, value
        node.iter = _guard_call("iterate", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _guard_call("concat", list(node.nodes), node.lineno)


def _finalize(value: Any) -> Any:
    """Refuse to print functions and methods (their ``repr`` is never what was meant)."""
    if callable(value) and not isinstance(value, Undefined):
        name = getattr(value, "__qualname__", None) or type(value).__name__
        raise TemplateError(
            f"cannot insert the function {name!r} into the text; call it, e.g. "
            "{{ text.upper() }}, or remove it"
        )
    return value


# --- size checks of growing filters -----------------------------------------------------------
# Each takes the environment and the filter's public arguments and raises before a filter could
# build an oversized value. Arguments of the wrong type are left to the filter to report.


def _check_center(env: LimitedEnvironment, value: Any, width: int = 80) -> None:
    env.check_size(width, "center")


def _check_indent(
    env: LimitedEnvironment, s: Any, width: int | str = 4, first: bool = False,
    blank: bool = False,
) -> None:
    text = str(s)
    step = len(width) if isinstance(width, str) else int(width)
    env.check_size(len(text) + (text.count("\n") + 1) * step, "indent")


def _check_batch(
    env: LimitedEnvironment, value: Any, linecount: int, fill_with: Any = None
) -> None:
    if fill_with is not None:
        env.check_size(linecount, "batch")


def _check_slice(env: LimitedEnvironment, value: Any, slices: int, fill_with: Any = None) -> None:
    env.check_size(slices, "slice")


def _check_tojson(env: LimitedEnvironment, value: Any, indent: int | str | None = None) -> None:
    step = len(indent) if isinstance(indent, str) else int(indent or 0)
    if step > 100:
        raise TemplateError(f"tojson indent of {step} is too large (limit 100)")


def _check_wordwrap(
    env: LimitedEnvironment, s: Any, width: int = 79, break_long_words: bool = True,
    wrapstring: str | None = None, break_on_hyphens: bool = True,
) -> None:
    n = len(str(s))
    wrap = len(wrapstring) if wrapstring is not None else 1
    env.check_size(n + (n // max(int(width), 1) + 1) * wrap, "wordwrap")


def _check_join(
    env: LimitedEnvironment, value: Sized, d: str = "", attribute: Any = None
) -> None:
    env.check_size(len(value) * len(str(d)), "join")


def _check_replace(
    env: LimitedEnvironment, s: Any, old: Any, new: Any, count: int | None = None
) -> None:
    env.check_size(_replaced_size(str(s), str(old), str(new), count), "replace")


def _check_format(env: LimitedEnvironment, value: Any, *args: Any, **kwargs: Any) -> None:
    env.check_percent(str(value), kwargs or args)


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "batch": _check_batch,
    "slice": _check_slice,
    "tojson": _check_tojson,
    "wordwrap": _check_wordwrap,
    "join": _check_join,
    "replace": _check_replace,
    "format": _check_format,
    "dump": lambda env, value, spaces=None: None,  # indent clamped to 10; output size checked
    "load": lambda env, text: None,
    "nl2br": lambda env, text: env.check_size(len(str(text)) * 7, "nl2br"),
}


def _replaced_size(s: str, old: str, new: str, count: int | None) -> int:
    hits = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * (len(new) - len(old))


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with :class:`RenderLimits` enforced (see the module docs)."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, limits: RenderLimits):
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            extensions=[_Guard],
            finalize=_finalize,
        )
        self.limits = limits
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        self.filters.update(NUNJUCKS_FILTERS)
        self.policies["truncate.leeway"] = 0  # Nunjucks cuts at the length asked
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = self._guard_filter(self.filters[name], check, name == "join")

    # -- limits -----------------------------------------------------------------------------

    def check_time(self) -> None:
        if time.perf_counter() > render_deadline.get():
            raise TemplateError(
                f"rendering took longer than {self.limits.seconds:g} s (time limit); "
                "simplify the template's loops"
            )

    def check_size(self, size: int, what: str) -> None:
        if size > self.limits.max_chars:
            raise TemplateError(
                f"{what} would build {size:,} characters or items "
                f"(size limit {self.limits.max_chars:,})"
            )

    def _big(self, digits: str) -> bool:
        return len(digits) > 18 or (digits != "" and int(digits) > self.limits.max_chars)

    def check_percent(self, fmt: str, args: Any) -> None:
        """Refuse ``%`` formats whose width or precision would build a huge string."""
        star = False
        for match in _PERCENT.finditer(fmt):
            width, precision = match.group(1) or "", match.group(2) or ""
            star = star or "*" in (width, precision)
            if self._big(width.strip("*")) or self._big(precision.strip("*")):
                raise TemplateError(
                    f"format width in {match.group(0)!r} is too large "
                    f"(size limit {self.limits.max_chars:,})"
                )
        if star:
            values = args if isinstance(args, tuple) else (args,)
            for value in values:
                if isinstance(value, int) and abs(value) > self.limits.max_chars:
                    raise TemplateError(
                        f"format width {value:,} is too large "
                        f"(size limit {self.limits.max_chars:,})"
                    )

    def check_format_spec(self, fmt: str) -> None:
        """Refuse ``str.format`` fields whose width or precision would build a huge string."""
        try:
            fields = list(string.Formatter().parse(fmt))
        except ValueError:
            return  # str.format reports the syntax error itself
        for _, _, spec, _ in fields:
            if not spec:
                continue
            if "{" in spec:
                raise TemplateError("nested replacement fields in a format spec are not allowed")
            if any(self._big(d) for d in re.findall(r"\d+", spec)):
                raise TemplateError(
                    f"format spec {spec!r} is too large (size limit {self.limits.max_chars:,})"
                )

    def sized(self, value: Any, what: str) -> Any:
        if isinstance(value, str | list | tuple):
            self.check_size(len(value), what)
        return value

    # -- globals and filters ----------------------------------------------------------------

    def _range(self, *args: int) -> range:
        r = range(*args)
        if len(r) > self.limits.max_range:
            raise TemplateError(f"range() of {len(r):,} items exceeds {self.limits.max_range:,}")
        return r

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if n > 100 or max > 1000:
            raise TemplateError("lipsum() is limited to 100 paragraphs of 1000 words")
        return generate_lorem_ipsum(n, html, min, max)

    def _guard_filter(
        self, func: Callable[..., Any], check: Callable[..., None], listify: bool
    ) -> Callable[..., Any]:
        lead = 0 if _PassArg.from_obj(func) is None else 1

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.check_time()
            if listify and len(args) > lead and not isinstance(args[lead], Sized):
                args = (*args[:lead], list(args[lead]), *args[lead + 1 :])
            with contextlib.suppress(TypeError, ValueError):  # the filter reports bad arguments
                check(self, *args[lead:], **kwargs)
            return self.sized(func(*args, **kwargs), f"filter {func.__name__}")

        return guarded

    # -- sandbox hooks ----------------------------------------------------------------------

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute == "length" and (length := js_length(obj)) is not None:
            return length  # JavaScript's .length, which promptfoo's prompts use
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int):
                    self.check_size(len(seq) * n, "'*'")
            if isinstance(left, int) and isinstance(right, int):
                self._check_bits(left.bit_length() + right.bit_length())
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                self.check_size(len(left) + len(right), "'+'")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                self._check_bits(left.bit_length() * right)
        elif operator == "%" and isinstance(left, str):
            self.check_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def _check_bits(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise TemplateError(
                f"arithmetic would build a {bits:,}-bit number (limit {MAX_INT_BITS:,} bits)"
            )

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt: str = value.__self__

        def guarded(*args: Any, **kwargs: Any) -> str:
            self.check_time()
            self.check_format_spec(fmt)
            return cast(str, self.sized(wrapper(*args, **kwargs), "str.format"))

        return functools.update_wrapper(guarded, value)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.check_time()
        if isinstance(__obj, BuiltinMethodType) and isinstance(__obj.__self__, str):
            args = __self._check_str_method(__obj.__self__, __obj.__name__, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return __self.sized(result, f"{getattr(__obj, '__name__', 'call')}()")

    def _check_str_method(
        self, s: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, ...]:
        if name not in _GROWING_STR_METHODS:
            return args
        first = args[0] if args else next(iter(kwargs.values()), None)
        if name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int):
            self.check_size(first, f"str.{name}")
        elif name == "expandtabs":
            size = first if isinstance(first, int) else 8
            self.check_size(len(s) + s.count("\t") * size, "str.expandtabs")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str):
            count = args[2] if len(args) > 2 else kwargs.get("count", -1)
            new = str(args[1])
            self.check_size(
                _replaced_size(s, args[0], new, count if isinstance(count, int) else None),
                "str.replace",
            )
        elif name == "join" and args:
            items = list(args[0])
            self.check_size(len(s) * len(items), "str.join")
            return (items, *args[1:])
        elif name == "translate" and isinstance(first, Mapping):
            longest = max((len(v) for v in first.values() if isinstance(v, str)), default=1)
            self.check_size(len(s) * longest, "str.translate")
        return args
