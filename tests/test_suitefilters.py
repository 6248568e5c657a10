"""promptfoo's ``nunjucksFilters``: JavaScript filter files usable in the suite's prompts and vars,
run in the embedded V8; bad files refused at load with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwork as pw
from promptwork.errors import ConfigError
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

pytest.importorskip("py_mini_racer")

SUITE = """\
prompts: ['{{ body | allcaps }} / {{ ask }}']
providers: [echo]
nunjucksFilters:
  allcaps: ./allcaps.js
  wrap: file://wrap.js
tests:
  - vars: {body: hello, ask: '{{ body | wrap("<", ">") }}'}
"""


def write(folder: Path, suite: str = SUITE) -> Path:
    (folder / "allcaps.js").write_text(
        "module.exports = function (str) { return str.toUpperCase(); };\n", encoding="utf-8")
    (folder / "wrap.js").write_text(
        "module.exports = (s, a, b) => a + s + b;\n", encoding="utf-8")
    path = folder / "promptfooconfig.yaml"
    path.write_text(suite, encoding="utf-8")
    return path


def test_filters_render_in_prompts_and_in_vars_that_reference_vars(tmp_path: Path) -> None:
    run = pw.evaluate(write(tmp_path), config=RunConfig(use_cache=False))
    [row] = run.rows()
    assert row["output"].endswith("HELLO / <hello>")


def test_a_filter_changed_on_disk_is_not_served_from_compiled_templates(tmp_path: Path) -> None:
    path = write(tmp_path)
    first = load_suite(path).prompts[0].template.render({"body": "a", "ask": "b"})
    (tmp_path / "allcaps.js").write_text("module.exports = (s) => s + '!';\n", encoding="utf-8")
    second = load_suite(path).prompts[0].template.render({"body": "a", "ask": "b"})
    assert (first.messages[0].content, second.messages[0].content) == ("A / b", "a! / b")


@pytest.mark.parametrize(("source", "says"), [
    ("const fs = require('fs'); module.exports = (s) => s;", "require"),
    ("module.exports = (s) => { return s +; };", "allcaps"),
])
def test_a_bad_filter_file_is_a_load_error_at_its_line(
        tmp_path: Path, source: str, says: str) -> None:
    path = write(tmp_path)
    (tmp_path / "allcaps.js").write_text(source, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert says in info.value.message and info.value.line == 4


def test_a_missing_or_outside_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    (tmp_path / "out.js").write_text("module.exports = (s) => s;", encoding="utf-8")
    for ref, says in (("./nope.js", "not found"), ("../out.js", "outside the suite folder")):
        path = write(folder, SUITE.replace("./allcaps.js", ref))
        with pytest.raises(ConfigError) as info:
            load_suite(path)
        assert says in info.value.message and info.value.line == 4
