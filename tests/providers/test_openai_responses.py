"""OpenAI's Responses API (``openai:responses:MODEL``) against a real fake server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver import FakeServer, Fault, Make
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.providers.openai_responses import (
    OpenAIResponsesProvider,
    finish_reason,
    output_text,
)
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("openai", reason="the openai SDK is not installed")
pytestmark = pytest.mark.server

KEY = "sk-test-Abcdefghijklmnopqrstuvwxyz0123456789"
CHAT = RenderedPrompt((Message("system", "Be brief."), Message("user", "Say hello")))
DEFAULT_MODEL = "openai:responses:gpt-4.1"
BASE_URL_ATTR = "base_url"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                 "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


async def test_request_shape_answer_usage_and_cost(fake_server: FakeServer, make: Make) -> None:
    provider = make(instructions="Answer in English.", price={"input": 1.0, "output": 2.0})
    assert isinstance(provider, OpenAIResponsesProvider)
    completion = await provider.complete(CHAT, Params(temperature=0.2, max_tokens=50))
    request = fake_server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/responses")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.json == {
        "model": "gpt-4.1", "input": CHAT.to_list(), "instructions": "Answer in English.",
        "temperature": 0.2, "max_output_tokens": 50,
    }
    # The reasoning item before the message is skipped; only output_text parts make the answer.
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 5)
    assert completion.cost == pytest.approx((4 * 1.0 + 5 * 2.0) / 1e6)
    assert provider.cache_identity()["instructions"] == "Answer in English."


async def test_token_limit_is_an_incomplete_response(fake_server: FakeServer, make: Make) -> None:
    completion = await make().complete(CHAT, Params(max_tokens=2))
    assert completion.text == "Hello from"
    assert completion.finish_reason == "length"


async def test_schema_json_mode_and_reasoning_effort_mapping(
    fake_server: FakeServer, make: Make
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    provider = make()
    await provider.complete(CHAT, Params(response_schema=schema))
    assert fake_server.requests[-1].json["text"] == {
        "format": {"type": "json_schema", "name": "response", "schema": schema}}
    await provider.complete(CHAT, Params(json_object=True, reasoning_effort="low"))
    body = fake_server.requests[-1].json
    assert body["text"] == {"format": {"type": "json_object"}}
    assert body["reasoning"] == {"effort": "low"}


async def test_streaming_yields_the_deltas_and_the_final_usage(
    fake_server: FakeServer, make: Make
) -> None:
    pieces: list[str] = []
    completion = await make().stream_complete(CHAT, Params(), pieces.append)
    assert fake_server.requests[-1].json["stream"] is True
    assert pieces == ["Hello ", "from ", "the ", "fake ", "server."]
    assert completion.text == "Hello from the fake server."
    assert completion.usage.completion_tokens == 5
    assert completion.finish_reason == "stop"


async def test_failed_status_and_http_errors_are_provider_errors(
    fake_server: FakeServer, make: Make
) -> None:
    provider = make()
    failed = {"id": "r", "object": "response", "status": "failed", "output": [],
              "error": {"code": "server_error", "message": "the model broke down"}}
    fake_server.push(Fault(body=failed))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert "the model broke down" in info.value.message
    assert info.value.kind == "server"
    fake_server.push(Fault(status=401))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "auth"
    fake_server.push(Fault(body={"id": "r", "object": "response", "status": "completed"}))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "invalid_response"


async def test_unsupported_params_and_config_are_refused(fake_server: FakeServer) -> None:
    provider = create_provider(DEFAULT_MODEL, {"base_url": fake_server.base_url})
    with pytest.raises(ParamError, match="stop"):
        await provider.complete(CHAT, Params(stop=("\n",)))
    assert fake_server.requests == []
    with pytest.raises(ConfigError, match="instructions must be a text"):
        create_provider(DEFAULT_MODEL, {"instructions": ["a"]})
    with pytest.raises(ConfigError, match="unknown config key"):
        create_provider(DEFAULT_MODEL, {"previous_response_idd": "x"})


def test_output_and_finish_reason_helpers() -> None:
    data: dict[str, Any] = {"status": "incomplete",
                            "incomplete_details": {"reason": "content_filter"},
                            "output": [{"type": "message", "content": [
                                {"type": "output_text", "text": "a"},
                                {"type": "refusal", "refusal": "no"}]},
                                {"type": "function_call", "arguments": "{}"}]}
    assert output_text(data) == "ano"
    assert finish_reason(data) == "content_filter"
    assert output_text({"status": "completed"}) is None
