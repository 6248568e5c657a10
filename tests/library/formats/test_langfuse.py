"""Langfuse prompt JSON: text and chat prompts, config, labels; round trips; refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.library.formats import export_prompt, import_file
from promptwork.prompts import load_prompt

from .roundtrip import FIXTURES, from_promptwork, messages, round_trip


def test_text_prompt_with_config_and_labels() -> None:
    [imp] = import_file(FIXTURES / "movie-critic.json")
    assert imp.fmt == "langfuse"
    assert messages(imp, {"criticLevel": "expert", "movie": "Dune 2"}) == [
        {"role": "user", "content": "As a expert movie critic, do you like Dune 2? "
                                    "Reply in {% JSON %}."}]
    assert imp.model == "openai:gpt-4o"
    assert imp.params == {"temperature": 0.5}
    assert imp.labels == ["production"]  # 'latest' is Langfuse's own
    assert imp.tags == ["movies"]
    assert sorted(d.what for d in imp.dropped) == ["config.supported_languages", "version"]


def test_chat_list_takes_the_production_version_and_lists_the_rest() -> None:
    [imp] = import_file(FIXTURES / "critic-chat.json")
    assert messages(imp, {"criticLevel": "seasoned", "movie": "Heat"}) == [
        {"role": "system", "content": "You are a seasoned film critic."},
        {"role": "user", "content": "Do you like Heat?"}]
    assert imp.model == "anthropic:claude-3-5-haiku"
    assert imp.params == {"max_tokens": 100}
    assert imp.labels == ["production"]
    assert any(d.what == "versions" and "(1)" in d.why for d in imp.dropped)


def test_placeholder_is_listed_as_dropped(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "critic-chat.json").read_text())[0]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(data))
    [imp] = import_file(path)
    assert [m["role"] for m in messages(imp, {"criticLevel": "a", "movie": "b"})] == [
        "system", "user"]
    assert any("placeholder 'history'" in d.why for d in imp.dropped)


@pytest.mark.parametrize("fixture", ["movie-critic.json", "critic-chat.json"])
def test_round_trip(tmp_path: Path, fixture: str) -> None:
    first, second = round_trip(FIXTURES / fixture, "langfuse", tmp_path)
    values = {"criticLevel": "casual", "movie": "Alien"}
    assert messages(second, values) == messages(first, values)
    assert (second.model, second.params, second.labels, second.tags) == (
        first.model, first.params, first.labels, first.tags)


def test_promptwork_chat_exports_as_langfuse_chat(tmp_path: Path) -> None:
    text = ("---\nname: helper\ndescription: helps\nmodel: openai:gpt-4o-mini\n"
            "params: {temperature: 0.2, max_tokens: 50}\n---\nsystem:\nYou help {{ who }}.\n\n"
            "user:\n{{ question }}\n")
    source, back = from_promptwork(text, "langfuse", tmp_path)
    exported = export_prompt(source, "langfuse", ["production"])
    obj = json.loads(next(iter(exported.files.values())))
    assert obj["type"] == "chat" and obj["labels"] == ["production"]
    assert obj["prompt"][0] == {"role": "system", "content": "You help {{who}}."}
    assert obj["config"] == {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 50}
    assert [d.what for d in exported.dropped] == ["description"]
    values = {"who": "Ada", "question": "Why?"}
    assert messages(back, values) == load_prompt(str(source)).render(values).to_list()


def test_export_refuses_logic_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.prompt"
    path.write_text("---\nname: x\n---\nHi\n{% if a %}A{% endif %}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        export_prompt(path, "langfuse")
    assert "an if tag" in info.value.message and info.value.line == 5


def test_bad_variable_and_prompt_reference_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "n", "prompt": "Hi {{first name}}"}, indent=2))
    with pytest.raises(ConfigError, match="not a plain name") as info:
        import_file(path)
    assert info.value.line == 3
    path.write_text(json.dumps({"name": "n", "prompt": "@@@langfusePrompt:name=base@@@"}))
    with pytest.raises(ConfigError, match="prompt reference"):
        import_file(path)
