"""The suite's ``tests`` as a stream of TestCases: entries, paths and ``file://`` vars resolved."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from promptwork.cases import TestCase
from promptwork.checks.base import CheckSpec
from promptwork.datasets import reading
from promptwork.datasets.formats import FORMATS, file_tests
from promptwork.datasets.merge import (
    combinations,
    expanding,
    expands,
    make_case,
    merged_options,
    merged_vars,
)
from promptwork.datasets.parse import (
    DEFAULT_TEST_KEYS,
    LineOf,
    PathKey,
    Test,
    Where,
    kind,
    parse_test,
    prefixed,
)
from promptwork.errors import ConfigError

_GLOB_CHARS = re.compile(r"[*?\[]")
_NO_PICKS: Mapping[str, int] = MappingProxyType({})
_GENERATORS = (".py", ".js", ".ts", ".mjs", ".cjs")


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

    A test whose vars hold lists runs once per combination of their items (promptfoo's
    expansion, see :mod:`promptwork.datasets.merge`); tests are numbered after expansion.

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
        line_of: LineOf | None = None,
    ):
        self.base_dir = Path(base_dir)
        self.allow_outside = allow_outside
        self._base = self.base_dir.resolve()
        self._where = where
        self._line_of = line_of or (lambda key: None)
        self._default = parse_test(
            default_test or {},
            self._suite_where(("defaultTest",), "defaultTest"),
            DEFAULT_TEST_KEYS,
        )
        default_files = self._var_files(self._default, self._default.options)
        self._default.var_files = bool(default_files)
        self._default.var_lists = _has_lists(self._default)
        self._entries: list[Test | tuple[Path, str]] = []
        self._files: list[Path] = []
        if not isinstance(spec, str | list):
            raise self._suite_where(("tests",), "").error(
                (), f"'tests' must be a list of tests or a file://path, got {kind(spec)}"
            )
        items = spec if isinstance(spec, list) else [spec]
        for k, item in enumerate(items):
            key: PathKey = ("tests", k) if isinstance(spec, list) else ("tests",)
            if isinstance(item, str):
                found = self._data_files(item, key)
                self._entries.extend(found)
                self._files.extend(path for path, _ in found)
            else:
                test = parse_test(item, self._suite_where(key, f"tests[{k}]"))
                files = self._var_files(test, merged_options(test, self._default))
                test.var_files, test.var_lists = bool(files), _has_lists(test)
                self._entries.append(test)
                self._files.extend(p for p in files if p not in self._files)
        self._files.extend(p for p in default_files if p not in self._files)

    def __iter__(self) -> Iterator[TestCase]:
        """The tests, indexes 0..N-1 in order, ``defaultTest`` merged in, list vars expanded."""
        cache: dict[str, CheckSpec] = {}
        texts = _Texts(self, self._default.where)
        default = self._default
        index = 0
        for entry in self._entries:
            tests = (entry,) if isinstance(entry, Test) else file_tests(*entry, cache)
            for test in tests:
                options = merged_options(test, default)
                variables = merged_vars(test, default)
                load = test.var_files or default.var_files
                if (test.var_lists or default.var_lists) and expanding(options):
                    for combo, picks in combinations(variables, test.where):
                        if load:
                            combo = texts.load(combo, picks, test)
                        yield make_case(index, test, default, combo, options)
                        index += 1
                else:
                    if load:
                        variables = texts.load(variables, _NO_PICKS, test)
                    yield make_case(index, test, default, variables, options)
                    index += 1

    def files(self) -> list[Path]:
        """Data files and ``file://`` var files referenced by the suite, in order (resolved).

        Var files named inside data files are not listed (that would need a full read).
        """
        return list(self._files)

    def count(self) -> int:
        """How many tests there are, after expansion; reads (and so validates) every row."""
        return sum(1 for _ in self)

    # --- helpers ---------------------------------------------------------------------------

    def _suite_where(self, key: PathKey, label: str) -> Where:
        return Where(self._where, prefixed(self._line_of, key), label)

    def resolve(self, ref: str, what: str) -> Path:
        """A ``file://`` reference (the prefix optional) as a path inside the suite folder."""
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
                paths = [self.resolve(m, "test file") for m in matches]
                paths = [p for p in paths if p.is_file()]
                if not paths:
                    raise ConfigError(f"no files match {ref!r} (in {self._base})")
            else:
                paths = [self.resolve(ref, "test file")]
                if not paths[0].is_file():
                    raise ConfigError(f"test file not found: {ref!r} (looked for {paths[0]})")
            for p in paths:
                suffix = p.suffix.lower()
                if suffix in _GENERATORS:
                    raise ConfigError(
                        f"test generators ({p.name}) are not supported yet; "
                        "write the tests to a .jsonl or .csv file"
                    )
                if suffix not in FORMATS:
                    raise ConfigError(
                        f"unsupported test file type {suffix or p.name!r} "
                        f"({p.name}); use {', '.join(FORMATS)}"
                    )
        except ConfigError as exc:
            raise where.error((), exc.message) from None
        return [(p, self._display(p)) for p in paths]

    def var_file(self, ref: str, where: Where, sub: PathKey) -> Path:
        """A ``file://`` var's path, checked to be inside the folder and to exist."""
        try:
            path = self.resolve(ref, "file")
        except ConfigError as exc:
            raise where.error(sub, exc.message) from None
        if not path.is_file():
            raise where.error(sub, f"file not found: {ref!r}")
        return path

    def _var_files(self, test: Test, options: Mapping[str, Any]) -> list[Path]:
        """The test's ``file://`` vars (and items of its lists that will expand), checked."""
        out: list[Path] = []
        expand = expanding(options)
        for name, value in test.vars.items():
            if isinstance(value, str) and value.startswith("file://"):
                out.append(self.var_file(value, test.where, ("vars", name)))
            elif expand and expands(value):
                for i, item in enumerate(value):
                    if isinstance(item, str) and item.startswith("file://"):
                        out.append(self.var_file(item, test.where, ("vars", name, i)))
        return out


