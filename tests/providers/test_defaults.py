"""promptfoo's default-grader rule: a vendor key picks that vendor's grading model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import promptwork as pw
from fakeserver import FakeServer
from promptwork.calls import CallPolicy
from promptwork.grading import GRADER_PARAMS, GraderPool
from promptwork.providers.defaults import default_grader
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.runner import RunConfig

KEY = "sk-test-Abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, DEFAULT_MODEL),
    ({"OPENAI_API_KEY": KEY}, "openai:gpt-5"),
    # OpenAI wins over every other vendor, as in promptfoo.
    ({"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"}, "openai:gpt-5"),
    ({"ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"},
     "anthropic:messages:claude-sonnet-4-5-20250929"),
    ({"GOOGLE_API_KEY": "g", "MISTRAL_API_KEY": "m"}, "google:gemini-2.5-pro"),
    ({"MISTRAL_API_KEY": "m", "GITHUB_TOKEN": "t"}, "mistral:mistral-large-latest"),
    ({"GITHUB_TOKEN": "t"}, "github:openai/gpt-5"),
    # Azure needs its key and both deployment variables; it then wins over Anthropic.
    ({"AZURE_API_KEY": "z", "AZURE_DEPLOYMENT_NAME": "d", "AZURE_OPENAI_DEPLOYMENT_NAME": "gpt4o",
      "ANTHROPIC_API_KEY": "a"}, "azure:chat:gpt4o"),
    ({"AZURE_API_KEY": "z", "AZURE_OPENAI_DEPLOYMENT_NAME": "gpt4o"}, DEFAULT_MODEL),
])
def test_the_first_vendor_key_in_promptfoos_order_picks_the_grader(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    grader = default_grader({**env, "PROMPTWORK_CONFIG": str(tmp_path / "none.toml")})
    assert grader.id == expected
    assert ("no vendor key" in grader.reason) == (expected == DEFAULT_MODEL)
    assert grader.describe() == {"id": expected, "reason": grader.reason}


def test_keys_in_the_user_config_file_count_and_palm_names_its_variable(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nPALM_API_KEY = "p"\n')
    config.chmod(0o600)
    grader = default_grader({"PROMPTWORK_CONFIG": str(config)})
    assert grader.id == "google:gemini-2.5-pro"
    assert grader.config == {"api_key_env": "PALM_API_KEY"}
    assert grader.reason == "PALM_API_KEY is set"
    # Gemini 2.5 Pro thinks before answering: no small token limit on its grading calls.
    assert grader.params.max_tokens is None and grader.params.temperature == 0


def test_reasoning_defaults_drop_parameters_they_reject(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": KEY, "PROMPTWORK_CONFIG": str(tmp_path / "none.toml")}
    assert default_grader(env).params.given() == {}
    assert default_grader({"PROMPTWORK_CONFIG": env["PROMPTWORK_CONFIG"]}).params == GRADER_PARAMS


def test_the_pool_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GraderPool(None, CallPolicy()).default.id == DEFAULT_MODEL
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    assert GraderPool(None, CallPolicy()).default.id.startswith("anthropic:")


SUITE = """\
prompts: ["Answer: {{ q }}"]
providers: [echo]
defaultTest:
  assert:
    - type: llm-rubric
      value: names the capital of France
tests:
  - vars: {q: Paris}
"""


@pytest.mark.server
def test_an_openai_key_sends_ungraded_rubrics_to_openai_and_the_run_says_so(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    fake_server.answer = json.dumps({"reason": "names Paris", "pass": True, "score": 1.0})
    (tmp_path / "promptwork.yaml").write_text(SUITE)
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False))
    [row] = list(run.rows())
    assert row["success"] is True and row["error"] is None
    [request] = fake_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["model"] == "gpt-5"
    assert "temperature" not in request.json  # gpt-5 rejects temperature 0
    assert "names the capital of France" in json.dumps(request.json["messages"])
    assert run.record.settings["default_grader"] == {
        "id": "openai:gpt-5", "reason": "OPENAI_API_KEY is set"}


def test_without_keys_the_run_records_the_embedded_grader(tmp_path: Path) -> None:
    (tmp_path / "promptwork.yaml").write_text(SUITE.replace("llm-rubric", "contains").replace(
        "names the capital of France", "Paris"))
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False))
    assert run.record.settings["default_grader"]["id"] == DEFAULT_MODEL
    assert "no vendor key" in run.record.settings["default_grader"]["reason"]


def test_the_test_helpers_keep_the_default_grader_off_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # evalkit gives tests a fake OpenAI key, which makes openai:gpt-5 the default grader: a test
    # with a model-graded check and no grader must then reach 127.0.0.1, never api.openai.com.
    from evalkit import clean_env, isolate_env
    from promptwork.providers.registry import create_provider

    isolate_env(monkeypatch, tmp_path)
    grader = default_grader()
    assert grader.id == "openai:gpt-5"
    url = create_provider(grader.id, grader.config).describe()["base_url"]
    assert url.startswith("http://127.0.0.1:")
    assert clean_env()["OPENAI_BASE_URL"].startswith("http://127.0.0.1:")
