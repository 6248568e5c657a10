"""What on this machine decides the embedded decoding's gain over the plain loop (issue 18).

Usage: .venv/bin/python bench/embedded/machine.py [--model gemma3-270m] [--steps 20]

Prints, for comparing machines (run it on each, quiet, and put the figures side by side):
- the CPU: model, vCPUs, threads per core, the vector/matrix extensions it has, and those
  llama.cpp was built for (``llama_print_system_info``);
- single-thread memory bandwidth (NumPy copy of 512 MB, best of 5);
- where the weights go (llama.cpp's buffer lines: ``CPU_REPACK`` = repacked weights);
- the costs the gain is made of, per kernel setting (each in its own process, as llama.cpp reads
  its switches once per process): prompt processing per token (a 96-token prompt), and one
  generation step (one token per sequence) at widths 1, 4 and 16, with 1 and 2 threads.
  Batching pays when a width-16 step costs far less than 16 width-1 steps; prefix sharing pays
  in proportion to the prompt-processing cost per token.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16",
         "amx_tile")


def cpu() -> None:
    info = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines()
                      if line.startswith("flags")), []))
    siblings = {p.read_text().strip() for p in
                Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology/thread_siblings_list")}
    per_core = max((len(s.replace("-", ",").split(",")) for s in siblings), default=1)
    print(f"CPU: {model}; {os.cpu_count()} vCPUs, {per_core} thread(s) per core")
    print("  extensions: " + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in FLAGS))
    import llama_cpp

    built = llama_cpp.llama_print_system_info().decode().strip()
    print(f"  llama.cpp {llama_cpp.__version__} built for: {built}")


def bandwidth() -> None:
    import numpy as np

    a = np.ones(64 << 20)  # 512 MB of float64
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    print(f"memory bandwidth (1 thread, copy 512 MB): {2 * a.nbytes / best / 1e9:.1f} GB/s "
          "(read + write)")


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def costs_child(model_name: str, repack: bool, steps: int) -> None:
    """In its own process: prompt processing and generation steps with one kernel setting."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    from promptwork.providers.local_models import POOL

    path, _ = POOL.resolve(model_name)
    mp = llama_cpp.llama_model_default_params()
    mp.use_extra_bufts = repack
    with suppress_stdout_stderr(disable=False):
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), mp)
    vocab = llama_cpp.llama_model_get_vocab(model)
    tokens = [int(llama_cpp.llama_vocab_bos(vocab))] + [1000 + k for k in range(95)]
    for threads in (1, 2):
        p = llama_cpp.llama_context_default_params()
        p.n_seq_max, p.n_ctx, p.n_batch, p.n_ubatch = 16, 16 * 256, 512, 512
        p.n_threads = p.n_threads_batch = threads
        p.kv_unified, p.swa_full = False, True
        p.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        with suppress_stdout_stderr(disable=False):
            ctx = llama_cpp.llama_init_from_model(model, p)
        mem = llama_cpp.llama_get_memory(ctx)
        batch = llama_cpp.llama_batch_init(512, 0, 1)

        def decode(items: list[tuple[int, int, int]], batch=batch, ctx=ctx) -> float:
            batch.n_tokens = 0
            for i, (tok, pos, seq) in enumerate(items):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
                batch.seq_id[i][0], batch.logits[i] = seq, True if i == len(items) - 1 else (
                    len(items) <= 16)
                batch.n_tokens = i + 1
            t = time.perf_counter()
            assert llama_cpp.llama_decode(ctx, batch) == 0
            return time.perf_counter() - t

        prefill = []
        for _ in range(3):
            llama_cpp.llama_memory_clear(mem, True)
            prefill.append(decode([(tok, k, 0) for k, tok in enumerate(tokens)]))
        for s in range(1, 16):
            llama_cpp.llama_memory_seq_cp(mem, 0, s, -1, -1)
        line = [f"prompt {1000 * statistics.median(prefill) / len(tokens):.2f} ms/token"]
        for width in (1, 4, 16):
            for s in range(16):
                llama_cpp.llama_memory_seq_rm(mem, s, len(tokens), -1)
            walls = [decode([(1234, len(tokens) + k, s) for s in range(width)])
                     for k in range(steps)]
            line.append(f"step w{width} {1000 * statistics.median(walls):.1f} ms")
        kernels = "stock (repacked, tiled)" if repack else "batch invariant (no repack, no tiled)"
        print(f"  {kernels:38s} {threads} thread(s): " + ", ".join(line), flush=True)
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)


def buffers(model_name: str) -> None:
    """llama.cpp's own lines on where the weights are placed (stock loading)."""
    code = ("import llama_cpp,sys;from promptwork.providers.local_models import POOL;"
            f"p,_=POOL.resolve({model_name!r});llama_cpp.Llama(model_path=str(p),n_ctx=256,"
            "verbose=True)")
    env = {k: v for k, v in os.environ.items() if k != "GGML_CPU_TILED_MM"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    lines = [ln.strip() for ln in out.stderr.splitlines() if "buffer size" in ln and "model" in ln]
    print("weights (stock loading): " + "; ".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--child", choices=["stock", "invariant"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        costs_child(args.model, args.child == "stock", args.steps)
        return
    cpu()
    bandwidth()
    buffers(args.model)
    print(f"costs ({args.model}, median of 3 prompts / {args.steps} steps):")
    for kind, tiled in (("stock", None), ("invariant", "0")):
        env = {k: v for k, v in os.environ.items() if k != "GGML_CPU_TILED_MM"}
        if tiled is not None:
            env["GGML_CPU_TILED_MM"] = tiled
        subprocess.run([sys.executable, __file__, "--child", kind, "--model", args.model,
                        "--steps", str(args.steps)], env=env, check=True)


if __name__ == "__main__":
    main()
