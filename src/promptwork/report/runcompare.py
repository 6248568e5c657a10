"""Comparing stored runs: which columns, and whether they were measured the same way.

:func:`compare_stored` is what ``promptwork runs compare`` (and later the workbench's compare
page) uses. It picks the columns (named as in :mod:`promptwork.report.columns`), compares each
pair with :func:`promptwork.report.compare.compare_columns` (McNemar on verdicts, paired
bootstrap on scores), and warns when the two sides differ in what makes a comparison fair:

* **checks**: the checks that graded a paired test differ (a check added, removed or renamed);
* **data**: a paired test has other vars, or the suite changed while the prompt did not;
* **parameters**: the cells' effective generation parameters differ (temperature...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptwork.errors import ConfigError
from promptwork.report.columns import column_names, resolve_column
from promptwork.report.compare import Comparison, compare_columns
from promptwork.report.terminal import compact_vars
from promptwork.store import RunRecord, Store
from promptwork.store.queries import result_rows

__all__ = ["USAGE", "ColumnPair", "RunComparison", "compare_stored", "fairness_warnings"]

#: How ``runs compare`` is called, in plain words (shown when it lacks what it needs).
USAGE = (
    "compare two runs: promptwork runs compare RUN_A RUN_B (columns with the same prompt and "
    "model labels are compared; --a/--b pick others)\n"
    "compare two columns of one run: promptwork runs compare RUN --a instruction --b few-shot "
    "(a prompt label, a model label, PROMPT@MODEL, or indices PROMPT:MODEL such as 1:0)"
)

Column = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ColumnPair:
    """One compared pair: column A of run A against column B of run B."""

    run_a: str
    column_a: Column
    run_b: str
    column_b: Column
    comparison: Comparison
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "column_a": list(self.column_a), "run_b": self.run_b,
                "column_b": list(self.column_b), "warnings": list(self.warnings),
                **self.comparison.to_dict()}


@dataclass
class RunComparison:
    """The result of :func:`compare_stored`: one :class:`ColumnPair` per compared pair."""

    run_a: str
    run_b: str
    pairs: list[ColumnPair] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for p in self.pairs for w in p.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b,
                "pairs": [p.to_dict() for p in self.pairs]}


def _labels(record: RunRecord) -> tuple[list[str], list[str], list[str]]:
    s = record.settings
    providers = s.get("providers", [])
    return ([str(p.get("label")) for p in s.get("prompts", [])],
            [str(p.get("label")) for p in providers], [str(p.get("id")) for p in providers])


def _resolve(spec: str, record: RunRecord) -> Column:
    prompts, models, ids = _labels(record)
    try:
        return resolve_column(spec, prompts, models, ids)
    except ConfigError as exc:
        raise ConfigError(f"run {record.id}: {exc.message}") from None


def _columns(record: RunRecord) -> list[Column]:
    prompts, models, _ = _labels(record)
    return [(p, m) for p in range(len(prompts)) for m in range(len(models))]


def _column_label(record: RunRecord, column: Column) -> str:
    prompts, models, _ = _labels(record)
    p, m = column
    prompt = prompts[p] if p < len(prompts) else f"#{p}"
    model = models[m] if m < len(models) else f"#{m}"
    return f"{record.id} {prompt} \u00d7 {model}"


def _plan(a: RunRecord, b: RunRecord, spec_a: str | None,
          spec_b: str | None) -> list[tuple[Column, Column]]:
    """The column pairs to compare."""
    if a.id == b.id:
        if spec_a is None or spec_b is None:
            prompts, models, _ = _labels(a)
            raise ConfigError(
                f"to compare two columns of run {a.id}, name both with --a and --b; its columns "
                f"are: {column_names(prompts, models)}.\n{USAGE}")
        pair = (_resolve(spec_a, a), _resolve(spec_b, b))
        if pair[0] == pair[1]:
            raise ConfigError(f"--a and --b name the same column of run {a.id}: "
                              f"nothing to compare.\n{USAGE}")
        return [pair]
    if spec_a is not None or spec_b is not None:
        # One side named: the same name on the other side.
        return [(_resolve(spec_a or spec_b or "", a), _resolve(spec_b or spec_a or "", b))]
    pa, ma, _ = _labels(a)
    pb, mb, _ = _labels(b)
    by_label = {(pb[p], mb[m]): (p, m) for p, m in _columns(b)}
    common = [((p, m), by_label[(pa[p], ma[m])]) for p, m in _columns(a)
              if (pa[p], ma[m]) in by_label]
    if common:
        return common
    cols_a, cols_b = _columns(a), _columns(b)
    if len(cols_a) == 1 and len(cols_b) == 1:
        return [(cols_a[0], cols_b[0])]
    raise ConfigError(
        f"runs {a.id} and {b.id} have no prompt x model column with the same labels; name the "
        f"columns with --a and --b. {a.id}: {column_names(pa, ma)}; "
        f"{b.id}: {column_names(pb, mb)}.\n{USAGE}")


def compare_stored(store: Store, run_a: str, run_b: str | None = None,
                   col_a: str | None = None, col_b: str | None = None) -> RunComparison:
    """Compare two stored runs, or two columns of one run (see the module doc).

    Args:
        store: The store.
        run_a: Run A (an id or a unique prefix).
        run_b: Run B; None compares two columns of run A.
        col_a: Column of A (label, ``PROMPT@MODEL`` or ``P:M``).
        col_b: Column of B; with two runs, one given name is used on both sides.

    Raises:
        ConfigError: An unknown run or column, or not enough to compare (the message says how
            the command is called).
    """
    a = store.get_run(run_a)
    b = store.get_run(run_b) if run_b else a
    result = RunComparison(a.id, b.id)
    for ca, cb in _plan(a, b, col_a, col_b):
        rows_a = list(result_rows(store, a.id, prompt_idx=ca[0], provider_idx=ca[1]))
        rows_b = list(result_rows(store, b.id, prompt_idx=cb[0], provider_idx=cb[1]))
        comparison = compare_columns(rows_a, rows_b, label_a=_column_label(a, ca),
                                     label_b=_column_label(b, cb))
        warnings = fairness_warnings(rows_a, rows_b)
        if not any(w.startswith("the data differ") for w in warnings) and _suite_changed(
                a, b, ca, cb):
            warnings.append("the data may differ: the suite changed between the two runs "
                            "(suite file or data files) while this prompt did not")
        result.pairs.append(ColumnPair(a.id, ca, b.id, cb, comparison, tuple(warnings)))
    return result


def _suite_changed(a: RunRecord, b: RunRecord, ca: Column, cb: Column) -> bool:
    if a.id == b.id or a.fingerprint == b.fingerprint:
        return False
    prompts_a, prompts_b = a.settings.get("prompts", []), b.settings.get("prompts", [])
    if ca[0] >= len(prompts_a) or cb[0] >= len(prompts_b):
        return False
    return bool(prompts_a[ca[0]].get("hash") == prompts_b[cb[0]].get("hash"))


def _checks(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The checks that graded a cell (type and metric), None for an error cell."""
    grading = row.get("grading")
    if row.get("error") is not None or not isinstance(grading, Mapping):
        return None
    parts = grading.get("components") or [grading]
    return tuple(sorted(
        str(c.get("type") or "?") + (f" ({c['metric']})" if c.get("metric") else "")
        for c in parts))


