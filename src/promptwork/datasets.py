"""A suite's ``tests``: inline mappings and CSV / JSONL / JSON / YAML files, streamed as TestCases.

``tests`` is what promptfoo accepts: a list of test mappings, a ``file://`` path or glob
(``file://data/*.jsonl``, the prefix may be left out), or a list mixing both. :class:`TestSource`
turns it into :class:`~promptwork.cases.TestCase` objects numbered 0..N-1, with ``defaultTest``
merged in, re-reading the files on every iteration so that memory stays bounded however long they
are. CSV and JSONL files are read line by line; JSON and YAML files are loaded whole (they cannot
be parsed incrementally with the standard library: use JSONL for big data sets).

Values are data: CSV cells stay strings, and nothing is rendered as a template here (``{{7*7}}``
stays literal; the template engine inserts vars as data). A var whose value is ``file://path`` is
replaced by that file's text. Every ``file://`` path resolves inside the suite's folder: ``../``
escapes, absolute paths and symlinks that leave it are refused unless ``allow_outside`` is set.

Errors carry the file and line: invalid UTF-8, NUL bytes, malformed JSON lines, ragged CSV rows,
oversize fields, unknown keys (with a "did you mean"), missing files and globs that match nothing.
"""

from __future__ import annotations

import csv
import functools
import glob
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from promptwork.cases import TestCase
from promptwork.checks.base import CheckSpec
from promptwork.errors import ConfigError
from promptwork.yamlfile import did_you_mean, load_yaml

__all__ = ["MAX_FIELD_CHARS", "TEST_KEYS", "TestSource", "assertion_from_string"]

#: Largest CSV field, JSONL line or ``file://`` var (characters or bytes): about 64 MB.
MAX_FIELD_CHARS = 64 * 1024 * 1024
#: Largest JSON or YAML test file, which is loaded whole.
MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024

#: Keys a test mapping may have.
TEST_KEYS = ("vars", "assert", "description", "options", "threshold", "metadata")
#: Keys ``defaultTest`` may have.
DEFAULT_TEST_KEYS = ("vars", "assert", "options", "threshold", "metadata")
#: promptfoo test keys promptwork does not support (refused by name, not silently ignored).
_PROMPTFOO_ONLY = ("provider", "providers", "providerOutput", "assertScoringFunction")

_FORMATS = (".csv", ".jsonl", ".json", ".yaml", ".yml")
_JS_EXTENSIONS = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".jsx", ".tsx")
_GLOB_CHARS = re.compile(r"[*?\[]")
_NO_JS = "javascript checks are not supported; use python (e.g. 'python: \"Paris\" in output')"

PathKey = tuple[str | int, ...]
_NO_FILES: Mapping[str, Path] = MappingProxyType({})
_MAPPING = (dict, Mapping)  # dict first: the common case, checked without the ABC machinery


# --- promptfoo's string assertions (CSV __expected columns) ------------------------------------

#: promptfoo's assertion types (its ``BaseAssertionTypesSchema``): ``type: value`` strings naming
#: one of these, or a registered promptwork check, become that check; anything else is ``equals``.
PROMPTFOO_TYPES = (
    "answer-relevance", "bleu", "classifier", "contains", "contains-all", "contains-any",
    "contains-html", "contains-json", "contains-sql", "contains-xml", "context-faithfulness",
    "context-recall", "context-relevance", "conversation-relevance", "cost", "equals",
    "factuality", "finish-reason", "g-eval", "gleu", "guardrails", "icontains", "icontains-all",
    "icontains-any", "is-html", "is-json", "is-refusal", "is-sql", "is-valid-function-call",
    "is-valid-openai-function-call", "is-valid-openai-tools-call", "is-xml", "javascript",
    "latency", "levenshtein", "llm-rubric", "meteor", "model-graded-closedqa",
    "model-graded-factuality", "moderation", "perplexity", "perplexity-score", "pi", "python",
    "regex", "rouge-l", "rouge-n", "rouge-s", "ruby", "select-best", "similar", "similar:cosine",
    "similar:dot", "similar:euclidean", "starts-with", "tool-call-f1", "webhook", "word-count",
)  # fmt: skip
#: Types that get a default threshold when the string gives none (promptfoo: 0.75, similar 0.8).
_THRESHOLD_TYPES = frozenset(
    {
        "answer-relevance", "classifier", "context-faithfulness", "context-recall",
        "context-relevance", "cost", "latency", "levenshtein", "perplexity", "perplexity-score",
        "rouge-n", "similar", "starts-with",
    }
)  # fmt: skip
_LIST_TYPES = frozenset({"contains-any", "contains-all", "icontains-any", "icontains-all"})


