"""Azure OpenAI (``azure:chat:``, ``azure:completion:``, ``azure:responses:``) on a fake server."""

from __future__ import annotations

import pytest

from fakeserver import FakeServer, Fault, Make
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.azure import endpoint
from promptwork.providers.registry import create_provider
from promptwork.types import Params, RenderedPrompt

pytest.importorskip("openai", reason="the openai SDK is not installed")
pytestmark = pytest.mark.server

KEY = "azure-key-0123456789abcdef"
PROMPT = RenderedPrompt.from_text("Say hello")
DEFAULT_MODEL = "azure:chat:my-gpt4o"
_AZURE_ENV = ("AZURE_API_HOST", "AZURE_OPENAI_API_HOST", "AZURE_API_BASE_URL", "AZURE_BASE_URL",
              "AZURE_OPENAI_BASE_URL", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AZURE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_API_KEY", KEY)


async def test_chat_url_api_version_and_key_header(fake_server: FakeServer, make: Make) -> None:
    provider = make(apiVersion="2024-06-01")
    completion = await provider.complete(PROMPT, Params(max_tokens=20))
    request = fake_server.requests[-1]
    assert request.path == "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-06-01"
    assert request.headers["api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.json["messages"] == PROMPT.to_list()
    assert request.json["max_tokens"] == 20
    assert completion.text == "Hello from the fake server."
    assert completion.usage.completion_tokens == 5
    assert provider.cache_identity()["api_version"] == "2024-06-01"
    assert KEY not in repr(provider.describe())


async def test_host_from_environment_and_other_key_variable(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_API_KEY")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY + "x")
    monkeypatch.setenv("AZURE_API_HOST", fake_server.url)
    provider = create_provider("azure:completion:instruct", {"timeout": 2})
    completion = await provider.complete(PROMPT, Params())
    request = fake_server.requests[-1]
    assert request.path == "/openai/deployments/instruct/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == KEY + "x"
    assert request.json["prompt"] == "Say hello"
    assert completion.text == "Hello from the fake server."
    await provider.aclose()


async def test_responses_on_azure(fake_server: FakeServer, make: Make) -> None:
    completion = await make("azure:responses:my-gpt41", instructions="Be kind.").complete(
        PROMPT, Params())
    request = fake_server.requests[-1]
    assert request.path == "/openai/responses?api-version=2025-04-01-preview"
    assert request.json["model"] == "my-gpt41"
    assert request.json["instructions"] == "Be kind."
    assert completion.text == "Hello from the fake server."


async def test_errors_are_classified_and_the_key_is_scrubbed(
    fake_server: FakeServer, make: Make
) -> None:
    fake_server.push(Fault(echo_auth=True))
    with pytest.raises(ProviderError) as info:
        await make().complete(PROMPT, Params())
    assert info.value.kind == "auth"
    assert KEY not in str(info.value)


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="AZURE_API_HOST"):
        create_provider("azure:chat:dep")
    with pytest.raises(ConfigError, match="Entra ID"):
        create_provider("azure:chat:dep", {"apiHost": "x.openai.azure.com", "azureClientId": "a"})
    with pytest.raises(ConfigError, match="unknown config key deployment_idd"):
        create_provider("azure:chat:dep", {"apiHost": "x.openai.azure.com",
                                           "deployment_idd": "a"})
    monkeypatch.delenv("AZURE_API_KEY")
    with pytest.raises(ConfigError, match="AZURE_API_KEY or AZURE_OPENAI_API_KEY"):
        create_provider("azure:chat:dep", {"apiHost": "x.openai.azure.com"})
    with pytest.raises(ConfigError, match="names no model"):
        create_provider("azure:chat:", {"apiHost": "x.openai.azure.com"})


def test_endpoint_precedence() -> None:
    env = {"AZURE_API_HOST": "env.openai.azure.com", "AZURE_BASE_URL": "https://base.example"}
    assert endpoint({"apiBaseUrl": "https://proxy.example"}, "w", env) == "https://proxy.example"
    assert endpoint({"apiHost": "cfg.openai.azure.com/"}, "w", env) == (
        "https://cfg.openai.azure.com")
    assert endpoint({}, "w", env) == "https://env.openai.azure.com"
    assert endpoint({}, "w", {"AZURE_BASE_URL": "https://base.example"}) == "https://base.example"
