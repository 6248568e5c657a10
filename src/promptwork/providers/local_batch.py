"""Batched decoding for embedded llama.cpp models.

Many cells of one template share a long prompt prefix and ask for a few tokens each. Decoding
them one by one pays the fixed per-call cost every time; here a group of prompts is decoded
together:

- the group's common token prefix is decoded once into a reserved sequence and copied into each
  slot; longer prefixes that only some prompts share (:mod:`promptwork.providers.local_prefixes`)
  get reserved sequences too;
- up to ``width`` sequences advance together, one ``llama_decode`` per step, logits requested
  only at the positions we sample from;
- new prompts are decoded together where that keeps each one's arithmetic: the last two tokens
  of every new prompt in one call (all their logits from one product with the output matrix,
  the largest cost of a short prompt), what precedes them with the new prompts of as many
  tokens (:meth:`BatchDecoder._prefill`);
- a finished sequence frees its slot at once for the next prompt of the group (continuous
  batching); the live sequences are kept on consecutive sequence ids
  (:meth:`BatchDecoder._compact`), as llama.cpp puts only consecutive sequences in one
  micro-batch and each micro-batch costs a pass over the weights;
- every sequence samples with its own random generator seeded from its request.

Batch invariance: a cell's answer is the one its prompt gets decoded alone from an empty cache,
bit for bit, whatever shares its batch, the worker layout or the thread count
(``bench/embedded/invariance.py`` measures it; ``tests/providers/test_local_invariance.py`` holds
it). What it takes, each measured:

- the model is loaded without the kernels whose result for a row depends on the number of rows
  (:func:`promptwork.providers.local_models.load_llama`);
- every sequence has its own KV stream (``kv_unified = False``): its cells sit at the same
  indices as in a lone decode, so attention sums run in the same order (in a unified cache they
  sit among other sequences' cells, and the SIMD lanes of the sums pair them differently);
- prompts share a ``llama_decode`` only in equal runs of two or more tokens each
  (:meth:`BatchDecoder._prefill`: given unequal runs, llama.cpp slices them anew into equal
  per-sequence slices, cutting prompts anywhere); generation steps decode one token per
  sequence, as a lone decode does; a sequence moved to another id (:meth:`BatchDecoder._compact`)
  takes its whole KV stream along, cells at the same indices;
- no run of prompt tokens is a single token (:func:`pieces`): llama.cpp computes a one-token
  attention product with another kernel than a several-token one. Shared prefixes stop two
  tokens before the shortest prompt for the same reason; where they are cut is otherwise free,
  as a token's arithmetic does not depend on the others in its ``llama_decode``.

A prompt that cannot run (longer than the context) is that request's error; the rest finish.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from promptwork.errors import ProviderError
from promptwork.providers.local_logprobs import top_logprobs
from promptwork.providers.local_prefixes import common_prefix, shared_heads
from promptwork.types import Params

#: Reserved sequences for prefixes shared by part of a group (see ``local_prefixes``).
HEAD_SEQS = 4
#: KV cells of each sequence's stream in a batched context: its prompt and answer must fit
#: (longer requests decode alone, on the model's own context, with the same arithmetic).
STREAM_CELLS = 512
#: Tokens per ``llama_decode`` (the context's batch and micro-batch size).
CHUNK = 512


def pieces(n: int, limit: int = CHUNK) -> list[tuple[int, int]]:
    """``[start, end)`` runs of at most ``limit`` tokens covering ``n`` tokens, none of exactly
    one token unless ``n`` is 1 (a one-token run takes another attention kernel)."""
    out: list[tuple[int, int]] = []
    start = 0
    while start < n:
        size = min(limit, n - start)
        if n - start - size == 1:
            size -= 1
        out.append((start, start + size))
        start += size
    return out


def shareable(prefix_len: int, shortest: int) -> int:
    """How much of a prefix of ``prefix_len`` tokens to decode once and share: none, or at least
    two tokens and leaving each prompt at least two of its own (no one-token runs)."""
    n = min(prefix_len, shortest - 2)
    return n if n >= 2 else 0


def _feed_order(n: int) -> tuple[int, int]:
    """Sort key of new prompts with ``n`` tokens left: those decoded together sit side by side
    (the same last-tokens count, then the same count before them)."""
    return tail_length(n), n


def tail_length(n: int) -> int:
    """Tokens of an ``n``-token prompt decoded with the other new prompts' last tokens: two, or
    the whole prompt when what would precede them is shorter than two tokens."""
    return n if n < 4 else 2


@dataclass
class Request:
    """One prompt to decode, already tokenized."""

    tokens: list[int]
    params: Params
    max_tokens: int
    stops: tuple[str, ...]
    seed: int


@dataclass
class Result:
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    #: Per token, the (token, logprob) pairs of the most likely tokens (``top_logprobs``).
    top: list[list[tuple[int, float]]] = field(default_factory=list)
    text: str = ""
    finish: str = "length"
    prompt_tokens: int = 0
    error: ProviderError | None = None
    #: When the sequence finished, in ms from the start of its group's decoding (its own
    #: latency: the cells of one batch no longer all get the batch's time).
    latency_ms: float = 0.0


def seed_for(prompt_text: str, params: Params) -> int:
    """The sampling seed of one request: its own ``seed`` if given, else one derived from the
    prompt text (stable across runs and independent of other requests)."""
    if params.seed is not None:
        return int(params.seed) & 0xFFFFFFFF
    digest = hashlib.sha256(prompt_text.encode()).digest()
    return int.from_bytes(digest[:4], "little")


def repeat_seed(messages: Any, params: Params, repeat: int) -> int:
    """The seed of a cell's ``repeat``-th sample: its own ``seed`` (else one derived from its
    messages) and the repeat index, hashed together (stable across runs and resumes)."""
    base = params.seed if params.seed is not None else json.dumps(messages, sort_keys=True)
    digest = hashlib.sha256(f"{base}|repeat={repeat}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class _Slot:
    __slots__ = ("feed", "gen_bytes", "index", "last", "pos", "request", "result")

    def __init__(self, index: int, request: Request, result: Result, start: int):
        self.index = index
        self.request = request
        self.result = result
        self.pos = start
        self.feed: list[int] = request.tokens[start:]
        self.gen_bytes = b""
        #: Batch index of the last token decoded (its logits, when requested).
        self.last = -1


class BatchDecoder:
    """Decodes groups of requests on one model with its own multi-sequence context.

    Args:
        llama: The loaded ``llama_cpp.Llama`` (its model weights are shared, not copied).
        width: Sequences decoded together.
        n_ctx: KV cells of each sequence's own stream (prompt + answer).
        n_threads: Threads for generation and prompt processing.
    """

    def __init__(self, llama: Any, width: int, n_ctx: int = STREAM_CELLS, n_threads: int = 1):
        # One stream per sequence (not unified): its cells where a lone decode has them.
        self._open(llama, width, n_ctx, n_threads, HEAD_SEQS, unified=False)
        self._setup(width, n_ctx, HEAD_SEQS)

    def _open(self, llama: Any, width: int, n_ctx: int, n_threads: int, heads: int,
              unified: bool) -> None:
        """Create this decoder's context: ``n_ctx`` cells per sequence, or in all if
        ``unified``."""
        import llama_cpp
        from llama_cpp._utils import suppress_stdout_stderr

        self._lib, self.llama, self.width, self.n_ctx = llama_cpp, llama, width, n_ctx
        model = llama._model.model
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        params = llama_cpp.llama_context_default_params()
        params.n_seq_max = width + 1 + heads
        params.n_ctx = n_ctx if unified else n_ctx * params.n_seq_max
        params.n_batch = params.n_ubatch = CHUNK
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = unified
        params.swa_full = True
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        # llama.cpp prints notices straight to fd 2 when a context is created.
        with suppress_stdout_stderr(disable=False):
            self._ctx = llama_cpp.llama_init_from_model(model, params)
        if not self._ctx:
            raise ProviderError("llama.cpp could not create a batched context", kind="other")
        self._owns_ctx = True

    def _setup(self, prefix_seq: int, seq_limit: int, head_seqs: int) -> None:
        self._mem = self._lib.llama_get_memory(self._ctx)
        self._batch = self._lib.llama_batch_init(CHUNK, 0, 1)
        self._prefix: list[int] = []
        self._prefix_seq = prefix_seq  # -1: no shared prefix (one sequence on a borrowed context)
        self._head_seqs = head_seqs
        #: Request index -> (sequence holding its head, head length), during a run.
        self._heads: dict[int, tuple[int, int]] = {}
        #: Longest prompt + answer one sequence may hold.
        self.seq_limit = seq_limit
        #: Free sequences needed before new prompts start beside running ones.
        self.refill_at = 1

    @classmethod
    def on_model_context(cls, llama: Any) -> BatchDecoder:
        """A one-sequence decoder on ``llama``'s own context, for lone prompts: no context of its
        own to create (~40 ms and a second KV cache). Each prompt is decoded from an empty cache,
        as on a context of its own (bit-identical logits), and ``llama`` is reset afterwards so
        that its ``create_completion`` does not reuse what was decoded here."""
        import llama_cpp

        self = cls.__new__(cls)
        self._lib, self.llama, self.width, self._owns_ctx = llama_cpp, llama, 1, False
        self._vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._ctx = llama._ctx.ctx
        self.n_ctx = int(llama.n_ctx())
        self._setup(-1, self.n_ctx, 0)
        return self

    def close(self) -> None:
        if self._ctx:
            self._lib.llama_batch_free(self._batch)
            if self._owns_ctx:
                self._lib.llama_free(self._ctx)
            self._ctx = None

    # -- low-level helpers -------------------------------------------------------------------

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        b = self._batch
        i = int(b.n_tokens)
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        b.n_tokens = i + 1
        return i

    def _decode(self) -> None:
        rc = self._lib.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise ProviderError(f"llama_decode failed with code {rc}", kind="other")

    def _logits(self, i: int) -> Any:
        ptr = self._lib.llama_get_logits_ith(self._ctx, i)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                     shape=(self.n_vocab,))

    def _decode_run(self, tokens: Sequence[int], start: int, seq: int,
                    logits: bool = False) -> int:
        """Decode one sequence's tokens from position ``start``, alone in their ``llama_decode``
        calls (:func:`pieces`); returns the batch index of the last token (its logits when
        ``logits``)."""
        idx = -1
        for a, b in pieces(len(tokens)):
            self._batch.n_tokens = 0
            for k in range(a, b):
                idx = self._add(tokens[k], start + k, seq, logits and k == len(tokens) - 1)
            self._decode()
        return idx

    def _prefill(self, new: list[_Slot]) -> Iterator[_Slot]:
        """Decode the prompts of the new slots ``new``; yields each slot right after the
        ``llama_decode`` that computed the logits of its last token (at ``slot.last``).

        Several prompts share a ``llama_decode`` only as a lone decode would see them: each
        sequence has its own KV stream, and a call holds the same number of tokens (two or more)
        of each of its prompts, so that llama.cpp keeps each prompt's run whole (given unequal
        runs it slices them anew into equal per-sequence slices, cutting prompts anywhere; and
        it puts only consecutive sequences in one micro-batch, each costing a pass over the
        weights). Each prompt's last two tokens (:func:`tail_length`) are decoded with the other
        new prompts' last two, so that all their logits come out of one product with the output
        matrix (262k rows for Gemma: the largest cost of a short prompt decoded alone); what
        precedes them is decoded with the new prompts that have as many tokens before their
        own last two. The caller gives the new slots consecutive sequences, ordered by length.
        """
        bodies: dict[int, list[_Slot]] = {}
        ends: dict[int, list[_Slot]] = {}
        for slot in new:
            n = len(slot.feed)
            body = n - tail_length(n)
            if body:
                bodies.setdefault(body, []).append(slot)
            ends.setdefault(n - body, []).append(slot)
        for body, members in bodies.items():
            for _ in self._decode_together(members, body, logits=False):
                pass
        for tail, members in sorted(ends.items()):
            yield from self._decode_together(members, tail, logits=True)

    def _decode_together(self, members: list[_Slot], count: int,
                         logits: bool) -> Iterator[_Slot]:
        """Decode the next ``count`` prompt tokens of each slot, the same runs for each
        (:func:`pieces`), at most :data:`CHUNK` tokens per call; with ``logits``, each slot's
        last token gets them and the slot is yielded after its call."""
        per_call = max(1, CHUNK // min(count, CHUNK))
        for k in range(0, len(members), per_call):
            chunk = members[k:k + per_call]
            for a, b in pieces(count):
                self._batch.n_tokens = 0
                for slot in chunk:
                    for j in range(a, b):
                        slot.last = self._add(slot.feed[j], slot.pos + j, slot.index,
                                              logits and j == count - 1)
                self._decode()
            for slot in chunk:
                slot.feed, slot.pos = slot.feed[count:], slot.pos + count
            if logits:
                yield from chunk

    def _set_heads(self, requests: Sequence[Request], runnable: list[int], base: int) -> int:
        """Decode the heads that part of the group shares; returns the cells they hold."""
        self._heads = {}
        first = self.width + 1
        for k in range(self._head_seqs):
            self._lib.llama_memory_seq_rm(self._mem, first + k, -1, -1)
        if self._prefix_seq < 0 or len(runnable) < 3:
            return 0
        heads = []
        for head in shared_heads([requests[i].tokens for i in runnable], base, self._head_seqs):
            shortest = min(len(requests[runnable[m]].tokens) for m in head.members)
            n = shareable(len(head.tokens), shortest)
            if n - base >= 2:  # no one-token runs: see pieces()
                heads.append((head.tokens[:n], head.members))
        for k, (tokens, members) in enumerate(heads):
            seq = first + k
            if base:
                self._lib.llama_memory_seq_cp(self._mem, self._prefix_seq, seq, -1, -1)
            self._decode_run(tokens[base:], base, seq)
            for m in members:
                self._heads[runnable[m]] = (seq, len(tokens))
        return sum(len(tokens) - base for tokens, _ in heads)

    def _set_prefix(self, prefix: list[int]) -> None:
        """Make the reserved sequence hold ``prefix``, reusing what it already holds."""
        if self._prefix_seq < 0:
            self._lib.llama_memory_seq_rm(self._mem, -1, -1, -1)  # a borrowed context: empty it
            return
        keep = 0
        for a, b in zip(self._prefix, prefix, strict=False):
            if a != b:
                break
            keep += 1
        if len(prefix) - keep == 1:
            keep -= 1  # no one-token runs: see pieces()
        self._lib.llama_memory_seq_rm(self._mem, self._prefix_seq, keep, -1)
        self._decode_run(prefix[keep:], keep, self._prefix_seq)
        self._prefix = list(prefix)

    # -- sampling ----------------------------------------------------------------------------

    def _sample(self, slot: _Slot, logits: Any) -> tuple[int, float]:
        """Pick the next token of one sequence; returns (token, logprob or 0.0).

        Sampling uses the Gumbel-max trick with noise drawn from a generator seeded by
        (request seed, step): the draw does not depend on other sequences, and tiny numeric
        differences in the logits (batched vs single decoding) only change the token when two
        candidates are within that difference of each other, instead of shifting every
        cumulative-probability boundary as inverse-CDF sampling would.
        """
        params = slot.request.params
        x = logits
        gen = slot.result.tokens
        if gen and (params.frequency_penalty or params.presence_penalty):
            x = logits.copy()
            ids, counts = np.unique(np.asarray(gen), return_counts=True)
            x[ids] -= counts * (params.frequency_penalty or 0.0) + (params.presence_penalty or 0.0)
        temperature = 0.8 if params.temperature is None else params.temperature
        if temperature <= 0:
            token = int(np.argmax(x))
        else:
            z = x.astype(np.float64) / temperature
            keep = np.arange(self.n_vocab)
            top_p = params.top_p if params.top_p is not None else 0.95
            if params.top_k is not None and params.top_k < self.n_vocab:
                keep = np.argpartition(-z, params.top_k - 1)[:params.top_k]
                if top_p < 1.0:
                    keep = keep[_nucleus(z[keep], top_p)]
            elif top_p < 1.0:
                keep = _nucleus(z, top_p)
            step = np.random.Generator(np.random.PCG64([slot.request.seed, len(gen)]))
            u = step.random(self.n_vocab)[keep]
            token = int(keep[np.argmax(z[keep] - np.log(-np.log(u)))])
        if not params.logprobs:
            return token, 0.0
        peak = float(np.max(logits))
        norm = peak + float(np.log(np.sum(np.exp(logits.astype(np.float64) - peak))))
        return token, float(logits[token]) - norm

    # -- the decode loop ---------------------------------------------------------------------

    def run(self, requests: Sequence[Request]) -> list[Result]:
        """Decode every request; a request that cannot run gets ``error`` set."""
        try:
            return self._run(requests)
        finally:
            if not self._owns_ctx:
                # Its cache no longer holds what llama-cpp-python thinks: no prefix reuse.
                self.llama.reset()

    def _runnable(self, requests: Sequence[Request]) -> tuple[list[Result], list[int]]:
        """Each request's result (an error where it cannot run) and the indexes that can run;
        starts the group's clock."""
        self._t0 = time.perf_counter()
        results = [Result(prompt_tokens=len(r.tokens)) for r in requests]
        runnable = []
        for i, r in enumerate(requests):
            if not r.tokens:
                results[i].error = ProviderError("empty prompt", kind="bad_request")
            elif len(r.tokens) + r.max_tokens > self.seq_limit:
                results[i].error = ProviderError(
                    f"prompt of {len(r.tokens)} tokens + {r.max_tokens} new tokens does not fit "
                    f"the context window ({self.seq_limit} per sequence)", kind="context_length")
            else:
                runnable.append(i)
        return results, runnable

    def _run(self, requests: Sequence[Request]) -> list[Result]:
        results, runnable = self._runnable(requests)
        if not runnable:
            return results
        lists = [requests[i].tokens for i in runnable]
        shared = shareable(len(common_prefix(lists)), min(len(t) for t in lists))
        # A lone prompt is decoded from an empty cache, as create_completion does.
        prefix = lists[0][:shared] if len(runnable) > 1 else []
        self._set_prefix(prefix)
        self._set_heads(requests, runnable, len(prefix))
        width = max(1, min(self.width, len(runnable)))
        queue = deque(runnable)
        live: list[_Slot] = []  # live[k] decodes on sequence k
        while queue or live:
            free = width - len(live)
            if queue and free and (not live or free >= self.refill_at):
                take = [queue.popleft() for _ in range(min(free, len(queue)))]
                # Prompts with as many tokens left side by side (see _prefill).
                take.sort(key=lambda i: _feed_order(
                    len(requests[i].tokens) - self._shared(i, len(runnable))[1]))
                new = [self._start(len(live) + k, requests, results, i, len(runnable))
                       for k, i in enumerate(take)]
                # The first token of each new prompt is sampled from its prompt's logits.
                done = {slot.index for slot in self._prefill(new)
                        if self._advance(slot, slot.last)}
                live = self._compact(live + [slot for slot in new if slot.index not in done])
                continue
            # One generation step: one token per sequence, as in a lone decode.
            self._batch.n_tokens = 0
            for slot in live:
                slot.last = self._add(slot.feed[0], slot.pos, slot.index, True)
            self._decode()
            for slot in live:
                slot.pos += 1
            live = self._compact([slot for slot in live if not self._advance(slot, slot.last)])
        return results

    def _compact(self, live: list[_Slot]) -> list[_Slot]:
        """Put the ``n`` live sequences on sequences ``0 .. n-1``, in that order: llama.cpp
        puts only consecutive sequences in one micro-batch (each one costs a pass over the
        weights), so a finished sequence's place is taken by the last one (a copy of its KV
        stream: its cells keep their indices, and so its arithmetic)."""
        n = len(live)
        holes = iter(sorted(set(range(n)) - {slot.index for slot in live}))
        for slot in live:
            if slot.index >= n:
                hole = next(holes)
                self._lib.llama_memory_seq_cp(self._mem, slot.index, hole, -1, -1)
                self._lib.llama_memory_seq_rm(self._mem, slot.index, -1, -1)
                slot.index = hole
        return sorted(live, key=lambda slot: slot.index)

    def _shared(self, i: int, group: int) -> tuple[int, int]:
        """The sequence holding request ``i``'s shared prefix or head, and its length (-1, 0:
        none, the prompt is decoded from an empty cache)."""
        if i in self._heads:
            return self._heads[i]
        if group > 1 and self._prefix:
            return self._prefix_seq, len(self._prefix)
        return -1, 0

    def _advance(self, slot: _Slot, idx: int) -> bool:
        """Sample the next token of ``slot`` from the logits at batch index ``idx``; True (and
        the slot freed) when its sequence is finished."""
        logits = self._logits(idx)
        token, logprob = self._sample(slot, logits)
        params = slot.request.params
        top = top_logprobs(logits, params.top_logprobs) if (
            params.logprobs and params.top_logprobs) else None
        if self._step(slot, token, logprob, top):
            self._finish(slot)
            return True
        slot.feed = [token]
        return False

    def _start(self, s: int, requests: Sequence[Request], results: list[Result], i: int,
               group: int) -> _Slot:
        self._lib.llama_memory_seq_rm(self._mem, s, -1, -1)
        seq, start = self._shared(i, group)
        if seq >= 0:
            self._lib.llama_memory_seq_cp(self._mem, seq, s, -1, -1)
        return _Slot(s, requests[i], results[i], start)

    def _step(self, slot: _Slot, token: int, logprob: float,
              top: list[tuple[int, float]] | None = None) -> bool:
        """Record a sampled token; True when the sequence is finished."""
        result = slot.result
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            result.finish = "stop"
            return True
        result.tokens.append(token)
        result.logprobs.append(logprob)
        if top is not None:
            result.top.append(top)
        slot.gen_bytes += self.llama.detokenize([token])
        if slot.request.stops:
            text = slot.gen_bytes.decode("utf-8", errors="ignore")
            if any(stop in text for stop in slot.request.stops):
                result.finish = "stop"
                return True
        return len(result.tokens) >= slot.request.max_tokens

    def _finish(self, slot: _Slot) -> None:
        result = slot.result
        text = slot.gen_bytes.decode("utf-8", errors="replace")
        if result.finish == "stop" and slot.request.stops:
            cut = min((text.find(s) for s in slot.request.stops if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
        result.text = text
        result.latency_ms = (time.perf_counter() - self._t0) * 1000
        self._lib.llama_memory_seq_rm(self._mem, slot.index, -1, -1)


def _nucleus(z: Any, top_p: float) -> Any:
    """Token ids of the top-p nucleus of ``softmax(z)``, most probable first.

    Sorting the whole vocabulary (262k entries for Gemma) costs ~30 ms per token; instead take
    the top k by partition, widening k until it holds the nucleus, and sort only those.
    """
    probs = np.exp(z - np.max(z))
    probs /= probs.sum()
    n = probs.shape[0]
    k = 64
    while True:
        k = min(k, n)
        top = np.argpartition(-probs, k - 1)[:k] if k < n else np.arange(n)
        order = top[np.argsort(-probs[top], kind="stable")]
        cumulative = np.cumsum(probs[order])
        if cumulative[-1] >= top_p or k == n:
            cut = int(np.searchsorted(cumulative, top_p)) + 1
            return order[:min(cut, k)]
        k *= 4
