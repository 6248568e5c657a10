"""The wrapped provider's identity and settings show through the run's limits and the optimizer's
budget (one base class, :class:`promptwork.providers.wrapping.WrappingProvider`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from promptwork.limits import LimitedProvider, Limits, RunLimits
from promptwork.optimizer.budget import Budget, BudgetedProvider
from promptwork.providers.base import Provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.providers.wrapping import WrappingProvider
from promptwork.types import Params, RenderedPrompt


class Reseeding(ScriptedProvider):
    """Gives each repeat of a cell its own seed, as the embedded model does."""

    model_file = "tiny.gguf"

    def for_repeat(self, prompt: RenderedPrompt, params: Params, repeat: int) -> Params:
        return params.model_copy(update={"seed": 100 + repeat})


WRAPPERS: list[Callable[[Provider], WrappingProvider]] = [
    lambda inner: LimitedProvider(inner, RunLimits(Limits(max_calls=5))),
    lambda inner: BudgetedProvider(inner, Budget(5)),
]


@pytest.mark.parametrize("wrap", WRAPPERS, ids=["limits", "budget"])
def test_a_wrapper_keeps_the_wrapped_providers_repeats_identity_and_settings(
        wrap: Callable[[Provider], WrappingProvider]) -> None:
    inner = Reseeding(["a"], id="scripted:reseeding")
    wrapped = wrap(inner)
    prompt = RenderedPrompt.from_text("hi")
    # Each repeat keeps its own seed through the wrapper (it used to get the same params back).
    assert wrapped.for_repeat(prompt, Params(), 2) == inner.for_repeat(prompt, Params(), 2)
    assert wrapped.for_repeat(prompt, Params(), 2).seed == 102
    assert wrapped.id == inner.id and wrapped.cache_identity() == inner.cache_identity()
    assert wrapped.describe() == inner.describe()
    assert wrapped.model_file == "tiny.gguf"  # what callers read of a provider


@pytest.mark.parametrize("wrap", WRAPPERS, ids=["limits", "budget"])
async def test_a_wrapper_sends_through_the_wrapped_provider(
        wrap: Callable[[Provider], WrappingProvider]) -> None:
    inner = ScriptedProvider(["answer"])
    wrapped = wrap(inner)
    assert (await wrapped.complete(RenderedPrompt.from_text("hi"), Params())).text == "answer"
    assert len(inner.calls) == 1
    await wrapped.aclose()
