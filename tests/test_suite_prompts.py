"""Prompt sources promptfoo has: globs, Python prompt functions, chat JSON built by template tags,
and multi-part content (text and image parts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import promptwork as pw
from promptwork.errors import ConfigError, TemplateError
from promptwork.promptsources import load_prompts
from promptwork.runner import RunConfig
from promptwork.suite import load_suite


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_glob_is_one_prompt_per_file_in_path_order(tmp_path: Path) -> None:
    write(tmp_path / "prompts" / "b.txt", "B {{ x }}")
    write(tmp_path / "prompts" / "a.txt", "A {{ x }}")
    write(tmp_path / "prompts" / "skip.md", "no")
    suite = load_suite(write(tmp_path / "promptfooconfig.yaml",
                             "prompts: [file://prompts/*.txt, 'C {{ x }}']\nproviders: [echo]\n"
                             "tests: [{vars: {x: 1}}]\n"))
    assert [p.index for p in suite.prompts] == [0, 1, 2]
    assert [p.label.rsplit("/", 1)[-1] for p in suite.prompts] == ["a.txt", "b.txt", "C {{ x }}"]
    with pytest.raises(ConfigError, match=r"no prompt files match .file://none/\*\.txt."):
        load_prompts("file://none/*.txt", tmp_path)


def test_a_python_prompt_function_gets_vars_and_provider(tmp_path: Path) -> None:
    write(tmp_path / "make.py", (
        "def text(context):\n"
        "    return f\"{context['vars']['x']} for {context['provider']['label']}\"\n"
        "def chat(context):\n"
        "    return [{'role': 'system', 'content': 'be brief'},\n"
        "            {'role': 'user', 'content': context['vars']['x']}]\n"
        "def bad(context):\n"
        "    return 42\n"
    ))
    path = write(tmp_path / "promptfooconfig.yaml", (
        "prompts: [file://make.py:text, file://make.py:chat, file://make.py:bad]\n"
        "providers: [{id: echo, label: mine}]\n"
        "tests: [{vars: {x: hi}}]\n"))
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    rows = {r["prompt_idx"]: r for r in run.rows()}
    assert rows[0]["output"] == "hi for mine"
    assert json.loads(rows[1]["output"]) == [{"role": "system", "content": "be brief"},
                                             {"role": "user", "content": "hi"}]
    assert rows[2]["output"] is None and "must be text or a non-empty list" in rows[2]["error"]
    with pytest.raises(ConfigError, match="name the prompt function"):
        load_prompts("file://make.py", tmp_path)
    with pytest.raises(ConfigError, match="has no function 'nope'"):
        load_prompts("file://make.py:nope", tmp_path)


def test_template_tags_in_a_json_chat_prompt(tmp_path: Path) -> None:
    write(tmp_path / "chat.json", (
        "[\n"
        "  {\"role\": \"system\", \"content\": \"You are {{ persona }}.\"}\n"
        "  {% for turn in turns %},\n"
        "  {\"role\": \"{{ turn.role }}\", \"content\": \"{{ turn.text }}\"}\n"
        "  {% endfor %}\n"
        "]\n"))
    (template,) = load_prompts("file://chat.json", tmp_path)
    prompt = template.render({"persona": "terse", "turns": [
        {"role": "user", "text": "hi"}, {"role": "assistant", "text": "yo"}]})
    assert [(m.role, m.content) for m in prompt.messages] == [
        ("system", "You are terse."), ("user", "hi"), ("assistant", "yo")]
    with pytest.raises(TemplateError, match="not valid JSON"):
        template.render({"persona": 'say "hi"', "turns": []})


def test_multi_part_content_is_read_with_its_image(tmp_path: Path) -> None:
    write(tmp_path / "vision.json", json.dumps([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,{{ image }}"}}]}]))
    (template,) = load_prompts("file://vision.json", tmp_path)
    (message,) = template.render({"image": "AAAA"}).messages
    assert message.content == "What is this?"
    assert message.images == ("data:image/png;base64,AAAA",)


def test_prefix_and_suffix_wrap_chat_prompts(tmp_path: Path) -> None:
    write(tmp_path / "c.prompt", "system:\nS\n\nuser:\nU {{ x }}\n")
    (template,) = load_prompts("file://c.prompt", tmp_path)
    prompt = template.render({"x": 1}, prefix="<", suffix=">")
    assert [m.content for m in prompt.messages] == ["<S", "U 1>"]
