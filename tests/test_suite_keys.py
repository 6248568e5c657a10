"""Suite-level promptfoo keys: ``targets``, test options checked at load, grading providers in
every form promptfoo accepts, vars referencing vars run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from promptwork.errors import ConfigError
from promptwork.grading import provider_ref
from promptwork.runner import RunConfig
from promptwork.suite import load_suite


def suite_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_suite(suite_file(tmp_path, text))
    return info.value


def test_targets_is_read_as_providers(tmp_path: Path) -> None:
    suite = load_suite(suite_file(tmp_path, (
        "prompts: ['Say {{ w }}']\n"
        "targets:\n"
        "  - echo\n"
        "  - {id: echo, label: second}\n"
        "tests: [{vars: {w: hi}}]\n")))
    assert [(p.id, p.label) for p in suite.providers] == [("echo", "echo"), ("echo", "second")]


def test_targets_errors_point_at_the_targets_lines(tmp_path: Path) -> None:
    exc = load_error(tmp_path, (
        "prompts: ['x']\n"
        "targets:\n"
        "  - echo\n"
        "  - {id: echo, confg: {}}\n"
        "tests: [{vars: {}}]\n"))
    assert exc.line == 4 and "unknown provider key 'confg'" in exc.message


def test_targets_and_providers_together_are_refused(tmp_path: Path) -> None:
    exc = load_error(tmp_path, "prompts: ['x']\nproviders: [echo]\ntargets: [echo]\n"
                               "tests: [{vars: {}}]\n")
    assert exc.line == 3 and "either 'targets' or 'providers'" in exc.message


@pytest.mark.parametrize(("options", "expected"), [
    ("{provider: [1, 2]}", "a grading provider must be an id"),
    ("{provider: {text: [1]}}", "text: a grading provider must be an id"),
    ("{provider: {txt: echo}}", "unknown grading provider kind 'txt' (did you mean 'text'?)"),
    ("{provider: nosuch:model}", "unknown grading provider 'nosuch:model'"),
    ("{provider: {id: echo, config: 3}}", "'config' must be a mapping"),
    ("{storeOutputAs: 'not a name'}", "'storeOutputAs' must be a variable name"),
    ("{prefix: [1]}", "'prefix' must be text"),
    ("{transformVars: 3}", "'transformVars' must be JavaScript code or a file://path.py"),
    ("{runSeriallly: true}", "unknown test option 'runSeriallly' (did you mean 'runSerially'?)"),
])
def test_grading_and_test_options_are_checked_at_load(
    tmp_path: Path, options: str, expected: str
) -> None:
    exc = load_error(tmp_path, (
        "prompts: ['x']\n"
        "providers: [echo]\n"
        "defaultTest:\n"
        f"  options: {options}\n"
        "tests: [{vars: {}}]\n"))
    assert expected in exc.message
    assert exc.path is not None and exc.path.endswith("promptfooconfig.yaml") and exc.line == 4


def test_a_bad_option_in_a_test_is_located(tmp_path: Path) -> None:
    exc = load_error(tmp_path, (
        "prompts: ['x']\n"
        "tests:\n"
        "  - vars: {}\n"
        "  - vars: {}\n"
        "    options:\n"
        "      provider: [1, 2]\n"))
    assert exc.line == 6 and "tests[1].options.provider" in exc.message


def test_grading_provider_forms() -> None:
    assert provider_ref("echo") == ("echo", {})
    assert provider_ref({"id": "echo", "config": {"a": 1}}) == ("echo", {"a": 1})
    by_kind = {"text": {"id": "scripted", "config": {"answers": ["x"]}},
               "embedding": "openai:embedding:text-embedding-3-small"}
    assert provider_ref(by_kind) == ("scripted", {"answers": ["x"]})
    assert provider_ref(by_kind, "embedding") == ("openai:embedding:text-embedding-3-small", {})
    assert provider_ref({"embedding": "echo"}) is None  # no text grader: the default applies


def test_a_kind_map_grader_grades_a_run(tmp_path: Path) -> None:
    path = suite_file(tmp_path, (
        "prompts: ['Say {{ w }}']\n"
        "targets: [echo]\n"
        "defaultTest:\n"
        "  options:\n"
        "    provider:\n"
        "      text: {id: scripted,\n"
        "             config: {responses: ['{\"pass\": true, \"reason\": \"ok\"}']}}\n"
        "      embedding: echo\n"
        "  assert: [{type: llm-rubric, value: says hi}]\n"
        "tests: [{vars: {w: hi}}]\n"))
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    assert run.stats() == {"successes": 1, "failures": 0, "errors": 0}


def test_vars_referencing_vars_reach_the_model(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("name\nAda\n{{ 6*7 }}\n", encoding="utf-8")
    path = suite_file(tmp_path, (
        "prompts: ['{{ greeting }}']\n"
        "providers: [echo]\n"
        "defaultTest:\n"
        "  vars: {greeting: 'Hello {{ name }}'}\n"
        "tests: file://t.csv\n"))
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    assert sorted(row["output"] for row in run.rows()) == ["Hello Ada", "Hello {{ 6*7 }}"]


def test_render_data_vars_opt_in(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("name,greeting\nAda,Hi {{ name }}\n", encoding="utf-8")
    text = "prompts: ['{{ greeting }}']\nproviders: [echo]\ntests: file://t.csv\n"
    (literal,) = list(load_suite(suite_file(tmp_path, text)).tests)
    assert literal.vars["greeting"] == "Hi {{ name }}"
    (rendered,) = list(load_suite(suite_file(tmp_path, text + "renderDataVars: true\n")).tests)
    assert rendered.vars["greeting"] == "Hi Ada"
    exc = load_error(tmp_path, text + "renderDataVars: yes please\n")
    assert "'renderDataVars' must be true or false" in exc.message