@functools.lru_cache(maxsize=4)
def _assertion_regex(types: tuple[str, ...]) -> re.Pattern[str]:
    # Longest names first, so that 'similar:cosine' is not read as 'similar' + value 'cosine:...'.
    names = "|".join(re.escape(t) for t in sorted(types, key=len, reverse=True))
    return re.compile(rf"(not-)?({names})(?:\((\d+(?:\.\d+)?)\))?(?::(.*))?", re.DOTALL)


def _file_ref(text: str, extensions: tuple[str, ...]) -> bool:
    """``file://x.py`` or ``file://x.py:function`` (promptfoo's file-reference rule)."""
    if not text.startswith("file://"):
        return False
    rest = text[len("file://") :]
    candidates: list[tuple[str, str | None]] = [(rest, None)]
    if ":" in rest:
        head, tail = rest.rsplit(":", 1)
        candidates.append((head, tail))
    for path, fn in candidates:
        if fn is not None and (not fn or any(c in fn for c in "/\\")):
            continue
        name = re.split(r"[/\\]", path)[-1]
        if path.lower().endswith(extensions) and not any(c in name for c in ":?#"):
            return True
    return False


def _split_list(value: str) -> list[str]:
    """promptfoo's comma-separated list: items trimmed, empties dropped, ``"a, b"`` kept whole.

    Inside double quotes, ``""`` and ``\\"`` are a quote and ``\\\\`` a backslash.
    """
    items: list[str] = []
    i, n = 0, len(value)
    while True:
        while i < n and (value[i] == "," or value[i].isspace()):
            i += 1
        if i >= n:
            return items
        if value[i] != '"':
            end = value.find(",", i)
            end = n if end < 0 else end
            items.append(value[i:end].strip())
            i = end
            continue
        i += 1
        chars: list[str] = []
        while True:
            if i >= n:
                raise ConfigError("unterminated quoted item in a comma-separated list")
            c = value[i]
            if c == "\\" and i + 1 < n and value[i + 1] in '"\\':
                chars.append(value[i + 1])
                i += 2
            elif c == '"' and i + 1 < n and value[i + 1] == '"':
                chars.append('"')
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                chars.append(c)
                i += 1
        items.append("".join(chars))
        while i < n and value[i].isspace():
            i += 1
        if i < n and value[i] != ",":
            raise ConfigError("expected a comma after a quoted item in a comma-separated list")


def assertion_from_string(expected: str) -> dict[str, Any]:
    """A check mapping from a CSV ``__expected`` cell, by promptfoo's rules.

    ``type: value`` with a promptfoo or promptwork check type (``not-`` inverts), an optional
    threshold in parentheses (``similar(0.9): text``, ``levenshtein(5): text``, ``latency(1000)``);
    ``grade:``/``llm-rubric:`` give ``llm-rubric``; ``python:`` and ``file://x.py[:fn]`` give
    ``python``; the ``(i)contains-any/all`` values are comma-separated lists; anything else is an
    exact ``equals`` match on the (trimmed) cell.

    Raises:
        ConfigError: For ``javascript:``/``fn:``/``eval:`` and ``file://x.js`` (no JavaScript here)
            and malformed quoted list items. The message has no location: callers add it.
    """
    text = expected.strip()
    if text.startswith(("javascript:", "fn:", "eval:")) or _file_ref(text, _JS_EXTENSIONS):
        raise ConfigError(_NO_JS)
    if text.startswith(("grade:", "llm-rubric:")):
        return {"type": "llm-rubric", "value": text.split(":", 1)[1].strip()}
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:") :].strip()}
    if _file_ref(text, (".py",)):
        return {"type": "python", "value": text}

    from promptwork.checks import registry

    types = tuple(sorted(set(PROMPTFOO_TYPES) | set(registry.known_types())))
    match = _assertion_regex(types).fullmatch(text)
    if match is None:
        return {"type": "equals", "value": text}
    negate, base, threshold_text, value = match.groups()
    out: dict[str, Any] = {"type": f"{negate or ''}{base}"}
    if base == "javascript":
        raise ConfigError(_NO_JS)
    if base in _LIST_TYPES:
        out["value"] = _split_list(value) if value else None
    elif base in ("is-json", "contains-json"):
        out["value"] = value if value and value.strip() else None  # a schema: kept as written
    else:
        out["value"] = value.strip() if value is not None else None
    if threshold_text is not None:
        out["threshold"] = float(threshold_text)
    elif base in _THRESHOLD_TYPES:
        out["threshold"] = 0.8 if base == "similar" else 0.75
    if out["value"] is None:
        del out["value"]
    return out


