"""promptfoo's ``env:`` key: variables set for the suite's run only, keys never stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalkit import isolate_env, write_suite
from fakeserver import FakeServer
from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.runner import RunConfig
from promptwork.suite import load_suite
from promptwork.suiteenv import applied, parse_env

KEY = "sk-suite-env-key-0123456789abcdef"


def test_env_sets_the_provider_endpoint_and_key_for_the_run_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_server: FakeServer
) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    path = write_suite(tmp_path, {
        "env": {"OPENAI_BASE_URL": fake_server.base_url, "OPENAI_API_KEY": KEY},
        "prompts": ["Say {{ word }}"],
        "providers": ["openai:chat:fake-model"],
        "tests": [{"vars": {"word": "hi"}}],
    })
    run = evaluate(path, config=RunConfig(use_cache=False))
    [row] = run.rows()
    assert row["error"] is None and row["output"] == fake_server.answer
    [request] = fake_server.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "OPENAI_API_KEY" not in os.environ and "OPENAI_BASE_URL" not in os.environ
    for file in (tmp_path / ".promptwork").rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


def test_applied_restores_what_was_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_KEEP", "before")
    monkeypatch.delenv("PW_NEW", raising=False)
    with applied({"PW_KEEP": "during", "PW_NEW": "x"}):
        assert os.environ["PW_KEEP"] == "during" and os.environ["PW_NEW"] == "x"
    assert os.environ["PW_KEEP"] == "before" and "PW_NEW" not in os.environ


def test_env_values_are_text_and_bad_ones_are_refused_with_their_line(tmp_path: Path) -> None:
    assert parse_env({"A": 1, "B": True, "C": "x", "D": None}) == {
        "A": "1", "B": "true", "C": "x"}
    (tmp_path / "promptwork.yaml").write_text(
        "prompts: [hi]\nproviders: [echo]\ntests: [{vars: {}}]\nenv:\n  A: [1, 2]\n")
    with pytest.raises(ConfigError) as info:
        load_suite(tmp_path)
    assert "promptwork.yaml:4" in str(info.value) and "'env': A" in str(info.value)
