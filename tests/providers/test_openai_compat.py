"""OpenAI and OpenAI-compatible providers against a real fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from fakeserver import FakeServer, Fault, Make
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.openai_compat import OpenAICompletionProvider, OpenAIProvider
from promptwork.providers.pricing import cost_of
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("openai", reason="the openai SDK is not installed")
pytestmark = pytest.mark.server

KEY = "sk-test-Abcdefghijklmnopqrstuvwxyz0123456789"
PROMPT = RenderedPrompt.from_text("Say hello to the world")
CHAT = RenderedPrompt((Message("system", "Be brief."), Message("user", "Say hello")))

_ENV_NAMES = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_BASE_URL", "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY", "HTTP_PROXY", "HTTPS_PROXY",
    "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


DEFAULT_MODEL = "openai:gpt-4o-mini"  # built by `make`
BASE_URL_ATTR = "base_url"  # the SDK wants the /v1 URL


async def fails(provider: Provider, params: Params | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await provider.complete(PROMPT, params or Params())
    return info.value


# -- success ----------------------------------------------------------------------------------


async def test_chat_success(fake_server: FakeServer, make: Make) -> None:
    provider = make(price={"input": 1.0, "output": 2.0})
    completion = await provider.complete(CHAT, Params())
    assert completion.text == "Hello from the fake server."
    assert completion.provider == "openai:gpt-4o-mini"
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 4
    assert completion.usage.completion_tokens == 5
    assert completion.cost == pytest.approx((4 * 1.0 + 5 * 2.0) / 1e6)
    assert completion.latency_ms > 0
    json.dumps(completion.raw)  # JSON-able
    request = fake_server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.json["model"] == "gpt-4o-mini"
    assert request.json["messages"] == CHAT.to_list()
    assert "stream" not in request.json
    await provider.aclose()


async def test_cost_from_table_and_local_servers(fake_server: FakeServer, make: Make) -> None:
    completion = await make().complete(PROMPT, Params())
    assert completion.cost == pytest.approx(cost_of("gpt-4o-mini", 5, 5))
    assert (await make("openai:my-finetune").complete(PROMPT, Params())).cost is None
    assert (await make("vllm:qwen").complete(PROMPT, Params())).cost == 0.0


async def test_params_mapping_and_logprobs(fake_server: FakeServer, make: Make) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    params = Params(
        temperature=0.3, top_p=0.9, max_tokens=3, stop=("\n\n",), seed=7,
        frequency_penalty=0.5, presence_penalty=-0.5, response_schema=schema, logprobs=True,
    )
    completion = await make().complete(PROMPT, params)
    body = fake_server.requests[-1].json
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["max_tokens"] == 3 and body["stop"] == ["\n\n"]
    assert body["frequency_penalty"] == 0.5 and body["presence_penalty"] == -0.5
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "response", "schema": schema},
    }
    assert body["logprobs"] is True
    assert completion.finish_reason == "length"
    assert completion.text == "Hello from the"
    assert completion.logprobs is not None
    assert [t.token for t in completion.logprobs] == ["Hello ", "from ", "the"]
    assert completion.logprobs[0].logprob == -0.5


async def test_unset_params_are_not_sent(fake_server: FakeServer, make: Make) -> None:
    await make().complete(PROMPT, Params())
    assert set(fake_server.requests[-1].json) == {"model", "messages"}


async def test_openai_schema_object_and_reasoning_models(
    fake_server: FakeServer, make: Make,
) -> None:
    named = {"name": "person", "schema": {"type": "object"}, "strict": True}
    await make("openai:o3-mini").complete(
        PROMPT, Params(max_tokens=50, response_schema=named)
    )
    body = fake_server.requests[-1].json
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert body["response_format"]["json_schema"] == named
    await make("vllm:o3-lookalike").complete(PROMPT, Params(max_tokens=50))
    assert fake_server.requests[-1].json["max_tokens"] == 50


async def test_completion_mode(fake_server: FakeServer, make: Make) -> None:
    provider = make("openai:completion:davinci-002")
    assert isinstance(provider, OpenAICompletionProvider)
    assert provider.capabilities.completion and not provider.capabilities.chat
    completion = await provider.complete(CHAT, Params(logprobs=True, max_tokens=2))
    request = fake_server.requests[-1]
    assert request.path == "/v1/completions"
    assert request.json["prompt"] == CHAT.as_text()
    assert request.json["prompt"].endswith("Assistant:")
    assert request.json["logprobs"] == 1 and request.json["max_tokens"] == 2
    assert completion.text == "Hello from"
    assert completion.logprobs is not None and len(completion.logprobs) == 2
    await make("openai:completion:m").complete(PROMPT, Params())
    assert fake_server.requests[-1].json["prompt"] == "Say hello to the world"


async def test_capabilities_and_identity(fake_server: FakeServer, make: Make) -> None:
    provider = make("openai:chat:gpt-4o", headers={"X-Team": "evals"})
    assert isinstance(provider, OpenAIProvider)
    caps = provider.capabilities
    assert caps.chat and caps.streaming and caps.json_schema and caps.logprobs
    identity = provider.cache_identity()
    # Custom headers count in the cache key, as a digest (their values are not shown).
    assert identity == {"provider": "openai:chat:gpt-4o", "base_url": fake_server.base_url,
                        "model": "gpt-4o", "headers": identity["headers"]}
    assert len(identity["headers"]) == 16 and "evals" not in json.dumps(identity)
    assert KEY not in repr(provider) + json.dumps(provider.describe())
    await provider.complete(PROMPT, Params())
    assert fake_server.requests[-1].headers["X-Team"] == "evals"


async def test_concurrent_calls_are_not_serialized(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    fake_server.delay = 0.3
    results = await asyncio.gather(*(provider.complete(PROMPT, Params()) for _ in range(4)))
    assert len(results) == 4
    assert fake_server.max_in_flight == 4


async def test_fake_server_lists_models(fake_server: FakeServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(fake_server.base_url + "/models")
    assert response.json()["data"][0]["id"] == "fake-model"


# -- streaming --------------------------------------------------------------------------------


async def test_streaming(fake_server: FakeServer, make: Make) -> None:
    provider = make(price={"input": 1.0, "output": 1.0})
    pieces: list[str] = []
    completion = await provider.stream_complete(CHAT, Params(logprobs=True), pieces.append)
    assert pieces == ["Hello ", "from ", "the ", "fake ", "server."]
    assert completion.text == "".join(pieces)
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    assert completion.cost == pytest.approx(9 / 1e6)
    assert completion.logprobs is not None and len(completion.logprobs) == 5
    json.dumps(completion.raw)
    body = fake_server.requests[-1].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert [p async for p in provider.stream(PROMPT, Params())] == pieces


async def test_streaming_completion_mode_without_usage_option(
    fake_server: FakeServer, make: Make,
) -> None:
    provider = make("llamacpp:completion:base", stream_usage=False)
    pieces: list[str] = []
    completion = await provider.stream_complete(PROMPT, Params(), pieces.append)
    assert completion.text == "Hello from the fake server." and len(pieces) == 5
    assert completion.usage.completion_tokens is None
    assert "stream_options" not in fake_server.requests[-1].json


async def test_stalled_stream_times_out_without_partial_success(
    fake_server: FakeServer, make: Make,
) -> None:
    fake_server.push(Fault(stall=True))
    pieces: list[str] = []
    with pytest.raises(ProviderError) as info:
        provider = make(idle_timeout=0.15)
        await provider.stream_complete(PROMPT, Params(), pieces.append)
    assert info.value.kind == "timeout" and info.value.retryable
    assert pieces == ["Hello "]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault(malformed_sse=True), "invalid_response"),
        (Fault(html=True), "invalid_response"),
        (Fault(events=['data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n']),
         "invalid_response"),
        (Fault(events=['data: {"error": {"message": "boom", "type": "server_error"}}\n\n']),
         "server"),
        (Fault(status=500), "server"),
        (Fault(status=429, headers={"Retry-After": "3"}), "rate_limit"),
    ],
    ids=["malformed", "html", "no-finish", "error-event", "500", "429"],
)
async def test_stream_failures(
    fake_server: FakeServer, make: Make, fault: Fault, kind: str,
) -> None:
    fake_server.push(fault)
    with pytest.raises(ProviderError) as info:
        await make().stream_complete(PROMPT, Params(), lambda piece: None)
    assert info.value.kind == kind
    if kind == "rate_limit":
        assert info.value.retry_after == 3.0


# -- errors -----------------------------------------------------------------------------------

QUOTA = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                   "code": "insufficient_quota"}}
CONTEXT = {"error": {"message": "This model's maximum context length is 8192 tokens",
                     "type": "invalid_request_error", "code": "context_length_exceeded"}}


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        (Fault(status=429), "rate_limit", 429),
        (Fault(status=429, body=QUOTA), "quota", 429),
        (Fault(status=401), "auth", 401),
        (Fault(status=403), "auth", 403),
        (Fault(status=400), "bad_request", 400),
        (Fault(status=404), "bad_request", 404),
        (Fault(status=422), "bad_request", 422),
        (Fault(status=400, body=CONTEXT), "context_length", 400),
        (Fault(status=500), "server", 500),
        (Fault(status=502, body="<html>Bad gateway</html>"), "server", 502),
        (Fault(status=503), "server", 503),
        (Fault(truncate=True), "invalid_response", None),
        (Fault(html=True), "invalid_response", None),
        (Fault(empty_choices=True), "invalid_response", None),
        (Fault(body={"object": "chat.completion"}), "invalid_response", None),
        (Fault(body=["not", "an", "object"]), "invalid_response", None),
        (Fault(drop=True), "connection", None),
    ],
)
async def test_error_classification(
    fake_server: FakeServer, make: Make, fault: Fault, kind: str, status: int | None
) -> None:
    fake_server.push(fault)
    error = await fails(make())
    assert (error.kind, error.status) == (kind, status)
    assert error.retryable == (kind in {"rate_limit", "server", "connection", "timeout"})
    assert len(fake_server.requests) == 1  # the provider never retries by itself


async def test_hung_server_times_out(fake_server: FakeServer, make: Make) -> None:
    fake_server.push(Fault(hang=True))
    error = await fails(make(timeout=0.2))
    assert error.kind == "timeout" and "0.2 s" in error.message


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = create_provider("openai:gpt-4o-mini", {"base_url": f"http://127.0.0.1:{port}/v1"})
    with pytest.raises(ProviderError) as info:
        await provider.complete(PROMPT, Params())
    assert info.value.kind == "connection"
    await provider.aclose()


async def test_retry_after_seconds_date_and_ms(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    fake_server.push(Fault(status=429, headers={"Retry-After": "2"}))
    assert (await fails(provider)).retry_after == 2.0
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake_server.push(Fault(status=503, headers={"Retry-After": format_datetime(when, True)}))
    assert 27 <= ((await fails(provider)).retry_after or 0) <= 30
    fake_server.push(Fault(status=429, headers={"retry-after-ms": "1500", "Retry-After": "9"}))
    assert (await fails(provider)).retry_after == 1.5
    fake_server.push(Fault(status=429))
    assert (await fails(provider)).retry_after is None


@pytest.mark.parametrize("key", [KEY, "plain-looking-secret-value-42"])
async def test_key_never_in_error(
    fake_server: FakeServer, make: Make, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("MY_LLM_KEY", key)
    fake_server.push(Fault(echo_auth=True))
    provider = make(api_key_env="MY_LLM_KEY")
    error = await fails(provider)
    assert error.kind == "auth"
    assert "Incorrect API key" in error.message and "[REDACTED]" in error.message
    shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert key not in shown
    assert error.__cause__ is None and error.__context__ is None  # no SDK request kept
    assert fake_server.requests[-1].headers["Authorization"] == f"Bearer {key}"


async def test_unsupported_params_are_rejected(fake_server: FakeServer, make: Make) -> None:
    provider = make("openai:completion:m")
    with pytest.raises(ParamError, match="response_schema") as info:
        await provider.complete(PROMPT, Params(response_schema={"type": "object"}))
    assert "supports: frequency_penalty, logprobs, max_tokens" in str(info.value)
    assert fake_server.requests == []


# -- configuration ----------------------------------------------------------------------------


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        create_provider("openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match="TEAM_KEY"):
        create_provider("openai:gpt-4o-mini", {"api_key_env": "TEAM_KEY"})


async def test_local_servers_need_no_key(
    fake_server: FakeServer, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    await make("ollama:chat:llama3.2:3b").complete(PROMPT, Params())
    request = fake_server.requests[-1]
    assert request.headers["Authorization"] == "Bearer local"
    assert request.json["model"] == "llama3.2:3b"


def test_default_and_env_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    def url(model_id: str, **config: Any) -> Any:
        return create_provider(model_id, config).cache_identity()["base_url"]

    assert url("openai:gpt-4o") == "https://api.openai.com/v1"
    assert url("ollama:llama3.2") == "http://127.0.0.1:11434/v1"
    assert url("vllm:qwen") == "http://127.0.0.1:8000/v1"
    assert url("llamacpp:model") == "http://127.0.0.1:8080/v1"
    assert url("vllm:qwen", apiBaseUrl="http://127.0.0.1:9/v1/") == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:7/v1")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:11435")
    assert url("openai:gpt-4o") == "http://127.0.0.1:7/v1"
    assert url("ollama:llama3.2") == "http://127.0.0.1:11435/v1"
    assert url("openai:gpt-4o", base_url="http://user:pw@127.0.0.1:5/v1") == (
        "http://127.0.0.1:5/v1"
    )


@pytest.mark.parametrize(
    ("model_id", "config", "message"),
    [
        ("openai:realtime:gpt-4o", {}, "not supported"),
        ("openai:chat:", {}, "names no model"),
        ("openai:gpt-4o", {"apiKey": KEY}, "do not write API keys"),
        ("openai:gpt-4o", {"temprature": 0.2}, "unknown config key temprature"),
        ("openai:gpt-4o", {"timeout": 0}, "timeout must be"),
        ("openai:gpt-4o", {"base_url": "ftp://x"}, "base_url must be"),
        ("openai:gpt-4o", {"price": {"input": "cheap"}}, "price.input"),
        ("openai:gpt-4o", {"headers": ["x"]}, "headers must be"),
    ],
)
def test_config_errors(model_id: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_provider(model_id, config)


def test_model_id_spellings() -> None:
    def parts(model_id: str) -> tuple[str, str]:
        provider = create_provider(model_id)
        assert isinstance(provider, OpenAIProvider)
        return provider.mode, provider.model

    assert parts("openai:gpt-4o-mini") == ("chat", "gpt-4o-mini")
    assert parts("openai:chat:gpt-4o-mini") == ("chat", "gpt-4o-mini")
    assert parts("openai:completion:gpt-3.5-turbo-instruct") == (
        "completion", "gpt-3.5-turbo-instruct")
    assert parts("openai:ft:gpt-4o-mini:acme::abc123") == ("chat", "ft:gpt-4o-mini:acme::abc123")
    assert parts("ollama:completion:qwen2.5:0.5b") == ("completion", "qwen2.5:0.5b")


# -- a 200 whose body is an error (reliability, issue 17) --------------------------------------


@pytest.mark.parametrize("body", [
    {"error": {"message": "model is overloaded, try later", "type": "server_error"}},
    {"error": "model is overloaded, try later"},
    {"error": {"message": "model is overloaded, try later", "code": 503}, "choices": []},
])
async def test_a_200_with_an_error_body_reports_the_error(
    fake_server: FakeServer, make: Make, body: dict[str, Any],
) -> None:
    fake_server.push(Fault(status=200, body=body))
    error = await fails(make())
    assert "model is overloaded, try later" in error.message
    assert "no choices" not in error.message
    assert error.kind == "server" and error.retryable


async def test_a_200_with_a_bad_request_error_body_is_not_retryable(
    fake_server: FakeServer, make: Make,
) -> None:
    fake_server.push(Fault(body={"error": {"message": "bad model name",
                                           "type": "invalid_request_error"}}))
    error = await fails(make())
    assert "bad model name" in error.message and not error.retryable


async def test_a_null_error_field_is_not_an_error(fake_server: FakeServer, make: Make) -> None:
    fake_server.push(Fault(body={"error": None, "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "fine"},
         "finish_reason": "stop"}]}))
    out = await make().complete(PROMPT, Params())
    assert out.text == "fine"
