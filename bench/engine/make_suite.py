"""Writes the engine benchmark suite: 2 prompts x 2,500 tests on the echo provider = 5,000 cells.

The same file is read by promptwork and promptfoo. Checks are deterministic (no model judge).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared/datasets/instruction_induction"

SUITE = """\
description: engine overhead benchmark (echo provider, deterministic checks)
prompts:
  - "Review: {{ review }}\\nSentiment:"
  - "Classify the sentiment of this review as positive or negative: {{ review }}"
providers:
  - echo
defaultTest:
  assert:
    - type: icontains
      value: "{{ review }}"
    - type: contains-any
      value: ["Review", "Classify"]
    - type: regex
      value: "[A-Za-z]+"
    - type: not-contains
      value: "<script>"
    - type: starts-with
      value: "Review"
tests: file://tests.csv
"""


def main(folder: str, n_tests: int = 2500) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pool = json.loads((DATA / "induce/sentiment.json").read_text())["examples"]
    reviews = [ex["input"] for ex in pool.values()]
    with (out / "tests.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["review", "label"])
        for i in range(n_tests):
            w.writerow([f"{reviews[i % len(reviews)]} (#{i})", "x"])
    (out / "promptfooconfig.yaml").write_text(SUITE)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2500)
