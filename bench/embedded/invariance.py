"""Does an embedded model's answer depend on what is decoded with it? Counts identical answers.

Usage:
  .venv/bin/python bench/embedded/invariance.py [--model gemma3-270m] [--cases 20] [--tokens 8]
  .venv/bin/python bench/embedded/invariance.py --kernels [--model smollm2]

Default: prompts of bench/embedded's suite (3 templates x --cases sentiment cases), each decoded
alone from an empty cache (the reference), then by promptwork's decoders: batched in this process
at widths 1, 2, 4, 8, 16 (1 and 2 threads), in 2 worker processes x 1 thread, the sequential
loop (``create_completion`` with its prefix reuse) in order and in reverse order, and a
"resumed" run (the second half of the cells alone). Prints, per way, how many answers are
identical to the reference (text) and how many have bit-identical logprobs at every step.

``--kernels``: the diagnosis, on llama.cpp directly (16 few-shot prompts, 8 greedy tokens):
bit-identical logits vs the lone decode for each setting (weight repacking, tiled K-quant
kernels, unified or per-sequence KV cache, prompts decoded together or apart, prefill chunking).
Each tiled setting runs in its own process (llama.cpp reads it once per process).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import VARIANTS, plain_prompts

STEPS = 8


# -- the diagnosis, on llama.cpp directly --------------------------------------------------------


class _Ctx:
    def __init__(self, lib: Any, model: Any, n_seq: int, unified: bool, threads: int):
        from llama_cpp._utils import suppress_stdout_stderr

        p = lib.llama_context_default_params()
        p.n_ctx, p.n_batch, p.n_ubatch, p.n_seq_max = 512 * n_seq, 512, 512, n_seq
        p.n_threads = p.n_threads_batch = threads
        p.kv_unified, p.swa_full = unified, True
        p.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        with suppress_stdout_stderr(disable=False):
            self.ctx = lib.llama_init_from_model(model, p)
        self.lib, self.mem = lib, lib.llama_get_memory(self.ctx)
        self.batch = lib.llama_batch_init(512, 0, 1)
        self.nv = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))

    def decode(self, items: list[tuple[int, int, int, bool]]) -> list[str]:
        """(token, position, sequence, logits?) -> a digest of each requested logits row."""
        import numpy as np

        b, out = self.batch, []
        b.n_tokens = 0
        for tok, pos, seq, lg in items:
            i = b.n_tokens
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = tok, pos, 1, lg
            b.seq_id[i][0] = seq
            b.n_tokens = i + 1
            if lg:
                out.append(i)
        assert self.lib.llama_decode(self.ctx, b) == 0
        rows = []
        for i in out:
            ptr = self.lib.llama_get_logits_ith(self.ctx, i)
            row = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                        shape=(self.nv,))
            rows.append(hashlib.md5(row.tobytes()).hexdigest() + f":{int(np.argmax(row))}")
        return rows

    def close(self) -> None:
        self.lib.llama_batch_free(self.batch)
        self.lib.llama_free(self.ctx)


def _greedy(ctx: _Ctx, firsts: list[str], seqs: list[int], pos: list[int]) -> list[list[str]]:
    """STEPS greedy steps of several sequences together, one token each per step."""
    logs = [[f] for f in firsts]
    for _ in range(STEPS):
        rows = ctx.decode([(int(logs[k][-1].split(":")[1]), pos[k], s, True)
                           for k, s in enumerate(seqs)])
        for k, row in enumerate(rows):
            logs[k].append(row)
            pos[k] += 1
    return logs


def _lone(ctx: _Ctx, toks: list[int], chunk: int) -> list[str]:
    ctx.lib.llama_memory_clear(ctx.mem, True)
    for s in range(0, len(toks), chunk):
        rows = ctx.decode([(t, s + k, 0, s + k == len(toks) - 1)
                           for k, t in enumerate(toks[s:s + chunk])])
    return _greedy(ctx, rows, [0], [len(toks)])[0]


def _batched(ctx: _Ctx, group: list[list[int]], together: bool) -> list[list[str]]:
    ctx.lib.llama_memory_clear(ctx.mem, True)
    if together:
        firsts = ctx.decode([(t, k, s, k == len(tl) - 1)
                             for s, tl in enumerate(group) for k, t in enumerate(tl)])
    else:
        firsts = [ctx.decode([(t, k, s, k == len(tl) - 1) for k, t in enumerate(tl)])[0]
                  for s, tl in enumerate(group)]
    return _greedy(ctx, firsts, list(range(len(group))), [len(tl) for tl in group])


def kernels_child(model_name: str, threads: int) -> None:
    """One process: every setting but the tiled kernels (fixed by the environment)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    from promptwork.providers.local_models import POOL

    path, _ = POOL.resolve(model_name)
    texts = plain_prompts({**VARIANTS["short"], "n": 16})[-16:]  # few-shot, ~110 tokens
    tiled = os.environ.get("GGML_CPU_TILED_MM", "1") != "0"
    for repack in (True, False):
        mp = llama_cpp.llama_model_default_params()
        mp.use_extra_bufts = repack
        with suppress_stdout_stderr(disable=False):
            model = llama_cpp.llama_model_load_from_file(str(path).encode(), mp)
        vocab = llama_cpp.llama_model_get_vocab(model)
        toks = []
        for t in texts:
            buf = (llama_cpp.llama_token * 1024)()
            n = llama_cpp.llama_tokenize(vocab, t.encode(), len(t.encode()), buf, 1024, True, True)
            toks.append(list(buf[:n]))
        label = f"repack {'on ' if repack else 'off'}, tiled {'on ' if tiled else 'off'}"
        one = _Ctx(llama_cpp, model, 1, True, threads)
        ref = [_lone(one, tl, 512) for tl in toks]

        def report(what: str, got: list[list[str]], ref: list[list[str]] = ref,
                   label: str = label) -> None:
            same = sum(a == b for a, b in zip(ref, got, strict=True))
            tok = sum([x.split(":")[1] for x in a] == [x.split(":")[1] for x in b]
                      for a, b in zip(ref, got, strict=True))
            print(f"{label} | {what:44s} | {same:2d}/16 | {tok:2d}/16", flush=True)

        for chunk in (7, 16, 1):
            report(f"lone, prefill in runs of {chunk}", [_lone(one, tl, chunk) for tl in toks])
        one.close()
        for unified in (True, False):
            for width, together in ((4, False), (16, False), (2, True)):
                ctx = _Ctx(llama_cpp, model, width, unified, threads)
                got: list[list[str]] = []
                for i in range(0, 16, width):
                    got += _batched(ctx, toks[i:i + width], together)
                ctx.close()
                kv = "unified KV" if unified else "KV stream per sequence"
                how = "prompts in one decode" if together else "prompts apart"
                report(f"{kv}, width {width}, {how}", got)
        llama_cpp.llama_model_free(model)


