"""Prompt sources: inline text, file:// text and chat JSON, .prompt files with front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError, MissingVariableError, TemplateError
from promptwork.prompts import META_KEYS, InputSpec, PromptTemplate, load_prompt
from promptwork.templates import RenderLimits, TemplateEngine
from promptwork.types import Message, RenderedPrompt


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(source: str, base: Path | None = None, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_prompt(source, base, **kwargs)  # type: ignore[arg-type]
    return info.value


FULL = """\
---
name: reply
description: Answer a customer
model: local:smollm2
params: {temperature: 0.2, max_tokens: 120, stop: END}
mode: chat
inputs:
  customer: {type: string, description: Customer's first name}
  tone: {type: string, default: warm}
  count: {type: integer, default: 2}
output_schema: {type: object, required: [answer]}
tags: [support, v1]
---

system:
You answer for {{ brand }} in a {{ tone }} tone.

user:
{{ customer }} asks: {{ question }}

assistant:
Sure,
"""


# --- inline -------------------------------------------------------------------------------


def test_inline_prompt() -> None:
    prompt = load_prompt("Translate to French: {{ text }}")
    assert prompt.plain
    assert prompt.path is None
    assert prompt.label == "Translate to French: {{ text }}"
    assert prompt.variables == {"text"}
    rendered = prompt.render({"text": "cat"})
    assert rendered == RenderedPrompt((Message("user", "Translate to French: cat"),), plain=True)
    assert rendered.as_text() == "Translate to French: cat"


def test_inline_label_is_shortened_to_one_line() -> None:
    prompt = load_prompt("word " * 40 + "\nsecond line")
    assert len(prompt.label) == 60
    assert prompt.label.endswith("...")
    assert "\n" not in prompt.label


def test_inline_text_that_looks_like_a_file_name(tmp_path: Path) -> None:
    # Not a file in base_dir: inline text; a huge "name" must not crash the path check.
    assert load_prompt("Summarize notes.txt", tmp_path).render().as_text() == "Summarize notes.txt"
    long = "Please read " + "very " * 100 + "carefully notes.txt"
    assert load_prompt(long, tmp_path).render().as_text() == long
    assert load_prompt("a\x00b.txt", tmp_path).render().as_text() == "a\x00b.txt"


def test_inline_syntax_error_has_line() -> None:
    with pytest.raises(TemplateError) as info:
        load_prompt("ok\n{{ broken")
    assert info.value.line == 2
    assert info.value.path is None


# --- file:// text ---------------------------------------------------------------------------


def test_text_file_strips_one_trailing_newline(tmp_path: Path) -> None:
    write(tmp_path, "p.txt", "Hello {{ name }}\n\n")
    prompt = load_prompt("file://p.txt", tmp_path)
    assert prompt.plain
    assert prompt.path == str((tmp_path / "p.txt").resolve())
    assert prompt.label == prompt.path
    rendered = prompt.render({"name": "Ada"})
    assert rendered.plain
    assert rendered.as_text() == "Hello Ada\n"
    assert prompt.raw == "Hello {{ name }}\n\n"


def test_text_file_without_trailing_newline_and_markdown(tmp_path: Path) -> None:
    write(tmp_path, "p.md", "# {{ title }}")
    assert load_prompt("file://p.md", tmp_path).render({"title": "T"}).as_text() == "# T"


def test_text_file_with_bom_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"\xef\xbb\xbfline {{ n }}\r\nnext\r\n")
    assert load_prompt("file://w.txt", tmp_path).render({"n": 1}).as_text() == "line 1\nnext"


def test_bare_path_to_an_existing_file(tmp_path: Path) -> None:
    write(tmp_path, "sub/p.txt", "hi\n")
    assert load_prompt("sub/p.txt", tmp_path).path == str((tmp_path / "sub/p.txt").resolve())


def test_text_file_errors(tmp_path: Path) -> None:
    err = load_error("file://missing.txt", tmp_path)
    assert "not found" in err.message
    (tmp_path / "bad.txt").write_bytes(b"ok \xff\xfe")
    err = load_error("file://bad.txt", tmp_path)
    assert "UTF-8" in err.message
    assert err.path is not None and err.path.endswith("bad.txt")
    (tmp_path / "folder.txt").mkdir()
    err = load_error("file://folder.txt", tmp_path)
    assert "cannot read" in err.message
    assert "names no file" in load_error("file://", tmp_path).message


def test_template_error_in_text_file_has_path_and_line(tmp_path: Path) -> None:
    write(tmp_path, "p.txt", "one\ntwo\nthree {% if %}\n")
    with pytest.raises(TemplateError) as info:
        load_prompt("file://p.txt", tmp_path)
    assert info.value.line == 3
    assert info.value.path is not None and info.value.path.endswith("p.txt")


# --- file:// containment --------------------------------------------------------------------


def test_paths_outside_the_suite_folder_are_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    outside = write(tmp_path, "outside.txt", "secret {{ x }}\n")
    err = load_error("file://../outside.txt", suite)
    assert "outside the suite folder" in err.message
    err = load_error(f"file://{outside}", suite)
    assert "outside the suite folder" in err.message
    err = load_error("../outside.txt", suite)
    assert "outside the suite folder" in err.message
    prompt = load_prompt("file://../outside.txt", suite, allow_outside=True)
    assert prompt.render({"x": 1}).as_text() == "secret 1"


def test_symlink_leaving_the_suite_folder_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    target = write(tmp_path, "elsewhere.txt", "x")
    (suite / "link.txt").symlink_to(target)
    assert "outside" in load_error("file://link.txt", suite).message


def test_paths_inside_the_suite_folder_are_fine(tmp_path: Path) -> None:
    write(tmp_path, "prompts/a.txt", "A")
    assert load_prompt("file://prompts/../prompts/a.txt", tmp_path).render().as_text() == "A"
    assert load_prompt(f"file://{tmp_path / 'prompts/a.txt'}", tmp_path).raw == "A"


# --- chat JSON ------------------------------------------------------------------------------


CHAT = (
    "[\n"
    '  {"role": "system", "content": "Be {{ style }}."},\n'
    '  {"role": "user",\n'
    '   "content": "Q: {{ q }}\\nA:"}\n'
    "]\n"
)


def test_chat_json(tmp_path: Path) -> None:
    write(tmp_path, "c.json", CHAT)
    prompt = load_prompt("file://c.json", tmp_path)
    assert not prompt.plain
    assert prompt.variables == {"style", "q"}
    rendered = prompt.render({"style": "brief", "q": "why?"})
    assert rendered.to_list() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Q: why?\nA:"},
    ]
    assert not rendered.plain
    assert rendered.as_text() == "System: Be brief.\n\nUser: Q: why?\nA:\n\nAssistant:"


def test_chat_json_values_are_literal(tmp_path: Path) -> None:
    write(tmp_path, "c.json", CHAT)
    rendered = load_prompt("file://c.json", tmp_path).render({"style": "{{7*7}}", "q": "{% x %}"})
    assert rendered.messages[0].content == "Be {{7*7}}."
    assert rendered.messages[1].content == "Q: {% x %}\nA:"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[\n  {"role": "user", "content": "x"},\n  {"role": "bot", "content": "y"}\n]', 3,
         "role must be one of system, user, assistant, got 'bot'"),
        ('[\n  {"role": "user",\n   "content": 5}\n]', 3, "content must be a string"),
        ('[\n  {"role": "user",\n   "contnet": "x"}\n]', 3, "did you mean 'content'?"),
        ('[\n  {"content": "x"}\n]', 2, "got None"),
        ('[\n  {"role": "user", "content": "x"},\n  {"role": "user", "content": "x"\n]', 4,
         "invalid JSON"),
        ('{"role": "user", "content": "x"}', 1, "JSON list"),
        ("[]", 1, "no messages"),
        ('["just text"]', 1, "JSON list"),
    ],
)
def test_chat_json_errors(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    write(tmp_path, "c.json", text)
    err = load_error("file://c.json", tmp_path)
    assert fragment in err.message
    assert err.line == line
    assert err.path is not None and err.path.endswith("c.json")


def test_chat_json_lines_with_repeated_and_unicode_content(tmp_path: Path) -> None:
    text = (
        "[\n"
        '  {"role": "user", "content": "héllo"},\n'
        '  {"role": "assistant", "content": "héllo"},\n'
        '  {"role": "user", "content": "héllo {{ x }"}\n'
        "]\n"
    )
    write(tmp_path, "c.json", text)
    with pytest.raises(TemplateError) as info:
        load_prompt("file://c.json", tmp_path)
    assert info.value.line == 4


def test_chat_json_template_errors_point_at_the_content_line(tmp_path: Path) -> None:
    write(tmp_path, "c.json", '[\n  {"role": "system", "content": "a"},\n'
                              '  {"role": "user", "content": "line\\n{{ 1 // n }}"}\n]\n')
    prompt = load_prompt("file://c.json", tmp_path)
    with pytest.raises(TemplateError) as info:
        prompt.render({"n": 0})
    assert info.value.line == 3
    write(tmp_path, "d.json", '[\n\n  {"role": "user", "content": "a\\n{% for %}"}\n]')
    with pytest.raises(TemplateError) as syntax:
        load_prompt("file://d.json", tmp_path)
    assert syntax.value.line == 3
    assert "line 2 of the text" in syntax.value.message


# --- .prompt files --------------------------------------------------------------------------


def test_prompt_file_front_matter_and_roles(tmp_path: Path) -> None:
    write(tmp_path, "reply.prompt", FULL)
    prompt = load_prompt("file://reply.prompt", tmp_path)
    meta = prompt.meta
    assert prompt.label == "reply"
    assert meta.name == "reply"
    assert meta.description == "Answer a customer"
    assert meta.model == "local:smollm2"
    assert meta.mode == "chat"
    assert meta.tags == ["support", "v1"]
    assert meta.output_schema == {"type": "object", "required": ["answer"]}
    assert meta.inputs["customer"] == InputSpec(type="string", description="Customer's first name")
    assert meta.inputs["tone"].default == "warm"
    assert meta.inputs["count"].type == "integer"
    assert prompt.params.given() == {"temperature": 0.2, "max_tokens": 120, "stop": ["END"]}
    assert [p.role for p in prompt.parts] == ["system", "user", "assistant"]
    assert [p.template.first_line for p in prompt.parts] == [16, 19, 22]
    assert prompt.variables == {"brand", "tone", "customer", "question"}
    rendered = prompt.render({"brand": "Acme", "customer": "Ann", "question": "Why?"})
    assert rendered.to_list() == [
        {"role": "system", "content": "You answer for Acme in a warm tone."},
        {"role": "user", "content": "Ann asks: Why?"},
        {"role": "assistant", "content": "Sure,"},
    ]
    assert rendered.as_text() == (
        "System: You answer for Acme in a warm tone.\n\nUser: Ann asks: Why?\n\nAssistant: Sure,"
    )


def test_prompt_file_defaults_missing_and_types(tmp_path: Path) -> None:
    write(tmp_path, "reply.prompt", FULL)
    prompt = load_prompt("file://reply.prompt", tmp_path)
    assert prompt.missing({}) == ["brand", "customer", "question"]
    assert prompt.missing({"brand": 1, "customer": "a", "question": "q"}) == []
    assert prompt.with_defaults({"tone": "dry"}) == {"tone": "dry", "count": 2}
    with pytest.raises(MissingVariableError) as info:
        prompt.render({"customer": "Ann"})
    assert info.value.names == ["brand", "question"]  # every part's variables, at once
    assert info.value.line == 16
    with pytest.raises(TemplateError) as bad_type:
        prompt.render({"brand": "A", "customer": 5, "question": "q"})
    assert "'customer' should be of type string, got int" in bad_type.value.message
    assert bad_type.value.line == 8
    with pytest.raises(TemplateError) as bool_number:
        prompt.render({"brand": "A", "customer": "c", "question": "q", "count": True})
    assert "should be of type integer, got bool" in bool_number.value.message


def test_required_input_not_used_in_the_body(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\ninputs:\n  audience: {description: who}\n"
                                "  opt: {required: false}\n---\nHello\n")
    prompt = load_prompt("file://p.prompt", tmp_path)
    assert prompt.missing({}) == ["audience"]
    with pytest.raises(MissingVariableError) as info:
        prompt.render({})
    assert info.value.line == 3
    assert prompt.render({"audience": "kids"}).as_text() == "Hello"


def test_optional_variables_in_prompt_files(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "{% if ctx is defined %}{{ ctx }}: {% endif %}{{ q }}\n")
    prompt = load_prompt("file://p.prompt", tmp_path)
    assert prompt.variables == {"ctx", "q"}
    assert prompt.required_variables == {"q"}
    assert prompt.missing({"q": 1}) == []
    assert prompt.render({"q": "Q"}).as_text() == "Q"


def test_prompt_without_roles_is_one_plain_user_message(tmp_path: Path) -> None:
    write(tmp_path, "plain.prompt", "---\nmode: completion\n---\n\nQ: {{ q }}\nA:\n")
    prompt = load_prompt("file://plain.prompt", tmp_path)
    assert prompt.plain
    assert prompt.meta.mode == "completion"
    assert prompt.parts[0].template.first_line == 5
    rendered = prompt.render({"q": "2+2?"})
    assert rendered.plain
    assert rendered.messages == (Message("user", "Q: 2+2?\nA:"),)
    assert rendered.as_text() == "Q: 2+2?\nA:"


def test_prompt_without_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "system:\nBe terse.\nuser:\n{{ q }}\n")
    prompt = load_prompt("p.prompt", tmp_path)
    assert prompt.label.endswith("p.prompt")
    assert prompt.meta.name is None
    assert prompt.params.given() == {}
    assert prompt.render({"q": "hi"}).to_list() == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
    ]


def test_role_words_inside_text_are_not_role_lines(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "user:\nClassify:\nuser: hi there\nsystem prompt:\n")
    prompt = load_prompt("file://p.prompt", tmp_path)
    assert len(prompt.parts) == 1
    assert prompt.render().messages[0].content == "Classify:\nuser: hi there\nsystem prompt:"


def test_empty_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\n---\nHi\n")
    prompt = load_prompt("file://p.prompt", tmp_path)
    assert prompt.render().as_text() == "Hi"


def test_text_before_the_first_role_line(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nname: x\n---\n\nstray text\nuser:\nhi\n")
    err = load_error("file://p.prompt", tmp_path)
    assert err.line == 5
    assert "before the first role line" in err.message


@pytest.mark.parametrize(
    ("front", "line", "fragment"),
    [
        (
            "name: x\ndesciption: m\n",
            3,
            "unknown front matter key 'desciption' (did you mean 'description'?)",
        ),
        ("name: [unclosed\n", 3, "invalid YAML"),
        ("name: x\n\tmodel: m\n", 3, "tab"),
        ("name: a\nname: b\n", 3, "duplicate key 'name' (first defined on line 2)"),
        ("run: !!python/object/apply:os.system ['true']\n", 2, "unsupported YAML tag"),
        ("params:\n  tempreature: 1\n", 3, "unknown parameter 'tempreature' (did you mean"),
        ("params:\n  temperature: 0.5\n  max_tokens: -3\n", 4, "max_tokens"),
        ("params:\n  temperature: yes\n", 3, "boolean"),
        ("params: [1, 2]\n", 2, "params"),
        ("mode: chatty\n", 2, "mode"),
        ("inputs:\n  x:\n    type: strnig\n", 4, "inputs.x.type"),
        ("inputs:\n  x:\n    descripton: d\n", 4, "did you mean 'description'?"),
        ("inputs:\n  n: {type: integer, default: many}\n", 3, "not of type integer"),
        ("tags: notalist\n", 2, "tags"),
        ("- a\n- b\n", 2, "must be a mapping"),
    ],
)
def test_front_matter_errors_have_file_and_line(
    tmp_path: Path, front: str, line: int, fragment: str
) -> None:
    write(tmp_path, "bad.prompt", f"---\n{front}---\nHello\n")
    err = load_error("file://bad.prompt", tmp_path)
    assert fragment in err.message
    assert err.line == line
    assert err.path is not None and err.path.endswith("bad.prompt")


def test_unknown_param_lists_allowed_ones(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nparams: {best_of: 5}\n---\nHi\n")
    err = load_error("file://p.prompt", tmp_path)
    assert "unknown parameter 'best_of'" in err.message
    assert "allowed: temperature, top_p, max_tokens" in err.message
    assert err.line == 2


def test_unknown_front_matter_key_lists_allowed_ones(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nzzz: 1\n---\nHi\n")
    err = load_error("file://p.prompt", tmp_path)
    assert f"allowed: {', '.join(META_KEYS)}" in err.message


def test_unclosed_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nname: x\nHello {{ y }}\n")
    err = load_error("file://p.prompt", tmp_path)
    assert err.line == 1
    assert "never closed" in err.message


def test_template_syntax_error_in_body_has_file_line(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nname: x\n---\nsystem:\nok\n\nuser:\n\nfine\n{{ broken }\n")
    with pytest.raises(TemplateError) as info:
        load_prompt("file://p.prompt", tmp_path)
    assert info.value.line == 10
    assert info.value.path is not None and info.value.path.endswith("p.prompt")


def test_runtime_error_in_body_has_file_line(tmp_path: Path) -> None:
    write(tmp_path, "p.prompt", "---\nname: x\n---\nsystem:\nok\nuser:\n\n{{ 1 // n }}\n")
    prompt = load_prompt("file://p.prompt", tmp_path)
    with pytest.raises(TemplateError) as info:
        prompt.render({"n": 0})
    assert info.value.line == 8


def test_engine_limits_apply_to_prompts(tmp_path: Path) -> None:
    engine = TemplateEngine(RenderLimits(max_chars=10))
    prompt = load_prompt("{{ x }}", engine=engine)
    with pytest.raises(TemplateError) as info:
        prompt.render({"x": "y" * 11})
    assert "size limit" in info.value.message


# --- identity -------------------------------------------------------------------------------


def test_content_hash_follows_the_text(tmp_path: Path) -> None:
    path = write(tmp_path, "p.txt", "Hello {{ name }}\n")
    first = load_prompt("file://p.txt", tmp_path).content_hash
    assert first == load_prompt("file://p.txt", tmp_path).content_hash
    assert len(first) == 64
    path.write_text("Hello {{ name }}!\n", encoding="utf-8")
    assert load_prompt("file://p.txt", tmp_path).content_hash != first
    assert load_prompt("a").content_hash != load_prompt("b").content_hash


def test_prompt_template_can_be_built_directly() -> None:
    engine = TemplateEngine()
    from promptwork.prompts import _Part

    prompt = PromptTemplate("x", "raw", [_Part("user", engine.compile("{{ a }}"))])
    assert not prompt.plain
    assert prompt.render({"a": 1}).to_list() == [{"role": "user", "content": "1"}]


def test_capitalised_role_words_stay_text(tmp_path: Path) -> None:
    # Few-shot transcripts often hold "User:" lines; only lowercase role lines split messages.
    write(tmp_path, "p.prompt", "User:\nhello\nAssistant:\nhi\n")
    prompt = load_prompt("p.prompt", tmp_path)
    assert prompt.plain
    assert prompt.render({}).to_list() == [
        {"role": "user", "content": "User:\nhello\nAssistant:\nhi"}
    ]