# --- locations -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Where:
    """Where a test was written, for errors: a file, a line (or a way to find one), a label."""

    path: str
    line: int | Callable[[PathKey], int | None] | None = None
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
class _Test:
    """A parsed test before ``defaultTest`` is merged and its index is known."""

    vars: dict[str, Any]
    checks: tuple[CheckSpec, ...] = ()
    description: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    where: _Where = field(default_factory=lambda: _Where(""))
    #: False when no var can be a ``file://`` reference (saves a scan per streamed row).
    var_files: bool = True


def _spec(d: Any, where: _Where, sub: PathKey, cache: dict[str, CheckSpec] | None) -> CheckSpec:
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
        spec = CheckSpec.from_dict(d)
    except ConfigError as exc:
        raise where.error(sub, exc.message) from None
    if cache is not None and key is not None:
        if len(cache) >= 4096:
            cache.clear()
        cache[key] = spec
    return spec


def _number(value: Any, where: _Where, sub: PathKey) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise where.error(sub, f"must be a number, got {value!r}")
    return float(value)


def _parse_test(
    d: Any,
    where: _Where,
    allowed: Sequence[str] = TEST_KEYS,
    cache: dict[str, CheckSpec] | None = None,
    from_json: bool = False,
) -> _Test:
    """Validate one test mapping (promptfoo's keys).

    ``from_json``: ``d`` was just parsed from JSON (string keys, fresh objects that can be kept).
    """
    if not isinstance(d, _MAPPING):
        raise where.error((), f"a test must be a mapping with vars and assert, got {_kind(d)}")
    for key in d:
        if key not in allowed:
            note = (
                " (a promptfoo key promptwork does not support)" if key in _PROMPTFOO_ONLY else ""
            )
            raise where.error(
                (str(key),),
                f"unknown key {key!r}{note}{did_you_mean(str(key), allowed)}; "
                f"allowed keys: {', '.join(allowed)}",
            )
    raw_vars = d.get("vars")
    if raw_vars is not None and not isinstance(raw_vars, _MAPPING):
        raise where.error(("vars",), f"'vars' must be a mapping, got {_kind(raw_vars)}")
    asserts = d.get("assert")
    if asserts is not None and not isinstance(asserts, list):
        raise where.error(("assert",), f"'assert' must be a list of checks, got {_kind(asserts)}")
    options = d.get("options")
    if options is not None and not isinstance(options, _MAPPING):
        raise where.error(("options",), f"'options' must be a mapping, got {_kind(options)}")
    opts = dict(options) if options else {}
    metadata = d.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise where.error(("metadata",), f"'metadata' must be a mapping, got {_kind(metadata)}")
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
    return _Test(
        vars=variables,
        checks=tuple([_spec(a, where, ("assert", j), cache) for j, a in enumerate(asserts)])
        if asserts
        else (),
        description=str(description) if description is not None else None,
        options=opts,
        threshold=_number(d.get("threshold"), where, ("threshold",)),
        where=where,
    )


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else type(value).__name__


# --- reading files -------------------------------------------------------------------------


