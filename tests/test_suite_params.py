"""Generation parameters in a suite: provider ``config`` (promptfoo's form), the prompt file's
front matter, a prompt entry's ``config`` and ``-p``, merged in that order, checked before any
call, recorded per cell and part of the cache key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalkit import fake_provider, isolate_env, write_suite
from fakeserver import FakeServer
from promptwork.errors import ConfigError, ParamError
from promptwork.evaluation import EvalRun, evaluate
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig
from promptwork.store import Store
from promptwork.suite import load_suite
from promptwork.types import Params


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def _run(tmp_path: Path, suite: dict[str, Any], provider: ScriptedProvider,
         config: RunConfig | None = None) -> EvalRun:
    path = write_suite(tmp_path, suite)
    return evaluate(path, providers={0: provider}, config=config or RunConfig(use_cache=False))


def _layered_suite(tmp_path: Path, entry_config: dict[str, Any] | None) -> dict[str, Any]:
    (tmp_path / "p.prompt").write_text(
        "---\nparams: {max_tokens: 20, top_p: 0.6, seed: 2}\n---\nHi {{ i }}\n")
    prompt: dict[str, Any] = {"id": "file://p.prompt", "label": "p"}
    if entry_config is not None:
        prompt["config"] = entry_config
    return {
        "prompts": [prompt],
        "providers": [{"id": "scripted", "config": {
            "responses": ["ok"], "temperature": 0.1, "maxTokens": 10, "topP": 0.5, "seed": 1}}],
        "tests": [{"vars": {"i": 1}}],
    }


@pytest.mark.parametrize(("entry_config", "cli", "expected"), [
    # provider config only where nothing else sets a parameter
    (None, None, {"temperature": 0.1, "max_tokens": 20, "top_p": 0.6, "seed": 2}),
    # the prompt entry's config over the file's front matter
    ({"topP": 0.7, "seed": 3}, None,
     {"temperature": 0.1, "max_tokens": 20, "top_p": 0.7, "seed": 3}),
    # -p over everything
    ({"topP": 0.7, "seed": 3}, {"seed": 4},
     {"temperature": 0.1, "max_tokens": 20, "top_p": 0.7, "seed": 4}),
    ({"topP": 0.7}, {"temperature": 0.9, "max_tokens": 3},
     {"temperature": 0.9, "max_tokens": 3, "top_p": 0.7, "seed": 2}),
])
def test_each_level_overrides_the_one_below(
    tmp_path: Path, entry_config: dict[str, Any] | None, cli: dict[str, Any] | None,
    expected: dict[str, Any],
) -> None:
    model = ScriptedProvider(["ok"], id="scripted")
    config = RunConfig(use_cache=False, params=Params.parse(cli) if cli else None)
    run = _run(tmp_path, _layered_suite(tmp_path, entry_config), model, config)
    assert [params.given() for _, params in model.calls] == [expected]
    assert [row["params"] for row in run.rows()] == [expected]  # stored with the cell
    assert run.record.settings["params"] == [
        {"prompt": "p", "provider": "scripted", "params": expected}]


def test_provider_config_without_prompt_params_is_what_the_call_gets(tmp_path: Path) -> None:
    model = ScriptedProvider(["ok"], id="scripted")
    suite = {"prompts": ["Say {{ i }}"],
             "providers": [{"id": "scripted", "config": {"temperature": 0, "max_tokens": 8}}],
             "tests": [{"vars": {"i": 1}}, {"vars": {"i": 2}}]}
    run = _run(tmp_path, suite, model)
    assert [p.given() for _, p in model.calls] == [{"temperature": 0.0, "max_tokens": 8}] * 2
    assert all(row["params"] == {"temperature": 0.0, "max_tokens": 8} for row in run.rows())


def test_an_unsupported_parameter_is_refused_by_name_before_any_call(tmp_path: Path) -> None:
    model = ScriptedProvider(["ok"], id="scripted")
    suite = {"prompts": ["Say {{ i }}"],
             "providers": [{"id": "scripted", "config": {"topK": 5}}],
             "tests": [{"vars": {"i": 1}}]}
    with pytest.raises(ParamError) as info:
        _run(tmp_path, suite, model)
    assert "top_k" in str(info.value) and "scripted" in str(info.value)
    assert model.calls == []
    assert Store.for_folder(tmp_path).list_runs() == []


def test_a_bad_generation_value_points_at_its_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, {
        "prompts": [{"raw": "Hi", "config": {"temperature": 0}}],
        "providers": [{"id": "echo", "config": {"temperature": 0, "maxTokens": -1}}],
        "tests": [{"vars": {}}]})
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    lines = path.read_text().splitlines()
    assert info.value.line is not None and "maxTokens" in lines[info.value.line - 1]
    assert "max_tokens" in info.value.message


def test_a_connection_key_in_a_prompt_config_is_refused(tmp_path: Path) -> None:
    path = write_suite(tmp_path, {
        "prompts": [{"raw": "Hi", "config": {"base_url": "http://127.0.0.1:9"}}],
        "providers": ["echo"], "tests": [{"vars": {}}]})
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert "base_url" in info.value.message and "not a generation parameter" in info.value.message


def test_the_params_are_part_of_the_cache_key(tmp_path: Path) -> None:
    suite = {"prompts": ["Say {{ i }}"],
             "providers": [{"id": "scripted", "config": {"temperature": 0}}],
             "tests": [{"vars": {"i": 1}}]}

    def cached(params: dict[str, Any] | None) -> list[bool]:
        model = ScriptedProvider(["ok"], id="scripted")
        config = RunConfig(params=Params.parse(params) if params else None)
        return [row["cached"] for row in _run(tmp_path, suite, model, config).rows()]

    assert cached(None) == [False]
    assert cached(None) == [True]  # same effective params: served from the cache
    assert cached({"temperature": 0.5}) == [False]  # other params: a new call
    assert cached({"temperature": 0}) == [True]  # -p equal to the config: same key


def test_an_openai_provider_sends_promptfoos_config_keys(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    provider = fake_provider(fake_server.base_url, temperature=0, maxTokens=8, seed=3,
                             stop=["END"], response_format={"type": "json_object"},
                             tools=[tool], tool_choice="auto", presencePenalty=0.5)
    path = write_suite(tmp_path, {"prompts": ["Say {{ i }}"], "providers": [provider],
                                  "tests": [{"vars": {"i": 1}}]})
    run = evaluate(path, config=RunConfig(use_cache=False))
    [request] = [r.json for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert request["temperature"] == 0 and request["max_tokens"] == 8
    assert request["seed"] == 3 and request["stop"] == ["END"]
    assert request["presence_penalty"] == 0.5
    assert request["response_format"] == {"type": "json_object"}
    assert request["tools"] == [tool] and request["tool_choice"] == "auto"
    assert [row["error"] for row in run.rows()] == [None]


def test_an_openai_provider_refuses_top_k_before_any_request(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    path = write_suite(tmp_path, {
        "prompts": ["Say {{ i }}"],
        "providers": [fake_provider(fake_server.base_url, temperature=0, top_k=5)],
        "tests": [{"vars": {"i": 1}}]})
    with pytest.raises(ParamError) as info:
        evaluate(path, config=RunConfig(use_cache=False))
    assert "top_k" in str(info.value)
    assert fake_server.requests == []


def test_eval_p_overrides_the_suite_on_the_command_line(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from promptwork.cli.main import main

    write_suite(tmp_path, {
        "prompts": [{"raw": "Say {{ i }}", "config": {"temperature": 0.2}}],
        "providers": [fake_provider(fake_server.base_url, temperature=0, max_tokens=8)],
        "tests": [{"vars": {"i": 1}}]})
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--no-progress", "--no-cache", "-p", "temperature=0.7",
                 "-p", "maxTokens=4"]) == 0, capsys.readouterr().err
    [request] = [r.json for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert request["temperature"] == 0.7 and request["max_tokens"] == 4
    assert main(["eval", "--no-progress", "-p", "base_url=http://127.0.0.1:9"]) == 2
    assert "not a generation parameter" in capsys.readouterr().err
    assert len(fake_server.requests) == 1
