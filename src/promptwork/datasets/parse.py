"""Test mappings: promptfoo's keys validated, checks parsed, errors located at a file and line."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptwork.checks.base import CheckSpec
from promptwork.checks.registry import parse_spec
from promptwork.checks.transform import transform_problem
from promptwork.errors import ConfigError
from promptwork.yamlfile import did_you_mean

if TYPE_CHECKING:
    from promptwork.datasets.varfiles import VarsFiles

#: Keys a test mapping may have.
TEST_KEYS = ("vars", "assert", "description", "options", "threshold", "metadata")
#: Keys ``defaultTest`` may have.
DEFAULT_TEST_KEYS = ("vars", "assert", "options", "threshold", "metadata")
#: promptfoo test keys promptwork does not support (refused by name, not silently ignored).
PROMPTFOO_ONLY = ("provider", "providers", "providerOutput", "assertScoringFunction")

PathKey = tuple[str | int, ...]
LineOf = Callable[[PathKey], int | None]
_MAPPING = (dict, Mapping)  # dict first: the common case, checked without the ABC machinery


@dataclass(slots=True)
class Where:
    """Where a test was written, for errors: a file, a line (or a way to find one), a label."""

    path: str
    line: int | LineOf | None = None
    label: str = ""

    def line_of(self, sub: PathKey = ()) -> int | None:
        return self.line(sub) if callable(self.line) else self.line

    def error(self, sub: PathKey, message: str) -> ConfigError:
        label = self.label + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in sub)
        label = label.lstrip(".")
        return ConfigError(
            f"{label}: {message}" if label else message, self.path, self.line_of(sub)
        )

    @property
    def source(self) -> str:
        line = self.line_of()
        return f"{self.path}:{line}" if line else f"{self.path}{self.label}"


@dataclass(slots=True)
class Test:
    """A parsed test before ``defaultTest`` is merged, its list vars expanded and it is numbered."""

    __test__ = False  # not a pytest test class

    vars: dict[str, Any]
    checks: tuple[CheckSpec, ...] = ()
    description: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    where: Where = field(default_factory=lambda: Where(""))
    #: False when no var can be a ``file://`` reference (saves a scan per streamed row).
    var_files: bool = True
    #: False when no var can be a list (saves looking for lists to expand in each streamed row).
    var_lists: bool = True


def prefixed(line_of: LineOf, prefix: PathKey) -> LineOf:
    """``line_of`` for paths under ``prefix``."""

    def line(sub: PathKey) -> int | None:
        return line_of((*prefix, *sub))

    return line


def kind(value: Any) -> str:
    """What ``value`` is, in a user's words."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else type(value).__name__


def check_spec(d: Any, where: Where, sub: PathKey, cache: dict[str, CheckSpec] | None) -> CheckSpec:
    """``CheckSpec.from_dict`` with the error located; identical checks are parsed once."""
    key: str | None = None
    if cache is not None:
        try:
            key = json.dumps(d, sort_keys=True)
        except (TypeError, ValueError):
            key = None
        if key is not None and key in cache:
            return cache[key]
    try:
        spec = parse_spec(d)
    except ConfigError as exc:
        raise where.error(sub, exc.message) from None
    if cache is not None and key is not None:
        if len(cache) >= 4096:
            cache.clear()
        cache[key] = spec
    return spec


def _number(value: Any, where: Where, sub: PathKey) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise where.error(sub, f"must be a number, got {value!r}")
    return float(value)


def parse_test(
    d: Any,
    where: Where,
    allowed: Sequence[str] = TEST_KEYS,
    cache: dict[str, CheckSpec] | None = None,
    from_json: bool = False,
    files: VarsFiles | None = None,
) -> Test:
    """Validate one test mapping (promptfoo's keys).

    ``from_json``: ``d`` was just parsed from JSON (string keys, fresh objects that can be kept).
    ``files``: reads ``vars`` given as file paths or globs (promptfoo's), where the test's file
    allows it.
    """
    if not isinstance(d, _MAPPING):
        raise where.error((), f"a test must be a mapping with vars and assert, got {kind(d)}")
    for key in d:
        if key not in allowed:
            note = " (a promptfoo key promptwork does not support)" if key in PROMPTFOO_ONLY else ""
            raise where.error(
                (str(key),),
                f"unknown key {key!r}{note}{did_you_mean(str(key), allowed)}; "
                f"allowed keys: {', '.join(allowed)}",
            )
    raw_vars = d.get("vars")
    if files is not None and isinstance(raw_vars, str | list):
        from promptwork.datasets.varfiles import is_vars_paths

        if is_vars_paths(raw_vars):
            try:
                raw_vars = files.read(raw_vars)
            except ConfigError as exc:
                raise where.error(("vars",), exc.message) from None
    if raw_vars is not None and not isinstance(raw_vars, _MAPPING):
        raise where.error(("vars",), f"'vars' must be a mapping, got {kind(raw_vars)}")
    asserts = d.get("assert")
    if asserts is not None and not isinstance(asserts, list):
        raise where.error(("assert",), f"'assert' must be a list of checks, got {kind(asserts)}")
    options = d.get("options")
    if options is not None and not isinstance(options, _MAPPING):
        raise where.error(("options",), f"'options' must be a mapping, got {kind(options)}")
    opts = dict(options) if options else {}
    problem = transform_problem(opts.get("transform"), "options.transform")
    if problem:
        raise where.error(("options", "transform"), problem)
    if opts:
        from promptwork.datasets.options import check_options  # it imports this module

        check_options(opts, where)
    metadata = d.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise where.error(("metadata",), f"'metadata' must be a mapping, got {kind(metadata)}")
        opts["metadata"] = dict(metadata)
    description = d.get("description")
    if description is not None and not isinstance(description, str | int | float):
        raise where.error(("description",), "'description' must be text")
    if raw_vars is None:
        variables: dict[str, Any] = {}
    elif from_json and isinstance(raw_vars, dict):
        variables = raw_vars
    else:
        variables = {str(k): v for k, v in raw_vars.items()}
    return Test(
        vars=variables,
        checks=tuple([check_spec(a, where, ("assert", j), cache) for j, a in enumerate(asserts)])
        if asserts
        else (),
        description=str(description) if description is not None else None,
        options=opts,
        threshold=_number(d.get("threshold"), where, ("threshold",)),
        where=where,
    )
