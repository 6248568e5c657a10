"""promptwork optimize vs DSPy's optimizers on instruction-induction tasks, at equal task-model
call budgets (figures in bench/README.md; summary: bench/optimize/summary.py).

Usage:
  .venv/bin/python bench/optimize/run.py [--tasks sentiment,antonyms,...] [--budgets 300,1000]
      [--seeds 0,1,2] [--methods promptwork,bfsrs,mipro,gepa,server-seed] [--out FILE]
  .venv/bin/python bench/optimize/run.py --matched-to mipro --budgets 1000 --seeds 0,1,2
      --out bench/optimize/results-matched.jsonl

``--matched-to PEER`` runs promptwork only, once per (task, seed) that PEER finished at the
given budget in --from (results.jsonl), with ``--budget`` = PEER's search calls on that run
+ the test report's reserve (2 x the test split), so that promptwork's search gets exactly the
calls PEER's search used. Its records carry ``method: promptwork-matched``, ``budget`` = the
peer's budget they are matched at, ``command_budget`` and ``matched_calls``.

Per task and seed: 100 training and 50 validation examples drawn (with the seed) from the task's
``induce`` pool, and the task's 100 ``execute`` examples as the test split, never seen by any
search. The seed prompt is the task's first human-written instruction (``annotations/``), then
``Input: ...`` / ``Output:``.
Task model: Gemma 3 270M at temperature 0, 16 tokens, newline stop (promptwork: the embedded
model; DSPy: the same GGUF behind ``llama_cpp.server``, text completion). Proposer for every method:
SmolLM2-135M-Instruct (promptwork: embedded, chat template; DSPy: ``llama_cpp.server``, chat).
Metric: first line, stripped, trailing ``.``/``!`` removed, case-folded, equal to the gold answer.

DSPy runs in its own environment (``../shared/tools/peers.sh dspy``), never in ours. Each finished
(task, budget, seed, method) appends one JSON line to --out; finished combinations are skipped on a
re-run, so the benchmark can be run in pieces. Run one benchmark at a time: two at once put more
llama.cpp threads than cores on this 2-core machine, and their spinning threads slowed SmolLM2
from ~100 to 0.3 tokens per second.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DATA = ROOT.parent / "shared/datasets/instruction_induction"
SERVER_LOST = 75  # dspy_run.py's exit status when a llama_cpp.server went away
WORK = HERE / ".work"
PEERS = Path(os.environ.get("PEERS_DIR", Path.home() / ".cache/promptwork-peers"))
DSPY_PYTHON = PEERS / "dspy/bin/python"

TASKS = ("sentiment", "antonyms", "larger_animal", "first_word_letter", "singular_to_plural",
         "num_to_verbal")


def seed_instruction(task: str) -> str:
    """The task's first human-written instruction (annotations/TASK.json), as a sentence."""
    data = json.loads((DATA / "annotations" / f"{task}.json").read_text(encoding="utf-8"))
    text = str(data["annotations"][0]).strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


N_TRAIN, N_VAL = 100, 50
PARAMS = {"temperature": 0, "max_tokens": 16, "stop": ["\n"]}

CHECK = '''"""Normalized exact match (the same rule as bench/optimize/dspy_run.py)."""


def normalize(text):
    line = (text or "").strip().split("\\n")[0].strip()
    return line.rstrip(".!").strip().lower()


def exact(output, context):
    return normalize(output) == normalize(context["vars"]["answer"])
'''


def rows(task: str, part: str) -> list[dict[str, str]]:
    data = json.loads((DATA / part / f"{task}.json").read_text(encoding="utf-8"))
    return [{"input": str(v["input"]), "output": str(v["output"])}
            for v in data["examples"].values()]


def task_data(task: str, seed: int) -> dict[str, Any]:
    pool = rows(task, "induce")
    picked = random.Random(f"{task}/{seed}").sample(pool, N_TRAIN + N_VAL)
    return {"task": task, "seed": seed, "instruction": seed_instruction(task),
            "train": picked[:N_TRAIN], "val": picked[N_TRAIN:], "test": rows(task, "execute")}