def _params(row: Mapping[str, Any]) -> str:
    return json.dumps(row.get("params") or {}, sort_keys=True, default=str)


def fairness_warnings(rows_a: Sequence[Mapping[str, Any]],
                      rows_b: Sequence[Mapping[str, Any]]) -> list[str]:
    """Warnings when the two columns' checks, test data or generation parameters differ."""
    warnings: list[str] = []
    by_key_b = {(int(r["test_idx"]), int(r.get("repeat_idx") or 0)): r for r in rows_b}
    paired = [(r, by_key_b[k]) for r in rows_a
              if (k := (int(r["test_idx"]), int(r.get("repeat_idx") or 0))) in by_key_b]
    graded = [(x, y, cx, cy) for x, y in paired
              if (cx := _checks(x)) is not None and (cy := _checks(y)) is not None]
    differ = [(x, cx, cy) for x, _, cx, cy in graded if cx != cy]
    if differ:
        x, cx, cy = differ[0]
        warnings.append(
            f"the checks differ on {len(differ)} of {len(graded)} paired tests (e.g. test "
            f"#{x['test_idx']}: A {', '.join(cx) or 'none'}; B {', '.join(cy) or 'none'}): "
            "the two sides were graded differently, so their verdicts do not compare")
    data = [(x, y) for x, y in paired if (x.get("vars") or {}) != (y.get("vars") or {})]
    if data:
        x, y = data[0]
        warnings.append(
            f"the data differ: {len(data)} of {len(paired)} paired tests have other vars (e.g. "
            f"test #{x['test_idx']}: A {compact_vars(x.get('vars'), 60)}; "
            f"B {compact_vars(y.get('vars'), 60)})")
    params_a = {_params(r) for r in rows_a if r.get("error") is None}
    params_b = {_params(r) for r in rows_b if r.get("error") is None}
    if params_a and params_b and params_a != params_b:
        warnings.append(f"the generation parameters differ: A {_show(params_a)}; "
                        f"B {_show(params_b)}")
    return warnings


def _show(params: set[str]) -> str:
    shown = []
    for text in sorted(params)[:3]:
        values = json.loads(text)
        shown.append(", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in values.items())
                     or "(none)")
    return " | ".join(shown) + (f" and {len(params) - 3} more" if len(params) > 3 else "")
