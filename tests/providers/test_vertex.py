"""Gemini on Vertex AI (``vertex:MODEL``) through google-genai, against the fake server."""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver import FakeServer, Fault
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers import vertex
from promptwork.providers.registry import create_provider
from promptwork.providers.vertex import VertexProvider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("google.genai", reason="the google-genai SDK is not installed")
pytestmark = pytest.mark.server

CHAT = RenderedPrompt((Message("system", "Be brief."), Message("user", "Say hello")))
KEY = "AIzaFAKEvertexKEY0123456789abcdefghij"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*vertex.PROJECT_VARS, *vertex.REGION_VARS, *vertex.KEY_VARS,
                 "GOOGLE_APPLICATION_CREDENTIALS", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def adc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Application default credentials with a fixed token (no Google login needed)."""
    from google.oauth2.credentials import Credentials

    def fake_default(scopes: Any = None) -> tuple[Any, str]:
        return Credentials(token="fake-adc-token"), "adc-project"  # type: ignore[no-untyped-call]

    monkeypatch.setattr("google.auth.default", fake_default)


async def test_project_region_and_credentials(fake_server: FakeServer, adc: None) -> None:
    provider = create_provider("vertex:gemini-2.5-flash", {
        "projectId": "proj-1", "region": "europe-west4", "base_url": fake_server.url,
        "timeout": 2})
    assert isinstance(provider, VertexProvider)
    completion = await provider.complete(CHAT, Params(max_tokens=20, temperature=0))
    request = fake_server.requests[-1]
    assert request.path == ("/v1beta1/projects/proj-1/locations/europe-west4/publishers/google/"
                            "models/gemini-2.5-flash:generateContent")
    assert request.headers["authorization"] == "Bearer fake-adc-token"
    assert request.json["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert request.json["generationConfig"] == {"maxOutputTokens": 20, "temperature": 0.0}
    assert completion.text == "Hello from the fake server."
    assert completion.usage.completion_tokens == 5
    assert provider.cache_identity()["project"] == "proj-1"
    await provider.aclose()


async def test_project_from_credentials_and_errors(
    fake_server: FakeServer, adc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERTEX_REGION", "asia-east1")
    provider = create_provider("vertex:gemini-2.5-pro", {"base_url": fake_server.url})
    fake_server.push(Fault(status=429))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "rate_limit"
    assert "/projects/adc-project/locations/asia-east1/" in fake_server.requests[-1].path
    await provider.aclose()


async def test_express_mode_key(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_API_KEY", KEY)
    provider = create_provider("vertex:gemini-2.5-flash", {"base_url": fake_server.url})
    pieces: list[str] = []
    completion = await provider.stream_complete(CHAT, Params(), pieces.append)
    request = fake_server.requests[-1]
    assert request.path.startswith(
        "/v1beta1/publishers/google/models/gemini-2.5-flash:streamGenerateContent")
    assert request.headers["x-goog-api-key"] == KEY
    assert "".join(pieces) == completion.text == "Hello from the fake server."
    await provider.aclose()


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth import exceptions

    def no_credentials(scopes: Any = None) -> Any:
        raise exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr("google.auth.default", no_credentials)
    with pytest.raises(ConfigError, match="gcloud auth application-default login"):
        create_provider("vertex:gemini-2.5-flash", {"projectId": "p"})
    with pytest.raises(ConfigError, match="only Gemini models"):
        create_provider("vertex:claude-3-5-sonnet@20240620")
    with pytest.raises(ConfigError, match="unknown config key projetId"):
        create_provider("vertex:gemini-2.5-flash", {"projetId": "p"})
    with pytest.raises(ConfigError, match="names no model"):
        create_provider("vertex:")
