"""The provider contract.

A provider turns a :class:`RenderedPrompt` and :class:`Params` into a :class:`Completion` with one
async method. Retries, timeouts, caching and concurrency limits wrap providers in one place (the
runner), so providers stay small: they translate, call, and classify failures as
:class:`ProviderError`.

Batching is an optional capability (``capabilities.batching``): a provider that can decode many
prompts together implements :meth:`Provider.complete_batch`; the default runs them one by one, so
callers never need a second code path.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from promptwork.errors import ParamError, ProviderError
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt

#: Parameters every provider in this package understands unless it says otherwise.
COMMON_PARAMS = frozenset({"temperature", "top_p", "max_tokens", "stop", "seed"})


class Provider(ABC):
    """Base class of every model provider.

    Subclasses set ``capabilities`` and ``supported_params`` and implement :meth:`complete`.

    Attributes:
        id: The full model id, e.g. ``openai:gpt-4o-mini``.
        label: A display name (defaults to ``id``).
    """

    capabilities: ClassVar[Capabilities] = Capabilities()
    supported_params: ClassVar[frozenset[str]] = COMMON_PARAMS
    #: Generation parameters written in its config (promptfoo's ``config: {temperature: 0}``):
    #: the defaults that a call's own params override (set by ``create_provider``).
    config_params: Params = Params()

    def __init__(self, id: str, label: str | None = None):
        self.id = id
        self.label = label or id

    def __repr__(self) -> str:
        # Never include configuration: it may hold an API key.
        return f"<{type(self).__name__} {self.id!r}>"

    def check_params(self, params: Params) -> None:
        """Reject parameters this provider cannot honour, naming the ones it can."""
        unsupported = sorted(set(params.given()) - self.supported_params)
        if unsupported:
            raise ParamError(
                f"model {self.id} does not support parameter"
                f"{'s' if len(unsupported) > 1 else ''} {', '.join(unsupported)}; "
                f"it supports: {', '.join(sorted(self.supported_params))}"
            )

    def cache_identity(self) -> dict[str, Any]:
        """Everything besides the prompt and params that determines the answer.

        Used for cache keys and recorded with runs. Must never contain secrets, timeouts or retry
        settings.
        """
        return {"provider": self.id}

    def describe(self) -> dict[str, Any]:
        """Settings worth showing users (what model file, threads, endpoint...)."""
        return self.cache_identity()

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        """The params of a cell's ``repeat``-th sample (0 is the first). Providers whose sampling
        is seeded per cell give each repeat its own seed; the default sends the same params."""
        return params

    @abstractmethod
    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        """Run one call. Raises :class:`ProviderError` on failure."""

    async def stream(self, prompt: RenderedPrompt, params: Params) -> AsyncIterator[str]:
        """Yield the answer in pieces; the default yields the whole answer once.

        Providers with ``capabilities.streaming`` override this. Use :meth:`stream_complete` to
        get both the pieces and the final record.
        """
        completion = await self.complete(prompt, params)
        yield completion.text

    async def stream_complete(
        self, prompt: RenderedPrompt, params: Params, on_text: Any
    ) -> Completion:
        """Stream, calling ``on_text(piece)`` per piece, and return the completion record.

        The default calls :meth:`complete` and reports the whole text once.
        """
        completion = await self.complete(prompt, params)
        on_text(completion.text)
        return completion

    async def complete_batch(
        self, requests: Sequence[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        """Run several calls; an error belongs to its own request only.

        The default runs them one after another. Batching providers decode them together.
        """
        results: list[Completion | ProviderError] = []
        for prompt, params in requests:
            try:
                results.append(await self.complete(prompt, params))
            except ProviderError as exc:
                results.append(exc)
        return results

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release network clients or other resources."""


class Stopwatch:
    """Measures a call's latency in milliseconds."""

    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000.0
