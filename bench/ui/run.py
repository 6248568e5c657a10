"""Workbench speed: page times and server memory on runs of 1,000, 10,000 and 100,000 cells.

Usage: .venv/bin/python bench/ui/run.py [--sizes 1000,10000,100000] [--requests 50]
                                        [--work DIR] [--peer]

For each size it builds a store holding one run made by the ``echo`` provider through
``promptwork eval`` (2 prompts x 2 models x size/4 tests, 2 checks, ~20% failures; kept in
``--work`` and reused), starts ``promptwork ui`` on it (a real uvicorn process on 127.0.0.1), and
times ``--requests`` GETs of each page: time to first byte (status line and headers read) and
full load (whole body read), p50 and p95. The first request of the run's matrix after the server
started is reported apart ("cold"; the per-column figures were stored when the run finished),
and again for the run with its stored figures deleted, as in a store written before migration
0008 (they are computed and stored on that first open; then once more after a restart). The
server's resident memory (VmRSS, and its peak VmHWM, from /proc) is read after each size.

``--peer``: also the time until the results table shows, in chromium (Playwright), for our matrix
and for promptfoo's viewer (``promptfoo view``) on the same results, imported from our promptfoo
JSON export (see ``viewers.py``; needs ``../shared/tools/peers.sh promptfoo``).
Target: every page under 300 ms; the server's memory flat from 1,000 to 100,000 cells.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
WORDS = ("apple", "banana", "cherry", "delta", "echo", "falcon", "granite", "harbor", "island",
         "jungle", "kettle", "lantern", "meadow", "nickel", "orchard", "pepper", "quartz", "river",
         "saddle", "timber")
SUITE = """\
description: workbench benchmark ({cells} cells)
prompts:
  - {{id: "Write two sentences about {{{{ topic }}}} (case {{{{ id }}}}).", label: write}}
  - {{id: "Summarize {{{{ topic }}}} in one line. Case {{{{ id }}}}.", label: summarize}}
providers:
  - {{id: echo, label: echo-a}}
  - {{id: echo, label: echo-b}}
defaultTest:
  assert:
    - {{type: icontains, value: "{{{{ expect }}}}", metric: mentions}}
    - {{type: regex, value: "[Cc]ase \\\\d+"}}
