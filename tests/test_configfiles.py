"""``file://`` references in a provider's ``config`` (tools, response_format), read at load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptwork.errors import ConfigError
from promptwork.suite import load_suite

TOOL: dict[str, Any] = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def suite(tmp_path: Path, config: str) -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Weather in {{ city }}?']\n"
        "providers:\n"
        "  - id: openai:chat:gpt-4o-mini\n"
        "    config:\n" + config + "tests: [{vars: {city: Oslo}}]\n", encoding="utf-8")
    return path


def test_tools_from_a_json_file(tmp_path: Path) -> None:
    (tmp_path / "tools.json").write_text(json.dumps([TOOL]), encoding="utf-8")
    loaded = load_suite(suite(tmp_path, "      tools: file://tools.json\n"))
    assert loaded.providers[0].params.tools == (TOOL,)


def test_tools_as_a_list_of_yaml_files_are_flattened(tmp_path: Path) -> None:
    other = {**TOOL, "function": {**TOOL["function"], "name": "get_time"}}
    (tmp_path / "a.yaml").write_text(json.dumps([TOOL]), encoding="utf-8")  # JSON is YAML
    (tmp_path / "b.yml").write_text(
        "type: function\nfunction: {name: get_time, parameters: {type: object, properties: "
        "{city: {type: string}}, required: [city]}}\n", encoding="utf-8")
    loaded = load_suite(suite(tmp_path, "      tools: [file://a.yaml, file://b.yml]\n"))
    assert loaded.providers[0].params.tools == (TOOL, other)


def test_response_format_from_a_file_and_a_schema_inside_it(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (tmp_path / "format.yaml").write_text(
        "type: json_schema\njson_schema: {name: reply, schema: file://schema.json}\n",
        encoding="utf-8")
    loaded = load_suite(suite(tmp_path, "      response_format: file://format.yaml\n"))
    assert loaded.providers[0].params.response_schema == {"name": "reply", "schema": SCHEMA}


def test_a_missing_file_is_named_on_the_config_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(suite(tmp_path, "      temperature: 0\n      tools: file://nope.json\n"))
    assert "tools" in info.value.message and "nope.json" in info.value.message
    assert info.value.line == 6


def test_a_file_outside_the_suite_folder_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "suite"
    inner.mkdir()
    (tmp_path / "tools.json").write_text(json.dumps([TOOL]), encoding="utf-8")
    with pytest.raises(ConfigError, match="outside the suite folder"):
        load_suite(suite(inner, "      tools: file://../tools.json\n"))


def test_tools_made_by_code_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text("def get_tools():\n    return []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="made by code are not supported"):
        load_suite(suite(tmp_path, "      tools: file://tools.py:get_tools\n"))


def test_bad_json_in_the_file_points_into_that_file(tmp_path: Path) -> None:
    (tmp_path / "tools.json").write_text('[\n  {"type": "function",\n  oops]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_suite(suite(tmp_path, "      tools: file://tools.json\n"))
    assert info.value.path is not None and info.value.path.endswith("tools.json")
    assert info.value.line == 3
