"""Vars computed at load: references to other vars, ``file://x.py`` vars, typed var files,
Python test generators."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from datasets.helpers import error, load, write


def test_a_var_may_reference_vars_written_before_or_after_it(tmp_path: Path) -> None:
    spec = [{"vars": {"full": "{{ greeting }} How are you?", "greeting": "Hello, {{ name }}!",
                      "name": "Ada"}}]
    (case,) = load(spec, tmp_path)
    assert case.vars["greeting"] == "Hello, Ada!"
    assert case.vars["full"] == "Hello, Ada! How are you?"


def test_default_test_vars_reference_each_tests_vars(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "topic\nbees\n{{ 7*7 }}\n")
    cases = load("t.csv", tmp_path, {"vars": {"ask": "Tell me about {{ topic }}."}})
    # defaultTest's value is the suite's: rendered; the CSV value is data: inserted literally.
    assert [c.vars["ask"] for c in cases] == ["Tell me about bees.", "Tell me about {{ 7*7 }}."]
    assert cases[1].vars["topic"] == "{{ 7*7 }}"


def test_data_file_values_render_only_when_the_suite_opts_in(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", json.dumps({"name": "Ada", "hi": "Hi {{ name }}"}) + "\n")
    (literal,) = load("t.jsonl", tmp_path)
    assert literal.vars["hi"] == "Hi {{ name }}"
    (rendered,) = load("t.jsonl", tmp_path, render_data_vars=True)
    assert rendered.vars["hi"] == "Hi Ada"


def test_list_vars_expand_then_render(tmp_path: Path) -> None:
    spec = [{"vars": {"lang": ["French", "German"], "ask": "Say hi in {{ lang }}"}}]
    assert [c.vars["ask"] for c in load(spec, tmp_path)] == ["Say hi in French",
                                                            "Say hi in German"]


def test_cycles_and_unknown_references_are_load_errors(tmp_path: Path) -> None:
    exc = error([{"vars": {"a": "{{ b }}", "b": "x{{ a }}"}}], tmp_path)
    assert "cycle: a -> b -> a" in exc.message
    exc = error([{"vars": {"a": "Hi {{ nobody }}"}}], tmp_path)
    assert "tests[0].vars.a: uses nobody, which no var of this test defines" in exc.message


def test_rendering_is_sandboxed(tmp_path: Path) -> None:
    exc = error([{"vars": {"a": "{{ ''.__class__.__mro__ }}"}}], tmp_path)
    assert "sandbox" in exc.message or "unsafe" in exc.message


def test_python_var_runs_get_var_with_promptfoos_arguments(tmp_path: Path) -> None:
    write(tmp_path / "v.py", (
        "def get_var(var_name, prompt, other_vars):\n"
        "    return {'output': f'{var_name}:{prompt}:{sorted(other_vars.items())}'}\n"
        "def shout(var_name, prompt, other_vars):\n"
        "    return {'output': other_vars['word'].upper()}\n"
        "def broken(var_name, prompt, other_vars):\n"
        "    return {'error': 'no database'}\n"
    ))
    spec = [{"vars": {"ctx": "file://v.py", "loud": "file://v.py:shout", "word": "hey"}}]
    (case,) = load(spec, tmp_path, prompt="P {{ ctx }}")
    assert case.vars["ctx"] == "ctx:P {{ ctx }}:[('loud', 'file://v.py:shout'), ('word', 'hey')]"
    assert case.vars["loud"] == "HEY"
    exc = error([{"vars": {"x": "file://v.py:broken"}}], tmp_path)
    assert "tests[0].vars.x: file://v.py:broken returned an error: no database" in exc.message
    exc = error([{"vars": {"x": "file://v.py:absent"}}], tmp_path)
    assert "has no function 'absent'" in exc.message
    exc = error([{"vars": {"x": "file://nope.py:fn"}}], tmp_path)
    assert "file not found" in exc.message


def test_python_var_outside_the_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "v.py", "def get_var(n, p, o):\n    return {'output': 1}\n")
    inner = tmp_path / "suite"
    inner.mkdir()
    exc = error([{"vars": {"x": "file://../v.py"}}], inner)
    assert "outside the suite folder" in exc.message


def test_typed_var_files(tmp_path: Path) -> None:
    write(tmp_path / "d.json", '{"k": [1, 2]}')
    write(tmp_path / "d.yaml", "k: v\n")
    write(tmp_path / "i.png", b"\x89PNG\r\n")
    write(tmp_path / "t.txt", "plain {{ x }}")
    write(tmp_path / "r.pdf", b"%PDF")
    spec = [{"vars": {"j": "file://d.json", "y": "file://d.yaml", "img": "file://i.png",
                      "t": "file://t.txt", "x": "1"}}]
    (case,) = load(spec, tmp_path)
    assert case.vars["j"] == {"k": [1, 2]}
    assert case.vars["y"] == {"k": "v"}
    assert base64.b64decode(case.vars["img"]) == b"\x89PNG\r\n"
    assert case.vars["t"] == "plain {{ x }}"  # a file's text is data, never rendered
    assert "PDF vars need text extraction" in error([{"vars": {"r": "file://r.pdf"}}],
                                                    tmp_path).message


def test_python_test_generator(tmp_path: Path) -> None:
    write(tmp_path / "gen.py", (
        "def create_tests(config=None):\n"
        "    n = (config or {}).get('n', 2)\n"
        "    return [{'vars': {'i': i}, 'assert': [{'type': 'contains', 'value': str(i)}]}\n"
        "            for i in range(n)]\n"
        "def bad():\n"
        "    return {'vars': {}}\n"
    ))
    cases = load("file://gen.py:create_tests", tmp_path)
    assert [c.vars["i"] for c in cases] == [0, 1]
    assert cases[1].checks[0].value == "1"
    with_config = load([{"path": "file://gen.py:create_tests", "config": {"n": 3}},
                        {"vars": {"i": 9}}], tmp_path)
    assert [c.vars["i"] for c in with_config] == [0, 1, 2, 9]
    assert [c.index for c in with_config] == [0, 1, 2, 3]
    assert "must return a list of tests" in error("file://gen.py:bad", tmp_path).message
    assert "unknown key 'confg'" in error([{"path": "file://gen.py:create_tests",
                                             "confg": {}}], tmp_path).message


def test_a_generators_bad_test_is_located(tmp_path: Path) -> None:
    write(tmp_path / "gen.py", "def make():\n    return [{'vars': {}}, {'varz': {}}]\n")
    exc = error("file://gen.py:make", tmp_path)
    assert "[1].varz: unknown key 'varz'" in exc.message


def test_rubric_prompt_option_reaches_model_graded_checks_only(tmp_path: Path) -> None:
    default = {"options": {"rubricPrompt": "Judge {{ output }}", "factuality": {"subset": 0.5}},
               "assert": [{"type": "llm-rubric", "value": "polite"},
                          {"type": "factuality", "value": "Paris"},
                          {"type": "contains", "value": "x"},
                          {"type": "llm-rubric", "value": "v", "rubricPrompt": "own"}]}
    (case,) = load([{"vars": {}}], tmp_path, default)
    configs = [dict(c.config) for c in case.checks]
    assert configs[0] == {"rubricPrompt": "Judge {{ output }}"}
    assert configs[1] == {"rubricPrompt": "Judge {{ output }}", "factuality": {"subset": 0.5}}
    assert configs[2] == {}
    assert configs[3]["rubricPrompt"] == "own"
