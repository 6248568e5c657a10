"""A provider that wraps another one to decide which requests reach it.

:class:`WrappingProvider` is the base of the run's limits
(:class:`promptwork.limits.LimitedProvider`) and of the optimizer's budget
(:class:`promptwork.optimizer.budget.BudgetedProvider`): everything but the sending is the wrapped
provider's (id, label, capabilities, parameters, cache identity, description, per-repeat
parameters, settings), so cache keys and records do not change when a provider is wrapped.
Subclasses implement :meth:`complete` and :meth:`complete_batch`, usually by asking their counter
and then calling :attr:`inner`.
"""

from __future__ import annotations

from typing import Any

from promptwork.providers.base import Provider
from promptwork.types import Params, RenderedPrompt

__all__ = ["WrappingProvider"]


class WrappingProvider(Provider):
    """The wrapped provider's identity and settings, with the sending left to subclasses.

    Args:
        inner: The wrapped provider.
    """

    def __init__(self, inner: Provider):
        super().__init__(inner.id, inner.label)
        self.inner = inner
        self.capabilities = inner.capabilities  # type: ignore[misc]
        self.supported_params = inner.supported_params  # type: ignore[misc]
        self.batch_size = int(getattr(inner, "batch_size", 16))
        # the generation parameters of its config (a class default on Provider, so not found
        # through attribute forwarding)
        self.config_params = getattr(inner, "config_params", self.config_params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # settings, model...: what callers read of a provider

    def check_params(self, params: Params) -> None:
        self.inner.check_params(params)

    def cache_identity(self) -> dict[str, Any]:
        return self.inner.cache_identity()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        return self.inner.for_repeat(prompt, params, repeat)

    async def aclose(self) -> None:
        await self.inner.aclose()
