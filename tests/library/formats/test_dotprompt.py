"""Dotprompt: Handlebars translated to Jinja2 and back, metadata carried, the rest refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptwork.errors import ConfigError
from promptwork.library.formats import export_prompt, import_file
from promptwork.prompts import load_prompt

from .roundtrip import FIXTURES, from_promptwork, messages, round_trip

GREET_VARS = {"items": ["tea", "cake"], "language": "French"}
GREET_EXPECTED = [
    {"role": "system", "content": "You greet in French."},
    {"role": "user", "content": "Hello, I am Guest.\n- 0: tea (for Guest)\n- 1: cake (for Guest)"
                                "\n\nData: [\"tea\",\"cake\"]"},
]


def test_import_translates_the_common_subset_and_carries_metadata() -> None:
    [imp] = import_file(FIXTURES / "greet.prompt")
    assert imp.fmt == "dotprompt"
    assert messages(imp, GREET_VARS) == GREET_EXPECTED
    # optional input left out: Handlebars prints nothing, the else branch runs
    assert messages(imp, {"items": [], "name": "Ada"})[0]["content"] == "You greet in English."
    assert "Welcome back, Ada!" in messages(imp, {"items": [], "name": "Ada"})[1]["content"]
    assert imp.model == "google:gemini-1.5-flash"
    assert imp.params == {"temperature": 0.7, "max_tokens": 200}
    assert imp.description == "Greets a guest"
    assert imp.inputs["name"] == {"type": "string", "description": "the guest's name",
                                  "default": "Guest"}
    assert imp.inputs["language"] == {"type": "string", "required": False}
    loaded = imp.load()
    assert loaded.meta.output_schema == {
        "type": "object", "properties": {"greeting": {"type": "string",
                                                      "description": "the greeting"}},
        "required": ["greeting"]}
    dropped = {d.what: d for d in imp.dropped}
    assert set(dropped) == {"config.version", "tools", "input.schema.items"}
    assert dropped["tools"].line == 20


def test_round_trip_gives_the_same_messages(tmp_path: Path) -> None:
    first, second = round_trip(FIXTURES / "greet.prompt", "dotprompt", tmp_path)
    cases: list[dict[str, Any]] = [GREET_VARS, {"items": []},
                                   {"items": ["x"], "name": "Ada", "language": ""}]
    for values in cases:
        assert messages(second, values) == messages(first, values)
    assert messages(second, GREET_VARS) == GREET_EXPECTED
    assert (second.model, second.params) == (first.model, first.params)


def test_whitespace_control_and_escapes(tmp_path: Path) -> None:
    [imp] = import_file(FIXTURES / "plain.prompt")
    assert messages(imp, {"topic": "rain"}) == [
        {"role": "user", "content": "Summarizerain. Literal: {{not_a_var}} and {%raw%}"}]
    _, back = round_trip(FIXTURES / "plain.prompt", "dotprompt", tmp_path)
    assert messages(back, {"topic": "rain"}) == messages(imp, {"topic": "rain"})


def test_promptwork_prompt_exports_and_reads_back(tmp_path: Path) -> None:
    text = (
        "---\nname: triage\nmodel: openai:gpt-4o\nparams: {temperature: 0, seed: 7, "
        "logprobs: true}\ninputs:\n  ticket: {type: string, description: the ticket}\n"
        "  labels: {type: array, default: [a, b]}\n---\nsystem:\nYou triage.\n"
        "{% if urgent is defined and urgent %}URGENT{% else %}normal{% endif %}\n\n"
        "user:\n{{ ticket }}\n{% for l in labels %}\n* {{ l }} {{ loop.index0 }} "
        "{{ ticket }}\n{% endfor %}\n{{ labels | dump }}\n\nassistant:\nOK.\n"
    )
    source, back = from_promptwork(text, "dotprompt", tmp_path)
    original = load_prompt(str(source))
    for values in ({"ticket": "T1"}, {"ticket": "T2", "urgent": True, "labels": ["x"]}):
        assert messages(back, values) == original.render(values).to_list()
    assert back.model == "openai:gpt-4o"
    assert back.params == {"temperature": 0, "seed": 7}
    exported = export_prompt(source, "dotprompt")
    assert [d.what for d in exported.dropped] == ["params.logprobs"]
    assert '{{role "model"}}' in next(iter(exported.files.values()))


@pytest.mark.parametrize(("body", "named", "line"), [
    ("{{history}}", "'history'", 5),
    ("{{media url=photo}}", "'media'", 5),
    ("{{> header}}", "partial", 5),
    ("{{#with person}}{{name}}{{/with}}", "'with'", 5),
    ("{{#if a}}\n{{role \"system\"}}\n{{/if}}", "{{role}} inside a block", 6),
    ("{{#if a}}open", "never closed", 5),
    ("{{shout name}}", "'shout'", 5),
])
def test_unsupported_handlebars_is_refused_by_name_with_line(tmp_path: Path, body: str,
                                                             named: str, line: int) -> None:
    path = tmp_path / "bad.prompt"
    path.write_text(f"---\nmodel: openai/gpt-4o\n---\nfirst line\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        import_file(path)
    assert named in info.value.message
    assert info.value.path == str(path)
    assert info.value.line == line


def test_export_refuses_jinja_it_cannot_say(tmp_path: Path) -> None:
    path = tmp_path / "x.prompt"
    path.write_text("---\nname: x\n---\nline\n{% set y = 1 %}{{ y }}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        export_prompt(path, "dotprompt")
    assert "{% set %}" in info.value.message and info.value.line == 5


def test_lines_holding_only_a_block_tag_are_removed_as_handlebars_does(tmp_path: Path) -> None:
    path = tmp_path / "s.prompt"
    path.write_text("---\nconfig: {}\n---\nStart\n{{#if x}}\nA\n{{else}}\nB\n{{/if}}\n"
                    "  {{#each xs}}\n  * {{this}}\n  {{/each}}\nEnd\n", encoding="utf-8")
    [imp] = import_file(path)
    assert messages(imp, {"x": 1, "xs": [1, 2]})[0]["content"] == "Start\nA\n  * 1\n  * 2\nEnd"
    assert messages(imp, {"x": 0, "xs": []})[0]["content"] == "Start\nB\nEnd"
    first, second = round_trip(path, "dotprompt", tmp_path)
    for values in ({"x": 1, "xs": [1, 2]}, {"x": 0, "xs": []}):
        assert messages(second, values) == messages(first, values)
