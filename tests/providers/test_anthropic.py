"""Anthropic Messages provider against a real fake server on 127.0.0.1."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest

from fakeserver import FakeServer, Fault, Make
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.pricing import cost_of
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")
pytestmark = pytest.mark.server

KEY = "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz0123456789"
PROMPT = RenderedPrompt.from_text("Say hello")
CHAT = RenderedPrompt(
    (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hello!"),
     Message("system", "Be kind."), Message("user", "Say hello again"))
)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


DEFAULT_MODEL = "anthropic:messages:claude-sonnet-4-5"  # built by `make`


async def fails(provider: Provider) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await provider.complete(PROMPT, Params())
    return info.value


async def test_success_and_request_shape(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    completion = await provider.complete(CHAT, Params())
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 5 and completion.usage.completion_tokens == 5
    assert completion.cost == pytest.approx(cost_of("claude-sonnet-4-5", 5, 5))
    assert completion.latency_ms > 0
    json.dumps(completion.raw)
    request = fake_server.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert "anthropic-version" in request.headers
    assert request.json["system"] == "Be brief.\n\nBe kind."
    assert [m["role"] for m in request.json["messages"]] == ["user", "assistant", "user"]
    assert request.json["max_tokens"] == 1024
    assert set(request.json) == {"model", "messages", "system", "max_tokens"}
    assert provider.cache_identity() == {
        "provider": "anthropic:messages:claude-sonnet-4-5", "base_url": fake_server.url,
        "model": "claude-sonnet-4-5"}
    await provider.aclose()


async def test_params_mapping(fake_server: FakeServer, make: Make) -> None:
    provider = make(price={"input": 10, "output": 100})
    completion = await provider.complete(
        PROMPT, Params(temperature=0.1, top_p=0.5, max_tokens=2, stop=("END",))
    )
    body = fake_server.requests[-1].json
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.1, 0.5, 2)
    assert body["stop_sequences"] == ["END"]
    assert completion.finish_reason == "length" and completion.text == "Hello from"
    assert completion.cost == pytest.approx((2 * 10 + 2 * 100) / 1e6)


async def test_unsupported_params(fake_server: FakeServer, make: Make) -> None:
    with pytest.raises(ParamError) as info:
        await make().complete(PROMPT, Params(seed=1, logprobs=True))
    assert "logprobs, seed" in str(info.value)
    assert "it supports: max_tokens, stop, temperature, top_k, top_p" in str(info.value)
    assert fake_server.requests == []


async def test_streaming(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    pieces: list[str] = []
    completion = await provider.stream_complete(CHAT, Params(), pieces.append)
    assert pieces == ["Hello ", "from ", "the ", "fake ", "server."]
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 5)
    assert completion.cost is not None and completion.cost > 0
    json.dumps(completion.raw)
    assert fake_server.requests[-1].json["stream"] is True
    assert [p async for p in provider.stream(PROMPT, Params())] == pieces


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
TOO_LONG = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "prompt is too long: 210000 tokens > 200000"}}


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        (Fault(status=429, headers={"retry-after": "7"}), "rate_limit", 429),
        (Fault(status=529, body=OVERLOADED), "server", 529),
        (Fault(status=500), "server", 500),
        (Fault(status=401), "auth", 401),
        (Fault(status=403), "auth", 403),
        (Fault(status=400), "bad_request", 400),
        (Fault(status=404), "bad_request", 404),
        (Fault(status=400, body=TOO_LONG), "context_length", 400),
        (Fault(truncate=True), "invalid_response", None),
        (Fault(html=True), "invalid_response", None),
        (Fault(body={"id": "msg_1", "type": "message"}), "invalid_response", None),
        (Fault(body=OVERLOADED), "server", None),
        (Fault(drop=True), "connection", None),
    ],
)
async def test_error_classification(
    fake_server: FakeServer, make: Make, fault: Fault, kind: str, status: int | None
) -> None:
    fake_server.push(fault)
    error = await fails(make())
    assert (error.kind, error.status) == (kind, status)
    if status == 429:
        assert error.retry_after == 7.0
    assert len(fake_server.requests) == 1


async def test_timeout(fake_server: FakeServer, make: Make) -> None:
    fake_server.push(Fault(hang=True))
    assert (await fails(make(timeout=0.2))).kind == "timeout"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault(stall=True), "timeout"),
        (Fault(malformed_sse=True), "invalid_response"),
        (Fault(html=True), "invalid_response"),
        (Fault(events=[f"event: error\ndata: {json.dumps(OVERLOADED)}\n\n"]), "server"),
        (Fault(status=529, body=OVERLOADED), "server"),
    ],
    ids=["stall", "malformed", "html", "error-event", "529"],
)
async def test_stream_failures(
    fake_server: FakeServer, make: Make, fault: Fault, kind: str,
) -> None:
    fake_server.push(fault)
    pieces: list[str] = []
    with pytest.raises(ProviderError) as info:
        provider = make(idle_timeout=0.15 if fault.stall else 2)
        await provider.stream_complete(PROMPT, Params(), pieces.append)
    assert info.value.kind == kind
    if fault.stall:
        assert pieces == ["Hello "]  # streamed, but never returned as a success


async def test_key_never_in_error(fake_server: FakeServer, make: Make) -> None:
    fake_server.push(Fault(echo_auth=True))
    error = await fails(make())
    assert error.kind == "auth" and "[REDACTED]" in error.message
    assert KEY not in str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert error.__cause__ is None and error.__context__ is None  # no SDK request kept


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        create_provider("anthropic:messages:claude-haiku-4-5")


async def test_model_ids_and_system_only_prompt(fake_server: FakeServer, make: Make) -> None:
    assert create_provider("anthropic:claude-3-5-haiku").cache_identity()["model"] == (
        "claude-3-5-haiku")
    assert create_provider("anthropic:messages:x").cache_identity()["base_url"] == (
        "https://api.anthropic.com")
    with pytest.raises(ConfigError, match="not supported"):
        create_provider("anthropic:completion:claude-2")
    with pytest.raises(ConfigError, match="names no model"):
        create_provider("anthropic:messages:")
    with pytest.raises(ConfigError, match="only system text"):
        await make().complete(RenderedPrompt((Message("system", "x"),)), Params())
