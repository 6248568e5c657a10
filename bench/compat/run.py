"""Tally how promptfoo suites fare in promptwork: loaded, refused (by reason), ran.

    .venv/bin/python bench/compat/run.py [FOLDER] [--load-only] [--json] [--recursive]
        [--openai-providers]

FOLDER (default: bench/compat/suites) holds one suite per sub-folder (``promptfooconfig.yaml`` or
``promptwork.yaml``), or suite files directly. Each suite is loaded (every test streamed, so that
row-level errors count); a loaded suite is then run on a copy of its folder with every provider
replaced by the ``echo`` provider (nothing leaves the machine, no model is loaded; model-graded
checks keep their own grader). "ran" means the run finished; cells that errored are counted
apart. A refusal's reason is its message with the file and line left out. ``--recursive`` finds
every ``promptfooconfig*.yaml`` under FOLDER (promptfoo's ``examples/``); ``--openai-providers``
first replaces each provider by an OpenAI-compatible one on 127.0.0.1 keeping its ``config``, to
measure the suite's own keys rather than its vendors. A crash (any other exception) is reported
with the promptwork frame it came from, and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from promptwork.errors import ConfigError
from promptwork.evaluation import evaluate
from promptwork.providers.base import Provider
from promptwork.providers.echo import EchoProvider
from promptwork.runner import RunConfig
from promptwork.suite import SUITE_NAMES, load_suite

HERE = Path(__file__).parent


def is_suite_name(name: str) -> bool:
    """A suite file's name: promptwork's or promptfoo's, with promptfoo's variants
    (``promptfooconfig.claude.yaml``)."""
    return name in SUITE_NAMES or (name.startswith(("promptfooconfig", "promptwork."))
                                   and name.endswith((".yaml", ".yml")))


def suite_files(folder: Path, recursive: bool = False) -> list[Path]:
    if recursive:
        return sorted(p for p in folder.rglob("*.y*ml")
                      if is_suite_name(p.name) and ".promptwork" not in p.parts)
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


def crash_of(exc: BaseException) -> str:
    """A crash's type, message and innermost promptwork frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "promptwork" in f.filename]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:200]}{where}"


def with_openai_providers(path: Path) -> None:
    """Rewrite a suite file in place: every provider (or target) becomes an OpenAI-compatible model
    on 127.0.0.1 that keeps the entry's label, ``config`` and ``prompts`` filter (how the issue
    measured promptfoo's examples: what remains is the suite's own surface, not its vendors)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict):
        return
    for key in ("providers", "targets"):
        entries = data.get(key)
        if isinstance(entries, (str, dict)):
            entries = [entries]
        if not isinstance(entries, list):
            continue
        out: list[Any] = []
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and not entry.startswith("file://"):
                entry = {"id": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                out.append(entry)
                continue
            config = dict(entry.get("config") or {})
            config["apiBaseUrl"] = "http://127.0.0.1:9/v1"
            out.append({**{k: v for k, v in entry.items() if k in ("label", "prompts")},
                        "id": f"openai:chat:model-{i}", "config": config,
                        "label": entry.get("label") or entry["id"]})
        data[key] = out
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def try_suite(path: Path, load_only: bool, name: str | None = None,
              replace: bool = False) -> dict[str, Any]:
    if name is None:
        name = path.parent.name if path.name in SUITE_NAMES else path.name
    if replace:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "suite"
            shutil.copytree(path.parent, copy, ignore=shutil.ignore_patterns(".promptwork"))
            with contextlib.suppress(yaml.YAMLError):  # promptwork's own loader reports it
                with_openai_providers(copy / path.name)
            return try_suite(copy / path.name, load_only, name)
    try:
        suite = load_suite(path)
        tests = sum(1 for _ in suite.tests)
    except ConfigError as exc:
        return {"suite": name, "status": "refused", "reason": reason_of(exc)}
    except Exception as exc:  # a crash while loading: report it with where it happened
        return {"suite": name, "status": "crashed", "reason": crash_of(exc)}
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
            return {**result, "status": "crashed", "reason": crash_of(exc)}
    return {**result, "status": "ran", **stats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(HERE / "suites"))
    parser.add_argument("--load-only", action="store_true", help="load, do not run")
    parser.add_argument("--json", action="store_true", help="one JSON record per suite")
    parser.add_argument("--recursive", action="store_true",
                        help="every promptfooconfig*.yaml / promptwork*.yaml under FOLDER, at any "
                             "depth (e.g. a checkout of promptfoo's examples/)")
    parser.add_argument("--openai-providers", action="store_true",
                        help="first replace every provider by an OpenAI-compatible model on "
                             "127.0.0.1 (keeping its config): measures the suite, not its vendors")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    results = []
    for p in suite_files(folder, args.recursive):
        results.append(try_suite(p, args.load_only,
                                 str(p.relative_to(folder)) if args.recursive else None,
                                 args.openai_providers))
        if args.json:  # one line per suite as it finishes (a long run can be cut short)
            print(json.dumps(results[-1]), flush=True)
    if args.json:
        return 0
    for r in results:
        detail = r.get("reason") or (
            f"{r['tests']} tests" + (f", cells {r['successes']} pass / {r['failures']} fail / "
                                     f"{r['errors']} error" if r["status"] == "ran" else ""))
        print(f"{r['suite']:<30} {r['status']:<10} {detail}", flush=True)
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
