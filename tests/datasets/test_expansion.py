"""List vars expand into one test per combination, as promptfoo's generateVarCombinations does."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from promptwork.datasets import TestSource, merge
from promptwork.yamlfile import load_yaml

from .helpers import checks, error, load, write


def test_cartesian_product_in_var_order_numbered_after_expansion(tmp_path: Path) -> None:
    spec: list[dict[str, Any]] = [
        {
            "description": "greeting",
            "vars": {"language": ["French", "German"], "tone": "polite", "input": ["Hi", "Bye"]},
            "assert": [{"type": "contains", "value": "x"}],
        },
        {"vars": {"language": "Spanish", "input": "Hola"}},
    ]
    cases = load(spec, tmp_path)
    assert [c.index for c in cases] == [0, 1, 2, 3, 4]
    assert [(c.vars["language"], c.vars["input"]) for c in cases] == [
        ("French", "Hi"),
        ("French", "Bye"),
        ("German", "Hi"),
        ("German", "Bye"),
        ("Spanish", "Hola"),
    ]
    assert all(c.vars["tone"] == "polite" for c in cases[:4])
    assert list(cases[0].vars) == ["language", "tone", "input"]
    assert {c.description for c in cases[:4]} == {"greeting"}
    assert all(checks(c) == [{"type": "contains", "value": "x"}] for c in cases[:4])
    assert spec[0]["vars"]["language"] == ["French", "German"]  # the suite is not modified
    assert load(spec, tmp_path) == cases


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], [[1, 2]]),  # not a list of text: one value
        ([{"a": 1}, "b"], [[{"a": 1}, "b"]]),
        ([["a"], "b"], [[["a"], "b"]]),
        ([], [[]]),
        (["a", 1, None], ["a", 1, None]),  # promptfoo looks at the first item only
        (["only"], ["only"]),
        ("a, b", ["a, b"]),
    ],
)
def test_only_lists_starting_with_text_expand(
    tmp_path: Path, value: Any, expected: list[Any]
) -> None:
    assert [c.vars["v"] for c in load([{"vars": {"v": value}}], tmp_path)] == expected


def test_default_test_lists_expand_first_and_slowest(tmp_path: Path) -> None:
    default = {"vars": {"lang": ["en", "fr"], "style": "short"}}
    spec = [{"vars": {"q": ["a", "b"]}}, {"vars": {"lang": "de", "q": "c"}}]
    cases = load(spec, tmp_path, default)
    assert [(c.vars["lang"], c.vars["q"]) for c in cases] == [
        ("en", "a"),
        ("en", "b"),
        ("fr", "a"),
        ("fr", "b"),
        ("de", "c"),
    ]
    assert list(cases[0].vars) == ["lang", "style", "q"]
    assert [c.index for c in cases] == [0, 1, 2, 3, 4]


def test_disable_var_expansion(tmp_path: Path) -> None:
    off = {"disableVarExpansion": True}
    spec = [
        {"vars": {"v": ["a", "b"]}, "options": off},
        {"vars": {"v": ["c", "d"]}},
        {"vars": {"v": ["e", "f"]}, "options": {"disableVarExpansion": False}},
    ]
    assert [c.vars["v"] for c in load(spec, tmp_path)] == [["a", "b"], "c", "d", "e", "f"]
    cases = load(spec, tmp_path, {"options": off})
    assert [c.vars["v"] for c in cases] == [["a", "b"], ["c", "d"], "e", "f"]


def test_data_file_rows_expand_but_csv_cells_never_do(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", '{"q": ["a", "b"]}\n{"vars": {"q": "c", "n": [1, 2]}}\n')
    write(tmp_path / "t.yaml", "- vars:\n    q: [d, e]\n")
    write(tmp_path / "t.json", json.dumps([{"vars": {"q": ["f", "g"]}}]))
    write(tmp_path / "t.csv", 'q\n"[""h"", ""i""]"\n"j,k"\n')
    cases = load(["t.jsonl", "t.yaml", "t.json", "t.csv"], tmp_path)
    assert [c.vars["q"] for c in cases] == ["a", "b", "c", "d", "e", "f", "g", '["h", "i"]', "j,k"]
    assert cases[2].vars["n"] == [1, 2]
    assert [c.index for c in cases] == list(range(9))
    assert [c.source for c in cases[:5]] == [
        "t.jsonl:1",
        "t.jsonl:1",
        "t.jsonl:2",
        "t.yaml:1",
        "t.yaml:1",
    ]


def test_default_list_expands_csv_rows(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q\nx\ny\n")
    cases = load("t.csv", tmp_path, {"vars": {"lang": ["en", "fr"]}})
    assert [(c.vars["q"], c.vars["lang"]) for c in cases] == [
        ("x", "en"),
        ("x", "fr"),
        ("y", "en"),
        ("y", "fr"),
    ]


def test_file_items_are_read_after_expansion(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "text A")
    write(tmp_path / "b.txt", "text B")
    spec = [{"vars": {"doc": ["file://a.txt", "file://b.txt", "plain"]}}]
    source = TestSource(spec, tmp_path, None, "suite.yaml")
    assert [c.vars["doc"] for c in source] == ["text A", "text B", "plain"]
    assert [p.name for p in source.files()] == ["a.txt", "b.txt"]
    off = [{"vars": {"doc": ["file://a.txt"]}, "options": {"disableVarExpansion": True}}]
    assert [c.vars["doc"] for c in load(off, tmp_path)] == [["file://a.txt"]]
    write(tmp_path / "t.jsonl", '{"doc": ["file://b.txt", "file://a.txt"]}\n')
    assert [c.vars["doc"] for c in load("t.jsonl", tmp_path)] == ["text B", "text A"]
    write(tmp_path / "d.yaml", "- vars: {}\n")
    cases = load("d.yaml", tmp_path, {"vars": {"doc": ["file://a.txt", "file://b.txt"]}})
    assert [c.vars["doc"] for c in cases] == ["text A", "text B"]


def test_missing_file_item_is_located(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "A")
    text = "tests:\n  - vars:\n      doc:\n        - file://a.txt\n        - file://gone.txt\n"
    data, lines = load_yaml(text, "suite.yaml")
    exc = error(data["tests"], tmp_path, line_of=lines.line_of)
    assert exc.line == 5
    assert "tests[0].vars.doc[1]: file not found: 'file://gone.txt'" in exc.message
    write(tmp_path / "t.jsonl", '{"q": 1}\n{"doc": ["file://a.txt", "file://gone.txt"]}\n')
    exc = error("t.jsonl", tmp_path)
    assert (exc.path, exc.line) == ("t.jsonl", 2)
    assert "vars.doc[1]: file not found" in exc.message


def test_expansion_is_lazy_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [str(i) for i in range(100)]
    source = TestSource([{"vars": {"a": items, "b": items, "c": items}}], tmp_path, None, "s")
    first = list(itertools.islice(source, 3))  # a million combinations, not built up front
    assert [(c.index, c.vars["c"]) for c in first] == [(0, "0"), (1, "1"), (2, "2")]
    monkeypatch.setattr(merge, "MAX_COMBINATIONS", 1000)
    exc = error([{"vars": {"x": "y"}}, {"vars": {"a": items, "b": items}}], tmp_path)
    assert "tests[1].vars: the list vars make 10,000 tests (100 (a) x 100 (b))" in exc.message
    assert "disableVarExpansion" in exc.message
    small = TestSource([{"vars": {"a": items[:10], "b": items[:10]}}], tmp_path, None, "s")
    assert small.count() == 100
