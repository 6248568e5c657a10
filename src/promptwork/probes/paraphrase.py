"""The paraphrases of the robustness probe: one call per test variable to a named model, at
temperature 0, through the cache (a second probe run reuses them: same text, same cells)."""

from __future__ import annotations

from collections.abc import Sequence

from promptwork.calls import ModelCaller
from promptwork.cases import TestCase
from promptwork.errors import ConfigError, ProviderError
from promptwork.probes.base import Probe
from promptwork.probes.robustness import RobustnessProbe
from promptwork.providers.registry import create_provider
from promptwork.store import Store
from promptwork.types import Message, Params, RenderedPrompt


def paraphrase_calls(probes: Sequence[Probe], tests: Sequence[TestCase]) -> int:
    """How many paraphrase calls the probes need (for ``--dry-run``)."""
    return sum(len(p.paraphrase_requests(tests)) for p in probes
               if isinstance(p, RobustnessProbe))


async def write_paraphrases(probes: Sequence[Probe], tests: Sequence[TestCase],
                            store: Store | None) -> int:
    """Ask each robustness probe's paraphrase model for its paraphrases; returns the calls.

    Raises:
        ConfigError: A paraphrase call failed (the probe cannot derive its tests without it).
    """
    calls = 0
    for probe in probes:
        if not isinstance(probe, RobustnessProbe) or not probe.paraphrase_model:
            continue
        requests = probe.paraphrase_requests(tests)
        if not requests:
            continue
        provider = create_provider(probe.paraphrase_model)
        caller = ModelCaller(provider, cache=store)
        params = Params(temperature=0.0)
        items = [(RenderedPrompt((Message("user", text),), plain=True), params)
                 for _t, _v, text in requests]
        try:
            outcomes = await caller.call_many(items)
        finally:
            await provider.aclose()
        for (test, var, _text), outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, ProviderError):
                raise ConfigError(f"probe 'robustness': the paraphrase model "
                                  f"{probe.paraphrase_model} failed: {outcome}")
            probe.paraphrases[(test, var)] = outcome.text.strip()
            calls += 1
    return calls
