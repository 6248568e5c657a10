"""TestSource: inline tests, defaultTest, paths and globs, file:// vars, re-reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptwork.datasets import TestSource
from promptwork.errors import ConfigError
from promptwork.yamlfile import load_yaml

from .helpers import checks, error, load, write

# --- inline tests and defaultTest ------------------------------------------------------------


def test_inline_tests(tmp_path: Path) -> None:
    spec = [
        {
            "description": "capital",
            "vars": {"country": "France", "n": 3},
            "assert": [{"type": "contains", "value": "Paris"}],
            "options": {"provider": "local:x"},
            "metadata": {"topic": "geo"},
            "threshold": 0.5,
        },
        {"vars": {"country": "Spain"}},
    ]
    cases = load(spec, tmp_path)
    assert [c.index for c in cases] == [0, 1]
    first = cases[0]
    assert first.vars == {"country": "France", "n": 3}
    assert checks(first) == [{"type": "contains", "value": "Paris"}]
    assert first.description == "capital"
    assert first.options == {"provider": "local:x", "metadata": {"topic": "geo"}}
    assert first.threshold == 0.5
    assert cases[1].checks == () and cases[1].description is None


def test_default_test_merging(tmp_path: Path) -> None:
    default = {
        "vars": {"lang": "en", "country": "default"},
        "assert": [{"type": "not-contains", "value": "sorry"}],
        "options": {"prefix": "P", "metadata": {"a": 1, "b": 1}},
        "threshold": 0.7,
    }
    spec = [
        {
            "vars": {"country": "France"},
            "assert": [{"type": "contains", "value": "Paris"}],
            "options": {"suffix": "S", "metadata": {"b": 2}},
        },
        {"vars": {}, "threshold": 0.2},
    ]
    first, second = load(spec, tmp_path, default)
    assert first.vars == {"lang": "en", "country": "France"}
    assert [c.name for c in first.checks] == ["not-contains", "contains"]
    assert first.options == {"prefix": "P", "suffix": "S", "metadata": {"a": 1, "b": 2}}
    assert first.threshold == 0.7
    assert second.vars == {"lang": "en", "country": "default"}
    assert [c.name for c in second.checks] == ["not-contains"]
    assert second.threshold == 0.2


def test_default_test_unknown_key(tmp_path: Path) -> None:
    exc = error([{"vars": {}}], tmp_path, {"description": "x"})
    assert "defaultTest.description: unknown key 'description'" in str(exc)


def test_unknown_test_key_suggests_and_has_line(tmp_path: Path) -> None:
    text = "tests:\n  - vars: {a: 1}\n  - vars: {a: 2}\n    asert:\n      - type: contains\n"
    data, lines = load_yaml(text, "suite.yaml")
    with pytest.raises(ConfigError) as info:
        TestSource(data["tests"], tmp_path, None, "suite.yaml", line_of=lines.line_of)
    exc = info.value
    assert (exc.path, exc.line) == ("suite.yaml", 4)
    assert "tests[1].asert: unknown key 'asert'" in exc.message
    assert "did you mean 'assert'" in exc.message


def test_promptfoo_only_key_is_named(tmp_path: Path) -> None:
    exc = error([{"vars": {}, "provider": "openai:gpt-4o"}], tmp_path)
    assert "'provider' (a promptfoo key promptwork does not support)" in str(exc)


def test_bad_check_is_located(tmp_path: Path) -> None:
    text = "tests:\n  - vars: {a: 1}\n    assert:\n      - type: containz\n        value: x\n"
    data, lines = load_yaml(text, "suite.yaml")
    with pytest.raises(ConfigError) as info:
        TestSource(data["tests"], tmp_path, None, "suite.yaml", line_of=lines.line_of)
    assert info.value.line == 4
    assert "tests[0].assert[0]: unknown check type 'containz'" in info.value.message


@pytest.mark.parametrize(
    ("test", "needle"),
    [
        (3, "a test must be a mapping"),
        ({"vars": [1]}, "'vars' must be a mapping"),
        ({"assert": {"type": "contains"}}, "'assert' must be a list"),
        ({"threshold": "high"}, "tests[0].threshold: must be a number"),
        ({"options": 3}, "'options' must be a mapping"),
    ],
)
def test_bad_inline_shapes(tmp_path: Path, test: Any, needle: str) -> None:
    assert needle in str(error([test], tmp_path))


def test_tests_must_be_list_or_path(tmp_path: Path) -> None:
    assert "'tests' must be a list of tests or a file://path" in str(error({"vars": {}}, tmp_path))


def test_data_file_values_are_not_rendered_but_suite_values_are(tmp_path: Path) -> None:
    # promptfoo renders the vars written in the suite; values from data files stay data.
    write(tmp_path / "t.csv", "q\n{{7*7}}\n")
    inline, row = load([{"vars": {"q": "{{7*7}}"}}, "file://t.csv"], tmp_path)
    assert row.vars["q"] == "{{7*7}}"
    assert inline.vars["q"] == "49"


def test_mixed_list_indexes_and_globs_sorted(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.jsonl", "c.jsonl"):
        write(tmp_path / "data" / name, json.dumps({"name": name}) + "\n")
    write(tmp_path / "data" / "ignored.csv", "name\nx\n")
    spec = [{"vars": {"name": "inline"}}, "file://data/*.jsonl", "data/ignored.csv"]
    source = TestSource(spec, tmp_path, None, "suite.yaml")
    cases = list(source)
    assert [c.vars["name"] for c in cases] == ["inline", "a.jsonl", "b.jsonl", "c.jsonl", "x"]
    assert [c.index for c in cases] == [0, 1, 2, 3, 4]
    assert [p.name for p in source.files()] == ["a.jsonl", "b.jsonl", "c.jsonl", "ignored.csv"]
    assert source.count() == 5


def test_reiteration_rereads_and_is_identical(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q,__expected\na,contains: a\nb,regex: ^b\n")
    source = TestSource(["t.csv"], tmp_path, {"vars": {"x": "1"}}, "suite.yaml")
    assert list(source) == list(source)
    write(tmp_path / "t.csv", "q\nz\n")
    assert [c.vars["q"] for c in source] == ["z"]


def test_var_files_are_loaded(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "ctx.txt", "\ufeffthe context {{ not rendered }}")
    write(tmp_path / "t.csv", "doc,q\nfile://docs/ctx.txt,a\n")
    default = {"vars": {"doc": "file://docs/ctx.txt"}}
    inline, row = load([{"vars": {"q": "b"}}, "file://t.csv"], tmp_path, default)
    assert inline.vars == {"doc": "the context {{ not rendered }}", "q": "b"}
    assert row.vars["doc"] == "the context {{ not rendered }}"
    source = TestSource([{"vars": {"d": "file://docs/ctx.txt"}}], tmp_path, None, "s")
    assert source.files() == [(tmp_path / "docs" / "ctx.txt").resolve()]


def test_var_file_errors(tmp_path: Path) -> None:
    exc = error([{"vars": {"d": "file://missing.txt"}}], tmp_path)
    assert "tests[0].vars.d: file not found: 'file://missing.txt'" in exc.message
    write(tmp_path / "t.jsonl", '{"d": "file://../secret.txt"}\n')
    exc = error("file://t.jsonl", tmp_path)
    assert (exc.path, exc.line) == ("t.jsonl", 1) and "outside the suite folder" in exc.message
    write(tmp_path / "bin.txt", b"\xff\xfe\x00")
    exc = error([{"vars": {"d": "file://bin.txt"}}], tmp_path)
    assert "is not UTF-8 text" in exc.message


def test_missing_file_and_empty_glob(tmp_path: Path) -> None:
    exc = error(["file://nope.csv"], tmp_path, line_of=lambda key: 7 if key == ("tests", 0) else 1)
    assert (exc.path, exc.line) == ("suite.yaml", 7)
    assert "test file not found: 'file://nope.csv'" in exc.message
    exc = error("file://data/*.jsonl", tmp_path)
    assert "no files match 'file://data/*.jsonl'" in exc.message


def test_unsupported_file_types(tmp_path: Path) -> None:
    write(tmp_path / "t.xlsx", b"")
    assert "unsupported test file type '.xlsx'" in error("t.xlsx", tmp_path).message
    write(tmp_path / "gen.py", "")
    assert "gen.py has no function 'generate_tests'" in error("gen.py", tmp_path).message
    write(tmp_path / "gen.ts", "")
    assert "ES-module test generators (gen.ts) cannot run" in error("gen.ts", tmp_path).message


def test_outside_paths_refused_unless_allowed(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    outside = write(tmp_path / "shared.csv", "q\na\n")
    for ref in ("file://../shared.csv", f"file://{outside}", "../*.csv"):
        exc = error(ref, suite)
        assert "is outside the suite folder" in exc.message, ref
    (suite / "link.csv").symlink_to(outside)
    assert "outside the suite folder" in error("link.csv", suite).message
    (case,) = load("file://../shared.csv", suite, allow_outside=True)
    assert case.vars == {"q": "a"}
    inside = write(suite / "in.csv", "q\nb\n")
    (case,) = load(f"file://{inside}", suite)
    assert case.vars == {"q": "b"} and case.source == "suite/in.csv:2"


def test_data_file_errors_name_the_file_under_the_suite_folder(tmp_path: Path) -> None:
    write(tmp_path / "evals" / "data" / "t.jsonl", "{oops}\n")
    exc = error("data/t.jsonl", tmp_path / "evals")
    assert (exc.path, exc.line) == ("evals/data/t.jsonl", 1)