def _has_lists(test: Test) -> bool:
    return any(expands(value) for value in test.vars.values())


class _Texts:
    """``file://`` vars replaced by the files' text during one pass, with bounded caches."""

    MAX_ENTRIES = 128

    def __init__(self, source: TestSource, default_where: Where):
        self.source = source
        self.default_where = default_where
        self.paths: dict[str, Path] = {}
        self.texts: dict[Path, str] = {}
        self.chars = 0

    def load(
        self, variables: dict[str, Any], picks: Mapping[str, int], test: Test
    ) -> dict[str, Any]:
        """``variables`` with each ``file://`` text value replaced (a copy when one is)."""
        out: dict[str, Any] | None = None
        for name, value in variables.items():
            if not (isinstance(value, str) and value.startswith("file://")):
                continue
            where = test.where if name in test.vars else self.default_where
            sub: PathKey = ("vars", name) if name not in picks else ("vars", name, picks[name])
            if out is None:
                out = dict(variables)
            out[name] = self.text(value, where, sub)
        return variables if out is None else out

    def text(self, ref: str, where: Where, sub: PathKey) -> str:
        path = self.paths.get(ref)
        if path is None:
            if len(self.paths) >= 4096:
                self.paths.clear()
            path = self.paths[ref] = self.source.var_file(ref, where, sub)
        text = self.texts.get(path)
        if text is not None:
            return text
        try:
            if path.stat().st_size > reading.MAX_FIELD_CHARS:
                raise ConfigError(
                    f"{ref!r} is larger than {reading.size_text(reading.MAX_FIELD_CHARS)}"
                )
            text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        except UnicodeDecodeError:
            raise where.error(sub, f"{ref!r} is not UTF-8 text") from None
        except ConfigError as exc:
            raise where.error(sub, exc.message) from None
        except OSError as exc:
            raise where.error(sub, f"cannot read {ref!r}: {exc.strerror}") from None
        if len(self.texts) >= self.MAX_ENTRIES or self.chars + len(text) > reading.MAX_FIELD_CHARS:
            self.texts.clear()
            self.chars = 0
        self.texts[path] = text
        self.chars += len(text)
        return text
