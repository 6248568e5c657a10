"""``outputPath`` and check files (``python``...) stay inside the suite folder, like every other
``file://``, unless the suite is loaded with ``allow_outside`` (reliability, issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalkit import isolate_env, write_suite
from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

CHECK = "def get_assert(output, context):\n    return 'ok' in output\n"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def _suite(folder: Path, **extra: Any) -> Path:
    return write_suite(folder, {"prompts": ["Hi {{ x }}"], "providers": ["scripted"],
                                "tests": [{"vars": {"x": 1}}], **extra})


def _line_of(path: Path, start: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


@pytest.mark.parametrize("target", ["../out.json", "/tmp/promptwork-outside.json",
                                    ["inside.json", "sub/../../out.csv"]])
def test_an_output_path_outside_the_suite_folder_is_refused(
        tmp_path: Path, target: str | list[str]) -> None:
    path = _suite(tmp_path / "suite", outputPath=target)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert "outside the suite folder" in info.value.message
    assert info.value.path == str(path) and info.value.line == _line_of(path, "outputPath:")
    assert load_suite(path, allow_outside=True).output_paths  # the opt-in still works


def test_an_output_path_inside_the_folder_is_kept(tmp_path: Path) -> None:
    path = _suite(tmp_path, outputPath=["out/results.json", "r.csv"])
    assert load_suite(path).output_paths == ["out/results.json", "r.csv"]


def test_a_bad_output_path_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(_suite(tmp_path, outputPath={"a": 1}))
    assert "'outputPath' must be" in info.value.message
    assert info.value.line == _line_of(tmp_path / "promptwork.yaml", "outputPath:")


@pytest.mark.parametrize("check", [
    {"type": "python", "value": "file://../outside/check.py"},
    {"type": "python", "value": "file://../outside/check.py:get_assert"},
    {"type": "contains", "value": "ok", "transform": "file://../outside/check.py"},
])
def test_a_check_file_outside_the_suite_folder_is_refused_before_any_call(
        tmp_path: Path, check: dict[str, Any]) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "check.py").write_text(CHECK)
    folder = tmp_path / "suite"
    tests = [{"vars": {"x": 1}}, {"vars": {"x": 2}, "assert": [check]}]
    path = write_suite(folder, {"prompts": ["Hi {{ x }}"], "providers": ["scripted"],
                                "tests": tests})
    model = ScriptedProvider(["ok"])
    with pytest.raises(ConfigError) as info:
        evaluate(path, providers={0: model}, config=RunConfig(use_cache=False))
    assert "outside the suite folder" in info.value.message
    assert info.value.path is not None and str(info.value.path).endswith("promptwork.yaml")
    assert info.value.line == 8  # the second test ("- vars:" on line 8 of the dumped suite)
    assert model.calls == []
    # With the opt-in the same check runs.
    suite = load_suite(path, allow_outside=True)
    run = evaluate(suite, providers={0: model}, config=RunConfig(use_cache=False))
    assert run.record.status == "complete" and len(model.calls) == 2


def test_a_check_file_inside_the_folder_runs(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "check.py").write_text(CHECK)
    path = write_suite(tmp_path, {"prompts": ["Hi"], "providers": ["scripted"], "tests": [
        {"assert": [{"type": "python", "value": "file://checks/check.py"}]}]})
    run = evaluate(path, providers={0: ScriptedProvider(["ok"])},
                   config=RunConfig(use_cache=False))
    assert [r["success"] for r in run.rows()] == [True]


UPPER = "def get_transform(output, context):\n    return output.upper()\n"


def _outside_suite(tmp_path: Path, test: dict[str, Any]) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "upper.py").write_text(UPPER)
    (tmp_path / "outside" / "rubric.txt").write_text("Grade {{ output }} against {{ rubric }}.")
    return write_suite(tmp_path / "suite", {"prompts": ["Hi {{ x }}"], "providers": ["scripted"],
                                            "tests": [{"vars": {"x": 1}, **test}]})


@pytest.mark.parametrize("test", [
    {"assert": [{"type": "equals", "value": "OK", "transform": "file://../outside/upper.py"}]},
    {"options": {"transform": "file://../outside/upper.py"},
     "assert": [{"type": "equals", "value": "OK"}]},
])
def test_a_transform_file_outside_the_folder_is_refused_or_runs_with_the_opt_in(
        tmp_path: Path, test: dict[str, Any]) -> None:
    path = _outside_suite(tmp_path, test)
    model = ScriptedProvider(["ok"])
    with pytest.raises(ConfigError, match="outside the suite folder"):
        evaluate(path, providers={0: model}, config=RunConfig(use_cache=False))
    assert model.calls == []
    # With the opt-in the transform runs (it was loaded without the opt-in: a failed check).
    run = evaluate(load_suite(path, allow_outside=True), providers={0: model},
                   config=RunConfig(use_cache=False))
    assert [(r["success"], r["error"]) for r in run.rows()] == [(True, None)]


def test_a_rubric_prompt_file_outside_the_folder_is_refused_before_any_call(
        tmp_path: Path) -> None:
    check = {"type": "llm-rubric", "value": "polite", "provider": "echo",
             "rubricPrompt": "file://../outside/rubric.txt"}
    path = _outside_suite(tmp_path, {"assert": [check]})
    model = ScriptedProvider(["ok"])
    with pytest.raises(ConfigError) as info:
        evaluate(path, providers={0: model}, config=RunConfig(use_cache=False))
    assert "outside the suite folder" in info.value.message
    assert "rubric.txt" in info.value.message and info.value.line is not None
    assert model.calls == []
    # The opt-in lets it load and run; the echo grader then reads the rubric file's text.
    run = evaluate(load_suite(path, allow_outside=True), providers={0: model},
                   config=RunConfig(use_cache=False))
    assert run.record.status == "complete" and len(model.calls) == 1
