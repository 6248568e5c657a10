"""Summarize bench/optimize/results.jsonl as Markdown tables (mean +- sd over seeds).

Usage: .venv/bin/python bench/optimize/summary.py [results.jsonl ...] [--seeds 3,4]

Several files are read as one (e.g. ``results.jsonl results-matched.jsonl``).

``--seeds`` keeps only those seeds' runs (e.g. to read runs added later as a sample of their own).

Per task and budget: test accuracy of the seed prompt and of each method's final prompt (mean +-
sd over the seeds that finished), task-model calls used by the search, proposer calls, seconds.
Then, per budget, the average over the tasks each method finished, promptwork against each peer
(and against its previous version) on the same (task, seed) runs, and for promptwork each run's
exact McNemar test against the seed prompt on the same 100 test examples.

``promptwork-matched``: promptwork at each MIPROv2 run's search calls (``run.py --matched-to
mipro``), shown in the table of the MIPROv2 budget it is matched to.

``promptwork-v0``: the optimizer up to commit 0e59d86, whose demos strategy bootstrapped demos
only from examples without a reference (with references, every demo was a labelled one).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from promptwork.stats import compare_pass_fail, paired_bootstrap

HERE = Path(__file__).resolve().parent
PEERS = ("bfsrs", "mipro", "gepa")
OURS = ("promptwork", "promptwork-v0", "promptwork-matched")
MATCHED = "promptwork-matched"
ORDER = ("seed", *OURS, *PEERS, "mipro-strict", "server-seed")


def acc(values: list[int]) -> float:
    return 100.0 * sum(values) / len(values)


def fmt(xs: list[float]) -> str:
    if not xs:
        return "-"
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.1f} +- {sd:.1f} (n={len(xs)})"


def paired(by: dict[tuple[str, int, str], list[dict[str, Any]]], tasks: list[str],
           budget: int) -> None:
    """promptwork against each peer on the same (task, seed) runs: the fair average when the
    peers did not run every task, with a paired bootstrap over those runs (each run's test
    accuracy one item) for whether the difference is more than seed-to-seed noise."""
    pairs = [("promptwork", peer) for peer in (*OURS[1:], *PEERS)] + [(MATCHED, "mipro")]
    for me, peer in pairs:
        ours, theirs, wins, ties, losses, where = [], [], 0, 0, 0, set()
        for task in tasks:
            mine = {r["seed"]: r for r in by.get((task, budget, me), [])
                    if r.get("test_best")}
            for r in by.get((task, budget, peer), []):
                if r.get("test_best") and r["seed"] in mine:
                    a, b = acc(mine[r["seed"]]["test_best"]), acc(r["test_best"])
                    ours.append(a)
                    theirs.append(b)
                    wins, ties, losses = wins + (a > b), ties + (a == b), losses + (a < b)
                    where.add(task)
        if ours:
            diff = paired_bootstrap(theirs, ours)
            print(f"- {me} vs {peer} on the same {len(ours)} runs "
                  f"({', '.join(sorted(where))}): {statistics.mean(ours):.1f} vs "
                  f"{statistics.mean(theirs):.1f} "
                  f"({me} higher in {wins}, equal in {ties}, lower in {losses}; "
                  f"difference {diff.mean_diff:+.1f} points, 95% CI {diff.low:+.1f} to "
                  f"{diff.high:+.1f}, paired bootstrap p={diff.p_value:.2g})")


def matched_table(by: dict[tuple[str, int, str], list[dict[str, Any]]], tasks: list[str],
                  budget: int) -> None:
    """promptwork at MIPROv2's search calls, per task, on the seeds both ran: calls each search
    used (promptwork's limit is MIPROv2's count on that run) and test accuracy."""
    rows = []
    for task in tasks:
        mine = {r["seed"]: r for r in by.get((task, budget, MATCHED), []) if r.get("test_best")}
        theirs = {r["seed"]: r for r in by.get((task, budget, "mipro"), []) if r.get("test_best")}
        seeds = sorted(mine.keys() & theirs.keys())
        if seeds:
            rows.append((task, seeds, [mine[s] for s in seeds], [theirs[s] for s in seeds]))
    if not rows:
        return
    print(f"\n### Matched calls: promptwork at MIPROv2's search calls (MIPROv2 budget {budget})\n")
    print("| task | seeds | MIPROv2 search calls | promptwork search calls (of limit) | "
          "seed prompt | MIPROv2 test % | promptwork test % | s per promptwork run |")
    print("|---|---|---|---|---|---|---|---|")
    for task, seeds, ours, peer in rows:
        print(f"| {task} | {','.join(map(str, seeds))} | "
              f"{statistics.mean(r['search_calls'] for r in peer):.0f} | "
              f"{statistics.mean(r['search_calls'] for r in ours):.0f} "
              f"(of {statistics.mean(r['search_limit'] for r in ours):.0f}) | "
              f"{statistics.mean(acc(r['test_seed']) for r in ours):.1f} | "
              f"{fmt([acc(r['test_best']) for r in peer])} | "
              f"{fmt([acc(r['test_best']) for r in ours])} | "
              f"{statistics.mean(r['seconds'] for r in ours):.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description="Summarize the optimize benchmark's results.")
    ap.add_argument("results", nargs="*", type=Path, default=[HERE / "results.jsonl"])
    ap.add_argument("--seeds", help="comma-separated seeds to keep (default: all)")
    args = ap.parse_args()
    keep = None if args.seeds is None else {int(s) for s in args.seeds.split(",")}
    records = [json.loads(ln) for path in args.results
               for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    records = [r for r in records if keep is None or r["seed"] in keep]
    by: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    seeded: set[tuple[str, int, int]] = set()
    for r in records:
        by[(r["task"], r["budget"], r["method"])].append(r)
        if r["method"] in OURS and (r["task"], r["budget"], r["seed"]) not in seeded:
            seeded.add((r["task"], r["budget"], r["seed"]))  # the same seed prompt and split
            by[(r["task"], r["budget"], "seed")].append(
                {**r, "method": "seed", "test_best": r["test_seed"], "search_calls": 0,
                 "proposer_calls": 0, "seconds": 0})
    tasks = sorted({t for t, _, _ in by})
    budgets = sorted({b for _, b, _ in by})
    methods = [m for m in ORDER if any(k[2] == m for k in by)]
    for budget in budgets:
        print(f"\n### Budget {budget} task-model calls\n")
        print("| task | " + " | ".join(methods) + " |")
        print("|---|" + "---|" * len(methods))
        for task in tasks:
            cells = []
            for m in methods:
                rs = [r for r in by.get((task, budget, m), []) if r.get("test_best")]
                errors = sum(1 for r in by.get((task, budget, m), []) if r.get("error"))
                cell = fmt([acc(r["test_best"]) for r in rs])
                if rs and m != "seed":
                    calls = statistics.mean(r.get("search_calls") or 0 for r in rs)
                    prop = statistics.mean(r.get("proposer_calls") or 0 for r in rs)
                    secs = statistics.mean(r.get("seconds") or 0 for r in rs)
                    cell += f"; {calls:.0f} calls, {prop:.0f} prop., {secs:.0f} s"
                if errors:
                    cell += f"; {errors} error(s)"
                cells.append(cell)
            print(f"| {task} | " + " | ".join(cells) + " |")
        means = []
        for m in methods:
            per_task = [statistics.mean(acc(r["test_best"]) for r in rs)
                        for t in tasks
                        if (rs := [r for r in by.get((t, budget, m), []) if r.get("test_best")])]
            means.append(f"{statistics.mean(per_task):.1f} ({len(per_task)} tasks)"
                         if per_task else "-")
        print("| **mean over the tasks each method finished** | " + " | ".join(means) + " |")
        matched_table(by, tasks, budget)
        print()
        paired(by, tasks, budget)
        print()
        tally: dict[str, defaultdict[str, int]] = {m: defaultdict(int) for m in OURS}
        for task, ours in ((t, m) for m in OURS for t in tasks):
            for r in by.get((task, budget, ours), []):
                c = compare_pass_fail([bool(x) for x in r["test_seed"]],
                                      [bool(x) for x in r["test_best"]])
                verdict = ("better" if c.p_value < 0.05 and c.c > c.b else
                           "WORSE" if c.p_value < 0.05 else "no significant difference")
                tally[ours][verdict] += 1
                print(f"- {task} seed {r['seed']}: {ours} {acc(r['test_best']):.0f} vs seed "
                      f"{acc(r['test_seed']):.0f} (McNemar p={c.p_value:.3g}: {verdict}); "
                      f"change: {r.get('change')}")
        for ours, counts in tally.items():
            if counts:
                print(f"- {ours} against its seed prompt: better in {counts['better']} of "
                      f"{sum(counts.values())} runs, worse in {counts['WORSE']}")
    failed = [r for r in records if r.get("error")]
    if failed:
        print("\nErrors (the method's seed program stands where it crashed):")
        for r in failed:
            print(f"- {r['task']} {r['budget']} seed {r['seed']} {r['method']}: "
                  f"{str(r['error'])[:200]}")


if __name__ == "__main__":
    main()
