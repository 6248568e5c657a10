"""Where a decoding worker's time goes: its ``llama_decode`` calls, by kind (issue 18).

Usage: .venv/bin/python bench/embedded/calls.py [--cases 100] [--width 16] [--threads 1]
       .venv/bin/python bench/embedded/calls.py --costs

Default: one worker's share of bench/embedded's 300-cell suite (every second case of each
template, split into the groups `promptwork eval` hands a worker: 32 and 18 prompts), decoded by
:class:`~promptwork.providers.local_batch.BatchDecoder` on 1 thread, as in the 2 x 1 layout.
Prints each kind of call (new prompts' tokens before their last two, alone or shared; their last
two with the logits; generation steps; shared prefixes) with its count, the micro-batches
llama.cpp makes of them (it puts only consecutive sequences in one), tokens and seconds.

``--costs``: the costs those calls are made of, on llama.cpp directly (batch-invariant kernels):
one prompt's run of n tokens with and without the logits of its last token, the same runs of 16
prompts in one call, and a generation step at widths 1 and 16 (medians of 5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import VARIANTS, plain_prompts


def _load(threads: int, width: int) -> tuple[Any, Any]:
    from promptwork.providers.local_batch import BatchDecoder
    from promptwork.providers.local_models import POOL, load_llama

    path, _ = POOL.resolve("gemma3-270m")
    llama = load_llama(str(path), n_ctx=512, n_threads=threads, n_threads_batch=threads)
    return llama, BatchDecoder(llama, width, n_threads=threads)


def _kind(tokens: int, seqs: int, logits: int) -> str:
    if logits == seqs == tokens:
        return "generation steps"
    if logits:
        return "last two tokens of new prompts (logits)"
    return "tokens before them, shared" if seqs > 1 else "tokens before them, alone; prefixes"


def calls(cases: int, width: int, threads: int) -> None:
    from promptwork.providers.local_batch import Request
    from promptwork.types import Params

    llama, dec = _load(threads, width)
    texts = plain_prompts({**VARIANTS["short"], "n": cases})
    per = len(texts) // 3
    groups = []
    for k in range(3):
        mine = [llama.tokenize(t.encode(), special=True) for t in texts[k * per:(k + 1) * per:2]]
        groups += [mine[:32], mine[32:]]
    seen: list[tuple[int, int, int, int, float]] = []
    decode = dec._decode

    def timed() -> None:
        b = dec._batch
        n = int(b.n_tokens)
        seqs = [b.seq_id[i][0] for i in range(n)]
        runs = 1 + sum(1 for i in range(1, n) if seqs[i] not in (seqs[i - 1], seqs[i - 1] + 1))
        t = time.perf_counter()
        decode()
        seen.append((n, len(set(seqs)), sum(1 for i in range(n) if b.logits[i]), runs,
                     time.perf_counter() - t))

    dec._decode = timed
    params = Params(temperature=0, max_tokens=3)
    t0 = time.perf_counter()
    for group in groups:
        dec.run([Request(tokens=t, params=params, max_tokens=3, stops=("\n",), seed=0)
                 for t in group])
    total = time.perf_counter() - t0
    print(f"{sum(map(len, groups))} prompts in {len(groups)} groups, width {width}, {threads} "
          f"thread(s): {total:.2f} s, of which llama_decode {sum(c[4] for c in seen):.2f} s")
    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    for n, seqs, logits, runs, dt in seen:
        row = kinds[_kind(n, seqs, logits)]
        row[0] += 1
        row[1] += runs
        row[2] += n
        row[3] += dt
    print(f"  {'kind':42s} {'calls':>6s} {'micro-batches':>14s} {'tokens':>7s} {'seconds':>8s}")
    for name, (count, runs, tokens, seconds) in sorted(kinds.items()):
        print(f"  {name:42s} {count:6d} {runs:14d} {tokens:7d} {seconds:8.2f}")


def costs(threads: int) -> None:
    llama, dec = _load(threads, 16)
    toks = [llama.tokenize(t.encode(), special=True)
            for t in plain_prompts(VARIANTS["short"])[200:216]]  # few-shot: 100+ tokens each
    base = 100

    def call(items: list[tuple[int, int, int, bool]]) -> float:
        dec._batch.n_tokens = 0
        for tok, pos, seq, lg in items:
            dec._add(tok, pos, seq, lg)
        t = time.perf_counter()
        dec._decode()
        return time.perf_counter() - t

    def median_ms(seqs: int, n: int, logits: bool) -> float:
        out = []
        for _ in range(5):
            for s in range(seqs + 1):
                dec._lib.llama_memory_seq_rm(dec._mem, s, -1, -1)
            for s in range(seqs):  # the first 100 tokens, untimed
                call([(toks[s][k], k, s, False) for k in range(base)])
            out.append(call([(toks[s][base + k], base + k, s, logits and k == n - 1)
                             for s in range(seqs) for k in range(n)]))
        return statistics.median(out) * 1000

    print(f"{threads} thread(s), batch-invariant kernels; ms per llama_decode (median of 5), "
          f"after a {base}-token prompt start")
    print(f"  {'call':44s} {'with logits':>12s} {'without':>9s}")
    for seqs, n in ((1, 2), (1, 8), (1, 13), (16, 2), (16, 11)):
        label = f"{seqs} prompt(s) x {n} tokens" + (" (one call)" if seqs > 1 else "")
        print(f"  {label:44s} {median_ms(seqs, n, True):12.1f} {median_ms(seqs, n, False):9.1f}")
    for w in (1, 16):
        print(f"  {'generation step, width ' + str(w):44s} {median_ms(w, 1, True):12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--costs", action="store_true")
    args = ap.parse_args()
    if args.costs:
        costs(args.threads)
    else:
        calls(args.cases, args.width, args.threads)


if __name__ == "__main__":
    main()
