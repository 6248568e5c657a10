"""Gemini provider: the google-genai SDK pointed at a real fake server on 127.0.0.1."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest

from fakeserver import FakeServer, Fault, Make
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.google import finish_reason, retry_delay
from promptwork.providers.pricing import cost_of
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("google.genai", reason="the google-genai SDK is not installed")
pytestmark = pytest.mark.server

KEY = "AIzaSyTest-abcdefghijklmnopqrstuvwxyz012"
PROMPT = RenderedPrompt.from_text("Say hello")
CHAT = RenderedPrompt(
    (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hello!"),
     Message("user", "Again"))
)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
                 "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("GEMINI_API_KEY", KEY)


DEFAULT_MODEL = "google:gemini-2.5-flash"  # built by `make`


async def fails(provider: Provider) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await provider.complete(PROMPT, Params())
    return info.value


async def test_success_and_request_shape(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    completion = await provider.complete(CHAT, Params())
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 5)
    assert completion.cost == pytest.approx(cost_of("gemini-2.5-flash", 3, 5))
    assert completion.latency_ms > 0
    json.dumps(completion.raw)
    request = fake_server.requests[-1]
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.json["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert [c["role"] for c in request.json["contents"]] == ["user", "model", "user"]
    assert provider.cache_identity() == {
        "provider": "google:gemini-2.5-flash", "base_url": fake_server.url,
        "model": "gemini-2.5-flash"}
    await provider.aclose()


async def test_params_mapping(fake_server: FakeServer, make: Make) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    params = Params(temperature=0.2, top_p=0.8, max_tokens=2, stop=("END",), seed=5,
                    frequency_penalty=0.1, presence_penalty=0.2, response_schema=schema,
                    logprobs=True)
    completion = await make(price={"input": 1, "output": 1}).complete(PROMPT, params)
    config = fake_server.requests[-1].json["generationConfig"]
    assert config["temperature"] == 0.2 and config["topP"] == 0.8 and config["seed"] == 5
    assert config["maxOutputTokens"] == 2 and config["stopSequences"] == ["END"]
    assert config["frequencyPenalty"] == 0.1 and config["presencePenalty"] == 0.2
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema
    assert config["responseLogprobs"] is True
    assert completion.finish_reason == "length" and completion.text == "Hello from"
    assert completion.logprobs is not None
    assert [(t.token, t.logprob) for t in completion.logprobs] == [("Hello ", -0.25),
                                                                   ("from", -0.5)]
    assert completion.cost == pytest.approx(4 / 1e6)


async def test_streaming(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    pieces: list[str] = []
    completion = await provider.stream_complete(PROMPT, Params(), pieces.append)
    assert pieces == ["Hello ", "from ", "the ", "fake ", "server."]
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    json.dumps(completion.raw)
    assert fake_server.requests[-1].path.endswith(":streamGenerateContent?alt=sse")
    assert [p async for p in provider.stream(PROMPT, Params())] == pieces


RETRY_INFO = {"error": {"code": 429, "message": "Resource has been exhausted",
                        "status": "RESOURCE_EXHAUSTED",
                        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                     "retryDelay": "13s"}]}}
TOO_LONG = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                      "The input token count (1200000) exceeds the maximum number of tokens "
                      "allowed (1048576)."}}
BLOCKED = {"promptFeedback": {"blockReason": "SAFETY"},
           "usageMetadata": {"promptTokenCount": 2, "totalTokenCount": 2}}


@pytest.mark.parametrize(
    ("fault", "kind", "status", "retry_after"),
    [
        (Fault(status=429, headers={"Retry-After": "4"}), "rate_limit", 429, 4.0),
        (Fault(status=429, body=RETRY_INFO), "rate_limit", 429, 13.0),
        (Fault(status=429, body={"error": {"message": "insufficient_quota"}}), "quota", 429,
         None),
        (Fault(status=401), "auth", 401, None),
        (Fault(status=403), "auth", 403, None),
        (Fault(status=400), "bad_request", 400, None),
        (Fault(status=404), "bad_request", 404, None),
        (Fault(status=400, body=TOO_LONG), "context_length", 400, None),
        (Fault(status=500), "server", 500, None),
        (Fault(status=503), "server", 503, None),
        (Fault(truncate=True), "invalid_response", None, None),
        (Fault(html=True), "invalid_response", None, None),
        (Fault(empty_choices=True), "invalid_response", None, None),
        (Fault(drop=True), "connection", None, None),
    ],
)
async def test_error_classification(
    fake_server: FakeServer, make: Make, fault: Fault, kind: str, status: int | None,
    retry_after: float | None,
) -> None:
    fake_server.push(fault)
    error = await fails(make())
    assert (error.kind, error.status, error.retry_after) == (kind, status, retry_after)
    assert len(fake_server.requests) == 1  # the SDK does not retry


async def test_timeout(fake_server: FakeServer, make: Make) -> None:
    fake_server.push(Fault(hang=True))
    assert (await fails(make(timeout=0.2))).kind == "timeout"


async def test_blocked_prompt_is_an_empty_filtered_answer(
    fake_server: FakeServer, make: Make,
) -> None:
    fake_server.push(Fault(body=BLOCKED))
    completion = await make().complete(PROMPT, Params())
    assert (completion.text, completion.finish_reason) == ("", "content_filter")


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault(stall=True), "timeout"),
        (Fault(malformed_sse=True), "invalid_response"),
        (Fault(html=True), "invalid_response"),
        (Fault(events=['data: {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}\n\n']),
         "invalid_response"),
        (Fault(status=503), "server"),
    ],
    ids=["stall", "malformed", "html", "no-finish", "503"],
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


@pytest.mark.parametrize("key", [KEY, "opaque-gemini-credential-77"])
async def test_key_never_in_error(
    fake_server: FakeServer, make: Make, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", key)
    fake_server.push(Fault(echo_auth=True))
    error = await fails(make())
    assert error.kind == "auth" and "[REDACTED]" in error.message
    assert key not in str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert error.__cause__ is None and error.__context__ is None  # no SDK request kept


async def test_unsupported_param_is_rejected(fake_server: FakeServer, make: Make) -> None:
    provider = make()
    provider.supported_params = frozenset({"temperature"})  # type: ignore[misc]
    with pytest.raises(ParamError, match="it supports: temperature"):
        await provider.complete(PROMPT, Params(seed=1))


def test_keys_and_model_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(ConfigError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        create_provider("google:gemini-2.5-flash")
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    provider = create_provider("google:models/gemini-2.5-pro")
    assert provider.cache_identity()["model"] == "gemini-2.5-pro"
    assert provider.cache_identity()["base_url"] == "https://generativelanguage.googleapis.com"
    with pytest.raises(ConfigError, match="names no model"):
        create_provider("google:")


def test_finish_reasons_and_retry_delay() -> None:
    assert finish_reason("STOP") == "stop"
    assert finish_reason("FinishReason.MAX_TOKENS") == "length"
    assert finish_reason("SAFETY") == "content_filter"
    assert finish_reason("MALFORMED_FUNCTION_CALL") == "malformed_function_call"
    assert finish_reason(None) is None
    assert retry_delay(RETRY_INFO) == 13.0
    assert retry_delay({"error": {"details": [{"retryDelay": "soon"}]}}) is None
    assert retry_delay("nope") is None
