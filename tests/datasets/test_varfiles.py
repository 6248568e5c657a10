"""A test's ``vars`` given as file paths and globs (promptfoo's ``vars: vars/*.yaml``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.suite import load_suite


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def suite(folder: Path, tests: str) -> Path:
    return write(folder / "promptfooconfig.yaml",
                 "prompts: ['{{ topic }} as {{ kind }}']\nproviders: [echo]\ntests:\n" + tests)


def all_vars(path: Path) -> list[dict[str, object]]:
    return [dict(case.vars) for case in load_suite(path).tests]


def test_inline_test_vars_from_one_file(tmp_path: Path) -> None:
    write(tmp_path / "v.yaml", "topic: bananas\nkind: a poem\n")
    assert all_vars(suite(tmp_path, "  - vars: v.yaml\n")) == [
        {"topic": "bananas", "kind": "a poem"}]


def test_vars_from_a_glob_merge_in_name_order_later_files_win(tmp_path: Path) -> None:
    write(tmp_path / "vars" / "a.yaml", "topic: first\nkind: list\n")
    write(tmp_path / "vars" / "b.json", '{"topic": "second"}')
    assert all_vars(suite(tmp_path, "  - vars: file://vars/*\n")) == [
        {"topic": "second", "kind": "list"}]


def test_vars_as_a_list_of_paths(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "topic: tea\n")
    write(tmp_path / "k.yaml", "kind: haiku\n")
    assert all_vars(suite(tmp_path, "  - vars: [t.yaml, k.yaml]\n")) == [
        {"topic": "tea", "kind": "haiku"}]


def test_in_a_test_file_paths_resolve_against_that_files_folder(tmp_path: Path) -> None:
    write(tmp_path / "vars" / "vars_x.yaml", "topic: tides\nkind: essay\n")
    write(tmp_path / "tests" / "more.yaml",
          "- vars: {topic: moon, kind: song}\n- vars: ../vars/vars_*.yaml\n")
    assert all_vars(suite(tmp_path, "  - file://tests/*.yaml\n")) == [
        {"topic": "moon", "kind": "song"}, {"topic": "tides", "kind": "essay"}]


def test_no_match_is_an_error_on_the_vars_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(suite(tmp_path, "  - description: x\n    vars: nothing/*.yaml\n"))
    assert "no vars file matches 'nothing/*.yaml'" in info.value.message
    assert info.value.line == 5  # prompts, providers, tests:, description, vars


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "v.yaml", "- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_suite(suite(tmp_path, "  - vars: v.yaml\n"))


def test_a_vars_file_outside_the_suite_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "v.yaml", "topic: x\nkind: y\n")
    with pytest.raises(ConfigError, match="outside the suite folder"):
        load_suite(suite(tmp_path / "inner", "  - vars: ../v.yaml\n"))


def test_a_list_of_values_is_still_rejected_as_vars(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'vars' must be a mapping"):
        load_suite(suite(tmp_path, "  - vars: [1, 2]\n"))
