"""Writing users' files without losing them: atomic replacement, and a test case appended to a
suite.

Every write goes to a temporary file in the same folder, is flushed to disk, then renamed over the
original, so a crash leaves either the old file or the new one, never half of one. A test case is
added as text, next to the existing ones: the file's comments, order, quoting and layout stay as
the user wrote them. The new text is parsed again before it is written and must hold exactly the
old data plus the new test; otherwise the file is left untouched and a :class:`ConfigError` says
why.

Where a suite's ``tests`` come from:

- an inline list (block or flow style, JSON suites included): the test is added at its end;
- one data file (``tests: file://cases.csv``, ``.jsonl``, or a ``.yaml``/``.json`` list): the
  test is added to that file (a CSV row needs a column for every variable);
- anything else (globs, several files, Python generators): refused, naming the key's line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promptwork.errors import ConfigError
from promptwork.yamlfile import load_yaml

__all__ = ["AddedTest", "add_test_case", "write_atomic"]

_GLOB = frozenset("*?[")
_BOM = "\ufeff"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically, keeping the file's permissions."""
    folder = path.parent
    mode: int | None = None
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class AddedTest:
    """Where a test case went.

    Attributes:
        path: The file written (the suite, or its tests' data file).
        line: The 1-based line where the new test starts.
        count: How many tests that file's list holds now (``None`` when not counted).
    """

    path: Path
    line: int
    count: int | None


def add_test_case(
    suite_path: Path, vars: Mapping[str, Any], description: str | None = None,
    allow_outside: bool = False,
) -> AddedTest:
    """Add a test case with ``vars`` (and ``description``) to the suite at ``suite_path``.

    Raises:
        ConfigError: The suite cannot be read, its tests are not a list or one data file this
            can add to, or the added text would not read back as intended (nothing written).
    """
    test: dict[str, Any] = {}
    if description:
        test["description"] = description
    test["vars"] = dict(vars)
    text, bom = _read(suite_path)
    data, where = load_yaml(text, suite_path)
    if not isinstance(data, dict):
        raise ConfigError("the suite is not a mapping; cannot add a test to it", suite_path, 1)
    if "tests" not in data:
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + "tests:\n" + _block_item(test, 2)
        line = text.count("\n") + len(sep) + 2
        _check_and_write(suite_path, bom, new, data, [test], ("tests",))
        return AddedTest(suite_path, line, 1)
    tests = data["tests"]
    if isinstance(tests, list):
        node = _value_node(yaml.compose(text, Loader=yaml.SafeLoader), "tests")
        new, line = _append_to_sequence(text, node, test)
        _check_and_write(suite_path, bom, new, data, [*tests, test], ("tests",))
        return AddedTest(suite_path, line, len(tests) + 1)
    if isinstance(tests, str):
        return _add_to_data_file(suite_path, tests, test, where.line_of(("tests",)),
                                 allow_outside)
    raise ConfigError(
        "the suite's tests are made by a generator, not listed; add the test case to its "
        "source yourself", suite_path, where.line_of(("tests",)))


# -- text of the files -------------------------------------------------------------------------


def _read(path: Path) -> tuple[str, bool]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 (byte {exc.start})", path) from None
    if text.startswith(_BOM):
        return text[1:], True
    return text, False


def _check_and_write(
    path: Path, bom: bool, new: str, old: Any, expected: list[Any], key: tuple[str, ...],
) -> None:
    """Write ``new`` only if it reads back as ``old`` with ``expected`` at ``key``."""
    try:
        data, _ = load_yaml(new, path)
    except ConfigError as exc:
        raise _unsafe(path, exc.message) from None
    want = expected if not key else {**old, key[0]: expected}
    if data != want:
        raise _unsafe(path, "the result would not read back as the old tests plus the new one")
    write_atomic(path, (_BOM if bom else "") + new)


def _unsafe(path: Path, why: str) -> ConfigError:
    return ConfigError(f"cannot add the test case here safely ({why}); the file is unchanged: "
                       "add it by hand", path)


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _block_item(test: Mapping[str, Any], indent: int) -> str:
    dumped = yaml.dump([dict(test)], Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                       default_flow_style=False, width=1 << 20)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line
                   for line in dumped.splitlines(keepends=True))


def _value_node(root: yaml.Node | None, key: str) -> yaml.Node:
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
                return v
    raise ConfigError(f"no {key!r} list found")


