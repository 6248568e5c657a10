"""Each cell of a batched decode gets its own latency (issue 18 §3), on the real Gemma 3 270M.

Before, every cell of a batch got the batch's time divided by its size, so a column's p50 and
p95 latencies were the same number.
"""

from __future__ import annotations

import asyncio

import pytest

from promptwork.providers.local import LocalProvider
from promptwork.providers.registry import create_provider
from promptwork.types import Completion, Params, RenderedPrompt

pytestmark = pytest.mark.embedded


def test_batched_cells_have_their_own_latency() -> None:
    provider = create_provider("local:gemma3-270m", {"workers": 1})
    assert isinstance(provider, LocalProvider)
    count = RenderedPrompt.from_text("1, 2, 3, 4,")
    lengths = [1, 24, 1, 24]
    cells = [(count, Params(temperature=0, max_tokens=n)) for n in lengths]
    results = asyncio.run(provider.complete_batch(cells))
    assert all(isinstance(r, Completion) for r in results)
    done = [r for r in results if isinstance(r, Completion)]
    assert [r.usage.completion_tokens for r in done] == lengths
    short = max(done[0].latency_ms, done[2].latency_ms)
    long = min(done[1].latency_ms, done[3].latency_ms)
    # A one-token answer finishes well before a 24-token one decoded beside it.
    assert 0 < short < long
