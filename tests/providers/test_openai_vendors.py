"""OpenAI-compatible vendors by their promptfoo names: presets of the OpenAI provider."""

from __future__ import annotations

import pytest

from fakeserver import FakeServer, Fault
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.openai_compat import OpenAICompletionProvider, OpenAIProvider
from promptwork.providers.openai_vendors import VENDORS
from promptwork.providers.registry import BUILTIN, EXAMPLES, create_provider
from promptwork.types import Params, RenderedPrompt

pytest.importorskip("openai", reason="the openai SDK is not installed")
pytestmark = pytest.mark.server

PROMPT = RenderedPrompt.from_text("Say hello")


def test_every_vendor_is_registered_with_an_example_and_an_https_endpoint() -> None:
    for prefix, flavor in VENDORS.items():
        assert BUILTIN[prefix] == "promptwork.providers.openai_vendors:create"
        assert prefix in EXAMPLES
        assert flavor.default_base_url.startswith("https://")
        assert flavor.key_vars and not flavor.local
    routed = {p for p, target in BUILTIN.items() if target.endswith("openai_vendors:create")}
    assert routed == set(VENDORS)
    assert {"mistral", "groq", "togetherai", "deepseek", "perplexity", "xai", "openrouter",
            "fireworks", "hyperbolic", "cerebras"} <= set(VENDORS)


@pytest.mark.parametrize("prefix", ["groq", "mistral", "openrouter", "togetherai", "xai"])
async def test_vendor_calls_its_endpoint_with_its_key(
    prefix: str, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_var = VENDORS[prefix].key_vars[0]
    monkeypatch.setenv(key_var, f"{prefix}-key-0123456789")
    provider = create_provider(f"{prefix}:some/model-1", {"base_url": fake_server.base_url})
    assert isinstance(provider, OpenAIProvider)
    assert provider.settings.base_url == fake_server.base_url
    completion = await provider.complete(PROMPT, Params(temperature=0))
    request = fake_server.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {prefix}-key-0123456789"
    assert request.json["model"] == "some/model-1"
    assert completion.text == "Hello from the fake server."
    assert completion.provider == f"{prefix}:some/model-1"
    await provider.aclose()


async def test_vendor_errors_retry_kinds_and_completion_mode(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "ds-key-0123456789")
    provider = create_provider("deepseek:completion:deepseek-chat",
                               {"apiBaseUrl": fake_server.base_url, "timeout": 2})
    assert isinstance(provider, OpenAICompletionProvider)
    fake_server.push(Fault(status=429, headers={"Retry-After": "3"}))
    with pytest.raises(ProviderError) as info:
        await provider.complete(PROMPT, Params())
    assert info.value.kind == "rate_limit" and info.value.retry_after == 3
    assert (await provider.complete(PROMPT, Params())).text == "Hello from the fake server."
    assert fake_server.requests[-1].path == "/v1/completions"
    await provider.aclose()


def test_default_endpoint_key_variable_and_its_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="GROQ_API_KEY"):
        create_provider("groq:llama-3.3-70b-versatile")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-0123456789")
    provider = create_provider("groq:llama-3.3-70b-versatile")
    assert isinstance(provider, OpenAIProvider)
    assert provider.settings.base_url == "https://api.groq.com/openai/v1"
    monkeypatch.setenv("MY_GROQ", "gsk-other-0123456789")
    monkeypatch.delenv("GROQ_API_KEY")
    assert create_provider("groq:x", {"apiKeyEnvar": "MY_GROQ"}).id == "groq:x"
    monkeypatch.setenv("TOGETHER_API_KEY", "tg-0123456789")
    together = create_provider("together:meta-llama/x")
    assert isinstance(together, OpenAIProvider)
    assert together.settings.base_url == "https://api.together.xyz/v1"