def _check_start(head: bytes, display: str) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("the file is UTF-16; save it as UTF-8", display, 1)


def _decode(data: bytes, display: str, first: int) -> str:
    """``data`` (whole lines) as text; ``first`` is its first line's number, for errors."""
    nul = data.find(0)
    if nul >= 0:
        raise ConfigError(
            "NUL byte in the file (is it binary, or not saved as UTF-8?)",
            display,
            first + data.count(b"\n", 0, nul),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        raise ConfigError(
            f"invalid UTF-8 (byte {bad!r} at column {exc.start - start + 1}); "
            "save the file as UTF-8",
            display,
            first + data.count(b"\n", 0, exc.start),
        ) from None


def _blocks(path: Path, display: str) -> Iterator[tuple[int, str]]:
    """The file as blocks of whole lines (about 1 MB each): ``(first line's number, text)``.

    A leading BOM is dropped. Only ``\\n`` ends a line. A line longer than
    :data:`MAX_FIELD_CHARS` bytes is an error, so memory stays bounded whatever the file holds.
    """
    limit = MAX_FIELD_CHARS
    number = 1
    pending: list[bytes] = []
    size = 0
    with path.open("rb") as f:
        block = f.read(_BLOCK)
        _check_start(block, display)
        block = block.removeprefix(b"\xef\xbb\xbf")
        while block:
            end = block.rfind(b"\n")
            if end < 0:
                pending.append(block)
                size += len(block)
                if size > limit:
                    raise ConfigError(_too_long(), display, number)
            else:
                data = b"".join((*pending, block[: end + 1])) if pending else block[: end + 1]
                rest = block[end + 1 :]
                pending, size = ([rest], len(rest)) if rest else ([], 0)
                first, text = number, _decode(data, display, number)
                number += data.count(b"\n")
                del data, rest  # keep only the text alive while it is consumed
                yield first, text
                del text
            block = f.read(_BLOCK)
    if pending:
        yield number, _decode(b"".join(pending), display, number)


def _read_whole(path: Path, display: str) -> str:
    """A JSON or YAML test file, whole (those cannot be parsed incrementally)."""
    size = path.stat().st_size
    if size > MAX_WHOLE_FILE_BYTES:
        raise ConfigError(
            f"{size / 1e6:.0f} MB is too large to load whole; use JSONL or CSV, which stream",
            display,
        )
    raw = path.read_bytes()
    _check_start(raw, display)
    return _decode(raw.removeprefix(b"\xef\xbb\xbf"), display, 1)


def _too_long() -> str:
    return f"line longer than {MAX_FIELD_CHARS // (1024 * 1024)} MB"


_BLOCK = 1 << 20
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


class _Cursor:
    """Feeds lines (with their endings) to ``csv.reader``; remembers where each record starts."""

    def __init__(self, path: Path, display: str):
        self.path, self.display = path, display
        self.start = 0
        self.new_record = True

    def __iter__(self) -> Iterator[str]:
        for first, text in _blocks(self.path, self.display):
            for offset, line in enumerate(_LINE.findall(text)):
                if self.new_record:
                    self.start, self.new_record = first + offset, False
                if len(line) > MAX_FIELD_CHARS:
                    raise ConfigError(_too_long(), self.display, first + offset)
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


def _columns(header: list[str], where: _Where) -> _Columns:
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


def _csv_tests(path: Path, display: str, cache: dict[str, CheckSpec]) -> Iterator[_Test]:
    """One test per row: header columns are vars, promptfoo's ``__`` columns are special."""
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)
    cursor = _Cursor(path, display)
    reader = csv.reader(cursor)
    cols: _Columns | None = None
    row_number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a field is larger than {MAX_FIELD_CHARS // (1024 * 1024)} MB"
            raise ConfigError(f"invalid CSV: {message}", display, cursor.start) from None
        cursor.new_record = True
        if not row:
            continue  # blank line
        where = _Where(display, cursor.start)
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
        for i, value in enumerate(row):
            if len(value) > MAX_FIELD_CHARS:
                raise where.error(
                    (),
                    f"field {cols.header[i]!r} is larger than "
                    f"{MAX_FIELD_CHARS // (1024 * 1024)} MB",
                )
        yield _csv_test(row, cols, where, cache)


def _csv_test(row: list[str], cols: _Columns, where: _Where, cache: dict[str, CheckSpec]) -> _Test:
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
        column = _Where(where.path, where.line, name)
        try:
            d = assertion_from_string(row[i])
        except ConfigError as exc:
            raise column.error((), exc.message) from None
        if metric is not None:
            d["metric"] = metric
        config = cols.thresholds.get(_expected_key(name))
        if config is not None and row[config].strip():
            d["threshold"] = _float(row[config], where, cols.header[config])
        checks.append(_spec(d, column, (), cache))
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
    return _Test(
        vars=variables,
        var_files=any(v.startswith("file://") for v in variables.values()),
        checks=tuple(checks),
        description=cell("__description"),
        options=options,
        threshold=threshold,
        where=where,
    )


def _float(text: str, where: _Where, column: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise where.error((), f"{column}: {text.strip()!r} is not a number")
    return value


def _jsonl_tests(path: Path, display: str, cache: dict[str, CheckSpec]) -> Iterator[_Test]:
    """One test per line. A line whose object has none of a test's keys (``vars``, ``assert``,
    ``description``...) is taken as the vars themselves: ``{"question": "2+2?"}`` is
    ``{"vars": {"question": "2+2?"}}``. Blank lines are skipped."""
    known = set(TEST_KEYS) | set(_PROMPTFOO_ONLY)
    for first, block in _blocks(path, display):
        for offset, text in enumerate(block.split("\n")):
            if not text or text.isspace():
                continue
            number = first + offset
            if len(text) > MAX_FIELD_CHARS:
                raise ConfigError(_too_long(), display, number)
            yield _jsonl_test(text, number, display, known, cache)


def _jsonl_test(
    text: str, number: int, display: str, known: set[str], cache: dict[str, CheckSpec]
) -> _Test:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", display, number
        ) from None
    where = _Where(display, number)
    if not isinstance(obj, dict):
        raise where.error(
            (), f"each line must be a JSON object (a test or its vars), got {_kind(obj)}"
        )
    if known.isdisjoint(obj):  # just vars: nothing to validate
        return _Test(obj, where=where, var_files="file://" in text)
    test = _parse_test(obj, where, cache=cache, from_json=True)
    test.var_files = "file://" in text
    return test


def _list_tests(
    items: Any, display: str, line_of: Callable[[PathKey], int | None] | None, kind: str,
    cache: dict[str, CheckSpec], from_json: bool = False,
) -> Iterator[_Test]:  # fmt: skip
    if not isinstance(items, list):
        line = line_of(()) if line_of else None
        raise ConfigError(
            f"a {kind} test file must hold a list of tests, got {_kind(items)}", display, line
        )
    for i, item in enumerate(items):
        if line_of is None:
            where = _Where(display, None, f"[{i}]")
        else:
            where = _Where(display, _prefixed(line_of, (i,)), f"[{i}]")
        yield _parse_test(item, where, cache=cache, from_json=from_json)


def _prefixed(
    line_of: Callable[[PathKey], int | None], prefix: PathKey
) -> Callable[[PathKey], int | None]:
    def line(sub: PathKey) -> int | None:
        return line_of((*prefix, *sub))

    return line


def _file_tests(path: Path, display: str, cache: dict[str, CheckSpec]) -> Iterator[_Test]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_tests(path, display, cache)
    elif suffix == ".jsonl":
        yield from _jsonl_tests(path, display, cache)
    elif suffix == ".json":
        text = _read_whole(path, display)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", display, exc.lineno
            ) from None
        yield from _list_tests(data, display, None, "JSON", cache, from_json=True)
    else:
        data, lines = load_yaml(_read_whole(path, display), display)
        yield from _list_tests(data, display, lines.line_of, "YAML", cache)


