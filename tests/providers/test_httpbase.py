"""Shared HTTP-provider helpers: Retry-After, classification, pricing, config, scrubbing."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import pytest

from promptwork.errors import ConfigError, MissingDependencyError, ProviderError
from promptwork.providers.httpbase import idle_limited, read_api_key, read_settings
from promptwork.providers.httperrors import Scrubber, classify, error_detail, parse_retry_after
from promptwork.providers.pricing import Price, cost_of, parse_price, price_of
from promptwork.providers.registry import create_provider
from promptwork.secrets import Secrets


@pytest.mark.parametrize(
    ("module", "model_id", "extra"),
    [
        ("openai", "openai:gpt-4o-mini", "openai"),
        ("openai", "ollama:llama3.2", "openai"),
        ("anthropic", "anthropic:messages:claude-haiku-4-5", "anthropic"),
        ("google.genai", "google:gemini-2.5-flash", "google"),
    ],
)
def test_missing_sdk(
    monkeypatch: pytest.MonkeyPatch, module: str, model_id: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(MissingDependencyError, match=rf"pip install 'promptwork\[{extra}\]'"):
        create_provider(model_id)


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": formatdate(now + 20, usegmt=True)}, now=now) == 20
    assert parse_retry_after({"Retry-After": formatdate(now - 20, usegmt=True)}, now=now) == 0
    assert parse_retry_after({"Retry-After": "-3"}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "text", "etype", "kind"),
    [
        (429, "Rate limit reached for requests", None, "rate_limit"),
        (429, '{"error": {"code": "insufficient_quota"}}', None, "quota"),
        (400, "Your credit balance is too low", None, "quota"),
        (401, "", None, "auth"),
        (403, "", None, "auth"),
        (400, "", None, "bad_request"),
        (404, "model not found", None, "bad_request"),
        (422, "", None, "bad_request"),
        (413, "request too large", None, "bad_request"),
        (400, "This model's maximum context length is 4097 tokens", None, "context_length"),
        (500, "too many tokens in flight", None, "server"),
        (408, "", None, "timeout"),
        (409, "", None, "server"),
        (529, "", None, "server"),
        (None, "Overloaded", "overloaded_error", "server"),
        (None, "slow down", "rate_limit_error", "rate_limit"),
        (None, "", "context_length_exceeded", "context_length"),
        (None, "mystery", None, "server"),
    ],
)
def test_classify(status: int | None, text: str, etype: str | None, kind: str) -> None:
    assert classify(status, text, etype) == kind


def test_error_detail_shapes() -> None:
    assert error_detail({"error": {"message": "m", "type": "t"}}) == ("m", "t")
    google = {"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}
    assert error_detail(google) == ("m", "RESOURCE_EXHAUSTED")
    assert error_detail([{"error": {"message": "m"}}]) == ("m", None)
    assert error_detail("plain text") == ("plain text", None)
    assert error_detail(None) == (None, None)


def test_pricing() -> None:
    assert price_of("gpt-4o-mini") == Price(0.15, 0.60)
    assert price_of("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60)
    assert price_of("claude-3-5-sonnet-20241022") == Price(3.0, 15.0)
    assert price_of("models/gemini-2.5-flash") == price_of("gemini-2.5-flash")
    assert price_of("llama3.2") is None
    assert cost_of("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert cost_of("gpt-4o", None, None) is None
    assert cost_of("unknown", 10, 10) is None
    assert cost_of("unknown", 10, 10, price=Price(1, 1)) == pytest.approx(20 / 1e6)
    assert parse_price({"input": 1, "output": 2.5}, "x") == Price(1.0, 2.5)
    for bad in ({"input": -1}, {"input": True}, {"inputs": 1}, [1, 2]):
        with pytest.raises(ConfigError, match="price"):
            parse_price(bad, "x")


def test_read_settings() -> None:
    settings = read_settings({}, "p", default_base_url="http://127.0.0.1:1/v1/")
    assert (settings.base_url, settings.timeout, settings.idle_timeout) == (
        "http://127.0.0.1:1/v1", 60.0, 30.0)
    settings = read_settings({"timeout": 5}, "p", default_base_url=None, base_url_env="X_URL",
                             env={"X_URL": "http://127.0.0.1:2"})
    assert (settings.base_url, settings.idle_timeout) == ("http://127.0.0.1:2", 5.0)
    with pytest.raises(ConfigError, match="idle_timeout"):
        read_settings({"idle_timeout": "3"}, "p", default_base_url=None)


def test_read_api_key_from_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keys]\nOPENAI_API_KEY = "sk-file-0123456789abcdefghij"\n')
    os.chmod(path, 0o600)
    secrets = Secrets(env={}, path=path)
    assert read_api_key(secrets, {}, "p", ("OPENAI_API_KEY",)) == "sk-file-0123456789abcdefghij"
    assert read_api_key(Secrets(env={}, path=path), {}, "p", (), required=False) == "local"
    with pytest.raises(ConfigError, match="OTHER_KEY"):
        read_api_key(Secrets(env={}, path=path), {"api_key_env": "OTHER_KEY"}, "p", ())
    with pytest.raises(ConfigError, match="api_key_env must be"):
        read_api_key(Secrets(env={}, path=path), {"api_key_env": 3}, "p", ())


def test_scrubber_removes_own_and_known_keys() -> None:
    secrets = Secrets(env={"ANTHROPIC_API_KEY": "sk-ant-known-0123456789"}, path=Path("/none"))
    scrub = Scrubber(secrets, "custom-token-value")
    text = "a custom-token-value b sk-ant-known-0123456789 c Bearer abcdefghijklmnop"
    assert scrub(text) == "a [REDACTED] b [REDACTED] c [REDACTED]"


async def test_idle_limited() -> None:
    async def source(gap: float) -> AsyncIterator[int]:
        for i in range(3):
            await asyncio.sleep(gap)
            yield i

    assert [i async for i in idle_limited(source(0), 0.5, "p")] == [0, 1, 2]
    seen: list[int] = []
    with pytest.raises(ProviderError, match="stalled") as info:
        async for i in idle_limited(source(0.2), 0.05, "p"):
            seen.append(i)
    assert info.value.kind == "timeout" and seen == []
