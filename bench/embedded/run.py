"""Embedded model at the machine's limit: `promptwork eval` (batched, batch invariant: the
default), `promptwork eval --fast-decoding` (the opt-in: stock kernels and shared batches in
worker processes of its own) and a plain `Llama.create_completion` loop over the same prompts,
in one process, interleaved rounds (`--no-fast` leaves the fast side out).

Usage: .venv/bin/python bench/embedded/run.py [--rounds 3] [--variants short,one,long,answers]

Variants (Gemma 3 270M, temperature 0):
  short    3 templates x 100 sentiment cases, max_tokens 3   (the issue's main workload)
  one      1 case per template (3 cells)
  long     3 templates of ~300 tokens (8 few-shot demos) x 40 cases, max_tokens 3
  answers  3 templates x 30 cases, max_tokens 40 (no stop)
Model load is excluded for both sides and reported once; each variant starts with one untimed
run of each side (--warmup). The plain loop runs on promptwork's decode thread, as it would
run alone in its own process (two llama.cpp OpenMP teams in one process slow each other).
Agreement with promptwork's own sequential path (`--sequential`) is measured on the short
variant, and on the short and answers variants every side is compared with the reference: each
prompt decoded alone from an empty cache. Peak RSS is measured in separate child processes (one
per side), and so is `--stock-plain`: the plain loop alone in its own process with llama.cpp's
stock kernels (in this process the plain loop shares promptwork's batch-invariant kernel
settings, which llama.cpp reads once per process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared/datasets/instruction_induction"
QUICK = ROOT / "examples/quickstart/prompts"


def body(name: str) -> str:
    return (QUICK / name).read_text().split("---\n", 2)[2].rstrip("\n")


def long_templates() -> list[str]:
    pool = list(json.loads((DATA / "induce/sentiment.json").read_text())["examples"].values())
    heads = ["Classify the sentiment of the movie review as positive or negative.",
             "Is this review positive or negative?",
             "Label each review with its sentiment (positive or negative)."]
    out = []
    for k, head in enumerate(heads):
        demos = pool[10 + 8 * k: 18 + 8 * k]
        shots = "".join(f"Review: {d['input']}\nSentiment: {d['output']}\n\n" for d in demos)
        out.append(f"{head}\n\n{shots}Review: {{{{ review }}}}\nSentiment:")
    return out


def _vm_hwm_mb(pid: str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children() -> list[str]:
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        pids += (task / "children").read_text().split()
    return pids


def cases(n: int) -> list[tuple[str, str]]:
    ex = json.loads((DATA / "execute/sentiment.json").read_text())["examples"]
    return [(v["input"], v["output"]) for v in list(ex.values())[:n]]


VARIANTS: dict[str, dict[str, Any]] = {
    "short": {"templates": None, "n": 100, "max_tokens": 3, "stop": ["\n"]},
    "one": {"templates": None, "n": 1, "max_tokens": 3, "stop": ["\n"]},
    "long": {"templates": "long", "n": 40, "max_tokens": 3, "stop": ["\n"]},
    "answers": {"templates": None, "n": 30, "max_tokens": 40, "stop": None},
}


def templates_of(v: dict[str, Any]) -> list[str]:
    if v["templates"] == "long":
        return long_templates()
    return [body("bare.prompt"), body("instruction.prompt"), body("few-shot.prompt")]


def write_suite(folder: Path, v: dict[str, Any], config: dict[str, Any] | None = None) -> None:
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    params = {"temperature": 0, "max_tokens": v["max_tokens"]}
    if v["stop"]:
        params["stop"] = v["stop"]
    names = []
    for i, t in enumerate(templates_of(v)):
        name = f"p{i}.prompt"
        (folder / name).write_text("---\nparams: " + json.dumps(params) + "\n---\n" + t + "\n")
        names.append(name)
    with (folder / "tests.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["review", "label"])
        w.writerows(cases(v["n"]))
    suite = {
        "prompts": [f"file://{n}" for n in names],
        "providers": [{"id": "local:gemma3-270m", "config": config or {}}],
        "defaultTest": {"assert": [{"type": "regex", "value": "(?i)^\\s*{{ label }}\\b"}]},
        "tests": "file://tests.csv",
    }
    (folder / "promptwork.yaml").write_text(json.dumps(suite))


def plain_prompts(v: dict[str, Any]) -> list[str]:
    return [t.replace("{{ review }}", r) for t in templates_of(v) for r, _ in cases(v["n"])]


def run_plain(llm: Any, v: dict[str, Any]) -> list[str]:
    return [llm.create_completion(p, max_tokens=v["max_tokens"], temperature=0.0,
                                  stop=v["stop"])["choices"][0]["text"]
            for p in plain_prompts(v)]


def run_pw(folder: Path, sequential: bool = False,
           fast: bool = False) -> tuple[list[str], list[bool]]:
    import promptwork as pw
    from promptwork.runner import RunConfig

    # The store persists across rounds like a user's does (its creation is set-up, as the model
    # load is); the cache is off, so every round calls the model for every cell.
    run = pw.evaluate(folder, config=RunConfig(use_cache=False, sequential=sequential,
                                               fast_decoding=fast))
    rows = sorted(run.rows(), key=lambda r: (r["prompt_idx"], r["test_idx"]))
    return [r["output"] or "" for r in rows], [bool(r["success"]) for r in rows]


def reference(v: dict[str, Any]) -> list[str]:
    """Each prompt decoded alone from an empty cache (promptwork's lone decoder)."""
    import promptwork as pw
    from promptwork.providers.local_batch import Request, seed_for
    from promptwork.types import Params

    provider: Any = pw.create_provider("local:gemma3-270m")
    llama = provider.model.llama
    params = Params(temperature=0, max_tokens=v["max_tokens"], stop=v["stop"])
    lone = provider._decoding().lone()
    out = []
    for text in plain_prompts(v):
        request = Request(tokens=llama.tokenize(text.encode(), special=True), params=params,
                          max_tokens=v["max_tokens"], stops=tuple(v["stop"] or ()),
                          seed=seed_for(text, params))
        out.append(provider._pool.call(lambda r=request: lone.run([r])[0].text))
    return out


def stock_plain(variant: str, rounds: int) -> str:
    """The plain loop alone in a fresh process with llama.cpp's stock kernels: median wall."""
    env = {k: v for k, v in os.environ.items() if k != "GGML_CPU_TILED_MM"}
    code = subprocess.run([sys.executable, __file__, "--time-plain", str(rounds), "--variants",
                           variant], capture_output=True, text=True, env=env)
    if code.returncode != 0:
        raise SystemExit(code.stderr[-2000:])
    return code.stdout.strip().splitlines()[-1]


def rss_child(kind: str, folder: Path, variant: str) -> str:
    """Peak RSS of one side run alone: 'process MB' plus, when it has worker processes, the
    largest worker's peak."""
    code = subprocess.run([sys.executable, __file__, "--rss-only", kind, "--folder", str(folder),
                           "--variants", variant], capture_output=True, text=True)
    if code.returncode != 0:
        raise SystemExit(code.stderr[-2000:])
    own, kids = code.stdout.strip().splitlines()[-1].split()
    return f"{own} MB" + (f" + worker processes up to {kids} MB each" if float(kids) > 0 else "")


def compare_workers(work: Path, rounds: int, threads: int) -> None:
    """The short variant with workers=1 (one process, all threads) and workers=cores."""
    import os as _os

    cores = max(1, min(4, _os.cpu_count() or 1))
    configs = {f"1 process x {threads} threads": {"workers": 1},
               f"{cores} processes x 1 thread": {"workers": cores}}
    folders = {}
    for label, config in configs.items():
        folders[label] = work / label.replace(" ", "_")
        write_suite(folders[label], VARIANTS["short"], config)
        run_pw(folders[label])  # warm-up: starts worker processes, creates the store
    times: dict[str, list[float]] = {label: [] for label in configs}
    for _ in range(rounds):
        for label in configs:
            t = time.perf_counter()
            run_pw(folders[label])
            times[label].append(time.perf_counter() - t)
    print(f"\n[workers] 300 cells (short variant), {rounds} interleaved rounds")
    for label, ts in times.items():
        print(f"  {label:24s} min {min(ts):6.2f} s  median {statistics.median(ts):6.2f} s  "
              f"max {max(ts):6.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="short,one,long,answers")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first")
    ap.add_argument("--rss-only", choices=["plain", "pw"])
    ap.add_argument("--folder")
    ap.add_argument("--time-plain", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-fast", action="store_true",
                    help="leave out the opt-in fast decoding side (eval --fast-decoding)")
    ap.add_argument("--stock-plain", action="store_true",
                    help="also time the plain loop alone in a process with stock kernels")
    ap.add_argument("--compare-workers", action="store_true",
                    help="Only compare 1 process x all threads with 1 process per core x 1 thread "
                         "on the short variant.")
    args = ap.parse_args()
    from llama_cpp import Llama

    from promptwork.providers.local import default_threads
    from promptwork.providers.local_models import POOL

    path, _ = POOL.resolve("gemma3-270m")
    threads = default_threads()
    if args.time_plain:
        v = VARIANTS[args.variants]
        llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads,
                    n_threads_batch=threads, verbose=False)
        run_plain(llm, v)  # warm-up, as in the main process
        walls = []
        for _ in range(args.time_plain):
            t = time.perf_counter()
            run_plain(llm, v)
            walls.append(time.perf_counter() - t)
        print(f"{min(walls):.2f} / {statistics.median(walls):.2f} / {max(walls):.2f} s")
        return
    if args.rss_only:
        v = VARIANTS[args.variants]
        if args.rss_only == "plain":
            llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads,
                        n_threads_batch=threads, verbose=False)
            run_plain(llm, v)
            kids = 0.0
        else:
            run_pw(Path(args.folder))
            # Worker processes (batched decoding) are children: their own peak, read while
            # they are alive.
            kids = max((_vm_hwm_mb(pid) for pid in _children()), default=0.0)
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child started by a
        # large parent would report the parent's peak.
        own = _vm_hwm_mb()
        print(f"{own:.0f} {kids:.0f}")
        return

    t = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                verbose=False)
    plain_load = time.perf_counter() - t
    import promptwork as pw

    t = time.perf_counter()
    provider = pw.create_provider("local:gemma3-270m")
    provider.model  # noqa: B018 - loads into the pool
    pw_load = time.perf_counter() - t
    print(f"machine: {os.cpu_count()} cores, {threads} threads; model load: plain "
          f"{plain_load:.2f} s, promptwork {pw_load:.2f} s (excluded below)")
    # The default decoding layout: calibrated on first use when there is no calibration yet
    # (set-up, excluded like the model load).
    print(f"promptwork eval layout: {provider.layout_choice().text()}")  # type: ignore[attr-defined]
    work = Path(tempfile.mkdtemp(prefix="pw-embedded-"))
    if args.compare_workers:
        compare_workers(work, args.rounds, threads)
        return
    for name in args.variants.split(","):
        v = VARIANTS[name]
        folder = work / name
        write_suite(folder, v)
        cells = 3 * v["n"]
        times: dict[str, list[float]] = {"plain loop": [], "promptwork eval": []}
        if not args.no_fast:
            times["eval --fast-decoding"] = []
        # One untimed run of each side first: one-time set-up (promptwork's batched context or
        # worker processes, the store's tables; the plain loop's first buffers) is excluded
        # like the model load.
        for _ in range(args.warmup):
            POOL.call(run_plain, llm, v)
            run_pw(folder)
            if not args.no_fast:
                run_pw(folder, fast=True)
        fast: list[str] = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            # On promptwork's decode thread, as the plain loop would run alone in its own
            # process: llama.cpp's OpenMP team belongs to the calling thread, and two live teams
            # on this 2-core machine slow each other (1 case per template: plain 0.35 s on one
            # thread, 0.44 s on another).
            plain = POOL.call(run_plain, llm, v)
            times["plain loop"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ours, verdicts = run_pw(folder)
            times["promptwork eval"].append(time.perf_counter() - t)
            if not args.no_fast:
                t = time.perf_counter()
                fast, _ = run_pw(folder, fast=True)
                times["eval --fast-decoding"].append(time.perf_counter() - t)
        print(f"\n[{name}] {cells} cells (max_tokens {v['max_tokens']}), {args.rounds} rounds")
        for side, ts in times.items():
            print(f"  {side:20s} min {min(ts):7.2f} s  median {statistics.median(ts):7.2f} s  "
                  f"max {max(ts):7.2f} s")
        plain_median = statistics.median(times["plain loop"])
        for side in list(times)[1:]:
            print(f"  speed-up of {side} (median): "
                  f"{plain_median / statistics.median(times[side]):.2f}x")
        same_plain = sum(a == b for a, b in zip(plain, ours, strict=True))
        print(f"  identical answers vs plain loop: {same_plain}/{cells}")
        if args.stock_plain:
            print(f"  plain loop alone, stock kernels, min / median / max: "
                  f"{stock_plain(name, args.rounds)}")
        if name in ("short", "answers"):
            ref = reference(v)
            seq, _ = run_pw(folder, sequential=True)
            fast_same = (f", --fast-decoding {sum(a == b for a, b in zip(ref, fast, strict=True))}"
                         f"/{cells}" if fast else "")
            print("  identical to the reference (each prompt alone, empty cache): "
                  f"promptwork eval {sum(a == b for a, b in zip(ref, ours, strict=True))}/{cells}, "
                  f"--sequential {sum(a == b for a, b in zip(ref, seq, strict=True))}/{cells}, "
                  f"plain loop {sum(a == b for a, b in zip(ref, plain, strict=True))}/{cells}"
                  f"{fast_same}")
        if name == "short":
            seq, seq_verdicts = run_pw(folder, sequential=True)
            same = sum(a == b for a, b in zip(seq, ours, strict=True))
            flips = sum(a != b for a, b in zip(seq_verdicts, verdicts, strict=True))
            print(f"  agreement with promptwork --sequential: {same}/{cells} identical answers, "
                  f"{flips}/{cells} pass/fail verdicts differ")
            print(f"  peak RSS: plain loop {rss_child('plain', folder, name)}; "
                  f"promptwork eval {rss_child('pw', folder, name)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