tests: file://tests.jsonl
"""
#: In the vars of 1% of the tests (the "search" page); "nosuchword" is in none.
NEEDLE, ABSENT = "needle", "nosuchword"


def build_store(work: Path, cells: int) -> tuple[str, str, float]:
    """A store holding one ``cells``-cell echo run; returns its URL, the run id and the seconds
    ``promptwork eval`` took (0 when reused)."""
    folder = work / f"cells-{cells}"
    db = f"sqlite:///{folder / 'store.db'}"
    if (folder / "done").exists():
        return db, (folder / "done").read_text().strip(), 0.0
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "store.db").unlink(missing_ok=True)
    rng = random.Random(cells)
    with (folder / "tests.jsonl").open("w") as fh:
        for i in range(cells // 4):
            topic = " ".join(rng.sample(WORDS, 3)) + (f" {NEEDLE}" if i % 100 == 37 else "")
            expect = topic.split()[0] if rng.random() < 0.8 else "zeppelin"  # ~20% fail
            fh.write(json.dumps({"vars": {"id": i, "topic": topic, "expect": expect}}) + "\n")
    (folder / "promptwork.yaml").write_text(SUITE.format(cells=cells))
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "promptwork"), "eval", "--no-cache", "--no-table",
                           "--no-progress", "--db", db], cwd=folder, capture_output=True,
                          text=True)
    took = time.perf_counter() - started
    if proc.returncode not in (0, 100):
        sys.exit(proc.stderr[-2000:])
    run_id = subprocess.run([str(BIN / "python"), "-c",
                             "import sys; from promptwork.store import Store; "
                             "print(Store(sys.argv[1]).get_run().id)", db],
                            capture_output=True, text=True, check=True).stdout.strip()
    (folder / "done").write_text(run_id)
    return db, run_id, took


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def workbench(db: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``promptwork ui`` on 127.0.0.1:``port``, until it answers."""
    proc = subprocess.Popen([str(BIN / "promptwork"), "ui", "--db", db, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/static/app.css")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("promptwork ui did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def timed_get(conn: http.client.HTTPConnection, path: str) -> tuple[float, float, int]:
    """(time to first byte, full load) in ms, and the body's size."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{conn.port}"})
    response = conn.getresponse()
    first = time.perf_counter()
    body = response.read()
    done = time.perf_counter()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return (first - started) * 1000, (done - started) * 1000, len(body)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def pages(run_id: str, cells: int, n: int) -> dict[str, list[str]]:
    """The measured pages: each a list of ``n`` paths (the cell page visits ``n`` cells)."""
    tests = cells // 4
    rng = random.Random(1)
    base = f"/runs/{run_id}"
    return {
        "matrix, first page": [base] * n,
        "failures filter": [f"{base}?mode=failures"] * n,
        f"search '{NEEDLE}' (1% of tests)": [f"{base}?q={NEEDLE}"] * n,
        "search, no match (whole run)": [f"{base}?q={ABSENT}"] * n,
        "cell page": [f"{base}/cells/{rng.randrange(tests)}/{rng.randrange(2)}/{rng.randrange(2)}/0"
                      for _ in range(n)],
    }


def forget_figures(db: str, run_id: str) -> None:
    """Delete the run's stored column figures, as in a store written before migration 0008."""
    import sqlite3

    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM column_figures WHERE run_id = ?", (run_id,))


def legacy_opens(db: str, run_id: str) -> tuple[float, float]:
    """The first matrix request after a server start (ms) on a run stored without its column
    figures (they are computed and stored then), and again after a second server start."""
    forget_figures(db, run_id)
    out = []
    for _ in range(2):
        port = free_port()
        with workbench(db, port):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            out.append(timed_get(conn, f"/runs/{run_id}")[1])
    return out[0], out[1]


def measure(db: str, run_id: str, cells: int, n: int) -> dict[str, object]:
    port = free_port()
    out: dict[str, object] = {"cells": cells, "load_before": os.getloadavg()[0]}
    with workbench(db, port) as proc:
        out["rss_start_mb"] = memory_mb(proc.pid)[0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        cold = timed_get(conn, f"/runs/{run_id}")
        out["cold_matrix_ms"] = cold[1]
        results = {}
        for name, paths in pages(run_id, cells, n).items():
            for path in paths[:3]:  # warm-up
                timed_get(conn, path)
            ttfb, full, sizes = [], [], []
            for path in paths:
                a, b, size = timed_get(conn, path)
                ttfb.append(a)
                full.append(b)
                sizes.append(size)
            results[name] = {"ttfb_p50": pct(ttfb, 50), "ttfb_p95": pct(ttfb, 95),
                             "full_p50": pct(full, 50), "full_p95": pct(full, 95),
                             "kb": statistics.mean(sizes) / 1024}
        out["pages"] = results
        out["rss_mb"], out["hwm_mb"] = memory_mb(proc.pid)
    out["legacy_first_ms"], out["legacy_again_ms"] = legacy_opens(db, run_id)
    out["load_after"] = os.getloadavg()[0]
    return out


def report(rows: list[dict[str, object]]) -> None:
    print("\n| cells | page | TTFB p50 / p95 | full load p50 / p95 | body |")
    print("|---|---|---|---|---|")
    for row in rows:
        for name, r in row["pages"].items():  # type: ignore[attr-defined]
            print(f"| {row['cells']:,} | {name} | {r['ttfb_p50']:.1f} / {r['ttfb_p95']:.1f} ms"
                  f" | {r['full_p50']:.1f} / {r['full_p95']:.1f} ms | {r['kb']:.0f} KB |")
    print("\n| cells | first matrix request after start (cold) | same, run stored without "
          "figures: first / after a restart | server RSS at start | RSS after the requests | "
          "peak RSS | load average (1 min) before / after |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['cells']:,} | {row['cold_matrix_ms']:.0f} ms | "
              f"{row['legacy_first_ms']:.0f} / {row['legacy_again_ms']:.0f} ms | "
              f"{row['rss_start_mb']:.0f} MB | {row['rss_mb']:.0f} MB | {row['hwm_mb']:.0f} MB | "
              f"{row['load_before']:.1f} / {row['load_after']:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--work", default=str(Path.home() / ".cache" / "promptwork-bench-ui"))
    ap.add_argument("--peer", action="store_true", help="also compare with promptfoo view")
    ap.add_argument("--trials", type=int, default=5, help="browser loads per viewer (--peer)")
    args = ap.parse_args()
    work = Path(args.work)
    rows = []
    stores = {}
    for cells in (int(s) for s in args.sizes.split(",")):
        db, run_id, took = build_store(work, cells)
        stores[cells] = (db, run_id)
        if took:
            print(f"built the {cells:,}-cell store with promptwork eval (echo) in {took:.1f} s",
                  flush=True)
        rows.append(measure(db, run_id, cells, args.requests))
        print(json.dumps(rows[-1]), flush=True)
    report(rows)
    if args.peer:
        from viewers import compare_viewers  # bench/ui/viewers.py

        cells = max(stores)
        db, run_id = stores[cells]
        port = free_port()
        with workbench(db, port):
            compare_viewers(work, db, run_id, cells, f"http://127.0.0.1:{port}", args.trials)


if __name__ == "__main__":
    main()