def _append_to_sequence(text: str, node: yaml.Node, test: Mapping[str, Any]) -> tuple[str, int]:
    """``text`` with ``test`` added at the end of the sequence ``node``; and the new line."""
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError("not a list")
    if node.flow_style:
        close = node.end_mark.index - 1
        if text[close:close + 1] != "]":
            raise ConfigError("cannot find the end of the list")
        head = text[:close].rstrip()
        sep = "" if not node.value else " " if head.endswith(",") else ", "
        new = head + sep + json.dumps(dict(test), ensure_ascii=False) + text[len(head):]
        return new, head.count("\n") + 1
    last = node.value[-1]
    dash = text.rfind("-", 0, node.value[0].start_mark.index)
    column = dash - (text.rfind("\n", 0, dash) + 1)
    at = _after(text, last.end_mark.index)
    prefix = "" if at == 0 or text[at - 1] == "\n" else "\n"
    new = text[:at] + prefix + _block_item(test, column) + text[at:]
    return new, text[:at].count("\n") + len(prefix) + 1


def _after(text: str, end: int) -> int:
    """Where a new block item goes: after the line where the last item ends, then back over
    blank and comment-only lines (those belong to what follows)."""
    line_start = text.rfind("\n", 0, end) + 1
    if text[line_start:end].strip():  # the item ends inside this line: keep the rest of it
        newline = text.find("\n", end)
        at = len(text) if newline < 0 else newline + 1
    else:
        at = line_start
    while at > 0:
        prev_start = text.rfind("\n", 0, at - 1) + 1
        line = text[prev_start:at].strip()
        if line and not line.startswith("#"):
            break
        at = prev_start
    return at


# -- tests in a data file ----------------------------------------------------------------------


def _add_to_data_file(
    suite_path: Path, ref: str, test: dict[str, Any], line: int | None, allow_outside: bool,
) -> AddedTest:
    raw = ref[len("file://"):] if ref.startswith("file://") else ref
    if _GLOB & set(raw) or ":" in Path(raw).name:
        raise ConfigError(
            f"the suite's tests come from {ref!r} (several files or a generator); add the test "
            "case to one of its files yourself", suite_path, line)
    base = suite_path.parent.resolve()
    path = (base / raw).resolve()
    if not allow_outside and not path.is_relative_to(base):
        raise ConfigError(f"the tests file {ref!r} is outside the suite folder; refusing to "
                          "write it", suite_path, line)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _add_csv_row(path, test)
    if suffix == ".jsonl":
        return _add_jsonl_line(path, test)
    if suffix in (".yaml", ".yml", ".json"):
        text, bom = _read(path)
        data, _ = load_yaml(text, path)
        if not isinstance(data, list):
            raise ConfigError("the tests file does not hold a list of tests", path, 1)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise ConfigError("the tests file's list is empty; add the first test by hand", path)
        new, at = _append_to_sequence(text, node, test)
        _check_and_write(path, bom, new, data, [*data, test], ())
        return AddedTest(path, at, len(data) + 1)
    raise ConfigError(f"cannot add a test case to a {suffix or 'suffix-less'} tests file "
                      "(CSV, JSONL, YAML and JSON lists can be added to)", suite_path, line)


def _add_csv_row(path: Path, test: dict[str, Any]) -> AddedTest:
    text, bom = _read(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ConfigError("the CSV file has no header row", path, 1)
    header = [h.strip() for h in rows[0]]
    values: dict[str, Any] = test["vars"]
    missing = [name for name in values if name not in header]
    if missing:
        raise ConfigError(
            f"the CSV file has no column for {', '.join(map(repr, missing))}; add the column "
            "(or leave those variables out)", path, 1)
    if "description" in test and "__description" in header:
        values = {**values, "__description": test["description"]}
    ending = "\r\n" if "\r\n" in text else "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerow(
        [_cell(values.get(name)) for name in header])
    sep = "" if not text or text.endswith(("\n", "\r")) else ending
    new = text + sep + out.getvalue()
    check = list(csv.reader(io.StringIO(new)))
    if check[:len(rows)] != rows or len(check) != len(rows) + 1:
        raise _unsafe(path, "the new row would not read back as one row")
    write_atomic(path, (_BOM if bom else "") + new)
    return AddedTest(path, (text + sep).count("\n") + 1, len(rows))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _add_jsonl_line(path: Path, test: dict[str, Any]) -> AddedTest:
    text, bom = _read(path)
    sep = "" if not text or text.endswith("\n") else "\n"
    new = text + sep + json.dumps(test, ensure_ascii=False) + "\n"
    write_atomic(path, (_BOM if bom else "") + new)
    return AddedTest(path, new.count("\n"), None)
