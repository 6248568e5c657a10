"""promptfoo's ``extensions``: Python hooks called beforeAll, beforeEach, afterEach, afterAll;
JavaScript refused by name; a hook that raises stops the run naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import promptwork as pw
from promptwork.errors import ConfigError
from promptwork.runner import RunConfig
from promptwork.suite import load_suite

HOOKS = """\
import json, pathlib
LOG = pathlib.Path(__file__).parent / "hooks.jsonl"

def hook(name, context):
    with LOG.open("a") as f:
        f.write(json.dumps([name, context], default=str) + "\\n")
    if name == "afterEach" and context["result"]["output"] == "boom":
        raise ValueError("no booms")
"""


def suite(folder: Path, extensions: str = "['file://hooks.py:hook']",
          words: tuple[str, ...] = ("a", "b")) -> Path:
    (folder / "hooks.py").write_text(HOOKS, encoding="utf-8")
    path = folder / "promptfooconfig.yaml"
    tests = "".join(f"  - vars: {{w: {w}}}\n    description: t-{w}\n" for w in words)
    path.write_text(f"description: hooked\nprompts: ['{{{{ w }}}}']\nproviders: [echo]\n"
                    f"extensions: {extensions}\ndefaultTest:\n  assert:\n"
                    f"    - {{type: contains, value: a}}\ntests:\n{tests}", encoding="utf-8")
    return path


def log(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    lines = (folder / "hooks.jsonl").read_text(encoding="utf-8").splitlines()
    return [(str(name), dict(context)) for name, context in map(json.loads, lines)]


def test_the_hooks_are_called_in_order_with_promptfoos_context(tmp_path: Path) -> None:
    pw.evaluate(suite(tmp_path), config=RunConfig(use_cache=False))
    calls = log(tmp_path)
    names = [name for name, _ in calls]
    assert names[0] == "beforeAll" and names[-1] == "afterAll"
    assert sorted(names[1:-1]) == ["afterEach", "afterEach", "beforeEach", "beforeEach"]
    assert names.index("beforeEach") < names.index("afterEach")
    assert calls[0][1]["suite"]["description"] == "hooked"
    after = {c["test"]["description"]: c["result"] for n, c in calls if n == "afterEach"}
    assert after["t-a"]["success"] is True and after["t-b"]["success"] is False
    assert calls[-1][1]["status"] == "complete" and len(calls[-1][1]["results"]) == 2


def test_cached_cells_get_their_hooks_too(tmp_path: Path) -> None:
    for _ in range(2):
        pw.evaluate(suite(tmp_path), config=RunConfig(use_cache=True))
    assert [n for n, _ in log(tmp_path)].count("afterEach") == 4


def test_a_hook_that_raises_stops_the_run_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        pw.evaluate(suite(tmp_path, words=("boom",)), config=RunConfig(use_cache=False))
    assert "hooks.py:hook raised ValueError in afterEach: no booms" in info.value.message


@pytest.mark.parametrize(("extensions", "says"), [
    ("['file://hooks.js:hook']", "JavaScript extensions are not supported"),
    ("['file://hooks.py']", "name the hook function"),
    ("['file://hooks.py:nope']", "no function 'nope'"),
])
def test_bad_extensions_are_refused_at_their_line(
        tmp_path: Path, extensions: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(suite(tmp_path, extensions))
    assert says in info.value.message and info.value.line == 4
    assert not (tmp_path / "hooks.jsonl").exists()
