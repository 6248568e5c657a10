"""Nunjucks features promptfoo's prompts use, rendered in the sandbox with Nunjucks' semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import promptwork as pw
from promptwork.errors import TemplateError
from promptwork.runner import RunConfig
from promptwork.suite import load_suite
from promptwork.templates import RenderLimits, TemplateEngine


def render(text: str, **values: object) -> str:
    return TemplateEngine().compile(text).render(values)


def test_dump_is_compact_json_like_json_stringify() -> None:
    value = {"name": "Zoë", "tags": ["a", "<b>"], "n": 1.5, "ok": True, "none": None}
    out = render("{{ v | dump }}", v=value)
    assert out == '{"name":"Zoë","tags":["a","<b>"],"n":1.5,"ok":true,"none":null}'
    assert json.loads(out) == value


def test_dump_with_spaces_indents_and_the_safe_filter_is_harmless() -> None:
    out = render("{{ v | dump(2) | safe }}", v={"a": [1]})
    assert out == '{\n  "a": [\n    1\n  ]\n}'


def test_dump_of_chat_messages_builds_a_json_chat_prompt(tmp_path: Path) -> None:
    # promptfoo's chat-history examples: a JSON prompt that splices a list of messages with dump
    (tmp_path / "prompt.json").write_text(
        '[{% for m in history %}{{ m | dump }},{% endfor %}'
        '{"role": "user", "content": {{ question | dump }}}]', encoding="utf-8")
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: [file://prompt.json]\nproviders: [echo]\n"
        "tests:\n"
        "  - vars:\n"
        "      question: 'And \"now\"?'\n"
        "      history: [{role: user, content: Hi}, {role: assistant, content: Hello}]\n",
        encoding="utf-8")
    suite = load_suite(tmp_path / "promptfooconfig.yaml")
    messages = suite.prompts[0].template.render(next(iter(suite.tests)).vars).messages
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Hi"), ("assistant", "Hello"), ("user", 'And "now"?')]


def test_load_parses_json_text() -> None:
    assert render("{{ (s | load).style }} {{ (s | load).sizes[1] }}",
                  s='{"style": "terse", "sizes": [1, 2]}') == "terse 2"


def test_load_of_bad_json_is_a_template_error_naming_the_filter() -> None:
    with pytest.raises(TemplateError, match=r"'load'.*not valid JSON"):
        render("{{ s | load }}", s="{not json")


def test_for_key_value_walks_a_mapping_pairs() -> None:
    out = render("{% for k, v in m %}{{ k }}={{ v }};{% endfor %}", m={"ab": 1, "cd": 2})
    assert out == "ab=1;cd=2;"  # Jinja2 alone would unpack each key: a=b;c=d;


def test_for_two_names_over_a_list_of_pairs_still_unpacks() -> None:
    out = render("{% for a, b in xs %}{{ a }}{{ b }} {% endfor %}", xs=[[1, 2], [3, 4]])
    assert out == "12 34 "


def test_length_of_texts_and_lists_as_in_javascript() -> None:
    assert render("{{ s.length }} {{ xs.length }} {{ xs[xs.length - 1] }}",
                  s="hello", xs=[1, 2, 3]) == "5 3 3"


def test_length_is_a_key_of_a_mapping_not_its_size() -> None:
    assert render("{{ m.length }}", m={"length": "long"}) == "long"
    with pytest.raises(TemplateError):
        render("{{ m.length }}", m={"a": 1})  # JavaScript objects have no length either


def test_truncate_cuts_at_the_length_asked() -> None:
    # Jinja2 lets up to 5 extra characters through ("leeway"); Nunjucks does not
    assert render("{{ s | truncate(10, true) }}", s="abcdefghijkl") == "abcdefg..."


def test_nl2br() -> None:
    assert render("{{ s | nl2br }}", s="a\nb\r\nc") == "a<br />\nb<br />\nc"


def test_dump_output_is_size_limited() -> None:
    engine = TemplateEngine(RenderLimits(max_chars=1000))
    with pytest.raises(TemplateError, match="size limit"):
        engine.compile("{{ v | dump(10) }}").render({"v": [[1] * 50] * 20})


def test_a_suite_with_dump_and_load_runs_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: ['Style {{ (cfg | load).tone }}; data {{ row | dump }}']\n"
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {cfg: '{\"tone\": \"dry\"}', row: {k: [1, 2]}}\n"
        "    assert: [{type: equals, value: 'Style dry; data {\"k\":[1,2]}'}]\n",
        encoding="utf-8")
    run = pw.evaluate(tmp_path / "promptfooconfig.yaml", config=RunConfig(use_cache=False))
    assert run.stats() == {"successes": 1, "failures": 0, "errors": 0}
