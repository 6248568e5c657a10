"""Test files: CSV (promptfoo columns), JSONL, JSON and YAML, with located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import checks, error, load, write

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


def test_unknown_promptfoo_type_from_csv_fails_clearly(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q,__expected\na,webhook: https://x\n")
    exc = error("t.csv", tmp_path)
    assert exc.line == 2 and "__expected: check 'webhook' is not supported" in exc.message


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
