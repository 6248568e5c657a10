"""The fake providers: ``echo`` and ``scripted``."""

from __future__ import annotations

import asyncio
import json

import pytest

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.echo import EchoProvider
from promptwork.providers.registry import create_provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Message, Params, RenderedPrompt

CHAT = RenderedPrompt((Message("system", "Be brief."), Message("user", "Hi, café?")))


def text(value: str) -> RenderedPrompt:
    return RenderedPrompt.from_text(value)


# --- echo -------------------------------------------------------------------------------------


async def test_echo_plain_text() -> None:
    result = await EchoProvider("echo").complete(text("Hello\nworld"), Params())
    assert result.text == "Hello\nworld"
    assert result.provider == "echo"
    assert result.finish_reason == "stop"
    assert result.cost == 0.0
    assert result.latency_ms >= 0


async def test_echo_chat_messages_as_json() -> None:
    result = await EchoProvider("echo").complete(CHAT, Params())
    assert json.loads(result.text) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi, café?"},
    ]
    assert "café" in result.text  # not \u-escaped


async def test_echo_single_user_message_that_is_not_plain() -> None:
    prompt = RenderedPrompt((Message("user", "Hi"),))
    result = await EchoProvider("echo").complete(prompt, Params())
    assert json.loads(result.text) == [{"role": "user", "content": "Hi"}]


async def test_echo_from_registry_and_stream_complete() -> None:
    provider = create_provider("echo", label="mirror")
    assert isinstance(provider, EchoProvider)
    assert provider.label == "mirror"
    pieces: list[str] = []
    result = await provider.stream_complete(text("abc"), Params(), pieces.append)
    assert pieces == ["abc"]
    assert result.text == "abc"
    assert [p async for p in provider.stream(text("xyz"), Params())] == ["xyz"]


def test_echo_accepts_every_parameter() -> None:
    EchoProvider("echo").check_params(
        Params(temperature=0, top_p=1, max_tokens=3, stop=("x",), seed=1, frequency_penalty=0,
               presence_penalty=0, response_schema={"type": "object"}, logprobs=True)
    )


def test_repr_shows_no_config() -> None:
    assert repr(EchoProvider("echo")) == "<EchoProvider 'echo'>"


# --- scripted ---------------------------------------------------------------------------------


async def test_scripted_list_in_order_then_last_repeats() -> None:
    provider = ScriptedProvider(["one", "two"])
    answers = [(await provider.complete(text(f"q{i}"), Params())).text for i in range(4)]
    assert answers == ["one", "two", "two", "two"]


async def test_scripted_default_answer() -> None:
    assert (await ScriptedProvider().complete(text("q"), Params())).text == "ok"


async def test_scripted_mapping_by_substring() -> None:
    provider = ScriptedProvider({"capital": "Paris", "colour": "blue", "*": "no idea"})
    assert (await provider.complete(text("What is the capital?"), Params())).text == "Paris"
    assert (await provider.complete(text("Sky colour?"), Params())).text == "blue"
    assert (await provider.complete(text("Something else"), Params())).text == "no idea"


async def test_scripted_mapping_matches_chat_text() -> None:
    provider = ScriptedProvider({"Be brief": "short"})
    assert (await provider.complete(CHAT, Params())).text == "short"


async def test_scripted_mapping_without_fallback_raises() -> None:
    provider = ScriptedProvider({"capital": "Paris"})
    with pytest.raises(ProviderError, match="no answer for prompt"):
        await provider.complete(text("unrelated"), Params())
    assert len(provider.calls) == 1


async def test_scripted_callable() -> None:
    def answer(prompt: RenderedPrompt, params: Params) -> str:
        return f"{prompt.as_text().upper()} t={params.temperature}"

    provider = ScriptedProvider(answer)
    result = await provider.complete(text("hi"), Params(temperature=0.5))
    assert result.text == "HI t=0.5"


async def test_scripted_provider_error_is_raised() -> None:
    error = ProviderError("slow down", kind="rate_limit", status=429, retry_after=2.0)
    provider = ScriptedProvider([error, "fine"])
    with pytest.raises(ProviderError) as info:
        await provider.complete(text("q"), Params())
    assert info.value is error
    assert info.value.retryable
    assert str(info.value) == "rate_limit (HTTP 429): slow down"
    assert (await provider.complete(text("q"), Params())).text == "fine"


async def test_scripted_max_tokens_cuts_words() -> None:
    provider = ScriptedProvider(["one two three four five"])
    result = await provider.complete(text("q"), Params(max_tokens=3))
    assert result.text == "one two three"
    assert result.usage.completion_tokens == 3


async def test_scripted_stop_sequences() -> None:
    provider = ScriptedProvider(["alpha END beta", "x;y|z"])
    first = await provider.complete(text("q"), Params(stop=("END",)))
    assert first.text == "alpha "
    second = await provider.complete(text("q"), Params(stop=("|", ";")))
    assert second.text == "x"


async def test_scripted_records_calls_and_usage() -> None:
    provider = ScriptedProvider(["an answer"])
    params = Params(temperature=0.1)
    result = await provider.complete(text("three word prompt"), params)
    assert provider.calls == [(text("three word prompt"), params)]
    assert result.usage.prompt_tokens == 3
    assert result.usage.completion_tokens == 2
    assert result.provider == "scripted"


async def test_scripted_delay_allows_concurrency() -> None:
    provider = ScriptedProvider(["x"], delay=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(provider.complete(text("q"), Params()) for _ in range(5)))
    elapsed = loop.time() - start
    assert 0.2 <= elapsed < 0.8
    assert len(provider.calls) == 5


async def test_scripted_streams_whole_answer() -> None:
    provider = ScriptedProvider(["streamed"])
    assert provider.capabilities.streaming
    pieces: list[str] = []
    result = await provider.stream_complete(text("q"), Params(), pieces.append)
    assert pieces == ["streamed"] and result.text == "streamed"


def test_scripted_cache_identity_includes_script() -> None:
    a = ScriptedProvider(["a"]).cache_identity()
    b = ScriptedProvider(["b"]).cache_identity()
    assert a != b
    assert a["provider"] == "scripted"


async def test_scripted_create_from_config() -> None:
    provider = create_provider("scripted:my-model", {"responses": ["first", "second"]}, "S")
    assert isinstance(provider, ScriptedProvider)
    assert (provider.id, provider.label) == ("scripted:my-model", "S")
    assert (await provider.complete(text("q"), Params())).text == "first"
    assert (await provider.complete(text("q"), Params())).text == "second"


async def test_scripted_create_with_mapping_script_and_delay() -> None:
    provider = create_provider("scripted", {"script": {"hi": "hello", "*": "?"}, "delay": 0.01})
    assert isinstance(provider, ScriptedProvider)
    assert provider.delay == 0.01
    assert (await provider.complete(text("hi there"), Params())).text == "hello"


async def test_scripted_create_default() -> None:
    provider = create_provider("scripted")
    assert (await provider.complete(text("q"), Params())).text == "ok"


@pytest.mark.parametrize("responses", [[], {}, "just a string", 3])
def test_scripted_create_rejects_bad_config(responses: object) -> None:
    with pytest.raises(ConfigError, match="'responses'"):
        create_provider("scripted", {"responses": responses})