def write_suite(data: dict[str, Any]) -> Path:
    folder = WORK / f"{data['task']}-s{data['seed']}"
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    front = yaml.safe_dump({"name": data["task"], "params": PARAMS}, sort_keys=False)
    (folder / "prompts/seed.prompt").write_text(
        f"---\n{front}---\n{data['instruction']}\n\nInput: {{{{ input }}}}\nOutput:\n",
        encoding="utf-8")
    (folder / "check.py").write_text(CHECK, encoding="utf-8")
    tests = [{"vars": {"input": r["input"], "answer": r["output"], "part": part}}
             for part in ("train", "val", "test") for r in data[part]]
    suite = {"description": f"{data['task']} (seed {data['seed']})",
             "prompts": ["file://prompts/seed.prompt"], "providers": ["local:gemma3-270m"],
             "defaultTest": {"assert": [{"type": "python", "value": "file://check.py:exact"}]},
             "tests": tests}
    (folder / "promptwork.yaml").write_text(yaml.safe_dump(suite, sort_keys=False),
                                            encoding="utf-8")
    (folder / "task.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


REPORT_RESERVE = 2 * 100  # the optimizer reserves 2 x the test split for the test report


def matched_plan(source: Path, peer: str, budgets: list[int], tasks: list[str],
                 seeds: list[int]) -> list[tuple[str, int, int, int]]:
    """(task, peer budget, seed, peer search calls) for each run of ``peer`` in ``source``,
    seed-major so that a partial run covers every task at the first seeds."""
    found = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        r = json.loads(line) if line.strip() else None
        if r and r["method"] == peer and r.get("test_best") and r.get("search_calls"):
            found[(r["task"], r["budget"], r["seed"])] = int(r["search_calls"])
    return [(t, b, s, found[(t, b, s)]) for s in seeds for b in budgets for t in tasks
            if (t, b, s) in found]


def run_promptwork(folder: Path, budget: int, seed: int) -> dict[str, Any]:
    from promptwork.optimizer import optimize

    start = time.perf_counter()
    result = optimize("prompts/seed.prompt", folder, budget=budget, seed=seed, split_var="part",
                      answer_var="answer", proposer="local:smollm2", ablate=False)
    seconds = time.perf_counter() - start
    return {
        "search_calls": result.budget["used"], "proposer_calls": result.budget["proposer_calls"],
        "search_limit": result.budget.get("search_limit"), "report_calls": result.report_calls,
        "seconds": round(seconds, 1),
        "test_best": [int(s.passed) for s in result.scores["best"]],
        "test_seed": [int(s.passed) for s in result.scores["seed"]],
        "val_seed": round(result.seed_val, 4), "val_best": round(result.best_val, 4),
        "change": result.best.note, "prompt_chars": len(result.best.body),
    }


def run_dspy(folder: Path, method: str, budget: int, seed: int, bases: dict[str, str],
             timeout: float) -> dict[str, Any]:
    cmd = [str(DSPY_PYTHON), str(HERE / "dspy_run.py"), "--task-file", str(folder / "task.json"),
           "--method", method, "--budget", str(budget), "--seed", str(seed),
           "--task-base", bases["task"], "--proposer-base", bases["proposer"]]
    if method == "mipro":
        cmd.append("--lenient")  # SmolLM2's prose becomes the proposal instead of a crash
    env = {**os.environ, "DSPY_CACHEDIR": str(WORK / "dspy-cache"), "LITELLM_LOCAL_MODEL_COST_MAP":
           "True", "OPENAI_API_KEY": "unused-local-server"}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "seconds": timeout}
    seconds = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode < 0:  # killed from outside: the run did not finish, nothing to record
        return {"lost": f"killed by signal {-proc.returncode}"}
    if proc.returncode == SERVER_LOST:  # the servers', not the method's, failure
        return {"lost": "a llama_cpp.server went away"}
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr[-800:]}", "seconds": seconds}
    out: dict[str, Any] = json.loads(lines[-1])
    out["seconds"] = round(seconds, 1)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def servers() -> Iterator[dict[str, str]]:
    """Two ``llama_cpp.server`` processes: Gemma (task) and SmolLM2 (proposer), one slot each."""
    from promptwork.providers.local_models import POOL

    procs, bases = [], {}
    log_dir = WORK / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for role, name, ctx in (("task", "gemma3-270m", 2048), ("proposer", "smollm2", 4096)):
            path, _ = POOL.resolve(name)
            port = _free_port()
            log = (log_dir / f"{role}.log").open("wb")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host",
                 "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx), "--n_threads", "2"],
                stdout=log, stderr=subprocess.STDOUT))
            bases[role] = f"http://127.0.0.1:{port}/v1"
        for base in bases.values():
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server at {base} did not start")
                time.sleep(0.5)
        yield bases
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)


