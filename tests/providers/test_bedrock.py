"""AWS Bedrock through boto3's Converse API, against the fake server on 127.0.0.1."""

from __future__ import annotations

import pytest

from fakeserver import FakeServer, Fault
from promptwork.errors import ConfigError, MissingDependencyError, ProviderError
from promptwork.providers.bedrock import BedrockProvider, converse_request, error_kind
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytest.importorskip("boto3", reason="the boto3 SDK is not installed")
pytestmark = pytest.mark.server

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CHAT = RenderedPrompt((Message("system", "Be brief."), Message("user", "Say hello")))
SECRET = "fake/secret+Abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEDROCK_REGION", "AWS_DEFAULT_REGION",
                 "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")


def make(server: FakeServer, model: str = MODEL) -> BedrockProvider:
    provider = create_provider(f"bedrock:{model}", {"endpoint": server.url, "timeout": 2})
    assert isinstance(provider, BedrockProvider)
    return provider


async def test_converse_request_shape_answer_and_usage(fake_server: FakeServer) -> None:
    provider = make(fake_server)
    completion = await provider.complete(CHAT, Params(temperature=0, max_tokens=30,
                                                      stop=("END",)))
    request = fake_server.requests[-1]
    assert request.path == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKE")
    assert "/eu-west-3/bedrock/aws4_request" in request.headers["Authorization"]
    assert request.json == {
        "messages": [{"role": "user", "content": [{"text": "Say hello"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 30, "temperature": 0.0, "stopSequences": ["END"]},
    }
    assert completion.text == "Hello from the fake server."
    assert completion.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 5)
    assert provider.cache_identity()["region"] == "eu-west-3"
    truncated = await provider.complete(CHAT, Params(max_tokens=2))
    assert (truncated.text, truncated.finish_reason) == ("Hello from", "length")


@pytest.mark.parametrize(("status", "code", "kind"), [
    (429, "ThrottlingException", "rate_limit"),
    (400, "ValidationException", "bad_request"),
    (403, "AccessDeniedException", "auth"),
    (503, "ServiceUnavailableException", "server"),
])
async def test_errors_are_classified_by_code(
    fake_server: FakeServer, status: int, code: str, kind: str
) -> None:
    fake_server.push(Fault(status=status, headers={"x-amzn-ErrorType": f"{code}:http://x/"},
                           body={"message": f"fake {code}"}))
    with pytest.raises(ProviderError) as info:
        await make(fake_server).complete(CHAT, Params())
    assert info.value.kind == kind and info.value.status == status
    assert f"fake {code}" in info.value.message
    assert len(fake_server.requests) == 1  # boto3 does not retry: the runner does


async def test_dropped_connection_timeout_and_bad_body(fake_server: FakeServer) -> None:
    provider = make(fake_server)
    fake_server.push(Fault(body={"unexpected": True}))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "invalid_response"
    fake_server.push(Fault(drop=True))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "connection"
    fake_server.push(Fault(delay=5))
    with pytest.raises(ProviderError) as info:
        await provider.complete(CHAT, Params())
    assert info.value.kind == "timeout"


def test_configuration_is_checked_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="do not write AWS credentials"):
        create_provider(f"bedrock:{MODEL}", {"accessKeyId": "x"})
    with pytest.raises(ConfigError, match="unknown config key regoin"):
        create_provider(f"bedrock:{MODEL}", {"regoin": "x"})
    with pytest.raises(ConfigError, match="names no model"):
        create_provider("bedrock:")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ConfigError, match="needs AWS credentials"):
        create_provider(f"bedrock:converse:{MODEL}")
    with pytest.raises(ConfigError, match="nosuchprofile"):
        create_provider(f"bedrock:{MODEL}", {"profile": "nosuchprofile"})


def test_mapping_helpers() -> None:
    request = converse_request("m", RenderedPrompt.from_text("hi"), Params(top_p=0.5))
    assert request == {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                       "inferenceConfig": {"topP": 0.5}}
    with pytest.raises(ConfigError, match="only system text"):
        converse_request("m", RenderedPrompt((Message("system", "s"),)), Params())
    assert error_kind("ModelTimeoutException", 408) == "timeout"
    assert error_kind(None, 502) == "server"


def test_missing_boto3_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'promptwork\[bedrock\]'"):
        create_provider(f"bedrock:{MODEL}")
