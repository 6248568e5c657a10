"""CSV test files, streamed row by row: header columns are vars, promptfoo's ``__`` columns special.

Cells stay strings (a list-looking cell is text and never expands into several tests). Records may
end with ``\n``, ``\r\n`` or a lone ``\r``. ``csv.field_size_limit`` is raised to
:data:`~promptwork.datasets.reading.MAX_FIELD_CHARS` only while a record is parsed, then put back.
"""

from __future__ import annotations

import csv
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptwork.checks.base import CheckSpec
from promptwork.datasets import reading
from promptwork.datasets.expected import assertion_from_string
from promptwork.datasets.parse import Test, Where, check_spec
from promptwork.errors import ConfigError

_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
#: ``csv.field_size_limit`` is process-wide: one reader at a time changes it.
_FIELD_LIMIT_LOCK = threading.Lock()


class _Cursor:
    """Feeds lines (with their endings) to ``csv.reader``; remembers where each record starts."""

    def __init__(self, path: Path, display: str):
        self.path, self.display = path, display
        self.start = 0
        self.new_record = True

    def __iter__(self) -> Iterator[str]:
        for first, text in reading.blocks(self.path, self.display):
            for offset, line in enumerate(_LINE.findall(text)):
                if self.new_record:
                    self.start, self.new_record = first + offset, False
                if len(line) > reading.MAX_FIELD_CHARS:
                    raise ConfigError(reading.too_long(), self.display, first + offset)
                yield line


@dataclass(frozen=True, slots=True)
class _Columns:
    """What each CSV column means (promptfoo's ``__`` columns), worked out from the header once."""

    header: list[str]
    vars: list[tuple[int, str]]
    expected: list[tuple[int, str]]
    special: dict[str, int]
    metadata: list[tuple[int, str, bool]]  # (column, key, is_list)
    thresholds: dict[str, int]  # __expectedN -> column holding its threshold


def _columns(header: list[str], where: Where) -> _Columns:
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    cols = _Columns(names, [], [], {}, [], {})
    for i, name in enumerate(names):
        if not name:
            raise where.error((), f"column {i + 1} of the header has no name")
        if name in seen:
            raise where.error((), f"duplicate column {name!r} (columns {seen[name]} and {i + 1})")
        seen[name] = i + 1
        if name.startswith("__expected"):
            cols.expected.append((i, name))
        elif name in ("__description", "__metric", "__threshold", "__prefix", "__suffix"):
            cols.special[name] = i
        elif name == "__providerOutput":
            raise where.error((), "the '__providerOutput' column is not supported by promptwork")
        elif name.startswith("__metadata:") and len(name) > len("__metadata:"):
            key = name[len("__metadata:") :]
            cols.metadata.append((i, key.removesuffix("[]"), key.endswith("[]")))
        elif name == "__metadata" or name.startswith("__metadata:"):
            raise where.error((), "a '__metadata' column needs a key, e.g. '__metadata:category'")
        elif name.startswith("__config:"):
            parts = name[len("__config:") :].split(":")
            if (
                len(parts) != 2
                or parts[1] != "threshold"
                or not re.fullmatch(r"__expected([1-9]\d*)?", parts[0])
            ):
                raise where.error(
                    (),
                    f"bad column {name!r}: use __config:__expected:threshold "
                    "or __config:__expected<N>:threshold",
                )
            cols.thresholds[_expected_key(parts[0])] = i
        else:
            cols.vars.append((i, name))
    return cols


def _expected_key(name: str) -> str:
    """``__config:__expected:...`` targets ``__expected`` or ``__expected1``, like promptfoo."""
    return "__expected1" if name == "__expected" else name


def csv_tests(path: Path, display: str, cache: dict[str, CheckSpec]) -> Iterator[Test]:
    """One test per row: header columns are vars, promptfoo's ``__`` columns are special."""
    cursor = _Cursor(path, display)
    reader = csv.reader(cursor)
    cols: _Columns | None = None
    row_number = 0
    while True:
        try:
            row = _next_record(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a field is larger than {reading.size_text(reading.MAX_FIELD_CHARS)}"
            raise ConfigError(f"invalid CSV: {message}", display, cursor.start) from None
        cursor.new_record = True
        if not row:
            continue  # blank line
        where = Where(display, cursor.start)
        if cols is None:
            cols = _columns(row, where)
            continue
        row_number += 1
        if len(row) != len(cols.header):
            raise where.error(
                (),
                f"row {row_number} has {len(row)} fields but the header has "
                f"{len(cols.header)} (check the quoting and the commas)",
            )
        yield _csv_test(row, cols, where, cache)


def _next_record(reader: Iterator[list[str]]) -> list[str]:
    """The next record, parsed with the field size limit set to
    :data:`~promptwork.datasets.reading.MAX_FIELD_CHARS` (and put back right after), so that no
    field grows past it however many lines it spans."""
    with _FIELD_LIMIT_LOCK:
        previous = csv.field_size_limit(reading.MAX_FIELD_CHARS)
        try:
            return next(reader)
        finally:
            csv.field_size_limit(previous)


def _csv_test(row: list[str], cols: _Columns, where: Where, cache: dict[str, CheckSpec]) -> Test:
    def cell(name: str) -> str | None:
        i = cols.special.get(name)
        return row[i] if i is not None and row[i].strip() else None

    metric = cell("__metric")
    threshold_text = cell("__threshold")
    threshold: float | None = None
    if threshold_text is not None:
        threshold = _float(threshold_text, where, "__threshold")
    checks: list[CheckSpec] = []
    for i, name in cols.expected:
        if not row[i].strip():
            continue
        column = Where(where.path, where.line, name)
        try:
            d = assertion_from_string(row[i])
        except ConfigError as exc:
            raise column.error((), exc.message) from None
        if metric is not None:
            d["metric"] = metric
        config = cols.thresholds.get(_expected_key(name))
        if config is not None and row[config].strip():
            d["threshold"] = _float(row[config], where, cols.header[config])
        checks.append(check_spec(d, column, (), cache))
    options: dict[str, Any] = {}
    for name in ("__prefix", "__suffix"):
        value = cell(name)
        if value is not None:
            options[name[2:]] = value
    metadata: dict[str, Any] = {}
    for i, key, is_list in cols.metadata:
        if row[i].strip():
            metadata[key] = (
                [v.strip().replace("\\,", ",") for v in re.split(r"(?<!\\),", row[i])]
                if is_list
                else row[i]
            )
    if metadata:
        options["metadata"] = metadata
    variables = {name: row[i] for i, name in cols.vars}
    return Test(
        vars=variables,
        var_files=any(v.startswith("file://") for v in variables.values()),
        var_lists=False,  # cells are text: a CSV row never expands by itself
        checks=tuple(checks),
        description=cell("__description"),
        options=options,
        threshold=threshold,
        where=where,
    )


def _float(text: str, where: Where, column: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise where.error((), f"{column}: {text.strip()!r} is not a number")
    return value
