"""is-json and contains-json, with and without schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult, run_check
from promptwork.checks.registry import parse_spec
from promptwork.checks.structured import find_json
from promptwork.errors import ConfigError

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


def run(check: dict[str, Any], output: str, base_dir: Path | None = None) -> CheckResult:
    return run_check(parse_spec(check), CheckContext(output=output, base_dir=base_dir))


@pytest.mark.parametrize(
    ("check", "output", "expected"),
    [
        ({"type": "is-json"}, '{"a": 1}', True),
        ({"type": "is-json"}, "  [1, 2]\n", True),
        ({"type": "is-json"}, '{"a": 1', False),
        ({"type": "is-json"}, 'Here: {"a": 1}', False),
        ({"type": "is-json"}, "NaN", False),
        ({"type": "is-json", "value": SCHEMA}, '{"name": "Ada", "age": 36}', True),
        ({"type": "is-json", "value": SCHEMA}, '{"age": 36}', False),
        ({"type": "is-json", "value": SCHEMA}, '{"name": "Ada", "age": -1}', False),
        ({"type": "contains-json"}, 'Sure!\n```json\n{"a": {"b": [1]}}\n```', True),
        ({"type": "contains-json"}, "no json here {oops}", False),
        ({"type": "contains-json"}, "a list: [1, 2, 3].", True),
        ({"type": "contains-json", "value": SCHEMA}, 'x {"id": 1} y {"name": "Ada"} z', True),
        ({"type": "contains-json", "value": SCHEMA}, 'x {"id": 1} z', False),
    ],
)
def test_pass_fail_and_negation(check: dict[str, Any], output: str, expected: bool) -> None:
    result = run(check, output)
    assert result.passed is expected, result.reason
    assert run({**check, "type": "not-" + check["type"]}, output).passed is (not expected)


def test_schema_error_reason_names_the_path() -> None:
    r = run({"type": "is-json", "value": SCHEMA}, '{"name": 5}')
    assert "$.name" in r.reason and "not of type 'string'" in r.reason


def test_schema_as_yaml_string() -> None:
    check = {"type": "is-json", "value": "type: object\nrequired: [name]"}
    assert run(check, '{"name": 1}').passed
    assert not run(check, "{}").passed


def test_schema_from_file(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "schema.yaml").write_text("type: array\nitems: {type: integer}\n")
    check = {"type": "contains-json", "value": "file://schema.json"}
    assert run(check, 'ok {"name": "x"}', base_dir=tmp_path).passed
    assert not run(check, 'ok {"nom": "x"}', base_dir=tmp_path).passed
    check = {"type": "is-json", "value": "file://schema.yaml"}
    assert run(check, "[1, 2]", base_dir=tmp_path).passed
    assert not run(check, '[1, "2"]', base_dir=tmp_path).passed


def test_missing_schema_file_is_a_failed_result(tmp_path: Path) -> None:
    r = run({"type": "is-json", "value": "file://nope.json"}, "{}", base_dir=tmp_path)
    assert not r.passed and "cannot read JSON schema" in r.reason
    # ... and never turned into a pass by negation
    assert not run({"type": "not-is-json", "value": "file://nope.json"}, "x", tmp_path).passed


def test_invalid_schema_rejected_at_load() -> None:
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        parse_spec({"type": "is-json", "value": {"type": "banana"}})


def test_find_json() -> None:
    text = 'a {"x": 1} b [2, {"y": 3}] c {broken {"z": 4}'
    assert find_json(text) == [(2, {"x": 1}), (13, [2, {"y": 3}]), (37, {"z": 4})]
    assert find_json("[" * 5000) == []  # deep nesting: no crash
