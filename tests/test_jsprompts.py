"""promptfoo's JavaScript prompt functions and test generators, in the embedded V8."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from promptwork.errors import ConfigError
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

pytest.importorskip("py_mini_racer")

PROMPTS = """\
module.exports = async function ({ vars, provider }) {
  return [{ role: 'system', content: 'You are ' + provider.label },
          { role: 'user', content: 'About ' + vars.topic }];
};
module.exports.short = ({ vars }) => 'Topic: ' + vars.topic.toUpperCase();
"""
TESTS = """\
function generate_tests(config) {
  return config.topics.map((t) => ({ vars: { topic: t },
                                    assert: [{ type: 'contains', value: t }] }));
}
"""


def write(folder: Path, suite: str) -> Path:
    (folder / "prompts.js").write_text(PROMPTS, encoding="utf-8")
    (folder / "tests.js").write_text(TESTS, encoding="utf-8")
    (folder / "fixed.js").write_text("module.exports = [{vars: {topic: 'owls'}}];\n",
                                     encoding="utf-8")
    path = folder / "promptfooconfig.yaml"
    path.write_text(suite, encoding="utf-8")
    return path


def test_prompt_functions_and_generators_run(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "prompts: ['file://prompts.js', 'file://prompts.js:short']\n"
        "providers: [{id: echo, label: Bot}]\n"
        "tests:\n  - path: file://tests.js:generate_tests\n    config: {topics: [bees, ants]}\n"
        "  - file://fixed.js\n"))
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    got = {(r["test_idx"], r["prompt_idx"]): r["output"] for r in run.rows()}
    assert len(got) == 6
    assert "You are Bot" in got[(0, 0)] and "About bees" in got[(0, 0)]
    assert got[(1, 1)].endswith("Topic: ANTS") and got[(2, 1)].endswith("Topic: OWLS")


def test_a_js_prompt_file_is_never_sent_as_text(tmp_path: Path) -> None:
    # Before, file://prompts.js was read as a text template: its source became the prompt.
    path = write(tmp_path, "prompts: ['file://prompts.js']\nproviders: [echo]\n"
                           "tests:\n  - vars: {topic: x}\n")
    rendered = load_suite(path).prompts[0].template.render({"topic": "x"}, provider={"id": "e"})
    assert "module.exports" not in str(rendered.to_list())


@pytest.mark.parametrize(("prompt", "source", "says"), [
    ("file://p.js", "const x = require('x'); module.exports = () => 'a';", "require"),
    ("file://p.ts", "export default () => 'a';", "TypeScript"),
    ("file://p.js", "module.exports = () => {;", "p.js"),
])
def test_what_cannot_run_is_refused_at_load(
        tmp_path: Path, prompt: str, source: str, says: str) -> None:
    (tmp_path / prompt.removeprefix("file://")).write_text(source, encoding="utf-8")
    path = write(tmp_path, f"prompts: ['{prompt}']\nproviders: [echo]\n"
                           "tests:\n  - vars: {topic: x}\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert says in info.value.message


def test_a_generator_that_throws_is_a_load_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "prompts: ['{{ topic }}']\nproviders: [echo]\n"
                           "tests:\n  - path: file://tests.js:generate_tests\n")
    with pytest.raises(ConfigError) as info:
        list(load_suite(path).tests)  # no config given: config is undefined
    assert "TypeError" in info.value.message and info.value.line == 4


def test_a_typescript_generator_with_a_function_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "gen.ts").write_text("export function g() { return []; }\n", encoding="utf-8")
    path = write(tmp_path, "prompts: ['{{ topic }}']\nproviders: [echo]\n"
                           "tests: file://gen.ts:g\n")
    with pytest.raises(ConfigError) as info:
        list(load_suite(path).tests)
    assert "TypeScript and ES-module test generators (gen.ts:g)" in info.value.message
