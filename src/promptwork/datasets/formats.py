"""Test files by format: JSONL streamed line by line, JSON and YAML loaded whole, CSV by row.

Values keep their JSON/YAML types, so a list var in a JSONL line or a YAML test expands like an
inline one (see :mod:`promptwork.datasets.merge`); CSV cells are always strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from promptwork.checks.base import CheckSpec
from promptwork.datasets import reading
from promptwork.datasets.csvrows import csv_tests
from promptwork.datasets.parse import (
    PROMPTFOO_ONLY,
    TEST_KEYS,
    LineOf,
    Test,
    Where,
    kind,
    parse_test,
    prefixed,
)
from promptwork.datasets.varfiles import VarsFiles
from promptwork.errors import ConfigError
from promptwork.yamlfile import deepest_line, load_yaml

#: File types a suite's ``tests`` may name.
FORMATS = (".csv", ".jsonl", ".json", ".yaml", ".yml")
_KNOWN = frozenset((*TEST_KEYS, *PROMPTFOO_ONLY))


def file_tests(
    path: Path, display: str, cache: dict[str, CheckSpec], files: VarsFiles | None = None
) -> Iterator[Test]:
    """The tests in one data file, in order (``display`` names it in errors); ``files`` reads
    the ``vars`` a JSON or YAML test gives as paths (relative to that file's folder)."""
    files = files.under(path.parent) if files is not None else None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from csv_tests(path, display, cache)
    elif suffix == ".jsonl":
        yield from jsonl_tests(path, display, cache)
    elif suffix == ".json":
        text = reading.read_whole(path, display)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            line, column = reading.text_position(text, exc.pos)
            raise ConfigError(f"invalid JSON: {exc.msg} (column {column})", display, line) from None
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply", display,
                              deepest_line(text)) from None
        yield from list_tests(data, display, None, "JSON", cache, from_json=True, files=files)
    else:
        data, lines = load_yaml(reading.read_whole(path, display), display)
        yield from list_tests(data, display, lines.line_of, "YAML", cache, files=files)


def jsonl_tests(path: Path, display: str, cache: dict[str, CheckSpec]) -> Iterator[Test]:
    """One test per line. A line whose object has none of a test's keys (``vars``, ``assert``,
    ``description``...) is taken as the vars themselves: ``{"question": "2+2?"}`` is
    ``{"vars": {"question": "2+2?"}}``. Blank lines are skipped."""
    for first, block in reading.blocks(path, display):
        for offset, text in enumerate(reading.split_lines(block)):
            if not text or text.isspace():
                continue
            number = first + offset
            if len(text) > reading.MAX_FIELD_CHARS:
                raise ConfigError(reading.too_long(), display, number)
            yield jsonl_test(text, number, display, cache)


def jsonl_test(text: str, number: int, display: str, cache: dict[str, CheckSpec]) -> Test:
    """The test on one JSONL line (``number``, for errors)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", display, number
        ) from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", display, number) from None
    where = Where(display, number)
    if not isinstance(obj, dict):
        raise where.error(
            (), f"each line must be a JSON object (a test or its vars), got {kind(obj)}"
        )
    # Cheap hints from the text ("file:" also catches escaped slashes, "file:\/\/").
    var_files, var_lists = "file:" in text, "[" in text
    if _KNOWN.isdisjoint(obj):  # just vars: nothing to validate
        return Test(obj, where=where, var_files=var_files, var_lists=var_lists)
    test = parse_test(obj, where, cache=cache, from_json=True)
    test.var_files, test.var_lists = var_files, var_lists
    return test


def list_tests(
    items: Any, display: str, line_of: LineOf | None, what: str,
    cache: dict[str, CheckSpec], from_json: bool = False, files: VarsFiles | None = None,
) -> Iterator[Test]:  # fmt: skip
    """The tests of a JSON or YAML file, which must hold a list of test mappings."""
    if not isinstance(items, list):
        line = line_of(()) if line_of else None
        raise ConfigError(
            f"a {what} test file must hold a list of tests, got {kind(items)}", display, line
        )
    for i, item in enumerate(items):
        if line_of is None:
            where = Where(display, None, f"[{i}]")
        else:
            where = Where(display, prefixed(line_of, (i,)), f"[{i}]")
        yield parse_test(item, where, cache=cache, from_json=from_json, files=files)
