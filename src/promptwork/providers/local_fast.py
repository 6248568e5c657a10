"""Fast embedded decoding (opt-in, ``decoding: fast`` or ``eval --fast-decoding``).

The default decoding is batch invariant (:mod:`promptwork.providers.local_batch`): a cell's
answer is the one its prompt gets alone. That gives up llama.cpp's fastest CPU paths. This module
takes them back, and with them the dependence of an answer on its neighbours:

- stock kernels: repacked weights and the tiled K-quant matrix product (a row's arithmetic then
  depends on how many rows share the product);
- one unified KV cache (a shared prefix is stored once; a sequence's cells sit among the
  others');
- shared batches: the new prompts of several sequences and the generation steps of the others go
  into the same ``llama_decode`` calls.

llama.cpp reads its kernel switches once per process (``GGML_CPU_TILED_MM``) and per loaded
model (repacking), so fast decoding always runs in worker processes of its own
(:class:`promptwork.providers.local_workers.WorkerPool` with ``fast=True``), never in a process
that also decodes batch-invariantly. Its answers are recorded as ``numerics: fast`` and never
served from the cache to a batch-invariant run, nor the reverse.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from promptwork.providers.local_batch import CHUNK, BatchDecoder, Request, Result, _Slot
from promptwork.providers.local_prefixes import common_prefix, shared_heads

#: Reserved sequences for prefixes shared by part of a group.
FAST_HEAD_SEQS = 8


class FastBatchDecoder(BatchDecoder):
    """A batch decoder with llama.cpp's stock arithmetic: one unified KV cache of ``n_ctx``
    cells shared by every sequence, and prompts decoded together.

    Args:
        llama: The loaded model (loaded with stock kernels: ``load_llama(..., stock=True)``).
        width: Sequences decoded together.
        n_ctx: KV cells shared by all sequences (one sequence may use half of them).
        n_threads: Threads for generation and prompt processing.
    """

    def __init__(self, llama: Any, width: int, n_ctx: int, n_threads: int = 1):
        self._open(llama, width, n_ctx, n_threads, FAST_HEAD_SEQS, unified=True)
        self._setup(width, n_ctx // 2, FAST_HEAD_SEQS)

    def _decode_runs(self, runs: Sequence[tuple[Sequence[int], int, int]]) -> None:
        """Decode (tokens, first position, sequence) runs without logits, up to ``CHUNK`` tokens
        per ``llama_decode`` whatever sequence they belong to."""
        self._batch.n_tokens = 0
        for tokens, start, seq in runs:
            for k, tok in enumerate(tokens):
                if self._batch.n_tokens == CHUNK:
                    self._decode()
                    self._batch.n_tokens = 0
                self._add(tok, start + k, seq, False)
        if self._batch.n_tokens:
            self._decode()

    def _set_heads(self, requests: Sequence[Request], runnable: list[int], base: int) -> int:
        self._heads = {}
        first = self.width + 1
        for k in range(self._head_seqs):
            self._lib.llama_memory_seq_rm(self._mem, first + k, -1, -1)
        if len(runnable) < 3:
            return 0
        room = (self.n_ctx - base) // 2  # the heads never take more than half the free cells
        runs = []
        for k, head in enumerate(shared_heads([requests[i].tokens for i in runnable], base,
                                              self._head_seqs)):
            size = len(head.tokens) - base
            # Leave each member at least its last token to decode with its logits.
            if size <= 0 or size > room or any(
                    len(requests[runnable[m]].tokens) <= len(head.tokens) for m in head.members):
                continue
            room -= size
            seq = first + k
            if base:
                self._lib.llama_memory_seq_cp(self._mem, self._prefix_seq, seq, -1, -1)
            runs.append((head.tokens[base:], base, seq))
            for m in head.members:
                self._heads[runnable[m]] = (seq, len(head.tokens))
        self._decode_runs(runs)
        return sum(len(tokens) for tokens, _, _ in runs)

    def _set_prefix(self, prefix: list[int]) -> None:
        keep = 0
        for a, b in zip(self._prefix, prefix, strict=False):
            if a != b:
                break
            keep += 1
        self._lib.llama_memory_seq_rm(self._mem, self._prefix_seq, keep, -1)
        self._decode_runs([(prefix[keep:], keep, self._prefix_seq)])
        self._prefix = list(prefix)

    def _run(self, requests: Sequence[Request]) -> list[Result]:
        results, runnable = self._runnable(requests)
        if not runnable:
            return results
        lists = [requests[i].tokens for i in runnable]
        # Each prompt keeps at least its last token to decode with its logits.
        shared = min(len(common_prefix(lists)), min(len(t) for t in lists) - 1)
        prefix = lists[0][:shared] if len(runnable) > 1 else []
        self._set_prefix(prefix)
        budget = self.n_ctx - len(prefix) - self._set_heads(requests, runnable, len(prefix))
        per_seq = max(len(requests[i].tokens) - len(prefix) + requests[i].max_tokens
                      for i in runnable)
        width = max(1, min(self.width, len(runnable), budget // max(1, per_seq)))
        queue = deque(runnable)
        slots: dict[int, _Slot] = {}
        while queue or slots:
            for s in range(width):
                if s not in slots and queue:
                    slots[s] = self._start(s, requests, results, queue.popleft(), len(runnable))
            if sum(len(slot.feed) for slot in slots.values()) > CHUNK:
                # Long suffixes: decode all but their last token on their own first.
                for slot in slots.values():
                    if len(slot.feed) > 1:
                        head, slot.feed = slot.feed[:-1], slot.feed[-1:]
                        self._decode_runs([(head, slot.pos, slot.index)])
                        slot.pos += len(head)
            # New prompts and generation steps in the same llama_decode.
            self._batch.n_tokens = 0
            sample_at: dict[int, int] = {}
            for s, slot in slots.items():
                for j, tok in enumerate(slot.feed):
                    sample_at[s] = self._add(tok, slot.pos + j, s, j == len(slot.feed) - 1)
                slot.pos += len(slot.feed)
            self._decode()
            for s, idx in sample_at.items():
                if self._advance(slots[s], idx):
                    del slots[s]
        return results
