"""The call wrapper: retries, backoff, timeouts, cache and adaptive concurrency."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from evalkit import isolate_env
from fakeserver import FakeServer, Fault
from promptwork.calls import AdaptiveLimit, CallPolicy, ModelCaller, cache_key
from promptwork.errors import ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Completion, Params, RenderedPrompt

PROMPT = RenderedPrompt.from_text("hello")
PARAMS = Params(temperature=0)


class MemoryCache:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def cache_get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def cache_put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def caller(script: list[Any], **kw: Any) -> tuple[ModelCaller, ScriptedProvider, Sleeps]:
    provider = ScriptedProvider(script)
    sleeps = Sleeps()
    policy = kw.pop("policy", CallPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0))
    return ModelCaller(provider, policy=policy, sleep=sleeps, seed=1, **kw), provider, sleeps


async def test_retry_after_is_honoured() -> None:
    c, provider, sleeps = caller(
        [ProviderError("slow down", kind="rate_limit", status=429, retry_after=2.0), "ok"]
    )
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, Completion) and out.text == "ok"
    assert len(provider.calls) == 2
    assert sleeps.waits and sleeps.waits[0] >= 2.0


async def test_quota_is_not_retried() -> None:
    c, provider, sleeps = caller([ProviderError("insufficient_quota", kind="quota", status=429)])
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, ProviderError) and out.kind == "quota"
    assert len(provider.calls) == 1 and sleeps.waits == []


@pytest.mark.parametrize("status,kind", [(400, "bad_request"), (401, "auth"), (403, "auth")])
async def test_client_errors_are_never_retried(status: int, kind: str) -> None:
    c, provider, _ = caller([ProviderError("no", kind=kind, status=status), "ok"])
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, ProviderError) and out.status == status
    assert len(provider.calls) == 1


async def test_server_errors_then_success_with_jittered_backoff() -> None:
    err = ProviderError("boom", kind="server", status=503)
    c, provider, sleeps = caller([err, err, "fine"])
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, Completion) and out.text == "fine"
    assert len(provider.calls) == 3
    # Full jitter in [cap/2, cap] with cap = 1, then 2 seconds.
    assert 0.5 <= sleeps.waits[0] <= 1.0
    assert 1.0 <= sleeps.waits[1] <= 2.0


async def test_persistent_failure_stops_at_the_limit() -> None:
    c, provider, sleeps = caller([ProviderError("down", kind="server", status=503)])
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, ProviderError) and out.kind == "server"
    assert len(provider.calls) == 4  # max_attempts
    assert len(sleeps.waits) == 3


async def test_per_attempt_timeout_is_retried() -> None:
    provider = ScriptedProvider(["late"], delay=0.5)
    sleeps = Sleeps()
    c = ModelCaller(provider, policy=CallPolicy(max_attempts=2, timeout=0.05), sleep=sleeps)
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, ProviderError) and out.kind == "timeout"
    assert len(provider.calls) == 2


async def test_unexpected_provider_exception_becomes_a_cell_error() -> None:
    def broken(prompt: RenderedPrompt, params: Params) -> str:
        raise KeyError("choices")

    c = ModelCaller(ScriptedProvider(broken))
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, ProviderError) and "KeyError" in out.message


async def test_cache_hit_makes_no_call_and_errors_are_not_cached() -> None:
    cache = MemoryCache()
    c, provider, _ = caller(["first"], cache=cache)
    assert (await c.call(PROMPT, PARAMS)).text == "first"  # type: ignore[union-attr]
    again = await c.call(PROMPT, PARAMS)
    assert isinstance(again, Completion) and again.cached and again.text == "first"
    assert len(provider.calls) == 1

    failing = MemoryCache()
    c2, _, _ = caller([ProviderError("bad", kind="bad_request")], cache=failing)
    await c2.call(PROMPT, PARAMS)
    assert failing.data == {}


async def test_corrupt_cache_entry_is_a_miss() -> None:
    cache = MemoryCache()
    c, provider, _ = caller(["fresh"], cache=cache)
    cache.data[cache_key(provider, PROMPT, PARAMS)] = {"no_text": True}
    out = await c.call(PROMPT, PARAMS)
    assert isinstance(out, Completion) and not out.cached and out.text == "fresh"


def test_cache_key_changes_with_what_matters_and_never_holds_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-123456")
    a = ScriptedProvider(["x"], id="scripted:a")
    b = ScriptedProvider(["x"], id="scripted:b")
    base = cache_key(a, PROMPT, PARAMS)
    assert base == cache_key(a, RenderedPrompt.from_text("hello"), Params(temperature=0))
    assert base != cache_key(b, PROMPT, PARAMS)
    assert base != cache_key(a, RenderedPrompt.from_text("hello!"), PARAMS)
    assert base != cache_key(a, PROMPT, Params(temperature=0.5))
    assert "sk-test" not in str(a.cache_identity())


async def test_concurrency_cap_holds_and_drops_under_rate_limiting() -> None:
    limit = AdaptiveLimit(4)
    seen = 0
    peak = 0

    async def work() -> None:
        nonlocal seen, peak
        async with limit:
            seen += 1
            peak = max(peak, seen)
            await asyncio.sleep(0.01)
            seen -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert peak == 4
    limit.throttled()
    assert limit.limit == 2
    limit.throttled()
    limit.throttled()
    assert limit.limit == 1
    for _ in range(5):
        await limit.succeeded()
    assert limit.limit == 2  # recovers step by step


async def test_a_cancelled_waiter_that_a_release_already_dropped() -> None:
    # Ctrl-C cancels a queued cell; a release runs before the cell handles its cancellation.
    limit = AdaptiveLimit(1)
    await limit.__aenter__()

    async def cell() -> None:
        async with limit:
            pass

    task = asyncio.create_task(cell())
    await asyncio.sleep(0)
    task.cancel()
    limit._release()  # drops the cancelled waiter from the queue
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limit.in_flight == 0 and not limit._waiters


# -- through a real HTTP server ------------------------------------------------------------------


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    isolate_env(monkeypatch, tmp_path)


def _openai(server: FakeServer, headers: dict[str, str] | None = None) -> Provider:
    config: dict[str, Any] = {"base_url": server.base_url, "timeout": 5}
    if headers is not None:
        config["headers"] = headers
    return create_provider("openai:chat:fake-model", config)


@pytest.mark.usefixtures("openai_env")
async def test_custom_headers_are_part_of_the_cache_key_but_credentials_are_not(
    fake_server: FakeServer,
) -> None:
    cache = MemoryCache()
    variants = [
        None,
        {"X-Route": "eu"},
        {"X-Route": "us"},  # another value: another answer
        {"x-route": "us", "Authorization": "Bearer sk-other-0123456789abcdef"},  # same + a key
        {"X-Route": "us", "api-key": "k2", "X-Trace": "Bearer abcdefghijklmnop"},
    ]
    for headers in variants:
        provider = _openai(fake_server, headers)
        out = await ModelCaller(provider, cache=cache).call(PROMPT, PARAMS)
        assert isinstance(out, Completion)
        await provider.aclose()
    assert len(fake_server.requests) == 3  # the last two were cache hits of the third
    identity = json.dumps(_openai(fake_server, variants[4]).cache_identity())
    assert "k2" not in identity and "abcdefghijklmnop" not in identity and "us" not in identity


@pytest.mark.usefixtures("openai_env")
async def test_a_retry_after_over_the_limit_says_why_it_gave_up(
    fake_server: FakeServer,
) -> None:
    fake_server.push(Fault(status=429, headers={"Retry-After": "300"}))
    provider = _openai(fake_server)
    sleeps = Sleeps()
    out = await ModelCaller(provider, sleep=sleeps).call(PROMPT, PARAMS)
    await provider.aclose()
    assert isinstance(out, ProviderError) and out.kind == "rate_limit"
    assert "server asked to retry after 300 s (> 120 s limit)" in out.message
    assert sleeps.waits == [] and len(fake_server.requests) == 1
