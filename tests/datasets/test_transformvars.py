"""promptfoo's ``options.transformVars``: inline JavaScript, JS and Python files, the test's over
``defaultTest``'s, run before list expansion and var rendering, errors at load with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from datasets.helpers import error, load, write
from promptwork.runner import RunConfig

pytest.importorskip("py_mini_racer")


def test_an_inline_expression_adds_and_overrides_vars(tmp_path: Path) -> None:
    spec = [{"vars": {"topic": "bees", "n": 1},
             "options": {"transformVars": "{ upper: vars.topic.toUpperCase(), n: vars.n + 1 }"}}]
    (case,) = load(spec, tmp_path)
    assert case.vars == {"topic": "bees", "upper": "BEES", "n": 2}


def test_a_function_body_from_default_test_and_the_tests_own_wins(tmp_path: Path) -> None:
    default = {"options": {"transformVars": "const t = vars.topic;\nreturn {len: t.length};"}}
    spec = [{"vars": {"topic": "bees"}},
            {"vars": {"topic": "ants"}, "options": {"transformVars": "{ mine: context.uuid }"}}]
    first, second = load(spec, tmp_path, default)
    assert first.vars["len"] == 4
    assert "len" not in second.vars  # promptfoo: the test's transformVars replaces the default's
    assert len(second.vars["mine"]) == 36
    # The uuid is stable between passes (a resumed run sees the same vars).
    assert load(spec, tmp_path, default)[1].vars["mine"] == second.vars["mine"]


def test_python_and_javascript_files(tmp_path: Path) -> None:
    write(tmp_path / "tv.py", "def get_transform(vars, context):\n"
                              "    return {'py': vars['w'] * 2, 'has_uuid': 'uuid' in context}\n"
                              "def other(vars, context):\n    return {'other': 1}\n")
    write(tmp_path / "tv.js", "module.exports = { shout: (vars, ctx) => ({js: vars.w + '!'}) };\n")
    spec = [{"vars": {"w": "a"}, "options": {"transformVars": "file://tv.py"}},
            {"vars": {"w": "b"}, "options": {"transformVars": "file://tv.py:other"}},
            {"vars": {"w": "c"}, "options": {"transformVars": "file://tv.js:shout"}}]
    py, other, js = load(spec, tmp_path)
    assert (py.vars["py"], py.vars["has_uuid"]) == ("aa", True)
    assert other.vars["other"] == 1
    assert js.vars["js"] == "c!"


def test_it_runs_before_lists_expand_and_vars_render(tmp_path: Path) -> None:
    spec = [{"vars": {"lang": ["fr", "de"], "ask": "in {{ code }}"},
             "options": {"transformVars": "{ code: vars.lang.join('+') }"}}]
    cases = load(spec, tmp_path)
    # It saw the whole list (promptfoo's order), and its var is usable in templated vars.
    assert [(c.vars["lang"], c.vars["ask"]) for c in cases] == [("fr", "in fr+de"),
                                                               ("de", "in fr+de")]


@pytest.mark.parametrize(("code", "message"), [
    ("{ a: vars.missing.length }", "TypeError"),
    ("'just text'", "must return a mapping"),
    ("require('fs')", "require"),
    ("{ a: ", "transformVars"),
])
def test_bad_transforms_are_load_errors_at_the_tests_line(
        tmp_path: Path, code: str, message: str) -> None:
    lines = {("tests", 0, "options", "transformVars"): 7}
    exc = error([{"vars": {"w": "x"}, "options": {"transformVars": code}}], tmp_path,
                line_of=lambda key: lines.get(tuple(key)))
    assert message in exc.message and "transformVars" in exc.message
    assert exc.line == 7


def test_a_python_transform_that_raises_names_its_exception(tmp_path: Path) -> None:
    write(tmp_path / "tv.py", "def get_transform(vars, context):\n    raise KeyError('nope')\n")
    exc = error([{"vars": {}, "options": {"transformVars": "file://tv.py"}}], tmp_path)
    assert "KeyError" in exc.message and "nope" in exc.message


def test_a_suite_fails_before_any_call_and_otherwise_renders_the_new_vars(tmp_path: Path) -> None:
    write(tmp_path / "prov.py", "import pathlib\n"
                                "def call_api(prompt, options, context):\n"
                                "    with open(pathlib.Path(__file__).parent / 'calls.log', 'a')"
                                " as f:\n        f.write(prompt + '\\n')\n"
                                "    return {'output': prompt}\n")
    suite = tmp_path / "promptfooconfig.yaml"
    write(suite, "prompts: ['Hi {{ name }}']\nproviders: ['file://prov.py']\n"
                 "defaultTest:\n  options:\n    transformVars: '{ name: vars.first + \"!\" }'\n"
                 "tests:\n  - vars: {first: Ada}\n  - vars: {first: 3}\n"
                 "    options:\n      transformVars: '{ name: vars.first.toUpperCase() }'\n")
    with pytest.raises(pw.ConfigError) as info:
        pw.evaluate(suite, config=RunConfig(use_cache=False))
    assert info.value.line == 10 and "toUpperCase" in info.value.message
    assert not (tmp_path / "calls.log").exists()
    write(suite, suite.read_text(encoding="utf-8").replace("{first: 3}", "{first: bo}"))
    run = pw.evaluate(suite, config=RunConfig(use_cache=False))
    assert sorted(r["output"] for r in run.rows()) == ["Hi Ada!", "Hi BO"]


def test_a_yaml_block_of_one_return_line_is_a_body(tmp_path: Path) -> None:
    # transformVars: |  then one `return ...` line: the block's final newline makes it a body
    # (promptfoo's rule, as in its openai-vision example); stripping it broke the code.
    spec = [{"vars": {"url": "u"},
             "options": {"transformVars": "return { ...vars, md: `![i](${vars.url})` }\n"}}]
    (case,) = load(spec, tmp_path)
    assert case.vars["md"] == "![i](u)"