def kernels(model_name: str, threads: int) -> None:
    print(f"{model_name}, {threads} threads: bit-identical logits at all {STEPS + 1} steps vs the "
          "lone decode | same greedy tokens")
    for tiled in ("1", "0"):
        env = {**os.environ, "GGML_CPU_TILED_MM": tiled}
        subprocess.run([sys.executable, __file__, "--kernels-child", "--model", model_name,
                        "--threads", str(threads)], env=env, check=True)


# -- promptwork's decoders -----------------------------------------------------------------------


def answers(model_name: str, cases: int, tokens: int, widths: list[int],
            threads_list: list[int]) -> None:
    from promptwork.providers.local import LocalProvider
    from promptwork.providers.local_batch import STREAM_CELLS, BatchDecoder, Request, seed_for
    from promptwork.providers.local_workers import WorkerPool
    from promptwork.types import Params, RenderedPrompt

    provider = LocalProvider(f"local:{model_name}", model_name, {"workers": 1})
    sequential = LocalProvider(f"local:{model_name}", model_name, {"decoding": "sequential"})
    llama = provider.model.llama
    texts = plain_prompts({**VARIANTS["short"], "n": cases})
    params = Params(temperature=0, max_tokens=tokens, logprobs=True)
    reqs = [Request(tokens=llama.tokenize(t.encode(), special=True), params=params,
                    max_tokens=tokens, stops=(), seed=seed_for(t, params)) for t in texts]
    decoding = provider._decoding()
    pool = provider._pool

    def timed(label: str, run: Any) -> None:
        t = time.perf_counter()
        got = pool.call(run)
        el = time.perf_counter() - t
        same = sum(a[0] == b[0] for a, b in zip(ref, got, strict=True))
        bits = sum(a == b for a, b in zip(ref, got, strict=True))
        print(f"  {label:40s} {same:4d}/{len(ref)} same answers, {bits:4d}/{len(ref)} same "
              f"logprobs ({el:.1f} s)", flush=True)

    def key(res: Any) -> tuple[Any, ...]:
        return (res.tokens, res.logprobs)

    t = time.perf_counter()
    ref = pool.call(lambda: [key(decoding.lone().run([r])[0]) for r in reqs])
    print(f"{model_name}: {len(reqs)} prompts x {tokens} greedy tokens; reference (each alone, "
          f"empty cache) {time.perf_counter() - t:.1f} s")
    for threads in threads_list:
        for width in widths:
            dec = BatchDecoder(llama, width, STREAM_CELLS, threads)
            timed(f"batched, width {width}, {threads} thread(s)",
                  lambda dec=dec: [key(r) for r in dec.run(reqs)])
            dec.close()
    workers = WorkerPool(2, str(provider.path), 16, STREAM_CELLS)
    timed("2 workers x 1 thread, width 16", lambda: [key(r) for r in workers.run(reqs)])
    half = len(reqs) // 2
    timed("resumed: first half, then the rest",
          lambda: [key(r) for r in workers.run(reqs[:half]) + workers.run(reqs[half:])])
    workers.close()

    def loop(order: list[int]) -> list[tuple[Any, ...]]:
        out: dict[int, tuple[Any, ...]] = {}
        for i in order:
            c = sequential._complete_sync(RenderedPrompt.from_text(texts[i]),
                                          Params(temperature=0, max_tokens=tokens))
            out[i] = (c.text, None)
        return [out[i] for i in range(len(texts))]

    # The loop gives text (its logprobs come another way): compare answers.
    ref = [(llama.detokenize(r[0]).decode("utf-8", errors="replace"), None) for r in ref]
    timed("sequential loop (prefix reuse), in order", lambda: loop(list(range(len(texts)))))
    timed("sequential loop, reverse order", lambda: loop(list(reversed(range(len(texts))))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="--kernels: threads")
    ap.add_argument("--widths", default="1,2,4,8,16")
    ap.add_argument("--thread-counts", default="2,1", help="threads of in-process decoding")
    ap.add_argument("--kernels", action="store_true")
    ap.add_argument("--kernels-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.kernels_child:
        kernels_child(args.model, args.threads)
    elif args.kernels:
        kernels(args.model, args.threads)
    else:
        answers(args.model, args.cases, args.tokens,
                [int(w) for w in args.widths.split(",")],
                [int(t) for t in args.thread_counts.split(",")])


if __name__ == "__main__":
    main()
