"""Where the embedded model decodes a group of prompts: alone, in this process, or in workers.

- A lone prompt decodes on the model's own context (no batched context to create; the same
  logits as on one, each prompt from an empty cache). So does a prompt too long for a batched
  context's per-sequence stream (:data:`~promptwork.providers.local_batch.STREAM_CELLS`).
- Every path gives a prompt the answer it gets alone (see
  :mod:`promptwork.providers.local_batch`): where a group decodes changes its speed only.
- Groups of at least :data:`WORKERS_FROM` prompts go to the worker processes when the layout
  has several (see :mod:`promptwork.providers.local_layout`).
- Other groups decode in this process with every thread: splitting them costs more (IPC,
  one-thread prompt processing) than it saves.
- Fast decoding (``decoding: fast``, :mod:`promptwork.providers.local_fast`) sends every group
  to worker processes of its own with llama.cpp's stock kernels (one process per worker of the
  layout, or one with every thread), whatever its size: llama.cpp reads those kernel switches
  once per process. Prompts too long for its shared cache decode alone here.

Decoders and worker pools live with the loaded model (``LoadedModel.extras``) and are shared by
every provider of that model and settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from promptwork.errors import ProviderError
from promptwork.providers.local_batch import (
    STREAM_CELLS,
    BatchDecoder,
    Request,
    Result,
)
from promptwork.providers.local_logprobs import logprob_pieces
from promptwork.providers.local_models import LoadedModel
from promptwork.types import Completion, Params, Usage

#: Groups at least this large are split across worker processes.
WORKERS_FROM = 8


class Decoding:
    """The decoders of one loaded model for one provider configuration.

    Args:
        model: The loaded model.
        path: Its GGUF file (worker processes load it themselves).
        width: Sequences decoded together.
        n_ctx: The provider's context size (a batched context gives each sequence
            ``min(n_ctx, STREAM_CELLS)`` cells; longer requests decode alone).
        threads: Threads of in-process decoding.
        fast: Fast decoding (stock kernels, shared batches) instead of batch-invariant.
    """

    def __init__(self, model: LoadedModel, path: Path, width: int, n_ctx: int, threads: int,
                 fast: bool = False):
        self.model, self.path, self.width, self.threads = model, path, width, threads
        self.n_ctx = min(n_ctx, STREAM_CELLS)
        self.fast = fast
        #: Fast decoding's KV cache, shared by its sequences (one may use half of it).
        self.fast_ctx = n_ctx

    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        extras = self.model.extras
        if key not in extras:
            extras[key] = make()
        return extras[key]

    def decoder(self, width: int | None = None) -> BatchDecoder:
        """This process's decoder, ``width`` sequences wide (default: the provider's width)."""
        width = width or self.width
        decoder: BatchDecoder = self._get(
            f"batch_decoder_{width}",
            lambda: BatchDecoder(self.model.llama, width, self.n_ctx, self.threads))
        return decoder

    def workers(self, n: int) -> Any:
        from promptwork.providers.local_workers import WorkerPool

        return self._get(f"workers_{n}_{self.width}",
                         lambda: WorkerPool(n, str(self.path), self.width, self.n_ctx))

    def fast_workers(self, n: int) -> Any:
        """Fast decoding's pool: ``n`` processes x 1 thread, or 1 with every thread."""
        from promptwork.providers.local_workers import WorkerPool

        threads = 1 if n > 1 else self.threads
        return self._get(f"fast_workers_{n}_{self.width}_{threads}",
                         lambda: WorkerPool(n, str(self.path), self.width, self.fast_ctx,
                                            fast=True, threads=threads))

    def _run_fast(self, batch: Sequence[Request], workers: Callable[[], int]) -> list[Result]:
        long = {i for i, r in enumerate(batch)
                if len(r.tokens) + r.max_tokens > self.fast_ctx // 2 and self.lone_fits(r)}
        rest = [r for i, r in enumerate(batch) if i not in long]
        done = iter(self.fast_workers(workers()).run(rest) if rest else [])
        return [self.lone().run([r])[0] if i in long else next(done)
                for i, r in enumerate(batch)]

    def lone(self) -> BatchDecoder:
        decoder: BatchDecoder = self._get(
            "lone_decoder", lambda: BatchDecoder.on_model_context(self.model.llama))
        return decoder

    def lone_fits(self, request: Request) -> bool:
        """Whether the model's own context decodes ``request`` as a batched context would: it
        fits, and prompts are processed in the same 512-token batches with the same threads."""
        params = self.model.llama.context_params
        return bool(len(request.tokens) + request.max_tokens <= params.n_ctx
                    and params.n_batch >= 512 and params.n_ubatch == 512
                    and params.n_threads == params.n_threads_batch == self.threads)

    def run(self, batch: Sequence[Request], workers: Callable[[], int]) -> list[Result]:
        """Decode ``batch``; ``workers()`` gives the layout's process count when it matters."""
        if self.fast:
            return self._run_fast(batch, workers)
        if len(batch) == 1 and self.lone_fits(batch[0]):
            return self.lone().run(batch)
        long = {i for i, r in enumerate(batch)
                if len(r.tokens) + r.max_tokens > self.n_ctx and self.lone_fits(r)}
        if long:
            rest = [r for i, r in enumerate(batch) if i not in long]
            done = iter(self.run(rest, workers) if rest else [])
            return [self.lone().run([r])[0] if i in long else next(done)
                    for i, r in enumerate(batch)]
        if len(batch) >= WORKERS_FROM and (n := workers()) > 1:
            results: list[Result] = self.workers(n).run(batch)
            return results
        # Small groups get a narrow decoder: each sequence's KV stream costs memory and time to
        # create (width 8: 67 ms, width 32: 227 ms on 2 cores), and answers do not depend on it.
        small = len(batch) < WORKERS_FROM
        return self.decoder(min(self.width, WORKERS_FROM) if small else None).run(batch)

    def adopt(self, workers: int, runner: Any) -> None:
        """Keep a calibration's winning decoder or worker pool for the run (else close it)."""
        if runner is None:
            return
        key = f"workers_{workers}_{self.width}" if workers > 1 else f"batch_decoder_{self.width}"
        if key in self.model.extras:
            runner.close()
        else:
            self.model.extras[key] = runner


def to_completion(
    res: Result, params: Params, provider: str, latency_ms: float, llama: Any
) -> Completion | ProviderError:
    """A decoded result as the provider's answer (or its error)."""
    if res.error is not None:
        return res.error
    return Completion(
        text=res.text,
        provider=provider,
        usage=Usage(res.prompt_tokens, len(res.tokens)),
        latency_ms=latency_ms,
        cost=0.0,
        finish_reason=res.finish,
        logprobs=logprob_pieces(llama, res) if params.logprobs else None,
    )