# --- the source ----------------------------------------------------------------------------


class TestSource:
    """A suite's tests, streamed: iterate as often as needed, each pass re-reads the files.

    Args:
        spec: The suite's ``tests`` value: a list of test mappings, a ``file://`` path or glob
            (``.csv``, ``.jsonl``, ``.json``, ``.yaml``/``.yml``), or a list mixing both.
        base_dir: The suite's folder; ``file://`` paths resolve against it.
        default_test: The suite's ``defaultTest`` (``vars``, ``assert``, ``options``,
            ``threshold``, ``metadata``): its vars are defaults under each test's, its checks come
            before each test's own, its options (and metadata) are merged under the test's.
        where: The suite file, for error messages.
        allow_outside: Allow ``file://`` paths that leave ``base_dir``.
        line_of: Line of a key path in the suite file (``LineMap.line_of``), e.g.
            ``("tests", 2, "assert", 0)`` or ``("defaultTest", "vars")``.

    Inline tests, ``defaultTest``, file paths and globs are checked here, so that a bad suite fails
    when it loads; rows inside data files are checked as they stream (see :meth:`count`).

    Raises:
        ConfigError: With the suite file and line.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        spec: Any,
        base_dir: Path,
        default_test: Mapping[str, Any] | None,
        where: str,
        allow_outside: bool = False,
        line_of: Callable[[PathKey], int | None] | None = None,
    ):
        self.base_dir = Path(base_dir)
        self.allow_outside = allow_outside
        self._base = self.base_dir.resolve()
        self._where = where
        self._line_of = line_of or (lambda key: None)
        self._default = _parse_test(
            default_test or {},
            self._suite_where(("defaultTest",), "defaultTest"),
            DEFAULT_TEST_KEYS,
        )
        self._default_files = self._var_files(self._default)
        self._entries: list[_Test | tuple[Path, str]] = []
        if isinstance(spec, str | list):
            items = spec if isinstance(spec, list) else [spec]
            for k, item in enumerate(items):
                key: PathKey = ("tests", k) if isinstance(spec, list) else ("tests",)
                if isinstance(item, str):
                    self._entries.extend(self._data_files(item, key))
                else:
                    test = _parse_test(item, self._suite_where(key, f"tests[{k}]"))
                    self._var_files(test)
                    self._entries.append(test)
        else:
            raise self._suite_where(("tests",), "").error(
                (), f"'tests' must be a list of tests or a file://path, got {_kind(spec)}"
            )

    def __iter__(self) -> Iterator[TestCase]:
        """The tests, indexes 0..N-1 in order, with ``defaultTest`` merged in."""
        cache: dict[str, CheckSpec] = {}
        texts: dict[Path, str] = {}
        default_vars = self._load_vars(self._default, texts, self._default_files)
        index = 0
        for entry in self._entries:
            tests = iter([entry]) if isinstance(entry, _Test) else _file_tests(*entry, cache)
            for test in tests:
                yield self._case(index, test, texts, default_vars)
                index += 1

    def files(self) -> list[Path]:
        """Data files and ``file://`` var files referenced by the suite, in order (resolved).

        Var files named inside data files are not listed (that would need a full read).
        """
        out: list[Path] = []
        for entry in self._entries:
            if isinstance(entry, tuple):
                out.append(entry[0])
            else:
                out.extend(p for p in self._var_files(entry).values() if p not in out)
        out.extend(p for p in self._default_files.values() if p not in out)
        return out

    def count(self) -> int:
        """How many tests there are; reads (and so validates) every row."""
        return sum(1 for _ in self)

    # --- helpers ---------------------------------------------------------------------------

    def _suite_where(self, key: PathKey, label: str) -> _Where:
        return _Where(self._where, _prefixed(self._line_of, key), label)

    def _resolve(self, ref: str, what: str) -> Path:
        raw = ref[len("file://") :] if ref.startswith("file://") else ref
        path = Path(raw)
        full = (path if path.is_absolute() else self.base_dir / path).resolve()
        if not self.allow_outside and not full.is_relative_to(self._base):
            raise ConfigError(
                f"{what} {ref!r} is outside the suite folder {self._base}; refusing to read it "
                "(move it inside the folder, or allow files outside it explicitly)"
            )
        return full

    def _display(self, path: Path) -> str:
        """``path`` as the user would name it: under the suite folder as given, when inside it."""
        if path.is_relative_to(self._base):
            return str(self.base_dir / path.relative_to(self._base))
        return str(path)

    def _data_files(self, ref: str, key: PathKey) -> list[tuple[Path, str]]:
        where = self._suite_where(key, "")
        raw = ref[len("file://") :] if ref.startswith("file://") else ref
        try:
            if _GLOB_CHARS.search(raw):
                root = None if Path(raw).is_absolute() else self.base_dir
                matches = sorted(glob.glob(raw, root_dir=root, recursive=True))
                paths = [self._resolve(m, "test file") for m in matches]
                paths = [p for p in paths if p.is_file()]
                if not paths:
                    raise ConfigError(f"no files match {ref!r} (in {self._base})")
            else:
                paths = [self._resolve(ref, "test file")]
                if not paths[0].is_file():
                    raise ConfigError(f"test file not found: {ref!r} (looked for {paths[0]})")
            for p in paths:
                suffix = p.suffix.lower()
                if suffix in (".py", ".js", ".ts", ".mjs", ".cjs"):
                    raise ConfigError(
                        f"test generators ({p.name}) are not supported yet; "
                        "write the tests to a .jsonl or .csv file"
                    )
                if suffix not in _FORMATS:
                    raise ConfigError(
                        f"unsupported test file type {suffix or p.name!r} "
                        f"({p.name}); use {', '.join(_FORMATS)}"
                    )
        except ConfigError as exc:
            raise where.error((), exc.message) from None
        return [(p, self._display(p)) for p in paths]

    def _var_files(self, test: _Test) -> Mapping[str, Path]:
        """The test's ``file://`` vars, resolved and checked to exist."""
        if not test.var_files:
            return _NO_FILES
        out: dict[str, Path] = {}
        for name, value in test.vars.items():
            if isinstance(value, str) and value.startswith("file://"):
                try:
                    path = self._resolve(value, "file")
                except ConfigError as exc:
                    raise test.where.error(("vars", name), exc.message) from None
                if not path.is_file():
                    raise test.where.error(("vars", name), f"file not found: {value!r}")
                out[name] = path
        return out

    def _load_vars(
        self, test: _Test, texts: dict[Path, str], files: Mapping[str, Path] | None = None
    ) -> dict[str, Any]:
        files = self._var_files(test) if files is None else files
        if not files:
            return test.vars
        out = dict(test.vars)
        for name, path in files.items():
            if path not in texts:
                if len(texts) >= 128:
                    texts.clear()
                try:
                    if path.stat().st_size > MAX_FIELD_CHARS:
                        raise ConfigError(
                            f"{test.vars[name]!r} is larger than "
                            f"{MAX_FIELD_CHARS // (1024 * 1024)} MB"
                        )
                    raw = path.read_bytes()
                    texts[path] = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
                except UnicodeDecodeError:
                    raise test.where.error(
                        ("vars", name), f"{test.vars[name]!r} is not UTF-8 text"
                    ) from None
                except ConfigError as exc:
                    raise test.where.error(("vars", name), exc.message) from None
                except OSError as exc:
                    raise test.where.error(
                        ("vars", name), f"cannot read {test.vars[name]!r}: {exc.strerror}"
                    ) from None
            out[name] = texts[path]
        return out

    def _case(
        self, index: int, test: _Test, texts: dict[Path, str], default_vars: dict[str, Any]
    ) -> TestCase:
        default = self._default
        variables = self._load_vars(test, texts) if test.var_files else test.vars
        if default_vars:
            variables = {**default_vars, **variables}
        options = test.options
        if default.options:
            options = {**default.options, **test.options}
            meta = default.options.get("metadata")
            if isinstance(meta, Mapping) and isinstance(test.options.get("metadata"), Mapping):
                options["metadata"] = {**meta, **test.options["metadata"]}
        return TestCase(
            index=index,
            vars=variables,
            checks=default.checks + test.checks if default.checks else test.checks,
            description=test.description,
            options=options,
            source=test.where.source,
            threshold=test.threshold if test.threshold is not None else default.threshold,
        )
