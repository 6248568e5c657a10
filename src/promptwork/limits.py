"""``--max-calls`` and ``--max-cost``: limits that stop an evaluation run cleanly.

Every provider of a run is wrapped in a :class:`LimitedProvider` that counts the requests that
reach it (cache hits never do; retries do) and the dollars they cost. A request that would go
past ``max_calls`` is never sent: it comes back as a :class:`~promptwork.errors.ProviderError`
of kind ``limit``, which the runner does not store, so the run stops and ``--resume`` sends it
later. A call's cost is known only once it has answered, so ``max_cost`` stops the run as soon
as the spent cost reaches it: the calls already in flight then (at most the concurrency) may
take it a little past the limit.

A time limit (the suite's ``evaluateOptions.maxEvalTimeMs``, promptfoo's whole-evaluation time
limit) works the same way: once that much time has passed since the run began, no further request
is sent; the calls in flight finish, and the cells not yet answered stay undone (the run is
interrupted and ``--resume`` finishes it), where promptfoo would mark them as errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.pricing import Price, price_of
from promptwork.providers.wrapping import WrappingProvider
from promptwork.types import Completion, Params, RenderedPrompt

#: The error kind of a request refused by a limit (never stored as a cell).
LIMIT_KIND = "limit"
#: Providers whose calls cost nothing.
FREE_PREFIXES = ("local:", "echo", "scripted")


@dataclass(frozen=True)
class Limits:
    """Limits of one run (``None``: none).

    Attributes:
        max_calls: Most model requests (cache hits are free; retries count).
        max_cost: Most US dollars spent (stops once reached; see the module).
        max_time_s: Most seconds from the start of the run to the last request sent.
        time_source: What set ``max_time_s``, for the message saying why the run stopped.
    """

    max_calls: int | None = None
    max_cost: float | None = None
    max_time_s: float | None = None
    time_source: str = "evaluateOptions.maxEvalTimeMs"

    @property
    def any(self) -> bool:
        return (self.max_calls is not None or self.max_cost is not None
                or self.max_time_s is not None)


def provider_price(provider: Provider) -> Price | None:
    """What ``provider`` charges per million tokens (zero for local and fake models), or
    ``None`` when unknown."""
    if provider.id.startswith(FREE_PREFIXES):
        return Price(0.0, 0.0)
    settings = getattr(provider, "settings", None)
    configured = getattr(settings, "price", None)
    if isinstance(configured, Price):
        return configured
    if getattr(provider, "free", False):
        return Price(0.0, 0.0)
    model = getattr(provider, "model", None)
    return price_of(model if isinstance(model, str) else provider.id.rsplit(":", 1)[-1])


class RunLimits:
    """The counters of one run against its :class:`Limits`.

    Attributes:
        calls: Requests sent so far.
        cost: Dollars spent so far (answers whose cost is unknown add nothing).
        stopped: Why the run stopped (``None`` while it goes on).
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.calls = 0
        self.cost = 0.0
        self.stopped: str | None = None
        self._clock = clock
        self._start = clock()

    def check_prices(self, providers: Sequence[Provider]) -> None:
        """Refuse ``max_cost`` when a provider's price is unknown (before any call).

        Raises:
            ConfigError: Naming the provider and how to give its price.
        """
        if self.limits.max_cost is None:
            return
        for p in providers:
            if provider_price(p) is None:
                raise ConfigError(
                    f"--max-cost cannot be enforced: the price of {p.id} is unknown; give it in "
                    "the provider's config (price: {input: 0.15, output: 0.6}, US dollars per "
                    "million tokens)")

    def wrap(self, provider: Provider) -> Provider:
        return LimitedProvider(provider, self) if self.limits.any else provider

    def allow(self, n: int) -> int:
        """Reserve up to ``n`` requests; returns how many may be sent."""
        limits = self.limits
        if self.stopped is not None:
            return 0
        if limits.max_cost is not None and self.cost >= limits.max_cost:
            self.stopped = f"--max-cost {limits.max_cost:g} reached (${self.cost:.4f} spent)"
            return 0
        if limits.max_time_s is not None and self._clock() - self._start >= limits.max_time_s:
            self.stopped = (f"{limits.time_source} {limits.max_time_s * 1000:g} reached "
                            f"({self.calls} request(s) sent)")
            return 0
        allowed = n
        if limits.max_calls is not None:
            allowed = max(0, min(n, limits.max_calls - self.calls))
        self.calls += allowed
        if allowed < n:
            self.stopped = f"--max-calls {limits.max_calls} reached"
        return allowed

    def spent(self, outcome: Completion | ProviderError) -> None:
        if isinstance(outcome, Completion) and outcome.cost:
            self.cost += outcome.cost
        limit = self.limits.max_cost
        if limit is not None and self.cost >= limit and self.stopped is None:
            self.stopped = f"--max-cost {limit:g} reached (${self.cost:.4f} spent)"

    def refused(self, outcome: Any) -> bool:
        """Whether ``outcome`` is a request the limits kept from being sent."""
        return isinstance(outcome, ProviderError) and outcome.kind == LIMIT_KIND

    def error(self) -> ProviderError:
        return ProviderError(f"not sent: {self.stopped}", kind=LIMIT_KIND)


class LimitedProvider(WrappingProvider):
    """Wraps a provider so that no request beyond the run's limits is sent.

    Cache identity, description and id are the wrapped provider's: cache keys do not change.
    """

    def __init__(self, inner: Provider, limits: RunLimits):
        super().__init__(inner)
        self.limits = limits

    def _refuses(self, prompt: RenderedPrompt) -> ProviderError | None:
        """A multi-part prompt with images for a model that takes none: refused, never sent."""
        if self.capabilities.images or not prompt.has_images():
            return None
        return ProviderError(
            f"{self.id} cannot take images (the prompt has image parts); use a model that does "
            "(OpenAI-compatible, Anthropic, Google) or send text only", kind="bad_request")

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        if (refused := self._refuses(prompt)) is not None:
            raise refused
        if not self.limits.allow(1):
            raise self.limits.error()
        try:
            completion = await self.inner.complete(prompt, params)
        except ProviderError as exc:
            self.limits.spent(exc)
            raise
        self.limits.spent(completion)
        return completion

    async def complete_batch(
        self, requests: Sequence[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        refused = [self._refuses(prompt) for prompt, _ in requests]
        if any(refused):
            sendable = [r for r, no in zip(requests, refused, strict=True) if no is None]
            sent = iter(await self.complete_batch(sendable) if sendable else [])
            return [no if no is not None else next(sent) for no in refused]
        allowed = self.limits.allow(len(requests))
        results = list(await self.inner.complete_batch(requests[:allowed])) if allowed else []
        for outcome in results:
            self.limits.spent(outcome)
        return results + [self.limits.error()] * (len(requests) - allowed)
