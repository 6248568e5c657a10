"""Timing decoding layouts on the real embedded model (``promptwork models --calibrate``).

The batch is small and fixed: 32 short prompts that share an instruction line, 3 greedy tokens
each, decoded as promptwork decodes one template's cells. Each layout gets its decoder (this
process) or its worker processes once, then the batch runs ``tries`` times; start-up is not
timed, as a long run pays it once. Only the fastest layout so far keeps its resources, so at most
two layouts' worker processes are alive at a time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptwork.providers.local_batch import BatchDecoder, Request, seed_for
from promptwork.providers.local_layout import Layout, LayoutChoice, calibrate, candidates
from promptwork.types import Params

#: Prompts in the fixed calibration batch, and greedy tokens asked of each.
BATCH_PROMPTS = 32
BATCH_TOKENS = 3
TRIES = 2
_HEAD = "Say whether each sum is right or wrong.\n\n"


def synthetic_batch(llama: Any, n: int = BATCH_PROMPTS) -> list[Request]:
    """``n`` short prompts sharing their first line, tokenized for ``llama``."""
    params = Params(temperature=0, max_tokens=BATCH_TOKENS)
    texts = [f"{_HEAD}Sum: {7 * i + 3} + {11 * i + 5} = {18 * i + 8 + i % 3}\nAnswer:"
             for i in range(n)]
    return [Request(tokens=llama.tokenize(t.encode(), special=True), params=params,
                    max_tokens=BATCH_TOKENS, stops=(), seed=seed_for(t, params))
            for t in texts]


class LayoutTimer:
    """``timer(layout, attempt)`` for :func:`~promptwork.providers.local_layout.choose`.

    Args:
        llama: The loaded model (in-process decoders share its weights).
        path: Its GGUF file (worker processes load it themselves).
        width: Sequences decoded together.
        n_ctx: KV cache size of each decoder.
        prompts: Prompts in the batch.
    """

    def __init__(self, llama: Any, path: Path, width: int, n_ctx: int,
                 prompts: int = BATCH_PROMPTS):
        self.llama, self.path, self.width, self.n_ctx = llama, path, width, n_ctx
        self.batch = synthetic_batch(llama, prompts)
        self._live: dict[Layout, Any] = {}
        self._leader: tuple[Layout, float] | None = None

    def _runner(self, layout: Layout) -> Any:
        if layout not in self._live:
            if layout.workers == 1:
                self._live[layout] = BatchDecoder(self.llama, self.width, self.n_ctx,
                                                  layout.threads)
            else:
                from promptwork.providers.local_workers import WorkerPool

                self._live[layout] = WorkerPool(layout.workers, str(self.path), self.width,
                                                self.n_ctx)
        return self._live[layout]

    def __call__(self, layout: Layout, attempt: int) -> float:
        runner = self._runner(layout)
        start = time.perf_counter()
        runner.run(self.batch)
        return time.perf_counter() - start

    def timed(self, layout: Layout, best: float) -> None:
        """``layout`` is done: keep the faster of it and the leader open, close the other."""
        leader = self._leader
        if leader is None or best < leader[1]:
            self._leader, loser = (layout, best), leader and leader[0]
        else:
            loser = layout
        if loser is not None and loser in self._live:
            self._live.pop(loser).close()

    def take(self, layout: Layout) -> Any:
        """Hand over ``layout``'s decoder or worker pool (None if closed); close the rest."""
        kept = self._live.pop(layout, None)
        self.close()
        return kept

    def close(self) -> None:
        for runner in self._live.values():
            runner.close()
        self._live.clear()


def calibrate_model(
    llama: Any, path: Path, sha256: str, width: int = 16, n_ctx: int = 4096,
    layouts: Sequence[Layout] | None = None, prompts: int = BATCH_PROMPTS,
) -> tuple[LayoutChoice, Any]:
    """Time the layouts on ``llama``, store the fastest; returns it with its still-open decoder
    or worker pool (the caller uses or closes it)."""
    timer = LayoutTimer(llama, path, width, n_ctx, prompts)
    try:
        choice = calibrate(sha256, timer, layouts or candidates(), TRIES, on_timed=timer.timed)
        return choice, timer.take(choice.layout)
    finally:
        timer.close()
