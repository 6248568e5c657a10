"""Test loading: inline tests, CSV / JSONL / JSON / YAML files, defaultTest, errors, streaming."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from promptwork import datasets
from promptwork.cases import TestCase
from promptwork.datasets import TestSource, assertion_from_string
from promptwork.errors import ConfigError
from promptwork.yamlfile import load_yaml


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests pass tmp_path as the suite folder; load() names it relatively, as a user would.
    monkeypatch.chdir(tmp_path)


def load(spec: Any, base: Path, default: dict[str, Any] | None = None, **kw: Any) -> list[TestCase]:
    base = Path(os.path.relpath(base))
    return list(TestSource(spec, base, default, where="suite.yaml", **kw))


def error(spec: Any, base: Path, default: dict[str, Any] | None = None, **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(spec, base, default, **kw)
    return info.value


def checks(case: TestCase) -> list[dict[str, Any]]:
    return [c.to_dict() for c in case.checks]


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


def test_templates_are_not_rendered(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q\n{{7*7}}\n")
    inline, row = load([{"vars": {"q": "{{7*7}}"}}, "file://t.csv"], tmp_path)
    assert inline.vars["q"] == row.vars["q"] == "{{7*7}}"


# --- formats ---------------------------------------------------------------------------------


def test_csv_vars_stay_strings_and_special_columns(tmp_path: Path) -> None:
    write(
        tmp_path / "tests.csv",
        "question,n,__expected1,__expected2,__description,__metric,__threshold,__prefix,__suffix,"
        "__metadata:tags[],__metadata:level,__config:__expected2:threshold\n"
        '"2+2?",4,contains: 4,"levenshtein(3): four",sum,math,0.5,P:,:S,"a,b\\,c",easy,2\n'
        '"multi\nline",007,,,,,,,,,,\n',
    )
    first, second = load("file://tests.csv", tmp_path)
    assert first.vars == {"question": "2+2?", "n": "4"}
    assert checks(first) == [
        {"type": "contains", "value": "4", "metric": "math"},
        {"type": "levenshtein", "value": "four", "threshold": 2.0, "metric": "math"},
    ]
    assert first.description == "sum" and first.threshold == 0.5
    assert first.options == {
        "prefix": "P:",
        "suffix": ":S",
        "metadata": {"tags": ["a", "b,c"], "level": "easy"},
    }
    assert first.source == "tests.csv:2"
    assert second.vars == {"question": "multi\nline", "n": "007"}
    assert second.checks == () and second.description is None and second.options == {}
    assert second.source == "tests.csv:3"


def test_csv_without_file_prefix_and_bom(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "\ufeffq,__expected\r\nhi,hello\r\n\r\n")
    (case,) = load("t.csv", tmp_path)
    assert case.vars == {"q": "hi"}
    assert checks(case) == [{"type": "equals", "value": "hello"}]


def test_csv_javascript_refused_with_row(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q,__expected\na,contains: a\nb,javascript: output.length > 2\n")
    exc = error("file://t.csv", tmp_path)
    assert (exc.path, exc.line) == ("t.csv", 3)
    assert "__expected: javascript checks are not supported; use python" in exc.message


def test_csv_bad_threshold_cell(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q,__threshold\na,high\n")
    exc = error("file://t.csv", tmp_path)
    assert (exc.line, "__threshold: 'high' is not a number" in exc.message) == (2, True)


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ("q,q", "duplicate column 'q'"),
        ("q,", "column 2 of the header has no name"),
        ("q,__providerOutput", "'__providerOutput' column is not supported"),
        ("q,__metadata", "needs a key"),
        ("q,__config:__expected1:weight", "bad column '__config:__expected1:weight'"),
    ],
)
def test_csv_bad_headers(tmp_path: Path, header: str, needle: str) -> None:
    write(tmp_path / "t.csv", f"{header}\na,b\n")
    exc = error("file://t.csv", tmp_path)
    assert needle in exc.message and exc.line == 1


def test_jsonl_tests_and_bare_vars(tmp_path: Path) -> None:
    write(
        tmp_path / "t.jsonl",
        '{"vars": {"q": "a"}, "assert": [{"type": "equals", "value": "A"}]}\n'
        "\n"
        '{"q": "b", "n": 2}\n'
        '{"description": "only a description"}\n',
    )
    a, b, c = load("file://t.jsonl", tmp_path)
    assert a.vars == {"q": "a"} and checks(a) == [{"type": "equals", "value": "A"}]
    assert b.vars == {"q": "b", "n": 2} and b.source == "t.jsonl:3"
    assert c.vars == {} and c.description == "only a description"


def test_json_and_yaml_lists(tmp_path: Path) -> None:
    write(tmp_path / "t.json", json.dumps([{"vars": {"q": "j"}}]))
    write(tmp_path / "t.yaml", "- vars: {q: y}\n  assert:\n    - type: icontains\n      value: Y\n")
    j, y = load(["file://t.json", "file://t.yaml"], tmp_path)
    assert (j.index, j.vars, j.source) == (0, {"q": "j"}, "t.json[0]")
    assert (y.index, y.vars, y.source) == (1, {"q": "y"}, "t.yaml:1")
    assert checks(y) == [{"type": "icontains", "value": "Y"}]


def test_yaml_file_errors_have_lines(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "- vars: {q: a}\n- vars: {q: b}\n  asserts: []\n")
    exc = error("file://t.yaml", tmp_path)
    assert (exc.path, exc.line) == ("t.yaml", 3)
    assert "[1].asserts: unknown key 'asserts'" in exc.message
    write(tmp_path / "u.yaml", "vars: {q: a}\n")
    assert "must hold a list of tests" in str(error("file://u.yaml", tmp_path))


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


# --- promptfoo's __expected strings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("  Paris  \n", {"type": "equals", "value": "Paris"}),
        ("Paris: the capital", {"type": "equals", "value": "Paris: the capital"}),
        ("equals: 30", {"type": "equals", "value": "30"}),
        ("contains: Hello", {"type": "contains", "value": "Hello"}),
        ("contains:Hello", {"type": "contains", "value": "Hello"}),
        ("icontains: hello", {"type": "icontains", "value": "hello"}),
        ("not-contains: sorry", {"type": "not-contains", "value": "sorry"}),
        ("regex: \\d+", {"type": "regex", "value": "\\d+"}),
        ("not-regex:\\d+", {"type": "not-regex", "value": "\\d+"}),
        ("starts-with: Yes", {"type": "starts-with", "value": "Yes", "threshold": 0.75}),
        ("is-json", {"type": "is-json"}),
        ("contains-json", {"type": "contains-json"}),
        ("is-json:\n  type: object\n", {"type": "is-json", "value": "\n  type: object"}),
        ("python: 'x' in output", {"type": "python", "value": "'x' in output"}),
        ("python: file://check.py ", {"type": "python", "value": "file://check.py"}),
        ("file://check.py", {"type": "python", "value": "file://check.py"}),
        ("file://dir/check.PY:grade", {"type": "python", "value": "file://dir/check.PY:grade"}),
        ("file://check.py:fn:extra", {"type": "equals", "value": "file://check.py:fn:extra"}),
        ("file://notes.txt", {"type": "equals", "value": "file://notes.txt"}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("llm-rubric:is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("similar: hi", {"type": "similar", "value": "hi", "threshold": 0.8}),
        ("similar(0.9): hi", {"type": "similar", "value": "hi", "threshold": 0.9}),
        ("similar:cosine:hi", {"type": "similar:cosine", "value": "hi"}),
        ("similar:cosine text", {"type": "similar", "value": "cosine text", "threshold": 0.8}),
        ("levenshtein(5): hello", {"type": "levenshtein", "value": "hello", "threshold": 5.0}),
        ("levenshtein(0):x", {"type": "levenshtein", "value": "x", "threshold": 0.0}),
        ("rouge-n(0.225):foo", {"type": "rouge-n", "value": "foo", "threshold": 0.225}),
        ("bleu(0.3):foo", {"type": "bleu", "value": "foo", "threshold": 0.3}),
        ("bleu:foo", {"type": "bleu", "value": "foo"}),
        ("latency(1000)", {"type": "latency", "threshold": 1000.0}),
        ("cost(0.001)", {"type": "cost", "threshold": 0.001}),
        ("contains-any: a, b", {"type": "contains-any", "value": ["a", "b"]}),
        ("contains-all:a,b", {"type": "contains-all", "value": ["a", "b"]}),
        ("icontains-any: alpha, , beta,, ", {"type": "icontains-any", "value": ["alpha", "beta"]}),
        ('icontains-all:"hello, world",foo',
         {"type": "icontains-all", "value": ["hello, world", "foo"]}),
        ('contains-any:"a ""q"" b", "c\\"d"',
         {"type": "contains-any", "value": ['a "q" b', 'c"d']}),
        ("not-icontains-any:x", {"type": "not-icontains-any", "value": ["x"]}),
        ("webhook:https://example.com", {"type": "webhook", "value": "https://example.com"}),
    ],
)  # fmt: skip
def test_assertion_from_string(cell: str, expected: dict[str, Any]) -> None:
    assert assertion_from_string(cell) == expected


@pytest.mark.parametrize(
    "cell",
    ["javascript: output.length > 2", "fn:output === 'x'", "eval:1", "file://grade.js",
     "file://grade.ts:check", "not-javascript: x"],
)  # fmt: skip
def test_javascript_is_refused(cell: str) -> None:
    with pytest.raises(ConfigError, match="javascript checks are not supported; use python"):
        assertion_from_string(cell)


@pytest.mark.parametrize(
    ("cell", "needle"),
    [('contains-any:"open', "unterminated"), ('contains-all:"a"b,c', "expected a comma")],
)
def test_malformed_lists(cell: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        assertion_from_string(cell)


def test_unknown_promptfoo_type_from_csv_fails_clearly(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q,__expected\na,webhook: https://x\n")
    exc = error("t.csv", tmp_path)
    assert exc.line == 2 and "__expected: unknown check type 'webhook'" in exc.message


# --- errors with locations -------------------------------------------------------------------


def test_invalid_utf8_reports_the_line(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", b"q\nfine\ncaf\xe9\n")
    exc = error("file://t.csv", tmp_path)
    assert (exc.path, exc.line) == ("t.csv", 3) and "invalid UTF-8" in exc.message
    write(tmp_path / "t.jsonl", b'{"q": "a"}\n{"q": "\xc3"}\n')
    assert error("t.jsonl", tmp_path).line == 2
    write(tmp_path / "t.yaml", b"- vars: {q: a}\n- vars: {q: \xff}\n")
    exc = error("t.yaml", tmp_path)
    assert (exc.line, "invalid UTF-8" in exc.message) == (2, True)


def test_nul_byte_reports_the_line(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", b"q\na\nb\x00c\n")
    exc = error("t.csv", tmp_path)
    assert (exc.line, "NUL byte" in exc.message) == (3, True)
    write(tmp_path / "t.json", b'[\n{"vars": {}},\n\x00]')
    assert error("t.json", tmp_path).line == 3


def test_utf16_is_named(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q\na\n".encode("utf-16"))
    assert "UTF-16" in error("t.csv", tmp_path).message


def test_ragged_csv_row(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", 'a,b\n1,2\n"x\ny",2\n3,4,5\n')
    exc = error("t.csv", tmp_path)
    assert (exc.path, exc.line) == ("t.csv", 5)
    assert "row 3 has 3 fields but the header has 2" in exc.message


def test_bad_jsonl_line(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", '{"q": 1}\n{"q": 2\n')
    exc = error("t.jsonl", tmp_path)
    assert (exc.path, exc.line) == ("t.jsonl", 2) and "invalid JSON" in exc.message
    write(tmp_path / "t.jsonl", '{"q": 1}\n[1, 2]\n')
    exc = error("t.jsonl", tmp_path)
    assert exc.line == 2 and "must be a JSON object" in exc.message
    write(tmp_path / "t.jsonl", '{"vars": {}, "asert": []}\n')
    exc = error("t.jsonl", tmp_path)
    assert exc.line == 1 and "did you mean 'assert'" in exc.message


def test_oversize_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "MAX_FIELD_CHARS", 1000)
    write(tmp_path / "t.csv", 'q\nshort\n"' + "x\n" * 600 + '"\n')
    exc = error("t.csv", tmp_path)
    assert (exc.line, "field 'q' is larger than" in exc.message) == (3, True)
    write(tmp_path / "t.jsonl", '{"q": "' + "x" * 2000 + '"}\n')
    exc = error("t.jsonl", tmp_path)
    assert (exc.line, "line longer than" in exc.message) == (1, True)


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
    assert "test generators (gen.py) are not supported" in error("gen.py", tmp_path).message


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


# --- streaming -------------------------------------------------------------------------------


def test_large_jsonl_streams_with_bounded_memory(tmp_path: Path) -> None:
    # 100,000 rows, 11 MB: holding them all as TestCases would take about 60 MB.
    path = tmp_path / "big.jsonl"
    pad = "x" * 100
    path.write_text("".join(f'{{"q": "{pad} {i}"}}\n' for i in range(100_000)))
    source = TestSource("file://big.jsonl", Path("."), {"vars": {"lang": "en"}}, "suite.yaml")
    tracemalloc.start()
    try:
        count, last = 0, None
        for case in source:
            count, last = count + 1, case
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000 and last is not None and last.index == 99_999
    assert last.vars == {"lang": "en", "q": f"{pad} 99999"}
    assert last.source == "big.jsonl:100000"
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_tiny_blocks_give_the_same_tests_and_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "t.csv",
        '\ufeffq,__expected\r\n"multi\r\nline café",contains: é\r\nsecond,regex: ^s\r\n',
    )
    write(tmp_path / "t.jsonl", '{"q": "naïve"}\n\n{"q": "two"}\r\n{"q": "three"}')
    normal = load(["t.csv", "t.jsonl"], tmp_path)
    monkeypatch.setattr(datasets, "_BLOCK", 7)
    assert load(["t.csv", "t.jsonl"], tmp_path) == normal
    assert [c.source for c in normal] == [
        "t.csv:2",
        "t.csv:4",
        "t.jsonl:1",
        "t.jsonl:3",
        "t.jsonl:4",
    ]
    assert normal[0].vars == {"q": "multi\r\nline café"}
    write(
        tmp_path / "bad.jsonl", b'{"q": "a"}\n{"q": "long enough to span blocks"}\n{"q": "\xff"}\n'
    )
    assert error("bad.jsonl", tmp_path).line == 3
