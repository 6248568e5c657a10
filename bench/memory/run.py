"""Memory: a 100,000-row JSONL test file streams through `promptwork eval` (echo provider).

Usage: .venv/bin/python bench/memory/run.py [--rows 100000]
Target: peak RSS under 500 MB. Reports wall time and peak RSS (ru_maxrss of the child).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """\
description: 100k-row streaming benchmark
prompts:
  - "Question {{ id }}: {{ text }}"
providers: [echo]
defaultTest:
  assert:
    - type: icontains
      value: "{{ text }}"
    - type: regex
      value: "Question \\\\d+"
tests: file://tests.jsonl
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pw-memory-"))
    with (work / "tests.jsonl").open("w") as fh:
        for i in range(args.rows):
            fh.write(json.dumps({"vars": {"id": i, "text": f"row {i} " + "lorem ipsum " * 8}})
                     + "\n")
    (work / "promptwork.yaml").write_text(SUITE)
    size = (work / "tests.jsonl").stat().st_size / 1e6
    pw = str(Path(sys.executable).parent / "promptwork")
    t = time.perf_counter()
    proc = subprocess.run([pw, "eval", "--no-cache", "--no-table", "--no-progress"], cwd=work,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode not in (0, 100):
        sys.exit(proc.stderr[-2000:])
    print(f"{args.rows:,} rows ({size:.1f} MB JSONL), 1 prompt, echo provider, 2 checks: "
          f"wall {wall:.1f} s ({args.rows / wall:.0f} cells/s), peak RSS {rss:.0f} MB "
          f"(target < 500 MB)")
    print("  " + proc.stderr.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
