"""Errors that used to lack file:line: an unknown provider, and JSON nested too deeply in a
prompt file, a test file (JSON, JSONL) or a ``--vars`` file (reliability, issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import isolate_env, write_suite
from promptwork.cli.main import main
from promptwork.errors import ConfigError
from promptwork.suite import load_suite
from promptwork.yamlfile import deepest_line

DEEP = "[" * 5000 + "]" * 5000  # deeper than Python's JSON parser can recurse


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("provider", ["opnai:gpt-4o-mini", {"id": "nope:x", "label": "n"}])
def test_an_unknown_provider_is_refused_at_load_with_its_line(
        tmp_path: Path, provider: object) -> None:
    path = write_suite(tmp_path, {"prompts": ["Hi"], "providers": ["echo", provider],
                                  "tests": [{"vars": {}}]})
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    err = info.value
    assert "unknown provider" in err.message and "known providers:" in err.message
    lines = path.read_text().splitlines()
    assert err.path == str(path) and err.line is not None
    assert ("opnai" in lines[err.line - 1]) or ("nope:x" in lines[err.line - 1])
    if isinstance(provider, str):
        assert "did you mean 'openai'" in err.message


def test_the_cli_shows_the_unknown_providers_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_suite(tmp_path, {"prompts": ["Hi"], "providers": ["ech"], "tests": [{"vars": {}}]})
    assert main(["eval", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "promptwork.yaml:4:" in err and "unknown provider 'ech'" in err


def test_deepest_line_skips_strings() -> None:
    text = '{"a": "[[[[[[",\n "b": [\n  [[1]],\n  "]]]"\n ]\n}'
    assert deepest_line(text) == 3


def test_a_deeply_nested_json_chat_prompt_has_its_line(tmp_path: Path) -> None:
    (tmp_path / "chat.json").write_text('[\n  {"role": "user",\n   "content": ' + DEEP + "}\n]\n")
    path = write_suite(tmp_path, {"prompts": ["file://chat.json"], "providers": ["echo"],
                                  "tests": [{"vars": {}}]})
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert "nested too deeply" in info.value.message
    assert str(info.value.path).endswith("chat.json") and info.value.line == 3


@pytest.mark.parametrize("name", ["tests.json", "tests.jsonl"])
def test_a_deeply_nested_test_file_has_its_line(tmp_path: Path, name: str) -> None:
    body = ('[{"vars": {"a": 1}},\n {"vars": {"b": ' + DEEP + "}}]\n" if name == "tests.json"
            else '{"a": 1}\n{"b": ' + DEEP + "}\n")
    (tmp_path / name).write_text(body)
    path = write_suite(tmp_path, {"prompts": ["Hi"], "providers": ["echo"],
                                  "tests": f"file://{name}"})
    with pytest.raises(ConfigError) as info:
        list(load_suite(path).tests)
    assert "nested too deeply" in info.value.message
    assert str(info.value.path).endswith(name) and info.value.line == 2


def test_a_deeply_nested_vars_file_is_a_config_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "v.json").write_text('{\n"x": ' + DEEP + "}")
    assert main(["run", "Hi", "-m", "echo", "--vars", "v.json"]) == 2
    err = capsys.readouterr().err
    assert "v.json:2:" in err and "nested too deeply" in err and "Traceback" not in err
