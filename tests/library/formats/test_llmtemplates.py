"""llm templates (YAML): $variables, $input, defaults, options, schema; round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from promptwork.errors import ConfigError
from promptwork.library.formats import export_prompt, import_file
from promptwork.prompts import load_prompt

from .roundtrip import FIXTURES, from_promptwork, messages, round_trip


def test_import_translates_dollars_and_carries_defaults_and_options() -> None:
    [imp] = import_file(FIXTURES / "summarize.yaml")
    assert imp.fmt == "llm"
    assert messages(imp, {"input": "{{7*7}} long text"}) == [
        {"role": "system", "content": "Summarize in the voice of GlaDOS. It costs $5."},
        {"role": "user", "content": "Summarize this: {{7*7}} long text"}]
    assert imp.model == "openai:gpt-4o-mini"
    assert imp.params == {"temperature": 0.3}
    assert imp.inputs["voice"] == {"type": "string", "default": "GlaDOS"}
    assert sorted(d.what for d in imp.dropped) == ["extract", "options.logit_bias"]


def test_no_prompt_sends_the_input_and_prompt_without_input_appends_it(tmp_path: Path) -> None:
    [imp] = import_file(FIXTURES / "nopromptkey.yaml")
    assert messages(imp, {"name": "Jack", "input": "Ahoy?"}) == [
        {"role": "system", "content": "You are a pirate named Jack."},
        {"role": "user", "content": "Ahoy?"}]
    path = tmp_path / "t.yaml"
    path.write_text("prompt: Translate to French\n")
    [imp] = import_file(path)
    assert messages(imp, {}) == [{"role": "user", "content": "Translate to French"}]
    assert messages(imp, {"input": "cat"}) == [
        {"role": "user", "content": "Translate to French\ncat"}]


@pytest.mark.parametrize("fixture", ["summarize.yaml", "nopromptkey.yaml"])
def test_round_trip(tmp_path: Path, fixture: str) -> None:
    first, second = round_trip(FIXTURES / fixture, "llm", tmp_path)
    values = {"input": "some $text", "name": "Anne"}
    assert messages(second, values) == messages(first, values)
    assert (second.model, second.params, second.inputs) == (first.model, first.params,
                                                            first.inputs)


def test_promptwork_prompt_round_trip_and_schema(tmp_path: Path) -> None:
    text = ("---\nname: price\nmodel: anthropic:messages:claude-sonnet-4-5\ninputs:\n"
            "  item: {type: string, default: tea}\noutput_schema: {type: object}\n---\n"
            "Price of {{ item }} in $?\n")
    source, back = from_promptwork(text, "llm", tmp_path)
    exported = yaml.safe_load(next(iter(export_prompt(source, "llm").files.values())))
    assert exported == {"prompt": "Price of ${item} in $$?", "model": "claude-sonnet-4-5",
                        "defaults": {"item": "tea"}, "schema_object": {"type": "object"}}
    assert messages(back, {}) == load_prompt(str(source)).render({}).to_list()
    assert back.model == "anthropic:claude-sonnet-4-5"


def test_refusals(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("system: ok\nprompt: |\n  line one\n  costs $5\n")
    with pytest.raises(ConfigError) as info:
        import_file(path)
    assert "$$" in info.value.message and info.value.line == 4
    chat = tmp_path / "c.prompt"
    chat.write_text("---\nname: c\n---\nuser:\nhi\n\nassistant:\nhello\n\nuser:\nagain\n")
    with pytest.raises(ConfigError, match="system prompt and one user prompt"):
        export_prompt(chat, "llm")
