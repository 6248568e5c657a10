"""promptfoo's ``derivedMetrics``: named metrics computed from other named metrics.

::

    derivedMetrics:
      - name: precision
        value: true_positives / (true_positives + false_positives)

Each column (prompt x model) sums the scores of the checks of each named ``metric`` over its
cells (promptfoo's ``namedScores``), then evaluates each derived metric's expression over those
sums, in order, so that a derived metric may use the ones before it. Expressions are arithmetic
only (numbers, metric names, ``+ - * / % **``, parentheses, and ``min``, ``max``, ``abs``,
``sqrt``, ``round``), parsed at load and evaluated by walking the syntax tree: no code runs.
promptfoo's other form, a JavaScript function, is refused by name. A division by zero or a name
no check of the column produced leaves the value undefined, with the reason.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from promptwork.errors import ConfigError

DERIVED_KEYS = ("name", "value")
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min, "max": max, "abs": abs, "sqrt": math.sqrt, "round": round,
}
_MAX_LENGTH = 500
_MAX_POWER = 1000.0


class Undefined(Exception):
    """The expression has no value for this column (division by zero, a missing metric)."""


def _function_form(text: str) -> bool:
    stripped = text.strip()
    return "=>" in stripped or stripped.startswith(("function", "async ")) or "return " in stripped


def parse_expression(text: str) -> ast.expr:
    """Parse and check an arithmetic expression.

    Raises:
        ConfigError: A syntax error or anything beyond arithmetic (attributes, calls of other
            functions, comparisons, strings...).
    """
    if _function_form(text):
        raise ConfigError("derived metrics given as JavaScript functions cannot run here; "
                          "write the metric as an arithmetic expression over metric names")
    if len(text) > _MAX_LENGTH:
        raise ConfigError(f"expression longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"bad expression {text!r}: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"expression nested too deeply: {text[:60]!r}") from None
    for node in ast.walk(tree.body):
        if isinstance(node, ast.Call):
            allowed = isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            if not allowed or node.keywords:
                raise ConfigError(f"bad expression {text!r}: only {', '.join(_FUNCTIONS)} may be "
                                  "called")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ConfigError(f"bad expression {text!r}: only numbers and metric names")
        elif not isinstance(node, ast.BinOp | ast.UnaryOp | ast.Name | ast.Load
                            | ast.operator | ast.unaryop):
            raise ConfigError(f"bad expression {text!r}: {type(node).__name__} is not "
                              "arithmetic (use + - * / % **, parentheses and metric names)")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            raise ConfigError(f"bad expression {text!r}: operator not allowed")
        if isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
            raise ConfigError(f"bad expression {text!r}: operator not allowed")
    return tree.body


def evaluate(tree: ast.expr, values: Mapping[str, float]) -> float:
    """The expression's value; raises :class:`Undefined` when it has none."""
    if isinstance(tree, ast.Constant) and isinstance(tree.value, int | float):
        return float(tree.value)
    if isinstance(tree, ast.Name):
        if tree.id not in values:
            raise Undefined(f"no check has metric {tree.id!r}")
        return float(values[tree.id])
    if isinstance(tree, ast.UnaryOp):
        return _UNARY[type(tree.op)](evaluate(tree.operand, values))
    if isinstance(tree, ast.BinOp):
        left, right = evaluate(tree.left, values), evaluate(tree.right, values)
        if isinstance(tree.op, ast.Pow) and abs(right) > _MAX_POWER:
            raise Undefined("exponent too large")
        try:
            result = _BINARY[type(tree.op)](left, right)
        except ZeroDivisionError:
            raise Undefined("division by zero") from None
        except OverflowError:
            raise Undefined("overflow") from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise Undefined("not a finite number")
        return float(result)
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name):
        args = [evaluate(arg, values) for arg in tree.args]
        try:
            return float(_FUNCTIONS[tree.func.id](*args))
        except (TypeError, ValueError) as exc:
            raise Undefined(f"{tree.func.id}: {exc}") from None
    raise Undefined(f"cannot evaluate {type(tree).__name__}")


