"""``promptwork models``: built-in local models and provider status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptwork.cli.main import cli, main
from promptwork.providers.registry import known_prefixes
from promptwork.secrets import KEY_VARS


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for names in KEY_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "absent.toml"))


def models_json() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["models", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_models_json_lists_local_models() -> None:
    local = {m["id"]: m for m in models_json()["local"]}
    assert set(local) == {"local:gemma3-270m", "local:smollm2"}
    gemma, smol = local["local:gemma3-270m"], local["local:smollm2"]
    assert gemma["default"] is True and smol["default"] is False
    assert (gemma["mode"], smol["mode"]) == ("completion", "chat")
    for model in (gemma, smol):
        assert model["status"] == "ok (sha256 verified)"
        assert Path(model["path"]).is_file()
        assert model["path"].endswith(".gguf")
        assert model["threads"] >= 1


def test_models_json_lists_providers() -> None:
    providers = {p["prefix"]: p for p in models_json()["providers"]}
    assert list(providers) == known_prefixes()
    assert {"echo", "scripted", "local", "openai", "anthropic", "google"} <= set(providers)
    assert providers["echo"]["key"] == "no key needed"
    assert providers["local"]["sdk"] == "installed"
    assert providers["openai"]["key"] == "set OPENAI_API_KEY"
    assert providers["google"]["key"] == "set GEMINI_API_KEY or GOOGLE_API_KEY"
    assert all(p["example"] for p in providers.values())


def test_models_json_reports_configured_key_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-test-0000aaaaBBBBccccDDDD"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    result = CliRunner().invoke(cli, ["models", "--json"], catch_exceptions=False)
    providers = {p["prefix"]: p for p in json.loads(result.stdout)["providers"]}
    assert providers["openai"]["key"] == "key set"
    assert key not in result.output


def test_models_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside cells
    assert main(["models"]) == 0
    out, _ = capsys.readouterr()
    assert "local:gemma3-270m (default)" in out
    assert "local:smollm2" in out
    assert "anthropic" in out and "openai" in out
    # No calibration in the tests' private cache: the rule decides, and says how to calibrate.
    assert ("local:gemma3-270m in promptwork eval: 2 workers x 1 thread (rule: no calibration; "
            "run promptwork models --calibrate)") in out or "1 process x 1 thread (rule" in out


def test_missing_sdk_shows_the_pip_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "anthropic" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["models"]) == 0
    out, _ = capsys.readouterr()
    # Printed literally: "[anthropic]" is not taken for Rich markup.
    assert "pip install 'promptwork[anthropic]'" in out
    providers = {p["prefix"]: p for p in models_json()["providers"]}
    assert providers["anthropic"]["sdk"] == "pip install 'promptwork[anthropic]'"


def test_bedrock_and_vertex_name_their_sdk_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    missing = {"boto3", "google.genai", "openai"}

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in missing else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    providers = {p["prefix"]: p for p in models_json()["providers"]}
    assert providers["bedrock"]["sdk"] == "pip install 'promptwork[bedrock]'"
    assert providers["vertex"]["sdk"] == "pip install 'promptwork[vertex]'"
    assert providers["google"]["sdk"] == "pip install 'promptwork[google]'"
    # OpenAI-compatible vendors and Azure need the OpenAI SDK.
    for prefix in ("azure", "mistral", "groq"):
        assert providers[prefix]["sdk"] == "pip install 'promptwork[openai]'", prefix
    assert providers["anthropic"]["sdk"] == "installed"
    assert providers["echo"]["sdk"] == "installed"

    missing.clear()  # with the SDKs present, each is reported installed
    providers = {p["prefix"]: p for p in models_json()["providers"]}
    assert providers["bedrock"]["sdk"] == providers["vertex"]["sdk"] == "installed"
