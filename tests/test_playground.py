"""The playground backend: several models streamed side by side, parameters, errors as events,
saving prompts and adding test cases to suites without losing the user's file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptwork.calls import CallPolicy
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.playground import (
    AnswerDone,
    AnswerRetrying,
    AnswerStarted,
    AnswerText,
    Playground,
    PlaygroundEvent,
    params_from_form,
    variable_fields,
)
from promptwork.prompts import PromptTemplate
from promptwork.providers.base import Provider
from promptwork.providers.echo import EchoProvider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.suite import load_suite
from promptwork.types import Params, RenderedPrompt

FAST = CallPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, timeout=5.0)


def collect(playground: Playground, template: PromptTemplate, values: dict[str, Any],
            models: Sequence[str], params: Any = None) -> list[PlaygroundEvent]:
    async def go() -> list[PlaygroundEvent]:
        try:
            return [e async for e in playground.stream(template, values, models, params)]
        finally:
            await playground.aclose()
    return asyncio.run(go())


def done_of(events: list[PlaygroundEvent], model: str) -> AnswerDone:
    found = [e for e in events if isinstance(e, AnswerDone) and e.model == model]
    assert len(found) == 1, events
    return found[0]


def playground(tmp_path: Path, providers: dict[str, Provider], store: Store | None = None,
               ) -> Playground:
    return Playground(tmp_path, store, policy=FAST, providers=providers)


# -- streaming ----------------------------------------------------------------------------------


def test_answers_stream_side_by_side_in_order(tmp_path: Path) -> None:
    a = ScriptedProvider(["alpha beta gamma delta"], id="scripted:a")
    b = ScriptedProvider(["one two three four five"], id="scripted:b")
    pg = playground(tmp_path, {"scripted:a": a, "scripted:b": b, "echo": EchoProvider("echo")})
    template = pg.parse("Say something to {{ name }}.")
    events = collect(pg, template, {"name": "Ada"}, ["scripted:a", "scripted:b", "echo"])
    for column, model in enumerate(["scripted:a", "scripted:b", "echo"]):
        mine = [e for e in events if e.model == model]
        assert isinstance(mine[0], AnswerStarted) and isinstance(mine[-1], AnswerDone)
        assert all(isinstance(e, AnswerText) for e in mine[1:-1])
        assert {e.column for e in mine} == {column}
        pieces = "".join(e.text for e in mine if isinstance(e, AnswerText))
        assert pieces == mine[-1].text and mine[-1].error is None
    assert done_of(events, "scripted:a").text == "alpha beta gamma delta"
    assert len([e for e in events if isinstance(e, AnswerText) and e.model == "scripted:b"]) == 5
    assert done_of(events, "echo").text == "Say something to Ada."
    # side by side: b's pieces arrive while a is still streaming
    order = [e.model for e in events if isinstance(e, AnswerText)]
    a_span = range(order.index("scripted:a"), len(order) - order[::-1].index("scripted:a"))
    assert any(order[i] == "scripted:b" for i in a_span)


def test_tokens_latency_and_cost_reach_the_final_event(tmp_path: Path) -> None:
    pg = playground(tmp_path, {"scripted": ScriptedProvider(["four words of answer"])})
    events = collect(pg, pg.parse("Q: {{ q }}"), {"q": "why"}, ["scripted"])
    done = done_of(events, "scripted")
    assert (done.prompt_tokens, done.completion_tokens) == (2, 4)
    assert done.latency_ms is not None and done.latency_ms >= 0 and done.cost == 0.0
    assert done.finish_reason == "stop" and done.to_dict()["type"] == "done"
    assert json.loads(json.dumps(done.to_dict()))["text"] == "four words of answer"


def test_playground_params_reach_the_provider_over_the_prompts(tmp_path: Path) -> None:
    scripted = ScriptedProvider(["a b c d e f g h i j"])
    pg = playground(tmp_path, {"scripted": scripted})
    template = pg.parse("---\nparams: {temperature: 0.9, top_p: 0.5}\n---\nHi {{ x }}\n")
    form = {"temperature": "0.25", "max_tokens": "3", "seed": "7", "stop": "END\nSTOP\n",
            "frequency_penalty": "0.5", "presence_penalty": "-0.5", "top_p": " "}
    events = collect(pg, template, {"x": "there"}, ["scripted"], params_from_form(form))
    (_prompt, params), = scripted.calls
    assert params.temperature == 0.25 and params.top_p == 0.5  # form over the prompt's own
    assert (params.max_tokens, params.seed, params.stop) == (3, 7, ("END", "STOP"))
    assert (params.frequency_penalty, params.presence_penalty) == (0.5, -0.5)
    assert done_of(events, "scripted").text == "a b c"  # max_tokens honoured by the fake


def test_form_params_are_checked_by_name() -> None:
    assert params_from_form({"temperature": "", "max_tokens": None}) == Params()
    with pytest.raises(ParamError, match=r"max_tokens: '1\.5' is not an integer"):
        params_from_form({"max_tokens": "1.5"})
    with pytest.raises(ParamError, match="temperature"):
        params_from_form({"temperature": "9"})


def test_errors_are_events_never_exceptions(tmp_path: Path) -> None:
    denied = ScriptedProvider([ProviderError("bad key", kind="auth", status=401)], id="denied")
    ok = ScriptedProvider(["fine"], id="ok")
    pg = playground(tmp_path, {"denied": denied, "ok": ok})
    template = pg.parse("Hello {{ who }}")
    events = collect(pg, template, {"who": "x"}, ["ok", "denied", "nosuchvendor:model"])
    assert done_of(events, "ok").text == "fine"
    assert done_of(events, "denied").error_kind == "auth"
    assert "bad key" in (done_of(events, "denied").error or "")
    unknown = done_of(events, "nosuchvendor:model")
    assert unknown.error_kind == "config" and "nosuchvendor" in (unknown.error or "")
    # before any call: a missing variable, a parameter the model cannot take, bad params
    events = collect(pg, template, {}, ["ok"])
    assert "who" in (done_of(events, "ok").error or "")
    events = collect(pg, template, {"who": "x"}, ["ok"], {"top_k": 5})
    assert "top_k" in (done_of(events, "ok").error or "")
    events = collect(pg, template, {"who": "x"}, ["ok"], {"temprature": 1})
    assert "temprature" in (done_of(events, "ok").error or "")
    assert len(ok.calls) == 1  # none of those reached the model


def test_a_provider_bug_is_the_models_error_event(tmp_path: Path) -> None:
    def crash(prompt: RenderedPrompt, params: Params) -> str:
        raise RuntimeError("boom")
    pg = playground(tmp_path, {"buggy": ScriptedProvider(crash, id="buggy"),
                               "ok": ScriptedProvider(["yes"], id="ok")})
    events = collect(pg, pg.parse("x"), {}, ["buggy", "ok"])
    assert "RuntimeError: boom" in (done_of(events, "buggy").error or "")
    assert done_of(events, "ok").text == "yes"


def test_a_retried_call_says_so_and_streams_anew(tmp_path: Path) -> None:
    answers: list[str | ProviderError] = [ProviderError("busy", kind="server", status=503),
                                          "second try"]
    flaky = ScriptedProvider(answers, id="flaky")
    pg = playground(tmp_path, {"flaky": flaky})
    events = collect(pg, pg.parse("x"), {}, ["flaky"])
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["AnswerStarted", "AnswerRetrying", "AnswerText", "AnswerText", "AnswerDone"]
    retry = next(e for e in events if isinstance(e, AnswerRetrying))
    assert retry.attempt == 1 and "busy" in retry.error
    assert done_of(events, "flaky").text == "second try" and len(flaky.calls) == 2


def test_answers_go_through_the_cache(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    scripted = ScriptedProvider(["cached answer"])
    template = Playground(tmp_path).parse("Q {{ q }}")
    first = collect(playground(tmp_path, {"scripted": scripted}, store), template, {"q": "1"},
                    ["scripted"])
    second = collect(playground(tmp_path, {"scripted": scripted}, store), template, {"q": "1"},
                     ["scripted"])
    assert not done_of(first, "scripted").cached and done_of(second, "scripted").cached
    assert done_of(second, "scripted").text == "cached answer" and len(scripted.calls) == 1
    store.close()


def test_leaving_the_stream_early_cancels_the_calls(tmp_path: Path) -> None:
    slow = ScriptedProvider(["late"], id="slow", delay=30)
    pg = playground(tmp_path, {"slow": slow, "fast": ScriptedProvider(["now"], id="fast")})

    async def go() -> list[PlaygroundEvent]:
        seen: list[PlaygroundEvent] = []
        stream = pg.stream(pg.parse("x"), {}, ["slow", "fast"])
        async for event in stream:
            seen.append(event)
            if isinstance(event, AnswerDone):
                break
        await asyncio.wait_for(stream.aclose(), 2)  # the slow call does not hold it up
        return seen

    seen = asyncio.run(go())
    assert [e.model for e in seen if isinstance(e, AnswerDone)] == ["fast"]


# -- the form's fields --------------------------------------------------------------------------


def test_variable_fields_list_declared_inputs_then_the_others(tmp_path: Path) -> None:
    text = ("---\ninputs:\n  tone: {type: string, default: warm, description: How}\n"
            "  count: {type: integer}\n---\nsystem:\nBe {{ tone }} for {{ brand }}.\n\n"
            "user:\n{{ count }} {{ question }}{% if extra is defined %}{{ extra }}{% endif %}\n")
    fields = variable_fields(Playground(tmp_path).parse(text))
    assert [f.name for f in fields] == ["tone", "count", "brand", "extra", "question"]
    tone, count = fields[0], fields[1]
    assert (tone.type, tone.default, tone.description, tone.required) == (
        "string", "warm", "How", False)
    assert count.type == "integer" and count.required and count.declared
    assert not next(f for f in fields if f.name == "extra").required
    assert next(f for f in fields if f.name == "brand").required


def test_typed_text_values_are_read_as_their_type(tmp_path: Path) -> None:
    pg = playground(tmp_path, {"echo": EchoProvider("echo")})
    template = pg.parse("---\ninputs:\n  n: {type: integer}\n---\n{{ n + 1 }}\n")
    assert done_of(collect(pg, template, {"n": "41"}, ["echo"]), "echo").text == "42"


# -- files --------------------------------------------------------------------------------------


def test_save_prompt_writes_the_file_and_records_the_version(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    pg = Playground(tmp_path, store)
    text = "---\nname: greet\n---\nHello {{ name }}\n"
    saved = pg.save_prompt("prompts/greet.prompt", text)
    assert saved.changed and saved.path == tmp_path / "prompts" / "greet.prompt"
    assert saved.path.read_text(encoding="utf-8") == text
    assert store.prompt_text(saved.content_hash) == text
    assert pg.open("prompts/greet.prompt").content_hash == saved.content_hash
    again = pg.save_prompt("prompts/greet.prompt", text)  # same text: nothing to do
    assert not again.changed and again.content_hash == saved.content_hash
    store.close()


def test_save_prompt_never_loses_the_users_file(tmp_path: Path) -> None:
    pg = Playground(tmp_path)
    path = tmp_path / "p.prompt"
    path.write_text("original {{ x }}\n", encoding="utf-8")
    opened_hash = pg.open("p.prompt").content_hash
    with pytest.raises(ConfigError, match="exists"):
        pg.save_prompt("p.prompt", "edited {{ x }}\n")
    with pytest.raises(ConfigError, match=r"p\.prompt:2"):  # a broken edit is not written
        pg.save_prompt("p.prompt", "ok\n{% if %}\n", overwrite=True)
    path.write_text("changed elsewhere {{ x }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="changed on disk"):
        pg.save_prompt("p.prompt", "edited {{ x }}\n", overwrite=True, expected_hash=opened_hash)
    assert path.read_text(encoding="utf-8") == "changed elsewhere {{ x }}\n"
    current = pg.open("p.prompt").content_hash
    saved = pg.save_prompt("p.prompt", "edited {{ x }}\n", overwrite=True,
                           expected_hash=current)
    assert saved.changed and path.read_text(encoding="utf-8") == "edited {{ x }}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.prompt"]  # no temporary file left


def test_files_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (tmp_path / "secret.prompt").write_text("s", encoding="utf-8")
    pg = Playground(root)
    for bad in ("../secret.prompt", str(tmp_path / "secret.prompt"), "file://../secret.prompt"):
        with pytest.raises(ConfigError, match="outside"):
            pg.open(bad)
        with pytest.raises(ConfigError, match="outside"):
            pg.save_prompt(bad, "x")
    with pytest.raises(ConfigError, match="expected a file ending in"):
        pg.save_prompt("run.sh", "x")
    assert (tmp_path / "secret.prompt").read_text(encoding="utf-8") == "s"


BLOCK_SUITE = """\
# Support replies: keep this comment
description: Support
prompts: ["Reply to {{ customer }} about {{ issue }}"]
providers: [echo]   # the fake
tests:
  - vars: {customer: Ada, issue: kettle}   # first
  - description: second one
    vars:
      customer: Bob
      issue: |
        lid
        broken

  # a commented-out test stays where it is
  # - vars: {customer: Eve}