def validate_derived(spec: Any) -> list[dict[str, Any]]:
    """``derivedMetrics`` as metric specs (``{type: derived, name, value}``), checked.

    Raises:
        ConfigError: With the index of the bad entry in the message (the caller adds file:line).
    """
    if not isinstance(spec, list):
        raise ConfigError("'derivedMetrics' must be a list of {name, value}")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(spec):
        if not isinstance(item, Mapping):
            raise ConfigError(f"derivedMetrics[{i}]: must be a mapping {{name, value}}")
        unknown = [k for k in item if k not in DERIVED_KEYS]
        if unknown:
            raise ConfigError(f"derivedMetrics[{i}]: unknown key {str(unknown[0])!r}; "
                              "a derived metric has name and value")
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"derivedMetrics[{i}]: 'name' must be a metric name")
        if name in seen:
            raise ConfigError(f"derivedMetrics[{i}]: {name!r} is defined twice")
        if not isinstance(value, str):
            raise ConfigError(f"derivedMetrics[{i}] ({name}): 'value' must be an arithmetic "
                              "expression over metric names")
        try:
            parse_expression(value)
        except ConfigError as exc:
            raise ConfigError(f"derivedMetrics[{i}] ({name}): {exc.message}") from None
        seen.add(name)
        out.append({"type": "derived", "name": name, "value": value})
    return out


@dataclass
class DerivedReport:
    """One derived metric's value in one column (``None`` with ``reason`` when undefined)."""

    prompt_idx: int
    provider_idx: int
    name: str
    expression: str
    value: float | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "derived", "prompt_idx": self.prompt_idx,
                "provider_idx": self.provider_idx, "name": self.name,
                "expression": self.expression, "value": self.value, "reason": self.reason}


class NamedSums:
    """Per column, the sum over its graded cells of each named metric's check scores, added up
    row by row (so that a writer streaming the rows computes derived metrics on the way)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[int, int], dict[str, float]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        key = (int(row["prompt_idx"]), int(row["provider_idx"]))
        column = self.sums.setdefault(key, {})
        if row.get("error") is not None:
            return
        for comp in (row.get("grading") or {}).get("components", []) or []:
            metric = comp.get("metric")
            if metric:
                column[metric] = column.get(metric, 0.0) + float(comp.get("score") or 0.0)

    def watch(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """``rows`` unchanged, each added on its way through."""
        for row in rows:
            self.add(row)
            yield row

    def derived(self, specs: list[Mapping[str, Any]]) -> list[DerivedReport]:
        """Every derived metric of ``specs`` in every column seen, in order."""
        return _derived(self.sums, specs)


def derived_specs(settings: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The derived metrics among a run's recorded ``metrics`` settings."""
    specs = settings.get("metrics") or []
    return [s for s in specs if isinstance(s, Mapping) and s.get("type") == "derived"]


def named_sums(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, int], dict[str, float]]:
    """Per column, the sum over its graded cells of each named metric's check scores."""
    sums = NamedSums()
    for row in rows:
        sums.add(row)
    return sums.sums


def derived_metrics(
    rows: Iterable[Mapping[str, Any]], specs: list[Mapping[str, Any]]
) -> list[DerivedReport]:
    """Every derived metric of ``specs`` in every column, in order."""
    return _derived(named_sums(rows), specs)


def _derived(sums_by_column: Mapping[tuple[int, int], Mapping[str, float]],
             specs: list[Mapping[str, Any]]) -> list[DerivedReport]:
    reports: list[DerivedReport] = []
    trees = [(str(s["name"]), str(s["value"]), parse_expression(str(s["value"]))) for s in specs]
    for key, sums in sorted(sums_by_column.items()):
        values = dict(sums)
        for name, text, tree in trees:
            try:
                value: float | None = evaluate(tree, values)
                reason = None
            except Undefined as exc:
                value, reason = None, str(exc)
            if value is not None:
                values[name] = value
            reports.append(DerivedReport(key[0], key[1], name, text, value, reason))
    return reports