def done(out: Path) -> set[tuple[str, int, int, str]]:
    if not out.exists():
        return set()
    keys = set()
    for line in out.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            keys.add((r["task"], r["budget"], r["seed"], r["method"]))
    return keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--budgets", default="300,1000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="promptwork,bfsrs,mipro,gepa")
    ap.add_argument("--out", default=str(HERE / "results.jsonl"))
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per DSPy run")
    ap.add_argument("--matched-to", help="run promptwork at each run's search calls of this peer")
    ap.add_argument("--from", dest="source", default=str(HERE / "results.jsonl"),
                    help="where --matched-to reads the peer's runs")
    args = ap.parse_args()
    out = Path(args.out)
    if args.matched_to:
        run_matched(args, out)
        return
    finished = done(out)
    methods = args.methods.split(",")
    plan = [(t, int(b), int(s), m) for t in args.tasks.split(",") for b in args.budgets.split(",")
            for s in args.seeds.split(",") for m in methods]
    plan = [p for p in plan if p not in finished]
    print(f"{len(plan)} runs to do ({len(finished)} already in {out})", flush=True)
    needs_servers = any(m != "promptwork" for *_, m in plan)
    if needs_servers and not DSPY_PYTHON.exists():
        sys.exit(f"DSPy is not installed at {DSPY_PYTHON}: run ../shared/tools/peers.sh dspy")
    with (servers() if needs_servers else _nothing()) as bases:
        for task, budget, seed, method in plan:
            folder = write_suite(task_data(task, seed))
            print(f"{task} budget {budget} seed {seed}: {method} ...", flush=True)
            if method == "promptwork":
                record = run_promptwork(folder, budget, seed)
            else:
                dspy_method = "seed" if method == "server-seed" else method
                record = run_dspy(folder, dspy_method, budget, seed, bases, args.timeout)
            if "lost" in record:
                print(f"  -> not recorded ({record['lost']}); a re-run does it again", flush=True)
                continue
            record = {"task": task, "budget": budget, "seed": seed, "method": method, **record}
            acc = record.get("test_best")
            print(f"  -> test {sum(acc) / len(acc):.3f}, {record.get('search_calls')} calls, "
                  f"{record.get('seconds')} s" if acc else f"  -> {record.get('error')}",
                  flush=True)
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def run_matched(args: argparse.Namespace, out: Path) -> None:
    """promptwork at the peer's search calls, run by run (see the module docstring)."""
    finished = done(out)
    plan = matched_plan(Path(args.source), args.matched_to,
                        [int(b) for b in args.budgets.split(",")], args.tasks.split(","),
                        [int(s) for s in args.seeds.split(",")])
    plan = [p for p in plan if (p[0], p[1], p[2], "promptwork-matched") not in finished]
    print(f"{len(plan)} matched runs to do ({len(finished)} already in {out})", flush=True)
    for task, peer_budget, seed, calls in plan:
        folder = write_suite(task_data(task, seed))
        budget = calls + REPORT_RESERVE
        print(f"{task} seed {seed}: promptwork at {calls} search calls ({args.matched_to} at "
              f"{peer_budget}), --budget {budget} ...", flush=True)
        record = run_promptwork(folder, budget, seed)
        record = {"task": task, "budget": peer_budget, "seed": seed,
                  "method": "promptwork-matched", "matched_to": args.matched_to,
                  "matched_calls": calls, "command_budget": budget, **record}
        acc = record["test_best"]
        print(f"  -> test {sum(acc) / len(acc):.3f}, {record['search_calls']} of "
              f"{record['search_limit']} search calls, {record['seconds']} s", flush=True)
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


@contextmanager
def _nothing() -> Iterator[dict[str, str]]:
    yield {}


if __name__ == "__main__":
    main()
