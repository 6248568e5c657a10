"""The suite's ``tests`` as a stream of TestCases: entries, paths and ``file://`` vars resolved."""

from __future__ import annotations

import dataclasses
import glob
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from promptwork.cases import TestCase
from promptwork.checks.base import CheckSpec
from promptwork.checks.values import check_files, option_files
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
from promptwork.datasets.transformvars import KEY as TRANSFORM_VARS
from promptwork.datasets.transformvars import VarsTransformer
from promptwork.datasets.varfiles import VarsFiles
from promptwork.datasets.varrefs import VarFunctions, file_value, has_template, render_refs
from promptwork.errors import ConfigError
from promptwork.jsprompts import TS_SUFFIXES, is_js_ref, run_js_generator
from promptwork.templates import TemplateEngine
from promptwork.userfunc import FunctionLoader, is_python_ref, split_ref
from promptwork.yamlfile import did_you_mean

_GLOB_CHARS = re.compile(r"[*?\[]")
_NO_PICKS: Mapping[str, int] = MappingProxyType({})
_JS_GENERATORS = (".js", ".ts", ".mjs", ".cjs")
#: Keys of a ``{path, config}`` entry of ``tests`` (a generator with its configuration).
GENERATOR_KEYS = ("path", "config")


class Generator:
    """A Python test generator: ``file://gen.py:fn``, called with its ``config`` if one is given.

    Its tests are generated once per :class:`TestSource` and kept (every pass sees the same).
    """

    def __init__(self, ref: str, config: Mapping[str, Any] | None, display: str, where: Where):
        self.ref, self.config, self.display, self.where = ref, config, display, where
        self.tests: list[Test] | None = None

    def generate(self, loader: FunctionLoader, cache: dict[str, CheckSpec]) -> list[Test]:
        if self.tests is not None:
            return self.tests
        if is_js_ref(self.ref):  # JavaScript, in the embedded V8 (promptwork.jsprompts)
            try:
                made = run_js_generator(self.ref, self.config, loader.base_dir,
                                        loader.allow_outside)
            except ConfigError as exc:
                raise self.where.error((), exc.message) from None
            return self._parsed(made, cache)
        try:
            fn = loader.function(self.ref, "generate_tests", "test generator")
        except ConfigError as exc:
            raise self.where.error((), exc.message) from None
        try:
            made = fn(dict(self.config)) if self.config is not None else fn()
        except Exception as exc:
            raise self.where.error((), f"{self.ref} raised {type(exc).__name__}: {exc}") from None
        return self._parsed(made, cache)

    def _parsed(self, made: Any, cache: dict[str, CheckSpec]) -> list[Test]:
        if not isinstance(made, list):
            raise self.where.error((), f"{self.ref} must return a list of tests, "
                                       f"got {kind(made)}")
        self.tests = [
            parse_test(item, Where(self.display, None, f"[{i}]"), cache=cache)
            for i, item in enumerate(made)
        ]
        return self.tests


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
        *,
        render_data_vars: bool = False,
        prompt: str = "",
        engine: TemplateEngine | None = None,
    ):
        self.base_dir = Path(base_dir)
        self.render_data_vars = render_data_vars
        self.engine = engine or TemplateEngine()
        self.loader = FunctionLoader(self.base_dir, allow_outside)
        self.functions = VarFunctions(self.loader, prompt)
        self.vars_transformer = VarsTransformer(self.loader, self.resolve)
        self.allow_outside = allow_outside
        self._base = self.base_dir.resolve()
        self.vars_files = VarsFiles(self.base_dir, self.base_dir, allow_outside)
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
        self._entries: list[Test | Generator | tuple[Path, str]] = []
        self._files: list[Path] = []
        if not isinstance(spec, str | list):
            raise self._suite_where(("tests",), "").error(
                (), f"'tests' must be a list of tests or a file://path, got {kind(spec)}"
            )
        items = spec if isinstance(spec, list) else [spec]
        for k, item in enumerate(items):
            key: PathKey = ("tests", k) if isinstance(spec, list) else ("tests",)
            if isinstance(item, str):
                self._add_files(item, None, key)
            elif isinstance(item, Mapping) and "path" in item and "vars" not in item:
                self._add_path_entry(item, key)
            else:
                test = parse_test(item, self._suite_where(key, f"tests[{k}]"),
                                  files=self.vars_files)
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
        stored: set[str] = set()  # names storeOutputAs gives later tests (known at run time)
        ordinal = -1  # each test's place before expansion (transformVars' context.uuid)
        for entry in self._entries:
            inline = isinstance(entry, Test | Generator)
            if isinstance(entry, Test):
                tests: Any = (entry,)
            elif isinstance(entry, Generator):
                tests = entry.generate(self.loader, cache)
            else:
                tests = file_tests(*entry, cache, self.vars_files)
            for test in tests:
                options = merged_options(test, default)
                variables = merged_vars(test, default)
                load = test.var_files or default.var_files
                lists = test.var_lists or default.var_lists
                ordinal += 1
                if options.get(TRANSFORM_VARS) is not None:
                    variables = self._transform_vars(variables, options, test, ordinal)
                    load = lists = True
                if lists and expanding(options):
                    for combo, picks in combinations(variables, test.where):
                        refs = self._templated(combo, test, inline)
                        if load:
                            combo = texts.load(combo, picks, test)
                        combo, late = self._render(combo, refs, test, stored)
                        yield _deferring(make_case(index, test, default, combo, options), late)
                        index += 1
                    _note_stored(options, stored)
                else:
                    refs = self._templated(variables, test, inline)
                    if load:
                        variables = texts.load(variables, _NO_PICKS, test)
                    variables, late = self._render(variables, refs, test, stored)
                    yield _deferring(make_case(index, test, default, variables, options), late)
                    index += 1
                    _note_stored(options, stored)

    def _transform_vars(
        self, variables: dict[str, Any], options: Mapping[str, Any], test: Test, ordinal: int
    ) -> dict[str, Any]:
        """promptfoo's ``transformVars`` (the test's, else ``defaultTest``'s) on the vars."""
        own = TRANSFORM_VARS in test.options
        where = test.where if own else self._default.where
        try:
            return self.vars_transformer.apply(str(options[TRANSFORM_VARS]), variables, ordinal)
        except ConfigError as exc:
            raise where.error(("options", TRANSFORM_VARS), exc.message) from None

    def files(self) -> list[Path]:
        """Data files and ``file://`` var files referenced by the suite, in order (resolved).

        Var files named inside data files are not listed (that would need a full read).
        """
        return list(self._files)

    def count(self) -> int:
        """How many tests there are, after expansion; reads (and so validates) every row."""
        return sum(1 for _ in self)

    # --- helpers ---------------------------------------------------------------------------

    def _templated(self, variables: Mapping[str, Any], test: Test, inline: bool) -> list[str]:
        """The vars to render as templates: text with a tag, written in the suite file (a
        test's own or ``defaultTest``'s), or any with ``renderDataVars``; file texts never."""
        own = inline or self.render_data_vars
        return [
            name for name, value in variables.items()
            if has_template(value) and (own if name in test.vars else True)
        ]

    def _render(
        self, variables: dict[str, Any], names: list[str], test: Test, stored: set[str]
    ) -> tuple[dict[str, Any], frozenset[str]]:
        """``names`` rendered with the test's other vars (promptfoo's vars referencing vars),
        and those left for later because they use a ``storeOutputAs`` name."""
        if not names:
            return variables, frozenset()
        default_where = self._default.where

        def where_of(name: str) -> Where:
            return test.where if name in test.vars else default_where

        left: set[str] = set()
        rendered = render_refs(variables, names, self.engine, where_of, stored, left)
        return rendered, frozenset(left)

    def _add_files(self, ref: str, config: Any, key: PathKey) -> None:
        where = self._suite_where(key, "")
        raw = ref[len("file://"):] if ref.startswith("file://") else ref
        if is_js_ref("file://" + raw, TS_SUFFIXES):
            raise where.error((), f"TypeScript and ES-module test generators ({raw}) cannot run "
                                  "here; write it as CommonJS JavaScript (file://gen.js, "
                                  "module.exports) or in Python (file://gen.py:fn)")
        if is_python_ref("file://" + raw) or is_js_ref("file://" + raw):
            path, _ = split_ref(raw, "")
            try:
                full = self.resolve(path, "test generator")
            except ConfigError as exc:
                raise where.error((), exc.message) from None
            if not full.is_file():
                raise where.error((), f"test generator not found: {ref!r} (looked for {full})")
            self._entries.append(Generator("file://" + raw, config, self._display(full), where))
            self._files.append(full)
            return
        if config is not None:
            raise where.error(("config",), "'config' is given to Python test generators "
                                           "(file://gen.py:fn) only")
        found = self._data_files(ref, key)
        self._entries.extend(found)
        self._files.extend(path for path, _ in found)

    def _add_path_entry(self, item: Mapping[str, Any], key: PathKey) -> None:
        """``{path: file://gen.py:fn, config: {...}}`` (promptfoo's generator with config)."""
        where = self._suite_where(key, "")
        for k in item:
            if k not in GENERATOR_KEYS:
                hint = did_you_mean(str(k), GENERATOR_KEYS)
                raise where.error((str(k),), f"unknown key {k!r}{hint}; a tests entry with "
                                             f"'path' has: {', '.join(GENERATOR_KEYS)}")
        path, config = item.get("path"), item.get("config")
        if not isinstance(path, str) or not path:
            raise where.error(("path",), "'path' must be a file://path")
        if config is not None and not isinstance(config, Mapping):
            raise where.error(("config",), f"'config' must be a mapping, got {kind(config)}")
        self._add_files(path, config, key)

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

    def confine_check_files(self, test: TestCase, fallback: str | Path | None = None) -> None:
        """Refuse ``test``'s ``file://`` code or data read when it is graded (a check's value,
        ``transform``, ``contextTransform`` or ``rubricPrompt``; the test's ``options.transform``)
        that leaves the suite folder, unless files outside it are allowed.

        ``eval``'s runner and ``optimize`` call it before any model call.

        Raises:
            ConfigError: At the test's file and line (``fallback`` when it has none).
        """
        refs = [(ref, f"'{spec.name}' check file") for spec in test.checks
                for ref in check_files(spec)]
        refs += [(ref, f"options.{key} file") for key, ref in option_files(test.options)]
        for ref, what in refs:
            try:
                self.resolve(ref, what)
            except ConfigError as exc:
                path, _, line = (test.source or "").rpartition(":")
                if line.isdigit():
                    raise ConfigError(exc.message, path, int(line)) from None
                raise ConfigError(exc.message, test.source or fallback) from None

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
                if suffix in _JS_GENERATORS:
                    raise ConfigError(
                        f"TypeScript and ES-module test generators ({p.name}) cannot run here; "
                        "write it as CommonJS JavaScript (file://gen.js, module.exports) or in "
                        "Python (file://gen.py:fn), or the tests to a .jsonl file"
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
        if is_python_ref(ref):
            ref, _ = split_ref(ref, "")
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


def _note_stored(options: Mapping[str, Any], stored: set[str]) -> None:
    name = options.get("storeOutputAs")
    if isinstance(name, str):
        stored.add(name)


def _deferring(case: TestCase, late: frozenset[str]) -> TestCase:
    """``case`` marked with its vars left for a stored output (see :mod:`promptwork.chaining`)."""
    return dataclasses.replace(case, deferred=late) if late else case


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
            if is_python_ref(value):
                out[name] = self.source.functions.call(name, value, variables, where, sub)
            else:
                out[name] = self.text(value, where, sub)
        return variables if out is None else out

    def text(self, ref: str, where: Where, sub: PathKey) -> Any:
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
            data = path.read_bytes()
        except ConfigError as exc:
            raise where.error(sub, exc.message) from None
        except OSError as exc:
            raise where.error(sub, f"cannot read {ref!r}: {exc.strerror}") from None
        value = file_value(path, data, ref, where, sub)
        if not isinstance(value, str):
            return value  # parsed JSON/YAML: a fresh object each time, never shared
        text = value
        if len(self.texts) >= self.MAX_ENTRIES or self.chars + len(text) > reading.MAX_FIELD_CHARS:
            self.texts.clear()
            self.chars = 0
        self.texts[path] = text
        self.chars += len(text)
        return text
