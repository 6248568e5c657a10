"""promptwork.complete against a bare llama_cpp.Llama loop: the same 200 calls, interleaved rounds.

Usage: .venv/bin/python bench/complete_overhead/run.py [--calls 200] [--rounds 3]

Both sides load Gemma 3 270M once (load time excluded), use the same thread count, temperature 0
and max_tokens 3, and walk the same prompts in the same order (so both reuse the KV cache of the
shared template prefix the same way). promptwork's side renders a template with variables each
call, goes through parameter checks and the provider, and builds the completion record.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import promptwork as pw
from promptwork.providers.local import default_threads
from promptwork.providers.local_models import POOL

DATA = Path(__file__).resolve().parents[3] / "shared/datasets/instruction_induction"
TEMPLATE = "Review: {{ review }}\nSentiment (positive or negative):"


def load_reviews(n: int) -> list[str]:
    pool = json.loads((DATA / "induce/sentiment.json").read_text())["examples"]
    return [ex["input"] for ex in list(pool.values())[:n]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    reviews = load_reviews(args.calls)
    threads = default_threads()

    from llama_cpp import Llama

    path, _ = POOL.resolve("gemma3-270m")
    t = time.perf_counter()
    bare = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                 verbose=False)
    bare_load = time.perf_counter() - t
    provider = pw.create_provider("local:gemma3-270m")
    t = time.perf_counter()
    provider.model  # noqa: B018 - loads the model into the pool
    pw_load = time.perf_counter() - t
    template = pw.load_prompt(TEMPLATE)

    def run_bare() -> list[str]:
        out = []
        for review in reviews:
            prompt = f"Review: {review}\nSentiment (positive or negative):"
            res = bare.create_completion(prompt, max_tokens=3, temperature=0.0)
            out.append(res["choices"][0]["text"])
        return out

    def run_bare_on_pool() -> list[str]:
        return POOL.call(run_bare)

    def run_pw() -> list[str]:
        return [
            pw.complete(template, {"review": r}, model="local:gemma3-270m",
                        max_tokens=3, temperature=0).text
            for r in reviews
        ]

    times: dict[str, list[float]] = {"bare llama_cpp loop": [], "promptwork.complete": []}
    answers: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        # The bare loop runs on promptwork's decode thread, as it would alone in its own
        # process: two llama.cpp OpenMP teams in one process slow each other down.
        for name, fn in (("bare llama_cpp loop", run_bare_on_pool),
                         ("promptwork.complete", run_pw)):
            t = time.perf_counter()
            answers[name] = fn()
            times[name].append(time.perf_counter() - t)

    same = sum(a == b for a, b in zip(*answers.values(), strict=True))
    print(f"{args.calls} calls x {args.rounds} interleaved rounds, {threads} threads, "
          f"model load: bare {bare_load:.2f} s, promptwork {pw_load:.2f} s (excluded)")
    for name, ts in times.items():
        print(f"  {name:22s} min {min(ts):6.2f} s  median {statistics.median(ts):6.2f} s  "
              f"max {max(ts):6.2f} s")
    base = statistics.median(times["bare llama_cpp loop"])
    ours = statistics.median(times["promptwork.complete"])
    best_ratio = min(times["promptwork.complete"]) / min(times["bare llama_cpp loop"])
    print(f"  overhead (median): {100 * (ours - base) / base:+.1f}%  "
          f"(min vs min: {100 * (best_ratio - 1):+.1f}%)")
    print(f"  identical answers: {same}/{args.calls}")


if __name__ == "__main__":
    main()
