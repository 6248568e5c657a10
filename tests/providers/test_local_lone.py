"""A lone prompt (a group of one: ``promptwork run``, a one-cell run) decodes on the embedded
model's own context instead of creating a batched one, with the same answers.

Both paths run the same decode loop and sampler from an empty cache; these tests hold the lone
path to the batched context bit for bit, whatever was decoded before (batched groups, or
llama-cpp-python's own ``create_completion``, whose prefix reuse must not leak in).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from promptwork.providers.local import LocalProvider
from promptwork.providers.local_batch import BatchDecoder, Request, seed_for
from promptwork.providers.local_models import ModelPool
from promptwork.types import Completion, Params, RenderedPrompt

pytestmark = pytest.mark.embedded

PROMPTS = ["1, 2, 3, 4,", "The capital of France is", "Twinkle, twinkle, little",
           "Review: a dull, lifeless film.\nSentiment:", "Sunday, Monday,"]
GREEDY = Params(temperature=0, max_tokens=5, logprobs=True)
SAMPLED = Params(temperature=0.9, top_p=0.95, max_tokens=5, logprobs=True)


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    """A model of its own (a private pool), so that no other test has made its contexts."""
    pool = ModelPool()
    yield LocalProvider("local:gemma3-270m", "gemma3-270m", {"workers": 1}, pool=pool)
    pool.close()


def requests(provider: LocalProvider, params: Params) -> list[Request]:
    llama = provider.model.llama
    return [Request(tokens=llama.tokenize(t.encode(), special=True), params=params,
                    max_tokens=params.max_tokens or 5, stops=(), seed=seed_for(t, params))
            for t in PROMPTS]


class Logits:
    """Records the logits every sampling step sees, per decoder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.rows: dict[int, list[Any]] = {}
        original = BatchDecoder._sample

        def spy(decoder: BatchDecoder, slot: Any, logits: Any) -> tuple[int, float]:
            self.rows.setdefault(id(decoder), []).append(np.array(logits, copy=True))
            return original(decoder, slot, logits)

        monkeypatch.setattr(BatchDecoder, "_sample", spy)


def test_a_lone_cell_creates_no_batched_context(provider: LocalProvider) -> None:
    got = asyncio.run(provider.complete(RenderedPrompt.from_text(PROMPTS[0]), GREEDY))
    assert isinstance(got, Completion) and got.text
    assert set(provider.model.extras) == {"lone_decoder"}


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_the_lone_path_gives_the_batched_context_logits_whatever_came_before(
    provider: LocalProvider, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoding = provider._decoding()
    lone, batched = decoding.lone(), decoding.decoder()
    llama = provider.model.llama
    seen = Logits(monkeypatch)
    reqs = requests(provider, params)
    for i, request in enumerate(reqs):
        # Leave state behind on both contexts: a batched group, and a create_completion call
        # (which fills the model's own context and would reuse its prefix next time).
        batched.run(reqs[max(0, i - 2):i + 1])
        llama.create_completion(PROMPTS[(i + 1) % len(PROMPTS)], max_tokens=2, temperature=0)
        seen.rows.clear()
        a = batched.run([request])[0]
        b = lone.run([request])[0]
        assert (a.tokens, a.text, a.logprobs, a.finish) == (b.tokens, b.text, b.logprobs, b.finish)
        rows_a, rows_b = seen.rows[id(batched)], seen.rows[id(lone)]
        assert len(rows_a) == len(rows_b)
        assert all(np.array_equal(x, y) for x, y in zip(rows_a, rows_b, strict=True))


def test_lone_answers_do_not_depend_on_the_previous_call(provider: LocalProvider) -> None:
    cells = [(RenderedPrompt.from_text(t), GREEDY) for t in PROMPTS]

    def one_by_one(order: list[int]) -> dict[int, tuple[str, Any]]:
        out = {}
        for i in order:
            got = asyncio.run(provider.complete_batch([cells[i]]))[0]
            assert isinstance(got, Completion)
            out[i] = (got.text, got.logprobs)
        return out

    forward = one_by_one(list(range(len(cells))))
    assert one_by_one(list(reversed(range(len(cells))))) == forward
    # The plain create_completion path of the same model is not disturbed either: after a lone
    # decode it starts from scratch rather than from a prefix it no longer holds.
    first = provider.complete_sync(cells[0][0], GREEDY)
    asyncio.run(provider.complete_batch([cells[0]]))
    assert provider.complete_sync(cells[0][0], GREEDY).text == first.text
