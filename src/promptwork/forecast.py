"""``promptwork eval --dry-run``: what a run would do, before any model call.

For each provider: the cells, how many of them the store's cache already answers (those cost
no call), the calls left, and a forecast of their cost (the provider's price and the rendered
prompts' token estimate, about 4 characters a token, with ``max_tokens`` answer tokens or
:data:`ASSUMED_ANSWER_TOKENS` when it is not set) and of their time (the median latency recorded
in the store for that provider, divided by its concurrency; "unknown" without one).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from promptwork.calls import cache_key
from promptwork.errors import TemplateError
from promptwork.limits import provider_price
from promptwork.providers.base import Provider
from promptwork.providers.pricing import Price
from promptwork.runner import Runner

#: Answer tokens assumed per call when a prompt sets no ``max_tokens``.
ASSUMED_ANSWER_TOKENS = 256
#: Characters per token in the prompt estimate.
CHARS_PER_TOKEN = 4


@dataclass
class ProviderForecast:
    """The forecast of one provider of the suite.

    Attributes:
        label: The provider's label.
        cells: Cells it has in the run.
        cached: Cells whose request the cache answers (no call).
        unrenderable: Cells whose prompt does not render (no call; a template error).
        prompt_tokens: Estimated prompt tokens of the calls.
        answer_tokens: Answer tokens assumed for the calls.
        price: Its price (``None``: unknown).
        latency_ms: Median recorded latency (``None``: nothing recorded).
        samples: How many recorded calls that median is of.
        concurrency: Calls in flight at once.
    """

    label: str
    provider_id: str
    cells: int = 0
    cached: int = 0
    unrenderable: int = 0
    prompt_tokens: int = 0
    answer_tokens: int = 0
    price: Price | None = None
    latency_ms: float | None = None
    samples: int = 0
    concurrency: int = 1

    @property
    def calls(self) -> int:
        return self.cells - self.cached - self.unrenderable

    @property
    def cost(self) -> float | None:
        if self.price is None:
            return None
        return self.price.cost(self.prompt_tokens, self.answer_tokens) or 0.0

    @property
    def seconds(self) -> float | None:
        if self.latency_ms is None:
            return None
        return self.calls * self.latency_ms / 1000 / max(1, self.concurrency)

    def line(self) -> str:
        if self.price is None:
            cost = "unknown (no price listed; set the provider's config price)"
        elif self.price.input == self.price.output == 0:
            cost = "none (a local or free model)"
        else:
            cost = f"${self.cost or 0.0:.4f}"
        if self.calls == 0:
            time = "none"
        elif self.seconds is None:
            time = "unknown (no recorded calls to this model yet)"
        else:
            time = (f"about {_duration(self.seconds)} (median {self.latency_ms:.0f} ms of "
                    f"{self.samples} recorded calls, {self.concurrency} at a time)")
        skipped = f", {self.unrenderable} do not render" if self.unrenderable else ""
        return (f"{self.label}: {self.cells} cells, {self.cached} answered by the cache{skipped}, "
                f"{self.calls} model calls; cost {cost}; time {time}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


async def forecast(runner: Runner) -> list[ProviderForecast]:
    """The forecast of ``runner``'s suite, provider by provider; makes no model call.

    Raises:
        ConfigError: What the run itself would refuse (missing variables, no tests, unsupported
            parameters, an unknown price with ``--max-cost``...).
    """
    # The runner's own preparation, as Runner.run does it before its first call.
    runner._validate_tests()
    providers = runner._limited(runner._providers())
    try:
        return _forecast(runner, providers)
    finally:
        for provider in providers:
            await provider.aclose()


def _forecast(runner: Runner, providers: list[Provider]) -> list[ProviderForecast]:
    pairs = runner._pairs(providers)
    suite, config, store = runner.suite, runner.config, runner.store
    repeat = config.repeat or suite.options.repeat
    use_cache = config.use_cache and suite.options.cache
    out: dict[int, ProviderForecast] = {}
    for entry, provider in zip(suite.providers, providers, strict=True):
        latencies = store.recorded_latencies(provider.id)
        out[entry.index] = ProviderForecast(
            entry.label, provider.id, price=provider_price(provider),
            latency_ms=statistics.median(latencies) if latencies else None,
            samples=len(latencies))
    for pair in pairs:
        found = out[pair.provider_entry.index]
        found.concurrency = pair.caller.limit.max
        answer = pair.params.max_tokens or ASSUMED_ANSWER_TOKENS
        for test in runner._tests():
            try:
                prompt = pair.prompt.template.render(test.vars)
            except TemplateError:
                found.cells += repeat
                found.unrenderable += repeat
                continue
            for r in range(repeat):
                found.cells += 1
                sample = r + (test.probe.sample if test.probe is not None else 0)
                if use_cache and store.cache_get(cache_key(pair.provider, prompt,
                                                           pair.params, sample)) is not None:
                    found.cached += 1
                    continue
                found.prompt_tokens += len(prompt.as_text()) // CHARS_PER_TOKEN + 1
                found.answer_tokens += answer
    return list(out.values())


def forecast_lines(forecasts: Sequence[ProviderForecast]) -> list[str]:
    """What ``eval --dry-run`` prints."""
    cells = sum(f.cells for f in forecasts)
    calls = sum(f.calls for f in forecasts)
    costs = [f.cost for f in forecasts if f.calls]
    total = ("unknown" if any(c is None for c in costs)
             else f"${sum(c for c in costs if c is not None):.4f}")
    return [
        f"{cells} cells, {calls} model calls after the cache; forecast cost {total} (prompt "
        f"tokens estimated from the rendered prompts, answers at max_tokens or "
        f"{ASSUMED_ANSWER_TOKENS} tokens)",
        *(f"  {f.line()}" for f in forecasts),
    ]
