"""Declared input types (issue 18 §5): text from CSV and ``-v`` read as the declared type at
load, and values that do not fit refused with file:line before any model call."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import db_file, isolate_env, sqlite_rows, write_suite
from promptwork.cli.main import main
from promptwork.inputs import InputTypeError, coerce_text
from promptwork.prompts import load_prompt

PROMPT = """---
inputs:
  day: {type: integer}
  price: {type: number, default: 0}
  vip: {type: boolean, default: false}
  tags: {type: array, default: []}
---
Day {{ day + 1 }}, price {{ price * 2 }}{% if vip %}, VIP{% endif %}, tags {{ tags | length }}
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("integer", "1", 1), ("integer", " -12 ", -12), ("number", "2.5", 2.5), ("number", "3", 3),
    ("number", "1e3", 1000.0), ("boolean", "true", True), ("boolean", "No", False),
    ("boolean", "1", True), ("array", "a, b", ["a", "b"]), ("array", "[1, 2]", [1, 2]),
    ("array", "", []), ("object", '{"a": 1}', {"a": 1}), ("string", "01", "01"),
])
def test_text_is_read_as_the_declared_type(kind: str, text: str, value: object) -> None:
    got = coerce_text(kind, text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("kind", "text"), [
    ("integer", "x"), ("integer", "1.5"), ("number", "nan"), ("number", "inf"),
    ("boolean", "maybe"), ("array", "[1"), ("object", "a=1"),
])
def test_text_that_does_not_fit_is_refused(kind: str, text: str) -> None:
    with pytest.raises(InputTypeError, match=repr(text).replace("[", r"\[")):
        coerce_text(kind, text)


def test_values_that_are_not_text_are_left_alone() -> None:
    assert coerce_text("integer", 4) == 4 and coerce_text("boolean", True) is True


def test_render_reads_text_values_as_their_types(tmp_path: Path) -> None:
    (tmp_path / "day.prompt").write_text(PROMPT)
    template = load_prompt("file://day.prompt", tmp_path)
    text = template.render({"day": "1", "price": "2.5", "vip": "yes", "tags": "a,b"})
    assert text.messages[0].content == "Day 2, price 5.0, VIP, tags 2"


def test_run_takes_typed_values_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "day.prompt").write_text(PROMPT)
    code = main(["run", "day.prompt", "-v", "day=1", "-v", "vip=true", "-m", "echo"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Day 2, price 0, VIP, tags 0" in out


def test_run_refuses_a_value_of_the_wrong_type_with_the_declaration_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "day.prompt").write_text(PROMPT)
    code = main(["run", "day.prompt", "-v", "day=monday", "-m", "echo"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "day.prompt:3" in err and "'monday' is not an integer" in err


def _suite(tmp_path: Path, rows: str) -> None:
    (tmp_path / "day.prompt").write_text(PROMPT)
    (tmp_path / "tests.csv").write_text(rows)
    write_suite(tmp_path, {
        "prompts": ["file://day.prompt"],
        "providers": ["echo"],
        "tests": "file://tests.csv",
        "defaultTest": {"assert": [{"type": "contains", "value": "Day"}]},
    })


def test_eval_reads_csv_values_as_their_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suite(tmp_path, "day,vip,__expected\n1,true,contains:Day 2\n41,no,contains:Day 42\n")
    code = main(["eval", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "Day 2, price 0, VIP" in out and "Day 42, price 0, tags" in out


def test_eval_refuses_a_bad_csv_value_with_its_row_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suite(tmp_path, "day,vip\n1,true\n2,no\nthird,yes\n")
    code = main(["eval", "--no-progress"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "tests.csv:4" in err and "'third' is not an integer" in err
    assert "day.prompt:3 declares it as integer" in err
    db = db_file(tmp_path)  # no run was started: the store holds none
    assert not db.exists() or sqlite_rows(db, "select count(*) from runs") == [(0,)]
