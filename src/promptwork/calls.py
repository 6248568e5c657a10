"""One place that wraps every provider: cache, retries with backoff, timeouts, concurrency.

Retries use exponential backoff with full jitter, honour ``Retry-After``, and never retry 400,
401, 403 or quota errors. Concurrency per provider adapts: a 429 halves the limit, successes
raise it back one step at a time (as promptfoo and inspect_ai do).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from promptwork.errors import ProviderError
from promptwork.providers.base import Provider
from promptwork.secrets import redact
from promptwork.types import Completion, Params, RenderedPrompt, TokenLogprob, Usage


@dataclass(frozen=True)
class CallPolicy:
    """How hard to try.

    Attributes:
        max_attempts: Attempts per call, the first included.
        base_delay: First backoff in seconds; doubles each attempt.
        max_delay: Cap on one backoff.
        timeout: Per-attempt timeout in seconds (``None``: no limit).
        max_retry_after: Longest ``Retry-After`` we accept before giving up.
    """

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float | None = 120.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(cap / 2, cap)


class Cache(Protocol):
    def cache_get(self, key: str) -> dict[str, Any] | None: ...
    def cache_put(self, key: str, value: dict[str, Any]) -> None: ...


def cache_key(provider: Provider, prompt: RenderedPrompt, params: Params, repeat: int = 0) -> str:
    """sha256 of canonical JSON of everything that determines the answer (never the API key).

    Each repeat of a cell is its own sample, so repeats after the first get their own keys.
    """
    identity = provider.cache_identity()
    payload: dict[str, Any] = {
        "identity": identity,
        "params": params.given(),
        "messages": prompt.to_list(),
        "plain": prompt.plain,
    }
    if identity.get("reads_vars") and prompt.vars is not None:  # the answer may depend on them
        payload["vars"] = json.loads(json.dumps(dict(prompt.vars), default=str))
    if repeat:
        payload["repeat"] = repeat
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def completion_to_cache(c: Completion) -> dict[str, Any]:
    return {
        "text": c.text,
        "prompt_tokens": c.usage.prompt_tokens,
        "completion_tokens": c.usage.completion_tokens,
        "latency_ms": c.latency_ms,
        "cost": c.cost,
        "finish_reason": c.finish_reason,
        "logprobs": [_token_to_cache(t) for t in c.logprobs] if c.logprobs else None,
    }


def _token_to_cache(t: TokenLogprob) -> list[Any]:
    top = [[a.token, a.logprob] for a in t.top]
    return [t.token, t.logprob, top] if top else [t.token, t.logprob]


def _token_from_cache(item: Sequence[Any]) -> TokenLogprob:
    top = tuple(TokenLogprob(str(a), float(p)) for a, p in item[2]) if len(item) > 2 else ()
    return TokenLogprob(str(item[0]), float(item[1]), top)


def completion_from_cache(value: dict[str, Any], provider_id: str) -> Completion | None:
    try:
        lps = value.get("logprobs")
        return Completion(
            text=str(value["text"]),
            provider=provider_id,
            usage=Usage(value.get("prompt_tokens"), value.get("completion_tokens")),
            latency_ms=float(value.get("latency_ms") or 0.0),
            cost=0.0 if value.get("cost") is not None else None,  # a cache hit costs nothing
            finish_reason=value.get("finish_reason"),
            logprobs=tuple(_token_from_cache(t) for t in lps) if lps else None,
            cached=True,
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return None  # a corrupt entry is a miss


def _gave_up_waiting(error: ProviderError, limit: float) -> ProviderError:
    """``error`` saying why it was not retried: the server asked for too long a wait."""
    return dataclasses.replace(error, message=(
        f"{error.message} (server asked to retry after {error.retry_after:g} s "
        f"(> {limit:g} s limit); not retried)"))


class AdaptiveLimit:
    """A concurrency limit that shrinks on rate limiting and grows back on success.

    Waiters queue in FIFO order and each release wakes at most the waiters that can now run,
    so thousands of queued cells cost O(1) per hand-over (a Condition with notify_all would wake
    every waiter each time).
    """

    def __init__(self, limit: int):
        self.max = max(1, limit)
        self.limit = self.max
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._streak = 0

    async def __aenter__(self) -> AdaptiveLimit:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future  # the releaser counted us in
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # we were let in but will not run
            elif future in self._waiters:  # a release may already have dropped it
                self._waiters.remove(future)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def throttled(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._streak = 0

    async def succeeded(self) -> None:
        if self.limit >= self.max:
            return
        self._streak += 1
        if self._streak >= 5:
            self._streak = 0
            self.limit += 1
            self._wake()


Item = tuple[RenderedPrompt, Params]
Outcome = Completion | ProviderError


class ModelCaller:
    """Calls one provider with cache, retries, timeouts and an adaptive concurrency limit.

    Args:
        provider: The provider to call.
        cache: Where cached answers live (``None``: no cache).
        policy: Retry and timeout policy.
        concurrency: Most calls (or batches) in flight at once.
        on_retry: Told about each retry (provider id, attempt, wait, error).
        seed: Seed of the jitter generator (tests use it for reproducible waits).
        sleep: Injected for tests.
    """

    def __init__(
        self,
        provider: Provider,
        cache: Cache | None = None,
        policy: CallPolicy | None = None,
        concurrency: int = 4,
        on_retry: Callable[[str, int, float, ProviderError], None] | None = None,
        seed: int | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ):
        self.provider = provider
        self.cache = cache
        self.policy = policy or CallPolicy()
        self.limit = AdaptiveLimit(concurrency)
        self.on_retry = on_retry
        self._rng = random.Random(seed)
        self._sleep = sleep
        self.calls = 0  # attempts that reached the provider

    async def call(self, prompt: RenderedPrompt, params: Params) -> Outcome:
        return (await self.call_many([(prompt, params)]))[0]

    async def stream(
        self, prompt: RenderedPrompt, params: Params, on_text: Callable[[str], None],
        on_retry: Callable[[str, int, float, ProviderError], None] | None = None,
    ) -> Outcome:
        """One call, streamed: ``on_text`` gets each piece of the answer as it arrives.

        The same cache, retries, timeout and concurrency limit as :meth:`call`. A cache hit is
        reported as one piece. A retried attempt streams its answer anew: ``on_retry`` (this
        call's, else the caller's) is told first, so that a listener can drop the pieces of the
        failed attempt.
        """
        notify = on_retry or self.on_retry
        key = cache_key(self.provider, prompt, params) if self.cache is not None else None
        if key is not None and self.cache is not None:
            hit = self.cache.cache_get(key)
            cached = completion_from_cache(hit, self.provider.id) if hit is not None else None
            if cached is not None:
                on_text(cached.text)
                return cached
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._stream_once(prompt, params, on_text)
            if isinstance(outcome, Completion):
                if key is not None and self.cache is not None:
                    self.cache.cache_put(key, completion_to_cache(outcome))
                return outcome
            if outcome.kind == "rate_limit":
                self.limit.throttled()
            if not outcome.retryable or attempt >= self.policy.max_attempts:
                return outcome
            if outcome.retry_after is not None and (
                    outcome.retry_after > self.policy.max_retry_after):
                return _gave_up_waiting(outcome, self.policy.max_retry_after)
            wait = max(outcome.retry_after or 0.0, self.policy.backoff(attempt, self._rng))
            if notify is not None:
                notify(self.provider.id, attempt, wait, outcome)
            await self._sleep(wait)

    async def _stream_once(
        self, prompt: RenderedPrompt, params: Params, on_text: Callable[[str], None]
    ) -> Outcome:
        async with self.limit:
            self.calls += 1
            try:
                outcome: Outcome = await asyncio.wait_for(
                    self.provider.stream_complete(prompt, params, on_text), self.policy.timeout)
            except TimeoutError:
                return ProviderError(
                    f"no answer within {self.policy.timeout:g} s (per-attempt timeout)",
                    kind="timeout")
            except ProviderError as exc:
                return exc
            except Exception as exc:  # a provider bug is this call's error, not the caller's
                return ProviderError(redact(f"{type(exc).__name__}: {exc}"), kind="other")
        await self.limit.succeeded()
        return outcome

    async def call_many(
        self, items: Sequence[Item], repeats: Sequence[int] | None = None
    ) -> list[Outcome]:
        """Answer every item; cached ones first, the rest through the provider (batched if it
        can), retrying the failed items only. ``repeats`` gives each item's repeat index."""
        results: list[Outcome | None] = [None] * len(items)
        keys: list[str | None] = [None] * len(items)
        todo: list[int] = []
        for i, (prompt, params) in enumerate(items):
            if self.cache is not None:
                repeat = repeats[i] if repeats is not None else 0
                keys[i] = key = cache_key(self.provider, prompt, params, repeat)
                hit = self.cache.cache_get(key)
                if hit is not None:
                    results[i] = completion_from_cache(hit, self.provider.id)
            if results[i] is None:
                todo.append(i)
        if repeats is not None:  # each repeat is its own sample: its own seed where seeded
            items = [(p, self.provider.for_repeat(p, params, r)) if r else (p, params)
                     for (p, params), r in zip(items, repeats, strict=True)]
        attempt = 0
        while todo:
            attempt += 1
            outcomes = await self._attempt([items[i] for i in todo])
            retry: list[int] = []
            wait = 0.0
            for i, outcome in zip(todo, outcomes, strict=True):
                results[i] = outcome
                if isinstance(outcome, Completion):
                    stored = keys[i]
                    if self.cache is not None and stored is not None:
                        self.cache.cache_put(stored, completion_to_cache(outcome))
                    continue
                if outcome.kind == "rate_limit":
                    self.limit.throttled()
                if not outcome.retryable or attempt >= self.policy.max_attempts:
                    continue
                if outcome.retry_after is not None and (
                    outcome.retry_after > self.policy.max_retry_after
                ):
                    results[i] = _gave_up_waiting(outcome, self.policy.max_retry_after)
                    continue
                retry.append(i)
                backoff = self.policy.backoff(attempt, self._rng)
                wait = max(wait, outcome.retry_after or 0.0, backoff)
            if retry:
                first = results[retry[0]]
                assert isinstance(first, ProviderError)
                if self.on_retry is not None:
                    self.on_retry(self.provider.id, attempt, wait, first)
                await self._sleep(wait)
            todo = retry
        return [r for r in results if r is not None]

    async def _attempt(self, items: Sequence[Item]) -> list[Outcome]:
        async with self.limit:
            self.calls += len(items)
            try:
                coro = (
                    self.provider.complete_batch(items)
                    if len(items) > 1
                    else self._one(items[0])
                )
                outcomes = await asyncio.wait_for(coro, self.policy.timeout)
            except TimeoutError:
                err = ProviderError(
                    f"no answer within {self.policy.timeout:g} s (per-attempt timeout)",
                    kind="timeout",
                )
                return [err] * len(items)
        if any(isinstance(o, Completion) for o in outcomes):
            await self.limit.succeeded()
        return outcomes

    async def _one(self, item: Item) -> list[Outcome]:
        try:
            return [await self.provider.complete(*item)]
        except ProviderError as exc:
            return [exc]
        except Exception as exc:  # a provider bug must not end the run: record it on the cell
            return [ProviderError(redact(f"{type(exc).__name__}: {exc}"), kind="other")]
