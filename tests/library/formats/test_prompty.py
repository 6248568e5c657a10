"""Prompty: front matter generations, role lines, samples; round trips; refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.library.formats import export_prompt, import_file
from promptwork.prompts import load_prompt

from .roundtrip import FIXTURES, from_promptwork, messages, round_trip

LONG = "Where is the order I placed two weeks ago?"


def test_first_generation_front_matter_and_role_lines() -> None:
    [imp] = import_file(FIXTURES / "support.prompty")
    assert imp.fmt == "prompty" and imp.name == "Support Answer"
    assert messages(imp, {"question": LONG}) == [
        {"role": "system", "content": "You answer briefly for friend.\nThe question is long."},
        {"role": "user", "content": LONG}]
    assert imp.model == "azure:chat:gpt-4o"
    assert imp.params == {"max_tokens": 128, "temperature": 0.2}
    assert imp.inputs["customer"] == {"type": "string", "default": "friend"}
    assert imp.samples == {"question": "Where is my order?"}
    assert sorted(d.what for d in imp.dropped) == [
        "authors", "model connection api_version", "model.parameters.logit_bias",
        "user line attributes", "version"]
    assert next(d for d in imp.dropped if d.what == "user line attributes").line == 30


def test_second_generation_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "g.prompty"
    path.write_text(
        "---\nname: greeting\nmodel:\n  id: gpt-4o-mini\n  provider: openai\n  options:\n"
        "    temperature: 0.1\ninputs:\n  - name: name\n    kind: string\n    default: World\n"
        "---\n# System:\nYou are friendly.\n\nUSER:\nSay hello to {{name}}.\n")
    [imp] = import_file(path)
    assert imp.model == "openai:gpt-4o-mini" and imp.params == {"temperature": 0.1}
    assert messages(imp, {}) == [{"role": "system", "content": "You are friendly."},
                                 {"role": "user", "content": "Say hello to World."}]


def test_round_trip(tmp_path: Path) -> None:
    first, second = round_trip(FIXTURES / "support.prompty", "prompty", tmp_path)
    for values in ({"question": LONG}, {"question": "Hi?", "customer": "Bo"}):
        assert messages(second, values) == messages(first, values)
    assert (second.model, second.params, second.inputs) == (first.model, first.params,
                                                            first.inputs)


def test_plain_promptwork_prompt_round_trip(tmp_path: Path) -> None:
    text = ("---\nname: plain\nmodel: openai:gpt-4o\ntags: [x]\ninputs:\n"
            "  n: {type: integer, default: 3}\n---\nList {{ n }} {% for i in range(n) %}"
            "{{ i }}{% endfor %} ideas.\n")
    source, back = from_promptwork(text, "prompty", tmp_path)
    assert messages(back, {}) == load_prompt(str(source)).render({}).to_list()
    assert back.tags == ["x"]


def test_function_messages_and_other_engines_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.prompty"
    path.write_text("---\nname: f\n---\nsystem:\nhi\nfunction:\n{}\n")
    with pytest.raises(ConfigError) as info:
        import_file(path)
    assert "function messages" in info.value.message and info.value.line == 6
    path.write_text("---\nname: f\ntemplate: handlebars\n---\nhi\n")
    with pytest.raises(ConfigError, match="'handlebars'"):
        import_file(path)


def test_export_refuses_a_line_prompty_would_read_as_a_role(tmp_path: Path) -> None:
    path = tmp_path / "r.prompt"
    path.write_text("---\nname: r\n---\nTranscript:\nSystem:\nhello\n")
    with pytest.raises(ConfigError) as info:
        export_prompt(path, "prompty")
    assert info.value.line == 5