defaultTest:
  assert:
    - {type: icontains, value: "{{ customer }}"}
"""


def vars_of(suite_path: Path) -> list[dict[str, Any]]:
    return [dict(t.vars) for t in load_suite(suite_path).tests]


def test_add_test_appends_to_a_block_list_keeping_the_file(tmp_path: Path) -> None:
    suite = tmp_path / "promptwork.yaml"
    suite.write_text(BLOCK_SUITE, encoding="utf-8")
    pg = Playground(tmp_path)
    added = pg.add_test("promptwork.yaml", {"customer": "Cy", "issue": "two\nlines"}, "from ui")
    text = suite.read_text(encoding="utf-8")
    # the user's lines, in their order, the new test after the last one
    assert text.startswith(BLOCK_SUITE[:BLOCK_SUITE.index("\n\n  # a commented-out") + 1])
    assert text.endswith(BLOCK_SUITE[BLOCK_SUITE.index("\n  # a commented-out"):])
    assert vars_of(suite)[-1] == {"customer": "Cy", "issue": "two\nlines"}
    assert len(vars_of(suite)) == 3 and added.count == 3
    assert text.splitlines()[added.line - 1] == "  - description: from ui"
    assert yaml.safe_load(text)["tests"][2]["description"] == "from ui"


@pytest.mark.parametrize("tests", ["[]", "[{vars: {customer: Ada, issue: x}}]",
                                   "[\n    {vars: {customer: Ada, issue: x}},\n  ]"])
def test_add_test_appends_to_a_flow_list(tmp_path: Path, tests: str) -> None:
    suite = tmp_path / "promptwork.yaml"
    head = 'prompts: ["{{ customer }} {{ issue }}"]\nproviders: [echo]\n'
    suite.write_text(f"{head}tests: {tests}\n# end\n", encoding="utf-8")
    before = len(yaml.safe_load(suite.read_text(encoding="utf-8"))["tests"])
    Playground(tmp_path).add_test("promptwork.yaml", {"customer": "Zoë", "issue": "x"})
    text = suite.read_text(encoding="utf-8")
    assert text.startswith(head) and text.endswith("\n# end\n")
    assert vars_of(suite)[-1] == {"customer": "Zoë", "issue": "x"}
    assert len(vars_of(suite)) == before + 1


def test_add_test_to_a_json_suite_keeps_it_json(tmp_path: Path) -> None:
    suite = tmp_path / "promptfooconfig.json"
    data = {"prompts": ["{{ q }}"], "providers": ["echo"], "tests": [{"vars": {"q": "a"}}]}
    suite.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    Playground(tmp_path).add_test("promptfooconfig.json", {"q": "b"})
    assert json.loads(suite.read_text(encoding="utf-8"))["tests"] == [
        {"vars": {"q": "a"}}, {"vars": {"q": "b"}}]


def test_add_test_appends_a_csv_row_or_a_jsonl_line(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text("q,__expected\n\"a, b\",contains:a", encoding="utf-8")
    (tmp_path / "s1.yaml").write_text(
        "prompts: ['{{ q }}']\nproviders: [echo]\ntests: file://cases.csv\n", encoding="utf-8")
    pg = Playground(tmp_path)
    added = pg.add_test("s1.yaml", {"q": "new, \"quoted\""})
    assert added.path == tmp_path / "cases.csv" and added.line == 3
    assert vars_of(tmp_path / "s1.yaml") == [{"q": "a, b"}, {"q": 'new, "quoted"'}]
    with pytest.raises(ConfigError, match="no column for 'other'"):
        pg.add_test("s1.yaml", {"q": "x", "other": "y"})
    (tmp_path / "cases.jsonl").write_text('{"q": "a"}', encoding="utf-8")
    (tmp_path / "s2.yaml").write_text(
        "prompts: ['{{ q }}']\nproviders: [echo]\ntests: cases.jsonl\n", encoding="utf-8")
    pg.add_test("s2.yaml", {"q": "b"})
    assert vars_of(tmp_path / "s2.yaml") == [{"q": "a"}, {"q": "b"}]


def test_add_test_refuses_clearly_what_it_cannot_edit(tmp_path: Path) -> None:
    text = "prompts: ['{{ q }}']\nproviders: [echo]\ntests: file://data/*.csv\n"
    (tmp_path / "promptwork.yaml").write_text(text, encoding="utf-8")
    pg = Playground(tmp_path)
    with pytest.raises(ConfigError, match=r"promptwork\.yaml:3: .*several files"):
        pg.add_test("promptwork.yaml", {"q": "x"})
    assert (tmp_path / "promptwork.yaml").read_text(encoding="utf-8") == text
    with pytest.raises(ConfigError, match="outside"):
        pg.add_test("../elsewhere.yaml", {"q": "x"})


@pytest.mark.embedded
def test_the_embedded_model_streams_a_short_answer(tmp_path: Path) -> None:
    pg = Playground(tmp_path, policy=FAST)
    template = pg.parse("user:\nName one colour.\n")
    events = collect(pg, template, {}, ["local:smollm2"], {"max_tokens": 8, "temperature": 0})
    done = done_of(events, "local:smollm2")
    pieces = [e.text for e in events if isinstance(e, AnswerText)]
    assert done.error is None, done.error
    assert pieces and "".join(pieces) == done.text and done.text.strip()
    assert done.completion_tokens is not None and 1 <= done.completion_tokens <= 8
    assert done.prompt_tokens and done.latency_ms and done.cost == 0.0
