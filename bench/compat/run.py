"""Tally how promptfoo suites fare in promptwork: loaded, refused (by reason), ran.

    .venv/bin/python bench/compat/run.py [FOLDER] [--load-only] [--json]

FOLDER (default: bench/compat/suites) holds one suite per sub-folder (``promptfooconfig.yaml`` or
``promptwork.yaml``), or suite files directly. Each suite is loaded (every test streamed, so that
row-level errors count); a loaded suite is then run on a copy of its folder with every provider
replaced by the ``echo`` provider (nothing leaves the machine, no model is loaded; model-graded
checks keep their own grader). "ran" means the run finished; cells that errored are counted
apart. A refusal's reason is its message with the file and line left out.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.providers.base import Provider
from promptwork.providers.echo import EchoProvider
from promptwork.runner import RunConfig
from promptwork.suite import SUITE_NAMES, load_suite

HERE = Path(__file__).parent


def suite_files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for item in sorted(folder.iterdir()):
        if item.is_dir():
            out.extend(item / name for name in SUITE_NAMES if (item / name).is_file())
        elif item.suffix in (".yaml", ".yml"):
            out.append(item)
    return out


def reason_of(exc: ConfigError) -> str:
    """The refusal without its location and instance details (to group like refusals)."""
    message = re.sub(r"^(tests|defaultTest|providers|prompts)\S*: ", "", exc.message)
    return message.split(";")[0][:110]


def try_suite(path: Path, load_only: bool) -> dict[str, Any]:
    name = path.parent.name if path.name in SUITE_NAMES else path.name
    try:
        suite = load_suite(path)
        tests = sum(1 for _ in suite.tests)
    except ConfigError as exc:
        return {"suite": name, "status": "refused", "reason": reason_of(exc)}
    result: dict[str, Any] = {"suite": name, "status": "loaded", "tests": tests}
    if load_only:
        return result
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "suite"
        shutil.copytree(path.parent, copy, ignore=shutil.ignore_patterns(".promptwork"))
        try:
            suite = load_suite(copy / path.name)
            echo: dict[int, Provider] = {e.index: EchoProvider("echo", e.label)
                                         for e in suite.providers}
            run = evaluate(suite, config=RunConfig(use_cache=False), providers=echo)
            stats = run.stats()
        except ConfigError as exc:
            return {**result, "status": "refused at run", "reason": reason_of(exc)}
        except Exception as exc:  # a crash is what this tally is for: report it, go on
            return {**result, "status": "crashed", "reason": f"{type(exc).__name__}: {exc}"}
    return {**result, "status": "ran", **stats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(HERE / "suites"))
    parser.add_argument("--load-only", action="store_true", help="load, do not run")
    parser.add_argument("--json", action="store_true", help="one JSON record per suite")
    args = parser.parse_args(argv)
    results = [try_suite(p, args.load_only) for p in suite_files(Path(args.folder))]
    if args.json:
        for r in results:
            print(json.dumps(r))
        return 0
    for r in results:
        detail = r.get("reason") or (
            f"{r['tests']} tests" + (f", cells {r['successes']} pass / {r['failures']} fail / "
                                     f"{r['errors']} error" if r["status"] == "ran" else ""))
        print(f"{r['suite']:<30} {r['status']:<10} {detail}")
    counts = Counter(r["status"] for r in results)
    loaded = sum(1 for r in results if r["status"] != "refused")
    print(f"\n{len(results)} suites: {loaded} loaded, {counts['refused']} refused at load, "
          f"{counts['ran']} ran, {counts['crashed']} crashed")
    reasons = Counter(r["reason"] for r in results if r["status"] == "refused")
    for reason, n in reasons.most_common():
        print(f"  refused x{n}: {reason}")
    return 1 if counts["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
